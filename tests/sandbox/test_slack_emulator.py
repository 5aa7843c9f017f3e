"""Contract tests for the Slack emulator, driven only by the real slack_sdk WebClient and slack-bolt.

What the bot's tests rely on: Slack's answers and errors for the Web API methods the bot uses, fault
injection the retry handler understands, and a Socket Mode round trip (command -> modal -> submission ->
button) through Bolt's own SocketModeHandler.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from websockets.sync.client import connect as ws_connect

from sandbox.slack import SlackEmulator, SlackUser
from sandbox.slack.forms import InputRejected


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(bot_token="xoxb-sandbox", app_token="xapp-sandbox", team_id="T0SANDBOX").start()
    emulator.add_user("U1", name="alice", email="alice@example.com", real_name="Alice")
    emulator.add_user("U2", name="bob", email="bob@example.com", real_name="Bob")
    yield emulator
    emulator.stop()


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-sandbox", base_url=emu.api_url)


def api_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


def raw_post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# ---- Web API ------------------------------------------------------------------------------------
def test_auth_test_identifies_the_bot_and_is_logged(emu: SlackEmulator, client: WebClient) -> None:
    response = client.auth_test()
    assert (response["user_id"], response["bot_id"], response["team_id"]) == ("U0BOT", "B0BOT", "T0SANDBOX")
    assert response["url"] and response["team"]
    [call] = emu.calls_to("auth.test")
    assert call["token"] == "xoxb-sandbox" and isinstance(call["at"], float)


def test_tokens_are_checked(emu: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=emu.api_url)
    assert api_error(wrong.auth_test) == "invalid_auth"
    assert api_error(WebClient(base_url=emu.api_url).auth_test) == "not_authed"
    app_client = WebClient(base_url=emu.api_url)
    assert api_error(lambda: app_client.chat_postMessage(channel="U1", text="x", token="xapp-sandbox")) == (
        "not_allowed_token_type"
    )
    url = app_client.apps_connections_open(app_token="xapp-sandbox")["url"]
    assert url.startswith("ws://127.0.0.1:") and url.endswith("/link")


def test_conversations_create_follows_slack_name_rules(emu: SlackEmulator, client: WebClient) -> None:
    channel = client.conversations_create(name="inc-20241126-1-checkout")["channel"]
    assert (
        channel["name"] == "inc-20241126-1-checkout"
        and channel["is_member"]
        and channel["creator"] == "U0BOT"
    )
    assert emu.channels[channel["id"]]["members"] == {"U0BOT"}
    assert api_error(lambda: client.conversations_create(name="inc-20241126-1-checkout")) == "name_taken"
    assert api_error(lambda: client.conversations_create(name="Inc Checkout")) == "invalid_name_specials"
    assert api_error(lambda: client.conversations_create(name="inc.checkout")) == "invalid_name_specials"
    assert api_error(lambda: client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert api_error(lambda: client.conversations_create(name="")) == "invalid_name_required"


def test_invite_set_topic_and_archive(emu: SlackEmulator, client: WebClient) -> None:
    channel_id = client.conversations_create(name="inc-1")["channel"]["id"]
    assert client.conversations_invite(channel=channel_id, users="U1,U2")["channel"]["id"] == channel_id
    assert emu.channels[channel_id]["members"] == {"U0BOT", "U1", "U2"}
    assert (
        api_error(lambda: client.conversations_invite(channel=channel_id, users=["U1"]))
        == "already_in_channel"
    )
    assert (
        api_error(lambda: client.conversations_invite(channel=channel_id, users="U0BOT"))
        == "cant_invite_self"
    )
    assert (
        api_error(lambda: client.conversations_invite(channel=channel_id, users="U404")) == "user_not_found"
    )
    assert api_error(lambda: client.conversations_invite(channel="C404", users="U1")) == "channel_not_found"
    topic = client.conversations_setTopic(channel=channel_id, topic="P1 | OPEN | OPS-1")["channel"]["topic"]
    assert topic["value"] == "P1 | OPEN | OPS-1" and topic["creator"] == "U0BOT"
    assert emu.channels[channel_id]["topic"] == "P1 | OPEN | OPS-1"
    client.conversations_archive(channel=channel_id)
    assert emu.channels[channel_id]["archived"]
    assert api_error(lambda: client.conversations_archive(channel=channel_id)) == "already_archived"
    assert api_error(lambda: client.chat_postMessage(channel=channel_id, text="late")) == "is_archived"
    assert api_error(lambda: client.conversations_invite(channel=channel_id, users="U1")) == "is_archived"


def test_chat_update_edits_in_place(emu: SlackEmulator, client: WebClient) -> None:
    channel_id = emu.add_channel("announcements")
    first = client.chat_postMessage(channel=channel_id, text="Incident declared")
    second = client.chat_postMessage(channel="#announcements", text="Another")
    assert float(second["ts"]) > float(first["ts"])
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Resolved*"}}]
    updated = client.chat_update(channel=channel_id, ts=first["ts"], text="Resolved", blocks=blocks)
    assert updated["ts"] == first["ts"] and updated["message"]["text"] == "Resolved"
    messages = emu.messages(channel_id)
    assert [(m["ts"], m["text"], m["edited"]) for m in messages] == [
        (first["ts"], "Resolved", 1),
        (second["ts"], "Another", 0),
    ]
    assert messages[0]["blocks"][0]["text"]["text"] == "*Resolved*" and messages[0]["user"] == "U0BOT"
    assert (
        api_error(lambda: client.chat_update(channel=channel_id, ts="1.000001", text="x"))
        == "message_not_found"
    )


def test_users_conversations_lists_the_bots_channels_page_by_page(
    emu: SlackEmulator, client: WebClient
) -> None:
    made = [client.conversations_create(name=f"inc-{n}")["channel"]["id"] for n in range(3)]
    emu.add_channel("random", members=["U1"])  # someone else's, without the bot
    client.conversations_archive(channel=made[2])
    seen, cursor = [], None
    while True:
        page = client.users_conversations(
            types="public_channel", exclude_archived=True, limit=1, cursor=cursor
        )
        seen += [(c["name"], c["creator"]) for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert seen == [("inc-0", emu.bot_user_id), ("inc-1", emu.bot_user_id)]


def test_pins_and_bookmarks(emu: SlackEmulator, client: WebClient) -> None:
    channel_id = client.conversations_create(name="inc-2")["channel"]["id"]
    ts = client.chat_postMessage(channel=channel_id, text="announcement")["ts"]
    client.pins_add(channel=channel_id, timestamp=ts)
    assert api_error(lambda: client.pins_add(channel=channel_id, timestamp=ts)) == "already_pinned"
    assert api_error(lambda: client.pins_add(channel=channel_id, timestamp="1.000001")) == "message_not_found"
    assert emu.pins(channel_id) == [ts]
    link = "https://jira.example.com/browse/OPS-1"
    bookmark = client.bookmarks_add(channel_id=channel_id, title="Jira ticket", type="link", link=link)[
        "bookmark"
    ]
    assert (bookmark["title"], bookmark["link"], bookmark["channel_id"]) == ("Jira ticket", link, channel_id)
    assert [b["link"] for b in emu.bookmarks(channel_id)] == [link]
    assert client.bookmarks_list(channel_id=channel_id)["bookmarks"][0]["id"] == bookmark["id"]


def test_users_lookup(client: WebClient) -> None:
    user = client.users_lookupByEmail(email="bob@example.com")["user"]
    assert (user["id"], user["name"], user["profile"]["email"]) == ("U2", "bob", "bob@example.com")
    assert api_error(lambda: client.users_lookupByEmail(email="nobody@example.com")) == "users_not_found"
    assert client.users_info(user="U1")["user"]["real_name"] == "Alice"
    assert api_error(lambda: client.users_info(user="U404")) == "user_not_found"


def test_direct_messages_land_in_the_users_im(emu: SlackEmulator, client: WebClient) -> None:
    im_id = client.conversations_open(users="U1")["channel"]["id"]
    assert im_id.startswith("D") and client.conversations_open(users=["U1"])["channel"]["id"] == im_id
    assert client.chat_postMessage(channel="U1", text="Your ticket is OPS-7")["channel"] == im_id
    client.chat_postMessage(channel=im_id, text="second")
    assert [m["text"] for m in emu.dms("U1")] == ["Your ticket is OPS-7", "second"]
    assert emu.dms("U2") == []


def test_views_open_needs_a_fresh_trigger() -> None:
    emulator = SlackEmulator(trigger_ttl=0.1).start()
    try:
        emulator.add_user("U1", name="alice")
        client = WebClient(token="xoxb-sandbox", base_url=emulator.api_url)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": []}
        assert (
            api_error(lambda: client.views_open(trigger_id="123.456.abc", view=view)) == "expired_trigger_id"
        )
        stale = emulator.issue_trigger("U1")
        time.sleep(0.15)
        assert api_error(lambda: client.views_open(trigger_id=stale, view=view)) == "expired_trigger_id"
        fresh = emulator.issue_trigger("U1")
        opened = client.views_open(trigger_id=fresh, view=view)["view"]
        assert opened["id"].startswith("V") and emulator.open_views("U1")[-1]["id"] == opened["id"]
        assert api_error(lambda: client.views_open(trigger_id=fresh, view=view)) == "expired_trigger_id"
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
        assert api_error(
            lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
        ) == ("hash_conflict")
    finally:
        emulator.stop()


def test_rate_limit_is_retried_by_the_sdk_handler(emu: SlackEmulator) -> None:
    retrying = WebClient(
        token="xoxb-sandbox",
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emu.rate_limit("chat.postMessage", times=1, retry_after=0)
    assert retrying.chat_postMessage(channel="U1", text="after retry")["ok"]
    assert len(emu.calls_to("chat.postMessage")) == 2

    emu.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        WebClient(token="xoxb-sandbox", base_url=emu.api_url).chat_postMessage(channel="U1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.data == {"ok": False, "error": "ratelimited"}
    assert {k.lower(): v for k, v in info.value.response.headers.items()}["retry-after"] in ("7", ["7"])


def test_hold_keeps_one_call_in_flight_until_released(emu: SlackEmulator, client: WebClient) -> None:
    hold = emu.hold("chat.postMessage")
    answers: list[Any] = []

    def post() -> None:
        answers.append(client.chat_postMessage(channel="U1", text="held"))

    caller = threading.Thread(target=post)
    caller.start()
    assert hold.wait_until_held(timeout=5)
    [call] = emu.calls_to("chat.postMessage")
    assert call["params"]["text"] == "held" and "status" not in call
    assert emu.dms("U1") == [] and caller.is_alive()
    assert client.auth_test()["ok"]  # other calls are answered meanwhile
    hold.release()
    caller.join(timeout=5)
    assert answers[0]["ok"] and [m["text"] for m in emu.dms("U1")] == ["held"]
    assert client.chat_postMessage(channel="U1", text="not held")["ok"]
    assert not emu.hold("users.info").wait_until_held(timeout=0.05)
    with pytest.raises(ValueError):
        emu.hold("chat.postMesage")


def test_a_held_call_completes_after_its_client_was_killed(
    emu: SlackEmulator, client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    hold = emu.hold("conversations.create")
    bot = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from slack_sdk import WebClient; "
            "WebClient(token='xoxb-sandbox', base_url=sys.argv[1]).conversations_create(name='inc-killed')",
            emu.api_url,
        ]
    )
    try:
        assert hold.wait_until_held(timeout=15)
    finally:
        bot.kill()
        bot.wait(timeout=5)
    with caplog.at_level(logging.DEBUG, logger="sandbox.slack"):
        hold.release()
        emu.wait_for(lambda: emu.calls_to("conversations.create")[0].get("status") == 200)
        assert api_error(lambda: client.conversations_create(name="inc-killed")) == "name_taken"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_fail_unknown_method_and_bad_requests(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("conversations.create", "fatal_error")
    assert api_error(lambda: client.conversations_create(name="inc-3")) == "fatal_error"
    assert client.conversations_create(name="inc-3")["ok"]
    assert api_error(lambda: client.api_call("nope.nothing")) == "unknown_method"
    assert raw_post(emu.api_url + "auth.test", b"{not json", "application/json")[0] == 400
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}])
    form = f"token=xoxb-sandbox&channel=U1&text=hi&blocks={urllib.request.quote(blocks)}".encode()
    status, body = raw_post(emu.api_url + "chat.postMessage", form, "application/x-www-form-urlencoded")
    assert (status, body["ok"]) == (200, True)
    assert emu.calls_to("chat.postMessage")[-1]["params"]["blocks"][0]["type"] == "section"


def test_wait_for_reports_what_it_waited_for(emu: SlackEmulator) -> None:
    assert emu.wait_for(lambda: 42, timeout=0.1) == 42
    with pytest.raises(AssertionError, match="wait_for timed out"):
        emu.wait_for(lambda: emu.messages("C404")[0], timeout=0.05)


def test_envelopes_go_round_robin_and_survive_disconnects(emu: SlackEmulator) -> None:
    received: dict[int, list[str]] = {0: [], 1: []}

    def run(index: int, websocket: Any) -> None:
        for message in websocket:
            data = json.loads(message)
            if "envelope_id" in data:
                received[index].append(data["envelope_id"])
                websocket.send(json.dumps({"envelope_id": data["envelope_id"], "payload": {"n": index}}))

    sockets = [ws_connect(emu.state.ws_url, legacy=True) for _ in range(2)]
    assert [json.loads(s.recv(timeout=2))["type"] for s in sockets] == ["hello", "hello"]
    threads = [threading.Thread(target=run, args=(i, s), daemon=True) for i, s in enumerate(sockets)]
    for thread in threads:
        thread.start()
    emu.wait_for(lambda: emu.connection_count == 2)
    acks = [emu.send_envelope("events_api", {"type": "event_callback"}, timeout=2) for _ in range(4)]
    assert len(received[0]) == len(received[1]) == 2 and all(a.latency > 0 for a in acks)
    sockets[0].close()
    emu.wait_for(lambda: emu.connection_count == 1)
    assert emu.send_envelope("interactive", {"type": "block_actions"}, timeout=2).payload == {"n": 1}
    sockets[1].close()
    emu.wait_for(lambda: not emu.connected)
    with pytest.raises(ConnectionError):
        emu.send_envelope("interactive", {}, timeout=1)


# ---- Bolt over Socket Mode ----------------------------------------------------------------------
DECLARE_VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare an incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "private_metadata": '{"channel_id": "C0GENERAL"}',
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        },
        {
            "type": "input",
            "block_id": "description",
            "label": {"type": "plain_text", "text": "Description"},
            "element": {
                "type": "plain_text_input",
                "action_id": "d",
                "multiline": True,
                "initial_value": "n/a",
            },
        },
        {
            "type": "input",
            "block_id": "priority",
            "label": {"type": "plain_text", "text": "Priority"},
            "element": {
                "type": "static_select",
                "action_id": "p",
                "options": [
                    {"text": {"type": "plain_text", "text": f"P{n}"}, "value": f"p{n}"} for n in range(1, 6)
                ],
            },
        },
        {
            "type": "input",
            "block_id": "envs",
            "label": {"type": "plain_text", "text": "Environments"},
            "element": {
                "type": "multi_static_select",
                "action_id": "e",
                "options": [
                    {"text": {"type": "plain_text", "text": e}, "value": e.lower()} for e in ("PRD", "STG")
                ],
            },
        },
        {
            "type": "input",
            "block_id": "commander",
            "label": {"type": "plain_text", "text": "Commander"},
            "element": {"type": "users_select", "action_id": "c"},
        },
        {
            "type": "input",
            "block_id": "flags",
            "optional": True,
            "label": {"type": "plain_text", "text": "Seller flags"},
            "element": {
                "type": "checkboxes",
                "action_id": "f",
                "options": [
                    {"text": {"type": "plain_text", "text": "Key account"}, "value": "key_account"},
                    {"text": {"type": "plain_text", "text": "Seller in golden list"}, "value": "golden"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "detected",
            "label": {"type": "plain_text", "text": "Detected at"},
            "element": {"type": "datetimepicker", "action_id": "dt", "initial_date_time": 1732500000},
        },
        {
            "type": "actions",
            "block_id": "extra",
            "elements": [
                {"type": "button", "action_id": "add_note", "text": {"type": "plain_text", "text": "Add"}}
            ],
        },
    ],
}
UPDATED_VIEW = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Check again"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [DECLARE_VIEW["blocks"][0]],
}


HOME_VIEW = {
    "type": "home",
    "blocks": [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*P1* #7 Checkout is down"},
            "accessory": {
                "type": "button",
                "action_id": "home_button",
                "text": {"type": "plain_text", "text": "Update"},
                "value": "7",
            },
        }
    ],
}


class BoltSetup:
    def __init__(self, emu: SlackEmulator, handler: SocketModeHandler, received: dict[str, Any]) -> None:
        self.emu, self.handler, self.received = emu, handler, received


def build_app(emu: SlackEmulator, received: dict[str, Any]) -> App:
    app = App(token="xoxb-sandbox", client=WebClient(token="xoxb-sandbox", base_url=emu.api_url))

    @app.command("/incident")
    def incident(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        if body["text"] == "status":
            ack()
            respond("All quiet")
            return
        ack(text="Opening the form…")
        client.views_open(trigger_id=body["trigger_id"], view=DECLARE_VIEW)

    @app.view("declare")
    def declare(ack: Any, view: dict[str, Any]) -> None:
        title = view["state"]["values"]["title"]["title_input"]["value"]
        if title == "bad":
            ack(response_action="errors", errors={"title": "Title must be at least 10 characters"})
        elif title == "update me":
            ack(response_action="update", view=UPDATED_VIEW)
        else:
            received["submission"] = view["state"]["values"]
            ack()

    @app.action("ack_incident")
    def acknowledge(ack: Any, body: dict[str, Any]) -> None:
        received["click"] = body
        ack()

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        received.setdefault("home_events", []).append(event)
        if event["tab"] == "home":
            client.views_publish(user_id=event["user"], view=HOME_VIEW)

    @app.action("home_button")
    def home_button(ack: Any, body: dict[str, Any]) -> None:
        received["home_click"] = body
        ack()

    @app.action("add_note")
    def add_note(ack: Any, body: dict[str, Any]) -> None:
        received["view_click"] = body
        ack()

    return app


@pytest.fixture(scope="module")
def bolt() -> Iterator[BoltSetup]:
    """One emulator and one connected Bolt app for the module: connecting and closing cost ~1 s."""
    emulator = SlackEmulator().start()
    emulator.add_user("U1", name="alice", email="alice@example.com", real_name="Alice")
    emulator.add_user("U2", name="bob", email="bob@example.com", real_name="Bob")
    received: dict[str, Any] = {}
    handler = SocketModeHandler(build_app(emulator, received), app_token="xapp-sandbox")
    handler.connect()
    emulator.wait_connected(timeout=5)
    yield BoltSetup(emulator, handler, received)
    handler.close()
    emulator.stop()


def test_socket_mode_handler_connects_through_the_emulator(bolt: BoltSetup) -> None:
    assert bolt.emu.connected
    [call] = bolt.emu.calls_to("apps.connections.open")
    assert call["token"] == "xapp-sandbox"


def test_command_ack_is_an_ephemeral_and_the_modal_opens(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    channel_id = bolt.emu.add_channel("general-cmd", members=["U1"])
    ack = alice.command("/incident", "open Checkout is down", channel_id=channel_id)
    assert ack.payload == {"text": "Opening the form…"} and ack.latency > 0
    assert bolt.emu.ephemerals("U1")[-1]["text"] == "Opening the form…"
    view = alice.wait_for_view(callback_id="declare")
    assert (
        view["title"]["text"] == "Declare an incident"
        and view["private_metadata"] == '{"channel_id": "C0GENERAL"}'
    )
    opened = bolt.emu.calls_to("views.open")[-1]["params"]
    assert opened["view"]["callback_id"] == "declare"
    assert bolt.emu.acks[-1].envelope_id == ack.envelope_id


def test_submit_by_labels_sends_slack_shapes(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    alice.command("/incident", "open")
    view = alice.wait_for_view(callback_id="declare")
    values = {
        "Title": "Checkout is down",
        "Priority": "P1",
        "Environments": ["PRD", "stg"],
        "Commander": "U2",
        "Seller flags": ["Key account"],
        "Detected at": 1732600000,
    }
    ack = alice.submit(view, values)
    assert ack.errors is None
    state = bolt.emu.wait_for(lambda: bolt.received.pop("submission", None))
    assert state == {
        "title": {"title_input": {"type": "plain_text_input", "value": "Checkout is down"}},
        "description": {"d": {"type": "plain_text_input", "value": "n/a"}},
        "priority": {
            "p": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "P1", "emoji": True},
                    "value": "p1",
                },
            }
        },
        "envs": {
            "e": {
                "type": "multi_static_select",
                "selected_options": [
                    {"text": {"type": "plain_text", "text": "PRD", "emoji": True}, "value": "prd"},
                    {"text": {"type": "plain_text", "text": "STG", "emoji": True}, "value": "stg"},
                ],
            }
        },
        "commander": {"c": {"type": "users_select", "selected_user": "U2"}},
        "flags": {
            "f": {
                "type": "checkboxes",
                "selected_options": [
                    {
                        "text": {"type": "plain_text", "text": "Key account", "emoji": True},
                        "value": "key_account",
                    }
                ],
            }
        },
        "detected": {"dt": {"type": "datetimepicker", "selected_date_time": 1732600000}},
    }
    assert bolt.emu.view_stack("U1") == []


def test_validation_errors_keep_the_modal_and_what_was_typed(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    alice.command("/incident", "open")
    view = alice.wait_for_view(callback_id="declare")
    with pytest.raises(KeyError, match="Title"):
        alice.submit(view, {"Severity": "high"})
    with pytest.raises(InputRejected, match="Priority"):
        alice.submit(view, {"Title": "bad"})
    ack = alice.submit(view, {"Title": "bad", "Priority": "p2", "Environments": ["PRD"], "Commander": "bob"})
    assert ack.errors == {"title": "Title must be at least 10 characters"}
    assert [v["id"] for v in bolt.emu.view_stack("U1")] == [view["id"]]
    alice.submit(view, {"Title": "Payments are slow"})
    state = bolt.emu.wait_for(lambda: bolt.received.pop("submission", None))
    assert state["priority"]["p"]["selected_option"]["value"] == "p2"
    assert state["commander"]["c"]["selected_user"] == "U2"
    assert state["detected"]["dt"]["selected_date_time"] == 1732500000


def test_response_action_update_replaces_the_view(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    alice.command("/incident", "open")
    view = alice.wait_for_view(callback_id="declare")
    alice.submit(view, {"Title": "update me", "Priority": "P3", "Environments": ["STG"], "Commander": "U1"})
    updated = alice.wait_for_view(timeout=1)
    assert updated["id"] == view["id"] and updated["title"]["text"] == "Check again"
    assert updated["hash"] != view["hash"]


def test_click_in_view_sends_a_view_container(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    alice.command("/incident", "open")
    view = alice.wait_for_view(callback_id="declare")
    alice.click_in_view(view, "Add")
    body = bolt.emu.wait_for(lambda: bolt.received.pop("view_click", None))
    assert body["container"] == {"type": "view", "view_id": view["id"]}
    assert body["actions"][0]["action_id"] == "add_note" and body["view"]["callback_id"] == "declare"


def test_button_click_reaches_the_action_listener(bolt: BoltSetup) -> None:
    client = WebClient(token="xoxb-sandbox", base_url=bolt.emu.api_url)
    channel_id = client.conversations_create(name="inc-click")["channel"]["id"]
    button = {
        "type": "button",
        "action_id": "ack_incident",
        "text": {"type": "plain_text", "text": "Acknowledge"},
        "value": "OPS-1",
        "style": "primary",
    }
    blocks = [{"type": "actions", "block_id": "actions1", "elements": [button]}]
    ts = client.chat_postMessage(channel=channel_id, text="Incident", blocks=blocks)["ts"]
    SlackUser(bolt.emu, "U2").click(channel_id, "Acknowledge")
    body = bolt.emu.wait_for(lambda: bolt.received.pop("click", None))
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "ack_incident",
        "actions1",
        "OPS-1",
        "button",
    )
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    assert body["user"]["id"] == "U2" and body["message"]["ts"] == ts
    with pytest.raises(LookupError, match="Acknowledge"):
        SlackUser(bolt.emu, "U2").click(channel_id, "Close")


def test_respond_through_response_url_is_an_ephemeral(bolt: BoltSetup) -> None:
    SlackUser(bolt.emu, "U2").command("/incident", "status")
    entry = bolt.emu.wait_for(lambda: [e for e in bolt.emu.ephemerals("U2") if e["source"] == "response_url"])
    assert entry[-1]["text"] == "All quiet"


def test_opening_the_home_tab_sends_app_home_opened_and_the_app_publishes_its_view(bolt: BoltSetup) -> None:
    alice = SlackUser(bolt.emu, "U1")
    bolt.received.pop("home_events", None)
    first = alice.open_home()
    assert first["type"] == "home" and first["blocks"][0]["accessory"]["value"] == "7"
    second = alice.open_home()
    assert second["id"] == first["id"] and second["hash"] != first["hash"], "the same tab, a new version"
    assert bolt.emu.home_publishes("U1") == 2
    before, after = bolt.received["home_events"]
    assert before["type"] == "app_home_opened" and before["tab"] == "home" and before["user"] == "U1"
    assert before["channel"].startswith("D") and "view" not in before, "no view before the first publish"
    assert after["view"]["id"] == first["id"], "Slack sends the view that was published"
    alice.open_messages_tab()  # acknowledged before the app's listener has run: wait for it to see it
    bolt.emu.wait_for(lambda: bolt.received["home_events"][-1]["tab"] == "messages")
    assert bolt.emu.home_publishes("U1") == 2


def test_a_click_in_the_home_tab_comes_from_a_view_with_no_channel(bolt: BoltSetup) -> None:
    bob = SlackUser(bolt.emu, "U2")
    home = bob.open_home()
    with pytest.raises(LookupError):
        bob.click_in_home("Update", row="#8")
    bob.click_in_home("Update", row="#7")
    body = bolt.emu.wait_for(lambda: bolt.received.pop("home_click", None))
    assert body["container"] == {"type": "view", "view_id": home["id"]}
    assert body["view"]["type"] == "home" and body["trigger_id"]
    assert "channel" not in body and "response_url" not in body
    assert body["actions"][0]["value"] == "7"


def test_views_publish_checks_the_view_like_slack(emu: SlackEmulator, client: WebClient) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
    home = {"type": "home", "blocks": [section]}
    published = client.views_publish(user_id="U1", view=home)["view"]
    assert emu.home_view("U1")["id"] == published["id"]
    assert api_error(lambda: client.views_publish(user_id="U9", view=home)) == "user_not_found"
    assert api_error(lambda: client.views_publish(user_id="U1", view={**home, "type": "modal"})) == (
        "invalid_arguments"
    )
    too_many = {"type": "home", "blocks": [section] * 101}
    assert api_error(lambda: client.views_publish(user_id="U1", view=too_many)) == "invalid_arguments"
    assert api_error(lambda: client.views_publish(user_id="U1", view=home, hash="stale")) == "hash_conflict"
    client.views_publish(user_id="U1", view=home, hash=published["hash"])
    assert emu.home_publishes("U1") == 2


class RawApp:
    """A bare Socket Mode client that acks every envelope and keeps the payloads it got."""

    def __init__(self, emu: SlackEmulator) -> None:
        self.emu = emu
        self.payloads: list[dict[str, Any]] = []
        self.websocket = ws_connect(emu.state.ws_url, legacy=True)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for message in self.websocket:
            data = json.loads(message)
            if "envelope_id" in data:
                self.payloads.append(data["payload"])
                self.websocket.send(json.dumps({"envelope_id": data["envelope_id"]}))

    def __enter__(self) -> RawApp:
        self.thread.start()
        self.emu.wait_connected(timeout=2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.websocket.close()
        self.thread.join(timeout=2)


# ---- form filling (every supported element) -----------------------------------------------------
def _input(label: str, element: dict[str, Any], optional: bool = True) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": label.lower().replace(" ", "_"),
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "a", **element},
    }


def test_every_supported_element_gets_slacks_state_shape(emu: SlackEmulator) -> None:
    options = [{"text": {"type": "plain_text", "text": t}, "value": t.lower()} for t in ("Low", "High")]
    general = emu.add_channel("general")
    view = {
        "type": "modal",
        "callback_id": "all",
        "title": {"type": "plain_text", "text": "All"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            _input("Notes", {"type": "plain_text_input", "multiline": True, "max_length": 20}),
            _input("Radio", {"type": "radio_buttons", "options": options, "initial_option": options[1]}),
            _input("Count", {"type": "number_input", "is_decimal_allowed": False}),
            _input("Email", {"type": "email_text_input"}),
            _input("Link", {"type": "url_text_input", "initial_value": "https://example.com"}),
            _input("Day", {"type": "datepicker"}),
            _input("Time", {"type": "timepicker", "timezone": "Europe/Berlin"}),
            _input("People", {"type": "multi_users_select", "initial_users": ["U1"]}),
            _input("Where", {"type": "conversations_select"}),
            _input("Untouched", {"type": "static_select", "options": options}),
        ],
    }
    client = WebClient(token="xoxb-sandbox", base_url=emu.api_url)
    opened = client.views_open(trigger_id=emu.issue_trigger("U1"), view=view)["view"]
    values = {
        "Notes": "line 1\nline 2",
        "Count": 3,
        "Email": "a@example.com",
        "Day": "2024-11-26",
        "Time": "09:30",
        "People": ["U1", "bob"],
        "Where": "#general",
    }
    alice = SlackUser(emu, "U1")
    with RawApp(emu) as app:
        alice.submit(opened, values)
    submission = app.payloads[-1]
    assert submission["type"] == "view_submission" and submission["view"]["id"] == opened["id"]
    state = submission["view"]["state"]["values"]
    assert state == {
        "notes": {"a": {"type": "plain_text_input", "value": "line 1\nline 2"}},
        "radio": {
            "a": {
                "type": "radio_buttons",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "High", "emoji": True},
                    "value": "high",
                },
            }
        },
        "count": {"a": {"type": "number_input", "value": "3"}},
        "email": {"a": {"type": "email_text_input", "value": "a@example.com"}},
        "link": {"a": {"type": "url_text_input", "value": "https://example.com"}},
        "day": {"a": {"type": "datepicker", "selected_date": "2024-11-26"}},
        "time": {"a": {"type": "timepicker", "selected_time": "09:30", "timezone": "Europe/Berlin"}},
        "people": {"a": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
        "where": {"a": {"type": "conversations_select", "selected_conversation": general}},
        "untouched": {"a": {"type": "static_select", "selected_option": None}},
    }
    reopened = client.views_open(trigger_id=emu.issue_trigger("U1"), view=view)["view"]
    with pytest.raises(InputRejected, match="Notes"):
        alice.submit(reopened, {"Notes": "x" * 21})
    with pytest.raises(KeyError, match="Radio"):
        alice.submit(reopened, {"Radio": "Medium"})

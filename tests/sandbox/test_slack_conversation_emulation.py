"""The Slack emulator's conversation: people's messages (and their deletion), reactions and their events,
message shortcuts, `conversations.history`/`replies` windows, and permalinks, driven through a real
`WebClient` and Bolt's own SocketModeHandler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack import SlackEmulator, SlackUser


class Heard:
    """What the Bolt app received, with a way to wait for it."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()

    def add(self, kind: str, body: dict[str, Any]) -> None:
        with self.changed:
            self.items.append((kind, body))
            self.changed.notify_all()

    def wait(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.items) >= count, timeout=5), self.items
            return list(self.items)


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[SlackEmulator, Heard, str]]:
    emu = SlackEmulator().start()
    emu.add_user("U1", name="alice", email="alice@example.com", real_name="Alice")
    emu.add_user("U2", name="bob", email="bob@example.com", real_name="Bob")
    channel = emu.add_channel("inc-1", members=["U1", "U2", emu.bot_user_id])
    heard = Heard()
    app = App(token="xoxb-sandbox", client=WebClient(token="xoxb-sandbox", base_url=emu.api_url))

    @app.event("reaction_added")
    def added(body: dict[str, Any]) -> None:
        heard.add("added", body)

    @app.event("reaction_removed")
    def removed(body: dict[str, Any]) -> None:
        heard.add("removed", body)

    @app.message_shortcut("send_to_jira")
    def shortcut(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        heard.add("shortcut", body)
        respond(text="Sent.", response_type="ephemeral")

    handler = SocketModeHandler(app, app_token="xapp-sandbox")
    handler.connect()
    emu.wait_connected(timeout=5)
    yield emu, heard, channel
    handler.close()
    emu.stop()


@pytest.fixture
def client(setup) -> WebClient:
    return WebClient(token="xoxb-sandbox", base_url=setup[0].api_url)


def api_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


def test_a_reaction_is_stored_and_heard_as_reaction_added_then_removed(setup, client) -> None:
    emu, heard, channel = setup
    alice, bob = SlackUser(emu, "U1"), SlackUser(emu, "U2")
    ts = alice.say(channel, "the deploy at 10:02 broke checkout")
    before = len(heard.items)
    bob.react(channel, ts, "pushpin")
    kind, body = heard.wait(before + 1)[-1]
    assert kind == "added" and body["type"] == "event_callback" and body["authorizations"][0]["is_bot"]
    assert body["event"] == {
        "type": "reaction_added",
        "user": "U2",
        "reaction": "pushpin",
        "item_user": "U1",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": body["event"]["event_ts"],
    }
    got = client.reactions_get(channel=channel, timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "pushpin", "users": ["U2"], "count": 1}]
    bob.unreact(channel, ts, "pushpin")
    kind, body = heard.wait(before + 2)[-1]
    assert kind == "removed" and body["event"]["reaction"] == "pushpin"
    assert "reactions" not in client.reactions_get(channel=channel, timestamp=ts)["message"]
    with pytest.raises(Exception, match="already_reacted"):
        alice.react(channel, ts, "eyes")
        alice.react(channel, ts, "eyes")


def test_the_bot_reacts_with_reactions_add(setup, client) -> None:
    emu, _heard, channel = setup
    ts = SlackUser(emu, "U1").say(channel, "send me to Jira")
    client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
    assert emu.reactions(channel, ts) == {"white_check_mark": [emu.bot_user_id]}
    assert api_error(
        lambda: client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
    ) == ("already_reacted")
    assert api_error(lambda: client.reactions_add(channel=channel, timestamp="1.000001", name="x")) == (
        "message_not_found"
    )


def test_a_message_shortcut_sends_slacks_message_action_payload(setup) -> None:
    emu, heard, channel = setup
    alice, bob = SlackUser(emu, "U1"), SlackUser(emu, "U2")
    ts = alice.say(channel, "*rolled back* to v41")
    before = len(heard.items)
    ack = bob.shortcut(channel, ts, "send_to_jira")
    assert ack.payload in (None, {})
    kind, body = heard.wait(before + 1)[-1]
    assert kind == "shortcut"
    assert body["type"] == "message_action" and body["callback_id"] == "send_to_jira"
    assert body["channel"] == {"id": channel, "name": "inc-1"} and body["user"]["id"] == "U2"
    assert body["message_ts"] == ts and body["trigger_id"] and body["response_url"]
    assert {k: body["message"][k] for k in ("type", "user", "text", "ts")} == {
        "type": "message",
        "user": "U1",
        "text": "*rolled back* to v41",
        "ts": ts,
    }
    emu.wait_for(lambda: any(e["text"] == "Sent." for e in emu.ephemerals("U2")))


def test_history_window_and_replies_find_one_message(setup, client) -> None:
    emu, _heard, channel = setup
    alice = SlackUser(emu, "U1")
    first = alice.say(channel, "first")
    second = alice.say(channel, "second")
    reply = alice.say(channel, "a reply", thread_ts=first)
    one = client.conversations_history(channel=channel, latest=first, inclusive=True, limit=1)["messages"]
    assert [m["text"] for m in one] == ["first"]
    assert one[0]["reply_count"] == 1
    exclusive = client.conversations_history(channel=channel, latest=second, limit=1)["messages"]
    assert [m["text"] for m in exclusive] == ["first"]
    miss = client.conversations_history(channel=channel, latest=reply, inclusive=True, limit=1)["messages"]
    assert miss[0]["ts"] != reply, "a thread reply is not in the channel's history"
    thread = client.conversations_replies(channel=channel, ts=reply, oldest=reply, inclusive=True)["messages"]
    assert [m["text"] for m in thread] == ["first", "a reply"]
    assert thread[1]["thread_ts"] == first
    assert (
        api_error(lambda: client.conversations_replies(channel=channel, ts="1.000001")) == "thread_not_found"
    )


def test_the_bot_cannot_read_a_channel_it_is_not_in(setup, client) -> None:
    emu, _heard, _channel = setup
    elsewhere = emu.add_channel("random", members=["U1"])
    assert api_error(lambda: client.conversations_history(channel=elsewhere, limit=1)) == "not_in_channel"


def test_permalinks_of_messages_and_replies(setup, client) -> None:
    emu, _heard, channel = setup
    alice = SlackUser(emu, "U1")
    parent = alice.say(channel, "parent")
    reply = alice.say(channel, "reply", thread_ts=parent)
    link = client.chat_getPermalink(channel=channel, message_ts=parent)["permalink"]
    assert link == f"https://sandbox.slack.com/archives/{channel}/p{parent.replace('.', '')}"
    threaded = client.chat_getPermalink(channel=channel, message_ts=reply)["permalink"]
    assert threaded.endswith(f"p{reply.replace('.', '')}?thread_ts={parent}&cid={channel}")


def test_deleting_a_message_removes_it_or_leaves_a_tombstone(setup, client) -> None:
    emu, _heard, channel = setup
    alice = SlackUser(emu, "U1")
    lone = alice.say(channel, "oops")
    alice.delete(channel, lone)
    assert (
        api_error(lambda: client.chat_getPermalink(channel=channel, message_ts=lone)) == "message_not_found"
    )
    parent = alice.say(channel, "with replies")
    alice.say(channel, "a reply", thread_ts=parent)
    alice.delete(channel, parent)
    [tomb] = client.conversations_history(channel=channel, latest=parent, inclusive=True, limit=1)["messages"]
    assert (tomb["subtype"], tomb["text"]) == ("tombstone", "This message was deleted.")

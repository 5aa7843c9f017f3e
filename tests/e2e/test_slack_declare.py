"""Declaring through Slack, end to end: the modal, its errors, and what Slack
ends up holding."""

from __future__ import annotations

import pytest

from sandbox.rig import Rig, person
from tests.e2e.slack_steps import (
    WAIT,
    Declared,
    announcement,
    button_labels,
    declare,
    input_labels,
    last_ephemeral,
    message_text,
    open_view,
    today,
    wait_for_jira_link,
)
from views.ids import Callback

ALICE, BOB, CAROL = (person(name).slack_id for name in ("alice", "bob", "carol"))


@pytest.mark.both_jiras
def test_declare_p1_creates_the_channel_announces_pins_and_notifies(rig: Rig) -> None:
    view = open_view(rig, "alice", "open Checkout is down hard", Callback.DECLARE)
    assert view["title"]["text"] == "Declare an incident"
    title_input = next(b for b in view["blocks"] if b["label"]["text"] == "Title")
    assert title_input["element"]["initial_value"] == "Checkout is down hard"
    ack = rig.slack_user("alice").submit(
        view,
        {
            "Priority": "P1",
            "Description": "Card payments <fail> & *retries* pile up <!channel>",
            "Environments": ["PRD", "STG"],
            "Customers impact": "High",
            "Zendesk ticket ID": "ZD-1234",
        },
    )
    assert ack.errors is None
    assert "Incident #1" in last_ephemeral(rig, "alice"), "the reporter hears back where they declared"
    assert rig.slack.ephemerals(ALICE)[-1]["channel"] == rig.general

    name = f"inc-{today()}-1-checkout-is-down-hard"
    channel = rig.slack.wait_for(lambda: [c for c in rig.slack.channels.values() if c["name"] == name])[0]
    incident = Declared(1, channel["id"], name)
    message = wait_for_jira_link(rig, incident)

    topic = "P1 | Open | INC-1 | Checkout is down hard"
    rig.slack.wait_for(lambda: rig.slack.channels[incident.channel]["topic"] == topic, timeout=WAIT)
    members = rig.slack.channels[incident.channel]["members"]
    assert members == {ALICE, CAROL, rig.slack.bot_user_id}, "reporter and the P1 responders"

    posted = rig.slack.messages(incident.channel)
    assert [m["ts"] for m in posted if m.get("blocks")] == [message["ts"]], "one announcement, edited"
    assert rig.slack.pins(incident.channel) == [message["ts"]]
    assert message["edited"] >= 1
    shown = message_text(message)
    for fragment in (
        "Incident #1: Checkout is down hard",
        "*Priority:* P1",
        "*Status:* Open",
        "*Environments:* PRD, STG",
        "*Commander:* <@U0ALICE>",
        f"*Jira:* <{rig.jira.url}/browse/INC-1|INC-1>",
        "Card payments &lt;fail&gt; &amp; *retries* pile up &lt;!channel&gt;",
    ):
        assert fragment in shown, (fragment, shown)
    assert "Post-mortem:" not in shown, "no post-mortem link before there is one"
    assert button_labels(message) == ["Update", "Key events", "Post-mortem", "Follow-up", "Close"]
    updates = rig.slack.calls_to("chat.update")
    assert updates and all(call["params"]["ts"] == message["ts"] for call in updates)

    notices = rig.slack.messages(rig.announcements)
    assert [n["text"] for n in notices] == [
        f":rotating_light: New P1 incident #1: *Checkout is down hard* in <#{incident.channel}> "
        "(commander <@U0ALICE>)"
    ]
    assert [b["title"] for b in rig.slack.bookmarks(incident.channel)] == ["Jira ticket"]
    assert rig.slack.bookmarks(incident.channel)[0]["link"] == f"{rig.jira.url}/browse/INC-1"


@pytest.mark.both_jiras
def test_declare_p4_has_no_channel_and_dms_the_jira_key(rig: Rig) -> None:
    channels_before = set(rig.slack.channels)
    incident = declare(rig, "bob", "Refund export is slow today", "P4", **{"Suggested team": "Payments"})
    assert incident.id == 1
    assert "Jira ticket is being created" in last_ephemeral(rig, "bob")

    dm = rig.slack.wait_for(lambda: rig.slack.dms(BOB), timeout=WAIT)
    assert len(dm) == 1
    assert dm[0]["text"] == (
        f"Your P4 incident #1 *Refund export is slow today* is tracked in Jira: "
        f"<{rig.jira.url}/browse/TEAM-1|TEAM-1>. Update it with `/incident update TEAM-1`."
    )
    assert set(rig.slack.channels) == channels_before, "P4–P5 get no channel"
    assert rig.slack.messages(rig.announcements) == [], "no announcement for a normal incident"
    assert not rig.slack.calls_to("conversations.create")


def test_declare_validation_errors_land_on_their_fields(rig: Rig) -> None:
    alice = rig.slack_user("alice")
    view = open_view(rig, "alice", "open", Callback.DECLARE)
    assert input_labels(view) == [
        "Title",
        "Description",
        "Priority",
        "Environments",
        "Platform",
        "Customers impact",
        "Sellers impact",
        "Business impact",
        "Employees impact",
        "Zendesk ticket ID",
        "Seller contract ID",
        "Zoho Desk ticket ID",
        "Seller flags",
        "Suggested team",
        "Category",
    ]

    ack = alice.submit(view, {"Title": "Too short", "Priority": "P2"})
    assert ack.errors == {"title": "The title needs 10 to 128 characters (it has 9)."}

    ack = alice.submit(view, {"Title": "x" * 129})
    assert ack.errors == {"title": "The title needs 10 to 128 characters (it has 129)."}

    ack = alice.submit(view, {"Title": "Search is returning nothing", "Priority": "P4"})
    assert ack.errors == {"suggested_team_routing": "P4–P5 incidents need a suggested team."}

    ack = alice.submit(
        view,
        {
            "Priority": "P5",
            "Suggested team": "Checkout",
            "Seller contract ID": "SC-9",
            "Zoho Desk ticket ID": "ZO-3",
            "Seller flags": ["Key account", "Seller in golden list"],
            "Zendesk ticket ID": "ZD-1",
        },
    )
    assert ack.errors == {
        "seller_contract_id": "Seller details go with a Sellers impact: choose one.",
        "zoho_desk_ticket_id": "Seller details go with a Sellers impact: choose one.",
        "seller_flags": "Seller flags go with a Sellers impact: choose one.",
        "zendesk_ticket_id": "A Zendesk ticket goes with a Customers impact: choose one.",
    }

    ack = alice.submit(view, {"Sellers impact": "Low", "Zendesk ticket ID": "bad\tid"})
    assert ack.errors == {"zendesk_ticket_id": "Use at most 64 printable characters."}

    ack = alice.submit(view, {"Customers impact": "Medium", "Zendesk ticket ID": "ZD-1"})
    assert ack.errors is None, "fixed input is accepted"
    assert "Incident #1" in last_ephemeral(rig, "alice")
    assert rig.slack.wait_for(lambda: rig.slack.dms(ALICE), timeout=WAIT)
    assert rig.slack.view_stack(ALICE) == [], "the modal closed on success"


def test_channel_names_follow_the_rules_and_survive_name_taken(rig: Rig) -> None:
    title = "Café crème: orders fail!"
    rig.slack.add_channel(f"inc-{today()}-1-cafe-creme-orders-fail", members=[person("dave").slack_id])
    first = declare(rig, "alice", title, "P3")
    assert first.name == f"inc-{today()}-1-cafe-creme-orders-fail-2"
    assert rig.slack.channels[first.channel]["members"] == {ALICE, rig.slack.bot_user_id}
    attempts = rig.slack.calls_to("conversations.create")
    assert [c["params"]["name"] for c in attempts] == [
        f"inc-{today()}-1-cafe-creme-orders-fail",
        f"inc-{today()}-1-cafe-creme-orders-fail-2",
    ]

    long_title = "Very long title about " + "the payment gateway timing out " * 4
    second = declare(rig, "bob", long_title[:128], "P2")
    assert second.name is not None
    assert len(second.name) <= 80
    assert second.name.startswith(f"inc-{today()}-2-very-long-title-about-the-payment-gateway")
    assert not second.name.endswith("-")
    assert set(second.name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    message = announcement(rig, second)
    assert "Incident #2" in message_text(message)

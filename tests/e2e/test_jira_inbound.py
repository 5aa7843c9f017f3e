"""End to end: a person changes the ticket in Jira; the real bot process updates the incident and its
channel through the signed webhook, and writes nothing back to Jira."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot import db, incidents
from bot.models import Incident
from tests.e2e.jira_steps import wait_until_idle

pytestmark = pytest.mark.both_jiras


def test_a_change_made_in_jira_reaches_the_incident_and_its_channel_once(rig) -> None:
    slack, jira = rig.slack, rig.jira
    alice = rig.slack_user("alice")
    alice.command("/incident", "open Checkout fails for EU customers", channel_id=rig.general)
    ack = alice.submit(
        alice.wait_for_view(),
        {
            "Priority": "P2",
            "Environments": ["PRD"],
            "Platform": "platform-FR",
            "Customers impact": "High",
            "Description": "Card payments time out at the last step.",
        },
    )
    assert ack.errors is None
    channel = slack.wait_for(
        lambda: next((c["id"] for c in slack.channels.values() if c["name"].startswith("inc-")), None),
        timeout=15,
    )
    key = jira.wait_for(lambda: next(iter(jira.issues), None), timeout=15)
    jira.wait_for(lambda: jira.issue(key)["remote_links"], timeout=15)
    slack.wait_for(lambda: slack.bookmarks(channel) and slack.pins(channel), timeout=15)
    wait_until_idle(rig, key)  # the bot's own writes settle (and their webhooks come back, to be skipped)
    [announcement_ts] = slack.pins(channel)
    edits_before = announcement(slack, channel, announcement_ts).get("edited")
    jira.clear_requests()

    bob = rig.jira_user("bob")
    bob.transition(key, "in progress")
    bob.update(key, summary="Checkout fails for EU card payments")

    expected = [
        f"Jira {key}: Status changed from Incoming to in progress by Bob",
        f"Jira {key}: Summary changed from Checkout fails for EU customers to "
        "Checkout fails for EU card payments by Bob",
    ]

    def jira_lines() -> list[str]:
        return [m["text"] for m in slack.messages(channel) if m["text"].startswith(f"Jira {key}:")]

    slack.wait_for(lambda: jira_lines() == expected, timeout=15)
    slack.wait_for(
        lambda: "Checkout fails for EU card payments" in str(announcement(slack, channel, announcement_ts)),
        timeout=15,
    )
    shown = announcement(slack, channel, announcement_ts)
    assert shown.get("edited") != edits_before, "the announcement is edited in place"
    assert "Mitigating" in str(shown["blocks"])
    wait_until_idle(rig, key)  # every webhook handled: an echo would be in the channel by now
    assert jira_lines() == expected, "each change once"
    writes = [r for r in jira.requests if r["method"] in ("POST", "PUT", "DELETE")]
    assert writes == [], "nothing applied from Jira goes back to Jira"
    assert jira.issue(key)["fields"]["summary"] == "Checkout fails for EU card payments"
    assert jira.issue(key)["status"] == "in progress"
    engine = db.make_engine(rig.env["DATABASE_URL"])
    try:
        with Session(engine) as session:
            incident = session.exec(select(Incident)).one()
            assert (incident.status, incident.title) == ("MITIGATING", "Checkout fails for EU card payments")
            from_jira = [u for u in incidents.history(session, incident.id) if u.source == "jira"]
            assert [sorted(u.changes) for u in from_jira] == [["status"], ["title"]]
            assert all(u.author_id is None and "from Jira" in u.message for u in from_jira)
    finally:
        engine.dispose()


def announcement(slack, channel: str, ts: str) -> dict:
    return next(m for m in slack.messages(channel) if m["ts"] == ts)

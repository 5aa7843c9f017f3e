"""The loop guards on the way in, and the order of deliveries: nothing the bot wrote comes back,
nothing older wins, nothing closes an incident its rules keep open."""

from __future__ import annotations

import json

from bot import incidents
from bot.enums import UpdateKind
from bot.models import AppliedChangelog
from sync.guards import BounceGuard, bounce_key
from tests.sync.conftest import serving
from tests.sync.webhook_support import (
    declared,
    delivered,
    item,
    jira_lines,
    jira_writes,
    other_harness,
    post,
    processor_of,
    settle,
)


def bot_histories(harness, key: str) -> list[dict]:
    return [h for h in harness.jira.issue(key)["changelog"] if h["author"]["accountId"] == "acc-bot"]


def test_the_bots_own_two_hop_transition_does_not_move_the_incident(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.update(incident, status="MITIGATED")
    settle(harness)
    hops = [h for h in bot_histories(harness, ticket.key) if any(i["field"] == "status" for i in h["items"])]
    assert [[i["toString"] for i in h["items"] if i["field"] == "status"] for h in hops] == [
        ["in progress"],
        ["Reporter validation"],
    ]
    assert all(h["id"] in delivered(harness) for h in hops), "both hops reached the route"
    with harness.session() as session:
        assert all(session.get(AppliedChangelog, h["id"]) for h in hops), "and were processed"
    assert harness.incident(incident.id).status == "MITIGATED", "`in progress` did not reopen it"
    assert jira_lines(harness, incident) == []
    kv = harness.runtime.kv
    for status in ("in progress", "Reporter validation"):
        assert kv.get(bounce_key(incident.id, "status", status)) is None, "the echo took its key"


def test_bounce_keys_alone_stop_the_echo_of_both_hops_and_are_single_use(database_url, emulators) -> None:
    # The bot's account unknown to the processor: only the bounce keys stand between its writes and
    # the incident.
    with (
        other_harness(database_url, emulators, jira_bot_account_id="acc-not-the-bot") as harness,
        serving(harness),
    ):
        incident, ticket = declared(harness)
        harness.update(incident, status="MITIGATED", title="Checkout returns 502 errors")
        settle(harness)
        assert harness.incident(incident.id).status == "MITIGATED"
        assert jira_lines(harness, incident) == []
        bob = harness.jira_user("bob")
        bob.update(ticket.key, summary="Checkout returns 503 errors")
        bob.update(ticket.key, summary="Checkout returns 502 errors")  # what the bot wrote before
        settle(harness)
        assert harness.incident(incident.id).title == "Checkout returns 502 errors"
        assert jira_lines(harness, incident) == [
            f"Jira {ticket.key}: Summary changed from Checkout returns 502 errors to "
            "Checkout returns 503 errors by Bob",
            f"Jira {ticket.key}: Summary changed from Checkout returns 503 errors to "
            "Checkout returns 502 errors by Bob",
        ], "the key was used by the echo; a person's identical change is applied"


def test_a_bounce_key_is_used_once(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    BounceGuard(harness.runtime.kv).expect(incident.id, "summary", "Checkout returns 504 errors")
    bob = harness.jira_user("bob")
    bob.update(ticket.key, summary="Checkout returns 504 errors")
    settle(harness)
    assert harness.incident(incident.id).title == incident.title, "taken for the echo of our write"
    bob.update(ticket.key, summary="Checkout returns 500 errors again")
    bob.update(ticket.key, summary="Checkout returns 504 errors")
    settle(harness)
    assert harness.incident(incident.id).title == "Checkout returns 504 errors"
    assert len(jira_lines(harness, incident)) == 2


def test_the_bots_own_write_leaves_no_key_to_swallow_a_persons_change(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.update(incident, title="Checkout returns 502 errors")
    settle(harness)
    assert harness.runtime.kv.get(bounce_key(incident.id, "summary", "Checkout returns 502 errors")) is None
    bob = harness.jira_user("bob")
    bob.update(ticket.key, summary="Checkout returns 503 errors")
    bob.update(ticket.key, summary="Checkout returns 502 errors")
    settle(harness)
    assert harness.incident(incident.id).title == "Checkout returns 502 errors"
    assert len(jira_lines(harness, incident)) == 2


def test_closed_from_an_unmapped_status_is_ignored(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.update(incident, status="INVESTIGATING")  # the bot moves the ticket to `in progress`
    settle(harness)
    bob = harness.jira_user("bob")
    for status in ("Code Review", "in progress", "Code Review", "Closed"):
        bob.transition(ticket.key, status)
    settle(harness)
    assert harness.jira.issue(ticket.key)["status"] == "Closed"
    assert harness.incident(incident.id).status == "INVESTIGATING", (
        "not closed from Code Review; and back in `in progress`, where Investigating already is"
    )
    assert jira_lines(harness, incident) == []


def test_a_close_the_rules_forbid_is_refused_and_explained(harness, webhook_url) -> None:
    incident, ticket = declared(harness, priority=1)
    bob = harness.jira_user("bob")
    harness.jira.clear_requests()
    for status in ("in progress", "Reporter validation", "Closed"):
        bob.transition(ticket.key, status)
    settle(harness)
    now = harness.incident(incident.id)
    assert now.status == "MITIGATED" and now.closed_at is None
    lines = jira_lines(harness, incident)
    assert lines[-1] == (
        f"Jira {ticket.key}: Bob moved the ticket to Closed, but the incident cannot be closed yet: "
        "a P1 incident needs its post-mortem created first. The incident stays open."
    )
    assert len(lines) == 3
    assert jira_writes(harness) == [], "the ticket is not moved back either"


def test_out_of_order_deliveries_end_in_jiras_state(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    bob = harness.jira_user("bob")
    harness.jira.pause_webhooks()
    bob.update(ticket.key, summary="Checkout returns 501 errors", customfield_11064={"value": "2"})
    bob.update(ticket.key, summary="Checkout returns 502 errors")
    harness.jira.resume_webhooks(drop=True)
    first, second = harness.jira.dropped_webhooks
    for held in (second, first, second):  # newest first, then the older one, then a retry
        answer = post(webhook_url, held["body"], identifier=held["headers"]["X-Atlassian-Webhook-Identifier"])
        assert answer.status_code in (200, 202)
    harness.drain()
    now = harness.incident(incident.id)
    assert now.title == "Checkout returns 502 errors", "the older summary does not overwrite the newer"
    assert now.priority == 2, "the older history's other field still applies"
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Summary changed from Checkout returns 501 errors to "
        "Checkout returns 502 errors by Bob",
        f"Jira {ticket.key}: Priority changed from P3 to P2 by Bob",
    ]


def test_a_late_change_from_a_person_does_not_undo_a_newer_write_of_the_bot(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira.pause_webhooks()
    harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    harness.update(incident, title="Checkout returns 502 errors")
    harness.drain()  # the bot writes its title after bob's, in Jira's order
    harness.jira.resume_webhooks(drop=True)
    person, bot = harness.jira.dropped_webhooks
    assert json.loads(bot["body"])["user"]["accountId"] == "acc-bot"
    for held in (bot, person):  # the person's older change arrives last
        post(webhook_url, held["body"], identifier=held["headers"]["X-Atlassian-Webhook-Identifier"])
    harness.drain()
    assert harness.jira.issue(ticket.key)["fields"]["summary"] == "Checkout returns 502 errors"
    assert harness.incident(incident.id).title == "Checkout returns 502 errors", "Slack and Jira agree"
    assert jira_lines(harness, incident) == []


def test_two_status_items_in_one_history_are_judged_by_the_last(harness) -> None:
    """Found by the property test: the close rules must see the status that would be applied."""
    incident, ticket = declared(harness, priority=1, webhooks=False)
    history = {
        "id": "99001",
        "author": {"accountId": "acc-bob", "displayName": "Bob"},
        "items": [item("status", "in progress", "Incoming"), item("status", "Closed", "Reporter validation")],
    }
    outcome = processor_of(harness).apply(ticket_id=ticket.id, history=history, door="webhook")
    harness.drain()
    assert outcome.applied == [] and "status: close refused by the close rules" in outcome.skipped
    assert harness.incident(incident.id).status == "OPEN"
    assert "cannot be closed yet" in jira_lines(harness, incident)[-1]


def test_a_value_written_twice_before_its_echoes_swallows_both(database_url, emulators) -> None:
    # Only the bounce keys know the bot's writes here; it writes A, then Z, then A again while Jira's
    # webhooks are late, and Bob changes the summary in between.
    with (
        other_harness(database_url, emulators, jira_bot_account_id="acc-not-the-bot") as harness,
        serving(harness),
    ):
        incident, ticket = declared(harness)
        first, other = "Checkout returns 502 errors", "Checkout returns 503 errors"
        harness.jira.hold_webhooks()
        harness.update(incident, title=first)
        harness.drain()
        harness.update(incident, title=other)
        harness.drain()
        harness.jira_user("bob").update(ticket.key, summary="Checkout returns 504 errors")
        harness.update(incident, title=first)
        harness.drain()
        assert harness.runtime.kv.get(bounce_key(incident.id, "summary", first)) == "2"

        harness.jira.release_all_webhooks()
        settle(harness)

        assert harness.incident(incident.id).title == first
        with harness.session() as session:
            last = incidents.history(session, incident.id)[-1]
        assert last.event_type == UpdateKind.CORRECTED, "the second echo was known as the bot's write"
        assert harness.runtime.kv.get(bounce_key(incident.id, "summary", first)) is None

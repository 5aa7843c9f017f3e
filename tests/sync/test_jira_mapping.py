"""Another team's Jira: the mappings as settings, against the emulator's `simple` site (To Do → In Progress
→ In Review → Done, Jira's own priority field), the sync directions, and people matched both ways.

The runtime is the real one, built from settings only; people act in the Jira emulator, whose webhooks
reach the real route; assertions read what the emulators received.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import incidents
from sandbox.shapes import SIMPLE_PRIORITIES, SIMPLE_STATUS_FROM_JIRA, SIMPLE_STATUS_TO_JIRA
from sync.guards import bounce_key
from tests.sync.conftest import Harness, serving
from tests.sync.webhook_support import declared, jira_lines, jira_writes, other_harness, settle

SIMPLE = dict(
    jira_status_to_jira=SIMPLE_STATUS_TO_JIRA,
    jira_status_from_jira=SIMPLE_STATUS_FROM_JIRA,
    jira_field_priority="priority",
    jira_priority_values=SIMPLE_PRIORITIES,
)


@pytest.fixture
def simple(database_url: str, emulators) -> Iterator[Harness]:
    """The bot configured for the `simple` site, its webhook route serving."""
    emulators[1].use_preset("simple")
    with other_harness(database_url, emulators, **SIMPLE) as harness, serving(harness):
        yield harness


def created(harness: Harness) -> dict:
    [create] = [
        r for r in harness.jira.requests_to("POST", "/rest/api/2/issue") if r["path"].endswith("/issue")
    ]
    return create["json"]["fields"]


def transitions_to(harness: Harness, key: str) -> list[str]:
    """The statuses the bot's transitions led to, in order."""
    return [
        h["items"][-1]["toString"]
        for h in harness.jira.issue(key)["changelog"]
        if h["author"]["accountId"] == "acc-bot" and h["items"][-1]["fieldId"] == "status"
    ]


def test_the_ticket_is_made_and_moved_in_the_team_s_terms(simple: Harness) -> None:
    incident, ticket = declared(simple, 1)
    fields = created(simple)
    assert fields["priority"] == {"name": "Highest"} and "customfield_11064" not in fields
    assert simple.jira.issue(ticket.key)["status"] == "To Do"
    assert simple.ticket(incident).jira_values["status"] == {"name": "To Do", "means": ["OPEN"]}
    for status, expected in [
        ("INVESTIGATING", "In Progress"),
        ("MITIGATING", "In Progress"),
        ("MITIGATED", "In Review"),
        ("POST_MORTEM", "In Review"),
        ("OPEN", "To Do"),
        ("MITIGATED", "In Review"),
    ]:
        simple.update(incident, status=status)
        settle(simple)
        assert simple.jira.issue(ticket.key)["status"] == expected, status
        assert simple.incident(incident.id).status == status, "the bot's own moves come back as echoes"
    assert transitions_to(simple, ticket.key) == [
        "In Progress",
        "In Review",
        "In Progress",
        "To Do",
        "In Progress",
        "In Review",
    ], "hop by hop, one transition per step of the workflow"
    simple.jira.hold_webhooks()  # so the echo cannot take the bounce key before it is looked at
    simple.update(incident, priority=2)
    simple.drain()
    assert simple.jira.issue(ticket.key)["fields"]["priority"]["name"] == "High"
    [edit] = [
        r
        for r in simple.jira.requests_to("PUT", f"/rest/api/2/issue/{ticket.key}")
        if r["path"].endswith(ticket.key)
    ]
    assert edit["json"]["fields"] == {"priority": {"name": "High"}}
    assert simple.runtime.kv.get(bounce_key(incident.id, "priority", "High")) == "1", (
        "keyed by the value written"
    )
    simple.jira.release_all_webhooks()
    settle(simple)
    assert simple.incident(incident.id).priority == 2
    assert jira_lines(simple, incident) == [], "no echo reaches the channel"


def test_each_team_status_and_priority_comes_back_to_the_incident(simple: Harness) -> None:
    incident, ticket = declared(simple, 3)
    bob = simple.jira_user("bob")
    simple.jira.clear_requests()
    for status, expected in [
        ("In Progress", "INVESTIGATING"),
        ("In Review", "MITIGATED"),
        ("In Progress", "INVESTIGATING"),
        ("To Do", "OPEN"),
        ("In Progress", "INVESTIGATING"),
        ("In Review", "MITIGATED"),
    ]:
        bob.transition(ticket.key, status)
        settle(simple)
        assert simple.incident(incident.id).status == expected, status
    bob.update(ticket.key, priority={"name": "Low"})
    bob.update(ticket.key, customfield_11064={"value": "1"})  # not this site's priority field: ignored
    settle(simple)
    assert simple.incident(incident.id).priority == 4
    bob.transition(ticket.key, "Done")  # a P3 needs no post-mortem
    settle(simple)
    assert simple.incident(incident.id).status == "CLOSED"
    lines = jira_lines(simple, incident)
    assert lines[0] == f"Jira {ticket.key}: Status changed from To Do to In Progress by Bob"
    assert lines[-2:] == [
        f"Jira {ticket.key}: Priority changed from P3 to P4 by Bob",
        f"Jira {ticket.key}: Status changed from In Review to Done by Bob",
    ]
    assert len(lines) == 8
    assert jira_writes(simple) == [], "nothing applied from Jira goes back"


def test_without_the_workflow_api_the_walk_follows_the_configured_order(simple: Harness) -> None:
    simple.jira.hide_workflow_api()
    incident, ticket = declared(simple, 3)
    simple.update(incident, status="MITIGATED")
    simple.drain()
    assert simple.jira.issue(ticket.key)["status"] == "In Review"
    simple.update(incident, status="OPEN")
    simple.drain()
    assert transitions_to(simple, ticket.key) == ["In Progress", "In Review", "In Progress", "To Do"]


def test_a_close_from_an_unmapped_status_is_ignored_under_any_map(simple: Harness) -> None:
    statuses = ["To Do", "In Progress", "In Review", "Blocked", "Done"]
    simple.jira.set_workflow(statuses, [(f"Go to {s}", "*", s) for s in statuses])
    incident, ticket = declared(simple, 3)
    bob = simple.jira_user("bob")
    bob.transition(ticket.key, "In Review")
    bob.transition(ticket.key, "Blocked")  # outside the map: the incident stays Mitigated
    bob.transition(ticket.key, "Done")
    settle(simple)
    assert simple.incident(incident.id).status == "MITIGATED"
    assert simple.ticket(incident).jira_values["status"] == {"name": "Done", "means": ["CLOSED"]}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_directions_decide_what_goes_where(database_url: str, emulators) -> None:
    directions = {"title": "to_jira", "description": "off", "commander": "from_jira"}
    with other_harness(database_url, emulators, jira_sync_fields=directions) as harness, serving(harness):
        incident, ticket = declared(harness, 2)
        harness.jira.clear_requests()
        harness.update(incident, title="Checkout returns 502 errors", description="Only in the EU")
        harness.update(incident, commander_id="U0BOB")
        settle(harness)
        issue = harness.jira.issue(ticket.key)["fields"]
        assert issue["summary"] == "Checkout returns 502 errors", "to_jira: pushed"
        assert not issue["description"].startswith("Only in the EU"), "off: not pushed"
        assert issue["assignee"] is None, "from_jira: never pushed, not even the first commander"
        bob = harness.jira_user("bob")
        bob.update(ticket.key, summary="Renamed in Jira by Bob", description="Edited in Jira")
        bob.assign(ticket.key, "acc-carol")
        settle(harness)
        now = harness.incident(incident.id)
        assert now.title == "Checkout returns 502 errors", "to_jira: never applied from Jira"
        assert now.description == "Only in the EU", "off: never applied from Jira"
        assert now.commander_id == "U0CAROL", "from_jira: applied"
        assert jira_lines(harness, incident) == [
            f"Jira {ticket.key}: Assignee changed from (none) to Carol by Bob"
        ]
        known = harness.ticket(incident).jira_values
        assert known["title"] == "Renamed in Jira by Bob", "what Jira holds is still known"
        assert "description" not in known, "a field synced neither way is never compared"
        writes = [r for r in jira_writes(harness) if r["path"].endswith(ticket.key)]
        assert [set(w["json"]["fields"]) for w in writes] == [{"summary"}]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hidden_e_mails_are_matched_through_the_user_map_and_strangers_are_named(
    database_url: str, emulators
) -> None:
    slack, jira, _ = emulators
    slack.add_user("U0ERIN", name="erin", email="erin@example.com", real_name="Erin")
    jira.add_user(account_id="acc-erin", email="e.private@corp.example", display_name="Erin")  # no match
    slack.add_user("U0FRANK", name="frank", email="frank@example.com", real_name="Frank")  # not in Jira
    jira.add_user(account_id="acc-zed", email="zed@elsewhere.example", display_name="Zed")  # not in Slack
    with (
        other_harness(database_url, emulators, jira_user_map={"acc-erin": "U0ERIN"}) as harness,
        serving(harness),
    ):
        incident, ticket = declared(harness, 2)
        harness.update(incident, commander_id="U0ERIN")
        settle(harness)
        assert jira.issue(ticket.key)["fields"]["assignee"]["accountId"] == "acc-erin", (
            "Slack → Jira by the map"
        )
        harness.jira_user("bob").assign(ticket.key, "acc-alice")
        harness.jira_user("bob").assign(ticket.key, "acc-erin")
        settle(harness)
        assert harness.incident(incident.id).commander_id == "U0ERIN", "Jira → Slack by the map"
        for commander in ("U0FRANK", "U0ALICE", "U0FRANK"):
            harness.update(incident, commander_id=commander)
            settle(harness)
        assert jira.issue(ticket.key)["fields"]["assignee"] is None, "left unassigned, not on someone else"
        told = [t for t in harness.channel_texts(incident) if "Could not find" in t]
        assert told == [
            f":bust_in_silhouette: Could not find <@U0FRANK> in Jira (no Jira account with their e-mail, "
            f"and none in JIRA_USER_MAP), so {ticket.key} is left unassigned."
        ], "told once"
        harness.jira_user("bob").assign(ticket.key, "acc-zed")
        settle(harness)
        assert harness.incident(incident.id).commander_id == "U0FRANK", "the commander stays"
        assert jira_lines(harness, incident)[-1] == (
            f"Jira {ticket.key}: Assignee changed from (none) to Zed by Bob; Zed has no Slack user the bot "
            "can find (add them to JIRA_USER_MAP), so the commander stays <@U0FRANK>"
        )
        with harness.session() as session:
            assert incidents.get(session, incident.id).commander_id == "U0FRANK"

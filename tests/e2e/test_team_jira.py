"""End to end on another team's Jira: the real bot process, configured only through its documented
variables, against the emulator's `simple` site (To Do → In Progress → In Review → Done, Jira's own
`priority` field with Highest … Lowest, the seed's priority field off the create screen).

People act in Slack (slash commands, modals) and in Jira; the assertions read what each side holds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.rig import Rig
from tests.e2e.jira_steps import jira_line, ticket_of
from tests.e2e.rigs import running_rig
from tests.e2e.slack_steps import WAIT, Declared, command, declare, open_view, texts, update
from views.ids import Callback


@pytest.fixture
def team_rig(tmp_path, request: pytest.FixtureRequest, jira_deployment: str) -> Iterator[Rig]:
    with running_rig(request, tmp_path, jira_workflow="simple", jira=jira_deployment) as rig:
        yield rig


def jira_status(rig: Rig, key: str, expected: str) -> None:
    rig.jira.wait_for(lambda: rig.jira.issue(key)["status"] == expected, timeout=WAIT)


def recap(rig: Rig, incident: Declared) -> str:
    """What `/incident status` says in the incident's channel."""
    return command(rig, "alice", "status", channel=incident.channel)


@pytest.mark.both_jiras
def test_declare_and_every_status_and_priority_both_ways(team_rig: Rig) -> None:
    rig = team_rig
    incident = declare(rig, "alice", "Checkout is down for everyone", "P3")
    key = ticket_of(rig, incident)
    [create] = [r for r in rig.jira.requests_to("POST", "/rest/api/2/issue") if r["path"].endswith("/issue")]
    assert create["json"]["fields"]["priority"] == {"name": "Medium"}, "P3 in the team's priority names"
    assert "customfield_11064" not in create["json"]["fields"]
    assert rig.jira.issue(key)["status"] == "To Do"

    # Slack → Jira: every incident status reaches its Jira status, hop by hop
    for status, expected in [
        ("Investigating", "In Progress"),
        ("Mitigating", "In Progress"),
        ("Mitigated", "In Review"),
        ("Open", "To Do"),
        ("Mitigated", "In Review"),
        ("Post-mortem", "In Review"),
    ]:
        assert update(rig, "alice", incident, {"Status": status}).errors is None
        rig.slack.wait_for(lambda s=status: f"→ {s}" in "\n".join(texts(rig, incident.channel)), timeout=WAIT)
        jira_status(rig, key, expected)
    assert update(rig, "alice", incident, {"Priority": "P1"}).errors is None
    rig.jira.wait_for(lambda: rig.jira.issue(key)["fields"]["priority"]["name"] == "Highest", timeout=WAIT)

    # Jira → incident: every team status, and the team's priority, reach the incident and its channel
    bob = rig.jira_user("bob")
    for jira, shown in [
        ("In Progress", "from In Review to In Progress"),
        ("To Do", "from In Progress to To Do"),
        ("In Progress", "from To Do to In Progress"),
        ("In Review", "from In Progress to In Review"),
    ]:
        bob.transition(key, jira)
        jira_line(rig, incident, f"Status changed {shown} by Bob")
    bob.update(key, priority={"name": "Low"})
    assert jira_line(rig, incident, "Priority") == f"Jira {key}: Priority changed from P1 to P4 by Bob"
    bob.update(key, customfield_11064={"value": "2"})  # the seed's field means nothing on this site
    bob.update(key, priority={"name": "Lowest"})  # applied after it, in Jira's order
    jira_line(rig, incident, "from P4 to P5")
    assert [t for t in texts(rig, incident.channel) if t.startswith("Jira ")][-2:] == [
        f"Jira {key}: Priority changed from P1 to P4 by Bob",
        f"Jira {key}: Priority changed from P4 to P5 by Bob",
    ], "nothing in between for the seed's priority field"
    assert "Status: Mitigated · Priority: P5" in recap(rig, incident)

    # closing: from Slack (→ Done) and, for another incident, from Jira (Done → Closed)
    view = open_view(rig, "alice", "close", Callback.CLOSE, channel=incident.channel)
    assert rig.slack_user("alice").submit(view, {"Closure reason": "Resolved"}).errors is None
    jira_status(rig, key, "Done")
    other = declare(rig, "bob", "Search returns no results", "P3")
    other_key = ticket_of(rig, other)
    for jira in ("In Progress", "In Review", "Done"):
        bob.transition(other_key, jira)
    jira_line(rig, other, "from In Review to Done by Bob")
    rig.slack.wait_for(lambda: rig.slack.channels[other.channel]["archived"], timeout=WAIT)


@pytest.mark.rig_env(JIRA_SYNC_FIELDS='{"title": "to_jira", "priority": "off"}')
def test_a_field_synced_to_jira_only_and_one_not_synced_at_all(team_rig: Rig) -> None:
    rig = team_rig
    incident = declare(rig, "alice", "Checkout is down for everyone", "P2")
    key = ticket_of(rig, incident)
    assert (
        update(rig, "alice", incident, {"Title": "Checkout is down in the EU", "Priority": "P1"}).errors
        is None
    )
    rig.jira.wait_for(
        lambda: rig.jira.issue(key)["fields"]["summary"] == "Checkout is down in the EU", timeout=WAIT
    )
    bob = rig.jira_user("bob")
    bob.update(key, summary="Renamed in Jira by Bob", priority={"name": "Lowest"})
    bob.transition(key, "In Progress")  # statuses still sync both ways
    # inbound changes apply in Jira's order: once the move is in, the edit before it has been seen
    jira_line(rig, incident, "Status changed from To Do to In Progress by Bob")
    assert [t for t in texts(rig, incident.channel) if t.startswith("Jira ")] == [
        f"Jira {key}: Status changed from To Do to In Progress by Bob"
    ]
    shown = recap(rig, incident)
    assert "Checkout is down in the EU" in shown and "Priority: P1" in shown, "neither applied from Jira"
    issue = rig.jira.issue(key)["fields"]
    assert issue["priority"]["name"] == "Lowest", "the Slack P1 was never pushed"
    assert issue["summary"] == "Renamed in Jira by Bob"
    priority_writes = [
        r
        for r in rig.jira.requests_to("PUT", f"/rest/api/2/issue/{key}")
        if "priority" in ((r.get("json") or {}).get("fields") or {})
    ]
    assert priority_writes == []

"""Jira → incident through the webhook: each mapped field, what maps to nothing, and how it is recorded.

People act in the Jira emulator (`JiraUser`), which records the changelog and sends the signed webhook
to the real route; the jobs then run on the test thread.
"""

from __future__ import annotations

from bot import incidents
from tests.sync.webhook_support import declared, jira_lines, jira_writes, settle

STATUSES = ["Incoming", "Pending resolution", "in progress", "Reporter validation", "Closed", "Code Review"]


def jira_updates(harness, incident) -> list:
    with harness.session() as session:
        return [u for u in incidents.history(session, incident.id) if u.source == "jira"]


def test_each_mapped_status_moves_the_incident_and_others_are_ignored(harness, webhook_url) -> None:
    harness.jira.set_workflow(STATUSES, [(f"Go to {s}", "*", s) for s in STATUSES])
    incident, ticket = declared(harness)
    bob = harness.jira_user("bob")
    harness.jira.clear_requests()
    walk = [
        ("in progress", "MITIGATING"),
        ("Code Review", "MITIGATING"),  # outside the map: ignored
        ("Incoming", "OPEN"),
        ("Reporter validation", "MITIGATED"),
        ("Pending resolution", "OPEN"),
        ("Reporter validation", "MITIGATED"),
        ("Closed", "CLOSED"),  # from a mapped status, and a P3 needs no post-mortem
    ]
    for jira_status, expected in walk:
        bob.transition(ticket.key, jira_status)
        settle(harness)
        assert harness.incident(incident.id).status == expected, jira_status
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Status changed from {old} to {new} by Bob"
        for old, new in [
            ("Incoming", "in progress"),
            ("Code Review", "Incoming"),
            ("Incoming", "Reporter validation"),
            ("Reporter validation", "Pending resolution"),
            ("Pending resolution", "Reporter validation"),
            ("Reporter validation", "Closed"),
        ]
    ]
    updates = jira_updates(harness, incident)
    assert [u.changes["status"][1] for u in updates] == [
        "MITIGATING",
        "OPEN",
        "MITIGATED",
        "OPEN",
        "MITIGATED",
        "CLOSED",
    ]
    assert all(u.author_id is None and "from Jira" in (u.message or "") for u in updates)
    assert jira_writes(harness) == [], "nothing applied from Jira is pushed back"


def test_priority_comes_from_customfield_11064_only(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    bob = harness.jira_user("bob")
    harness.jira.clear_requests()
    bob.update(ticket.key, customfield_10016=8)  # Story Points
    bob.update(ticket.key, priority={"name": "Highest"})  # Jira's own priority
    settle(harness)
    assert harness.incident(incident.id).priority == 3
    assert jira_lines(harness, incident) == []
    bob.update(ticket.key, customfield_11064={"value": "2"})
    settle(harness)
    assert harness.incident(incident.id).priority == 2
    assert jira_lines(harness, incident) == [f"Jira {ticket.key}: Priority changed from P3 to P2 by Bob"]
    assert jira_writes(harness) == []
    [update] = jira_updates(harness, incident)
    assert update.changes == {"priority": [3, 2]}


def test_summary_and_description_become_title_and_description(harness, webhook_url) -> None:
    incident, ticket = declared(harness, description="Payments fail at the last step")
    bob = harness.jira_user("bob")
    harness.jira.clear_requests()
    generated = harness.jira.issue(ticket.key)["fields"]["description"]
    assert generated.startswith("Payments fail at the last step\n\nSlack channel: ")
    bob.update(ticket.key, summary="Checkout times out for card payments")
    bob.update(ticket.key, description=generated.replace("Payments fail", "Card payments fail"))
    settle(harness)
    now = harness.incident(incident.id)
    assert now.title == "Checkout times out for card payments"
    assert now.description == "Card payments fail at the last step", "the generated lines are stripped"
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Summary changed from Checkout returns 500 errors to "
        "Checkout times out for card payments by Bob",
        f"Jira {ticket.key}: Description changed from Payments fail at the last step to "
        "Card payments fail at the last step by Bob",
    ]
    # An edit of the generated lines only changes nothing on the incident, and says nothing.
    edited = harness.jira.issue(ticket.key)["fields"]["description"]
    bob.update(ticket.key, description=edited.replace("Slack channel: ", "Slack channel:  ", 1).strip())
    bob.update(ticket.key, description=edited + "\n\nIncident #999, declared from Slack.")
    settle(harness)
    assert len(jira_lines(harness, incident)) == 2
    assert len(jira_updates(harness, incident)) == 2
    assert jira_writes(harness) == []


def test_a_description_emptied_in_jira_empties_the_incident_description(harness, webhook_url) -> None:
    incident, ticket = declared(harness, description="Payments fail at the last step")
    bob = harness.jira_user("bob")
    bob.update(ticket.key, description=None)
    settle(harness)
    assert harness.incident(incident.id).description == ""
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Description changed from Payments fail at the last step to (none) by Bob"
    ]
    # An incident without a description: the ticket holds only generated lines; keeping only those
    # (or dropping them) leaves the description empty and posts nothing.
    other, other_ticket = declared(harness, title="Search returns no results at all")
    generated = harness.jira.issue(other_ticket.key)["fields"]["description"]
    assert harness.incident(other.id).description == "" and "Slack channel: " in generated
    bob.update(other_ticket.key, description=generated.split("\n\n")[0])
    bob.update(other_ticket.key, description="")
    settle(harness)
    assert harness.incident(other.id).description == ""
    assert jira_lines(harness, other) == []
    bob.update(other_ticket.key, description=f"Only EU shoppers are affected\n\n{generated}")
    settle(harness)
    assert harness.incident(other.id).description == "Only EU shoppers are affected"


def test_the_assignee_becomes_commander_when_slack_knows_them(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira.add_user(account_id="acc-zed", email="zed@elsewhere.example", display_name="Zed")
    bob = harness.jira_user("bob")
    harness.jira.clear_requests()
    bob.assign(ticket.key, "acc-carol")
    settle(harness)
    assert harness.incident(incident.id).commander_id == "U0CAROL"
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Assignee changed from Alice to Carol by Bob"
    ]
    bob.assign(ticket.key, "acc-zed")  # no Slack user with that e-mail
    bob.assign(ticket.key, None)  # unassigned
    settle(harness)
    assert harness.incident(incident.id).commander_id == "U0CAROL", "the commander stays"
    assert jira_lines(harness, incident)[1:] == [
        f"Jira {ticket.key}: Assignee changed from Carol to Zed by Bob; Zed has no Slack user the bot can "
        "find (add them to JIRA_USER_MAP), so the commander stays <@U0CAROL>"
    ], "the Jira user is named; unassigning says nothing"
    assert jira_writes(harness) == []


def test_a_summary_the_incident_cannot_take_is_explained_not_applied(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira_user("bob").update(ticket.key, summary="Down", customfield_11064={"value": "4"})
    settle(harness)
    now = harness.incident(incident.id)
    assert now.title == incident.title and now.priority == 4, "the valid change of the set is applied"
    texts = jira_lines(harness, incident)
    assert (
        f"Jira {ticket.key}: Summary change not applied: The title needs 10 to 128 characters (it has 4)."
        in texts
    )
    assert f"Jira {ticket.key}: Priority changed from P3 to P4 by Bob" in texts

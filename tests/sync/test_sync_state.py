"""The sync state `/incident status` shows, from what the bot wrote and read of the ticket."""

from __future__ import annotations

from listeners.recap import sync_state
from tests.sync.webhook_support import declared, settle


def state_of(harness, incident_id: int) -> str:
    with harness.session() as session:
        return sync_state(session, harness.incident(incident_id))


def test_in_step_after_pushes_and_not_once_jira_moves_where_the_incident_cannot_follow(
    harness, webhook_url
) -> None:
    incident, ticket = declared(harness)
    harness.update(incident, status="INVESTIGATING", priority=2, title="Checkout returns 502 errors")
    settle(harness)
    assert state_of(harness, incident.id) == "in step"
    assert harness.ticket(incident).jira_values["priority"] == 2

    harness.jira_user("bob").transition(ticket.key, "Code Review")
    settle(harness)

    assert harness.incident(incident.id).status == "INVESTIGATING", "an unmapped status moves nothing"
    assert (
        state_of(harness, incident.id)
        == "differs from Jira: Status (incident Investigating, Jira Code Review)"
    )

"""`/incident status` says "in step" only when the ticket's last known values agree with the incident."""

from __future__ import annotations

from bot.models import Incident
from bot.sync_state import disagreements
from sync.jira_values import incident_values, jira_value


def incident(**fields) -> Incident:
    values = dict(title="Checkout returns 500 errors", priority=2, status="INVESTIGATING", reporter_id="U1")
    values.update(fields)
    return Incident(commander_id="U1", description="", **values)


def test_agreeing_values_and_unknown_fields_are_in_step() -> None:
    known = incident_values({"title": "Checkout returns 500 errors", "priority": 2, "status": "MITIGATING"})
    assert disagreements(incident(), known) == [], "in progress means Investigating as well as Mitigating"
    assert disagreements(incident(), {}) == [], "nothing known, nothing claimed"


def test_each_differing_field_is_named_with_both_values() -> None:
    known = {
        "priority": 4,
        "commander_id": "U2",
        "status": jira_value("status", "Code Review"),
        "title": "Checkout returns 502 errors",
    }
    assert disagreements(incident(), known) == [
        "Status (incident Investigating, Jira Code Review)",
        "Priority (incident P2, Jira P4)",
        "Title (incident “Checkout returns 500 errors”, Jira “Checkout returns 502 errors”)",
        "Commander (incident <@U1>, Jira <@U2>)",
    ]

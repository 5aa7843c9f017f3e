"""What the ticket is last known to hold, in the incident's terms, so the two sides can be compared.

The processor records each field a changelog it reads sets, the pusher each field it writes, the
ticket's creation its first values. A status is kept with the incident statuses it agrees with (the
map is many-to-one: `in progress` is both Investigating and Mitigating).
"""

from __future__ import annotations

from typing import Any

from bot.enums import Status
from sync.workflow import INCIDENT_TO_JIRA_STATUS, JIRA_TO_INCIDENT_STATUS


def jira_value(field: str, value: Any) -> Any:
    """The stored form of a Jira value of an incident field (`status`: the Jira status name)."""
    if field != "status":
        return value
    name = str(value or "").strip()
    means = {status for status, target in INCIDENT_TO_JIRA_STATUS.items() if target.lower() == name.lower()}
    if (mapped := JIRA_TO_INCIDENT_STATUS.get(name.lower())) is not None:
        means.add(mapped)
    return {"name": name, "means": sorted(str(status) for status in means)}


def incident_values(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored form of incident values the bot wrote (a status as the Jira status it pushed)."""
    return {
        name: jira_value(name, INCIDENT_TO_JIRA_STATUS[Status(value)] if name == "status" else value)
        for name, value in fields.items()
    }

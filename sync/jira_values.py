"""What the ticket is last known to hold, in the incident's terms, so the two sides can be compared.

The processor records each field a changelog it reads sets, the pusher each field it writes, the
ticket's creation its first values. A status is kept with the incident statuses it agrees with (the
map is many-to-one: the default Jira's `in progress` is both Investigating and Mitigating).
"""

from __future__ import annotations

from typing import Any

from bot.enums import Status
from sync.workflow import DEFAULT_STATUS_MAP, StatusMap


def jira_value(field: str, value: Any, statuses: StatusMap = DEFAULT_STATUS_MAP) -> Any:
    """The stored form of a Jira value of an incident field (`status`: the Jira status name)."""
    if field != "status":
        return value
    name = str(value or "").strip()
    return {"name": name, "means": sorted(str(status) for status in statuses.means(name))}


def incident_values(fields: dict[str, Any], statuses: StatusMap = DEFAULT_STATUS_MAP) -> dict[str, Any]:
    """The stored form of incident values the bot wrote (a status as the Jira status it pushed)."""
    return {
        name: jira_value(name, statuses.target(Status(value)) if name == "status" else value, statuses)
        for name, value in fields.items()
    }

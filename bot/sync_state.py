"""Whether the incident and its ticket agree, from the ticket's last known values (`jira_values`)."""

from __future__ import annotations

from typing import Any

from bot.enums import Status
from bot.models import Incident

_LABELS = {
    "status": "Status",
    "priority": "Priority",
    "title": "Title",
    "description": "Description",
    "commander_id": "Commander",
}


def disagreements(incident: Incident, known: dict[str, Any]) -> list[str]:
    """One line per synced field whose last known Jira value differs from the incident's."""
    lines = []
    for field, label in _LABELS.items():
        if field not in known:
            continue
        jira = known[field]
        if field == "status":
            if isinstance(jira, dict) and str(incident.status) not in jira.get("means", []):
                lines.append(f"{label} (incident {Status(incident.status).label}, Jira {jira.get('name')})")
        elif (getattr(incident, field) or "") != (jira or ""):
            lines.append(
                f"{label} (incident {_shown(field, getattr(incident, field))}, Jira {_shown(field, jira)})"
            )
    return lines


def _shown(field: str, value: Any) -> str:
    if field == "priority":
        return f"P{value}"
    if field == "commander_id":
        return f"<@{value}>" if value else "nobody"
    text = str(value or "")
    return f"“{text}”" if len(text) <= 40 else f"“{text[:39]}…”"

"""The Jira sites the rig can stand up, each with the bot settings that match it.

`default` is the seed's Jira, run with the bot's default settings. `simple` is a team's plain Jira
(`To Do → In Progress → In Review → Done`, Jira's own `priority` field): the emulator takes that shape
(`sandbox.jira.presets`) and the bot is configured for it through its documented variables only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.settings import DEFAULT_STATUS_TO_JIRA

SIMPLE_STATUS_TO_JIRA = {
    "OPEN": "To Do",
    "INVESTIGATING": "In Progress",
    "MITIGATING": "In Progress",
    "MITIGATED": "In Review",
    "POST_MORTEM": "In Review",
    "CLOSED": "Done",
}
SIMPLE_STATUS_FROM_JIRA = {
    "To Do": "OPEN",
    "In Progress": "INVESTIGATING",
    "In Review": "MITIGATED",
    "Done": "CLOSED",
}
SIMPLE_PRIORITIES = {1: "Highest", 2: "High", 3: "Medium", 4: "Low", 5: "Lowest"}


@dataclass(frozen=True)
class JiraShape:
    """An emulator preset and what the bot (and a person in Jira) need to know of it."""

    preset: str
    status_to_jira: dict[str, str]
    priority_field: str
    priority_values: dict[int, str]
    env: dict[str, str] = field(default_factory=dict)  # the bot's settings for it; empty: the defaults

    def jira_status(self, incident_status: str) -> str:
        """The Jira status the bot moves the ticket to for an incident status."""
        return self.status_to_jira[incident_status]

    def priority_input(self, priority: int) -> dict[str, Any]:
        """The fields a person sets in Jira to give the ticket priority P`priority`."""
        key = "name" if self.priority_field == "priority" else "value"
        return {self.priority_field: {key: self.priority_values[priority]}}


SHAPES = {
    "default": JiraShape(
        "default", DEFAULT_STATUS_TO_JIRA, "customfield_11064", {p: str(p) for p in range(1, 6)}
    ),
    "simple": JiraShape(
        "simple",
        SIMPLE_STATUS_TO_JIRA,
        "priority",
        SIMPLE_PRIORITIES,
        env={
            "JIRA_STATUS_TO_JIRA": json.dumps(SIMPLE_STATUS_TO_JIRA),
            "JIRA_STATUS_FROM_JIRA": json.dumps(SIMPLE_STATUS_FROM_JIRA),
            "JIRA_FIELD_PRIORITY": "priority",
            "JIRA_PRIORITY_VALUES": json.dumps(SIMPLE_PRIORITIES),
        },
    ),
}

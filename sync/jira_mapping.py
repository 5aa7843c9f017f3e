"""How this site's Jira is shaped, from the settings: statuses, the priority field and its values, and
which way each synced field goes.

Built once by the composition root and handed to whatever writes or reads Jira values, so no module
holds a Jira status name, a priority value or a direction of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings import Settings
from sync.workflow import StatusMap

#: The settings' names of the synced fields (JIRA_SYNC_FIELDS) by incident field.
_SETTING_NAMES = {"commander_id": "commander"}
SYSTEM_PRIORITY = "priority"


@dataclass(frozen=True)
class PriorityMap:
    """The priority field (a custom select, or Jira's own `priority`) and its value for P1–P5."""

    field: str
    values: Mapping[int, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> PriorityMap:
        return cls(settings.jira_field_priority, dict(settings.jira_priority_values))

    def value(self, priority: int) -> str:
        """The option value or priority name written for P`priority` (what the bounce guard expects)."""
        return self.values[priority]

    def field_value(self, priority: int) -> dict[str, str]:
        """The field's REST value: Jira's own priority by name, a select option by value."""
        return {"name" if self.field == SYSTEM_PRIORITY else "value": self.value(priority)}

    def priority(self, text: str | None) -> int | None:
        """The incident priority a Jira value means; None for a value outside the map."""
        wanted = (text or "").strip().lower()
        return next((p for p, value in self.values.items() if value.lower() == wanted), None)

    def shown(self, text: str | None) -> str | None:
        """A Jira value as the channel shows it: `P2` when it maps, else as Jira said it."""
        priority = self.priority(text)
        return f"P{priority}" if priority is not None else text


@dataclass(frozen=True)
class Directions:
    """Per synced field: `both`, `to_jira` (pushed, never applied from Jira), `from_jira` (applied,
    never pushed) or `off` (neither). Fields are named as the incident names them (`commander_id`)."""

    by_setting: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Directions:
        return cls(dict(settings.jira_sync_fields))

    def _direction(self, field: str) -> str:
        return self.by_setting.get(_SETTING_NAMES.get(field, field), "both")

    def pushes(self, field: str) -> bool:
        return self._direction(field) in ("both", "to_jira")

    def applies(self, field: str) -> bool:
        return self._direction(field) in ("both", "from_jira")

    def synced(self, field: str) -> bool:
        return self._direction(field) != "off"

    def pushed(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The changes whose fields go to Jira."""
        return {name: change for name, change in changes.items() if self.pushes(name)}


@dataclass(frozen=True)
class JiraMapping:
    statuses: StatusMap
    priority: PriorityMap
    directions: Directions

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraMapping:
        return cls(
            StatusMap.from_settings(settings),
            PriorityMap.from_settings(settings),
            Directions.from_settings(settings),
        )

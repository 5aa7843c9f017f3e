"""The incident vocabulary of SPEC §2: statuses, priorities, environments, impacts, key events."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Incident status, declared in lifecycle order (the order is used by the close rules)."""

    OPEN = "OPEN"
    INVESTIGATING = "INVESTIGATING"
    MITIGATING = "MITIGATING"
    MITIGATED = "MITIGATED"
    POST_MORTEM = "POST_MORTEM"
    CLOSED = "CLOSED"

    @property
    def label(self) -> str:
        return "Post-mortem" if self is Status.POST_MORTEM else self.value.capitalize()

    @property
    def rank(self) -> int:
        return list(Status).index(self)


class Source(StrEnum):
    """Where a change came from; Jira-sourced changes are never pushed back."""

    SLACK = "slack"
    JIRA = "jira"
    SYSTEM = "system"


class Environment(StrEnum):
    PRD = "PRD"
    STG = "STG"
    INT = "INT"


class Platform(StrEnum):
    FR = "platform-FR"
    DE = "platform-DE"
    ES = "platform-ES"
    IT = "platform-IT"
    UK = "platform-UK"
    ALL = "platform-All"


class ImpactType(StrEnum):
    CUSTOMERS = "Customers"
    SELLERS = "Sellers"
    BUSINESS = "Business"
    EMPLOYEES = "Employees"


class ImpactLevel(StrEnum):
    """Impact levels, highest first (index 0 is the most severe)."""

    HIGHEST = "Highest"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    LOWEST = "Lowest"


class KeyEventKind(StrEnum):
    """User-editable key events; `declared` is set by the system and kept on the incident."""

    DETECTED = "detected"
    STARTED = "started"
    RECOVERED = "recovered"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ClosureReason(StrEnum):
    RESOLVED = "resolved"
    DUPLICATE = "duplicate"
    FALSE_POSITIVE = "false positive"
    CANCELLED = "cancelled"


def is_critical(priority: int) -> bool:
    """P1–P3 get a channel and an announcement; P4–P5 only a ticket and a DM."""
    return priority <= 3


def highest_impact(impacts: dict[str, str]) -> ImpactLevel | None:
    """The most severe level chosen across impact types, or None when nothing was chosen."""
    levels = [ImpactLevel(level) for level in impacts.values() if level]
    return min(levels, key=list(ImpactLevel).index) if levels else None

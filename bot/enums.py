"""The bot's vocabulary: incident statuses, sources, environments, impacts, key events, update kinds,
and the job queue's lanes and states. Stored as their values, so the database holds plain text."""

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


class UpdateKind(StrEnum):
    """What an incident update records."""

    DECLARED = "declared"
    UPDATED = "updated"
    CLOSED = "closed"
    KEY_EVENTS = "key_events"
    POSTMORTEM_REQUESTED = "postmortem_requested"
    #: a value the bot itself wrote to Jira, given back to the incident after an older Jira change that
    #: arrived late had replaced it (the incident follows Jira's order, the bot's writes included)
    CORRECTED = "corrected"


class ReminderKind(StrEnum):
    """What a reminder nudges for: an update of a quiet incident, or the post-mortem of a mitigated one."""

    UPDATE = "update"
    POSTMORTEM = "postmortem"


class Lane(StrEnum):
    """A job's lane: within one incident and lane jobs run strictly in order, and lanes never wait
    for each other (a Jira outage does not hold up Slack messages; inbound webhooks apply on their own)."""

    SLACK = "slack"
    JIRA = "jira"
    INBOUND = "inbound"


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DeliveryState(StrEnum):
    """A recorded Jira webhook delivery: waiting for its job, or applied."""

    PENDING = "pending"
    PROCESSED = "processed"


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

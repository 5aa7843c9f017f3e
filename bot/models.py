"""Database tables (SQLModel): incidents and their history, users, Jira links, jobs, sync bookkeeping.

The incident row holds the current state; `IncidentUpdate` rows are the never-rewritten history.
Unique constraints carry the domain's "exactly one" rules (one ticket, one post-mortem per incident,
one row per applied Jira changelog id, one row per webhook delivery).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot.enums import DeliveryState, JobState, Lane, ReminderKind, Source, Status, UpdateKind


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, so SQLite and PostgreSQL compare times alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum stored as its value in a plain text column (no database enum type, no migration)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum_type: type[StrEnum]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> StrEnum | None:
        return None if value is None else self.enum_type(value)


def _enum(enum_type: type[StrEnum], default: StrEnum | None = None, *, index: bool = False) -> Any:
    return Field(default=default, sa_column=sa.Column(EnumText(enum_type), nullable=False, index=index))


class Change(NamedTuple):
    """One field's change, as an incident update records it (stored as `[old, new]`)."""

    old: Any
    new: Any


def _time(*, nullable: bool = False) -> Any:
    column = sa.Column(UTCDateTime(), nullable=nullable)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=sa.Column(sa.JSON, nullable=False))


class Incident(SQLModel, table=True):
    #: The Home tab's 30-day figures read these indexes alone: the first for a window that holds few of the
    #: incidents (the usual case, however old the bot), the second when it holds most of them.
    __table_args__ = (
        sa.Index("ix_incident_declared_at", "declared_at", "priority", "mitigated_at"),
        sa.Index("ix_incident_priority_declared_at", "priority", "declared_at", "mitigated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=128)
    description: str = ""
    status: Status = _enum(Status, Status.OPEN, index=True)
    priority: int
    category: str | None = None
    suggested_team_routing: str | None = None
    environments: list[str] = _json(list)
    platform: str = "platform-All"
    impacts: dict[str, str] = _json(dict)
    zendesk_ticket_id: str | None = None
    seller_contract_id: str | None = None
    zoho_desk_ticket_id: str | None = None
    is_key_account: bool = False
    is_seller_in_golden_list: bool = False
    reporter_id: str
    commander_id: str
    channel_id: str | None = Field(default=None, index=True, unique=True)
    channel_name: str | None = None
    announcement_ts: str | None = None
    closure_reason: str | None = None
    jira_lagging: bool = False
    declared_at: datetime = _time()
    updated_at: datetime = _time()
    closed_at: datetime | None = _time(nullable=True)
    #: when the status last reached Mitigated or beyond (None while below): the Home's time-to-mitigate
    mitigated_at: datetime | None = _time(nullable=True)


class IncidentUpdate(SQLModel, table=True):
    __tablename__ = "incident_update"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    created_at: datetime = _time()
    author_id: str | None = None
    source: Source = _enum(Source)
    event_type: UpdateKind = _enum(UpdateKind)
    changes: dict[str, Any] = _json(dict)
    message: str | None = None

    def change(self, name: str) -> Change | None:
        """The change of one field in this update, None when it did not change."""
        pair = self.changes.get(name)
        return Change(*pair) if pair is not None else None

    def typed_changes(self) -> dict[str, Change]:
        return {name: Change(*pair) for name, pair in self.changes.items()}


class KeyEvent(SQLModel, table=True):
    __tablename__ = "key_event"
    __table_args__ = (sa.UniqueConstraint("incident_id", "kind", name="uq_key_event_incident_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str
    at: datetime = _time()
    message: str | None = None


class User(SQLModel, table=True):
    """A Slack user as the bot knows them; the Jira account is cached after the first e-mail lookup."""

    slack_id: str = Field(primary_key=True)
    email: str | None = Field(default=None, index=True)
    name: str | None = None
    jira_account_id: str | None = None
    jira_checked_at: datetime | None = _time(nullable=True)


class JiraTicket(SQLModel, table=True):
    __tablename__ = "jira_ticket"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True)
    key: str = Field(unique=True)
    jira_id: str = Field(index=True)
    url: str
    #: field → id of the newest Jira changelog applied to it, so a late, older change never wins.
    field_versions: dict[str, int] = _json(dict)
    #: incident field → the value the ticket is last known to hold (from what the bot wrote and the
    #: changelogs it read), so `/incident status` can tell whether the two sides really agree.
    jira_values: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False, server_default="{}")
    )


class JiraPostMortem(SQLModel, table=True):
    __tablename__ = "jira_postmortem"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True)
    key: str = Field(unique=True)
    jira_id: str
    url: str
    created_at: datetime = _time()


class Job(SQLModel, table=True):
    """One external call to make, durable until it succeeds (or is parked as failed, never dropped)."""

    __table_args__ = (sa.Index("ix_job_claim", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    lane: Lane = _enum(Lane)
    incident_id: int | None = Field(default=None, index=True)
    payload: dict[str, Any] = _json(dict)
    state: JobState = _enum(JobState, JobState.PENDING)
    attempts: int = 0
    next_attempt_at: datetime = _time()
    locked_by: str | None = None
    locked_until: datetime | None = _time(nullable=True)
    last_error: str | None = None
    created_at: datetime = _time()
    finished_at: datetime | None = _time(nullable=True)


class AppliedChangelog(SQLModel, table=True):
    """A Jira changelog history already processed: the de-duplication key of Jira → incident."""

    __tablename__ = "applied_changelog"

    changelog_id: str = Field(primary_key=True)
    issue_key: str
    incident_id: int | None = None
    applied_at: datetime = _time()


class WebhookDelivery(SQLModel, table=True):
    """A Jira webhook delivery recorded before processing, keyed by X-Atlassian-Webhook-Identifier."""

    __tablename__ = "webhook_delivery"

    identifier: str = Field(primary_key=True)
    received_at: datetime = _time()
    body: str
    state: DeliveryState = _enum(DeliveryState, DeliveryState.PENDING)


class Reminder(SQLModel, table=True):
    """A reminder decided for an incident. Its unique key (incident, kind, start of the quiet period it
    ends) is what makes it single when several replicas decide at once; the Slack message it became and
    a snooze of the incident's update reminders are kept on it."""

    __table_args__ = (
        sa.UniqueConstraint("incident_id", "kind", "period_start", name="uq_reminder_incident_kind_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id")
    kind: ReminderKind = _enum(ReminderKind)
    period_start: datetime = _time()
    decided_at: datetime = _time()
    channel_id: str | None = None
    message_ts: str | None = None
    sent_at: datetime | None = _time(nullable=True)
    snoozed_until: datetime | None = _time(nullable=True)
    snoozed_by: str | None = None


class Checkpoint(SQLModel, table=True):
    """Named high-water marks, e.g. the reconciler's last successful run."""

    name: str = Field(primary_key=True)
    value: datetime = _time()


class JiraCommentVersion(SQLModel, table=True):
    """One version of a Jira comment on an incident ticket, handled once whichever door brought it: keyed
    by the comment's id and its `updated`, committed with the channel message it caused (if any)."""

    __tablename__ = "jira_comment_version"

    comment_id: str = Field(primary_key=True)
    updated: str = Field(primary_key=True)
    issue_key: str
    incident_id: int = Field(index=True)
    #: `updated` as a time, for Jira's order: an older version arriving late is not announced
    updated_at: datetime = _time()
    #: digest of the body, so an edit that leaves the text as it was is not announced
    digest: str
    posted: bool = False
    seen_at: datetime = _time()


class SentToJira(SQLModel, table=True):
    """A Slack message sent to the incident's Jira ticket as a comment (once per message)."""

    __tablename__ = "sent_to_jira"
    __table_args__ = (sa.UniqueConstraint("channel_id", "message_ts", name="uq_sent_to_jira_message"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    channel_id: str
    message_ts: str
    author_id: str
    text: str
    requested_by: str
    requested_at: datetime = _time()
    jira_comment_id: str | None = None
    jira_comment_url: str | None = None


class TimelineNote(SQLModel, table=True):
    """A channel message added to the incident's timeline (by a 📌 or the Add to timeline shortcut)."""

    __tablename__ = "timeline_note"
    __table_args__ = (sa.UniqueConstraint("channel_id", "message_ts", name="uq_timeline_note_message"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    channel_id: str
    message_ts: str
    #: the thread the message is in (its own ts when it starts or could start one): where the bot answers
    thread_ts: str
    at: datetime = _time()
    author_id: str
    author_name: str
    text: str
    permalink: str | None = None
    added_by: str
    added_at: datetime = _time()


class FollowUp(SQLModel, table=True):
    """An action item of an incident, created once as a Jira issue and followed until done there."""

    __tablename__ = "followup"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    summary: str
    description: str = ""
    assignee_id: str | None = Field(default=None, index=True)
    due_date: date | None = None
    requested_by: str
    requested_at: datetime = _time()
    key: str | None = Field(default=None, unique=True)
    jira_id: str | None = None
    url: str | None = None
    #: the Jira status name and whether its category is `done` (kept from webhooks and the reconciler)
    status: str | None = None
    done: bool = False
    #: the channel was told it is done (once)
    done_told: bool = False

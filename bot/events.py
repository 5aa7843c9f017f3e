"""Domain events: what the outside world (Slack, Jira) needs to know about a change, and the bus that
delivers them.

A use case records its events on the session it works in; when its caller commits, the unit of work
(`bot.uow`) hands them to the bus before the COMMIT, so that the subscribers in `sync/` enqueue their
jobs in the same transaction (the transactional outbox). The domain never learns who listens, and a
rolled-back change sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from bot.enums import Source
from bot.models import FollowUp, Incident, IncidentUpdate, Reminder, SentToJira, TimelineNote


@dataclass(frozen=True)
class IncidentDeclared:
    incident: Incident
    update: IncidentUpdate


@dataclass(frozen=True)
class IncidentUpdated:
    """A change of the incident's fields (`update.changes`), a close included."""

    incident: Incident
    update: IncidentUpdate
    source: Source


@dataclass(frozen=True)
class KeyEventsUpdated:
    incident: Incident
    update: IncidentUpdate
    source: Source


@dataclass(frozen=True)
class PostmortemRequested:
    incident: Incident
    actor_id: str | None


@dataclass(frozen=True)
class ReminderDue:
    """A reminder was decided (its row is committed with this event): it is to be sent."""

    incident: Incident
    reminder: Reminder


@dataclass(frozen=True)
class ReminderSnoozed:
    """Someone snoozed the incident's update reminders from this reminder: its message is to say so."""

    incident: Incident
    reminder: Reminder


@dataclass(frozen=True)
class JiraCommentRequested:
    """A Slack message to send to the incident's ticket as a comment."""

    incident: Incident
    request: SentToJira


@dataclass(frozen=True)
class FollowUpRequested:
    """A follow-up to create as a Jira issue."""

    incident: Incident
    followup: FollowUp


@dataclass(frozen=True)
class NoteRequested:
    """A channel message to add to the timeline, once its text is read from Slack."""

    incident: Incident
    channel_id: str
    message_ts: str
    thread_ts: str | None
    user_id: str


@dataclass(frozen=True)
class NoteRemovalRequested:
    """A 📌 taken off a message: its note goes when no 📌 is left on it."""

    incident: Incident
    channel_id: str
    message_ts: str
    user_id: str


@dataclass(frozen=True)
class TimelineNoteAdded:
    incident: Incident
    note: TimelineNote


@dataclass(frozen=True)
class TimelineNoteRemoved:
    incident: Incident
    note: TimelineNote


Event = (
    IncidentDeclared
    | IncidentUpdated
    | KeyEventsUpdated
    | PostmortemRequested
    | ReminderDue
    | ReminderSnoozed
    | JiraCommentRequested
    | NoteRequested
    | NoteRemovalRequested
    | TimelineNoteAdded
    | TimelineNoteRemoved
)
E = TypeVar("E", bound=Event)

_PENDING = "domain_events"
_BUS = "event_bus"


class NoEventBus(RuntimeError):
    """A use case ran on a session that no unit of work opened: its events would be lost."""


def record(session: Session, event: Event) -> None:
    """Keep the event with the session's transaction, to be published at its commit."""
    if _BUS not in session.info:
        raise NoEventBus("open the session with UnitOfWork.session() so that its events are published")
    session.info.setdefault(_PENDING, []).append(event)


def take_pending(session: Session) -> list[Event]:
    return session.info.pop(_PENDING, [])


class EventBus:
    """Event type → subscribers, called in order with the session the event was recorded in."""

    def __init__(self) -> None:
        self._subscribers: dict[type, list[Callable[[Session, Any], None]]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[Session, E], None]) -> None:
        self._subscribers[event_type].append(handler)

    def attach(self, session: Session) -> None:
        session.info[_BUS] = self

    def publish(self, session: Session, event: Event) -> None:
        for handler in self._subscribers.get(type(event), ()):
            handler(session, event)

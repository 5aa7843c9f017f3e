"""Reminders that keep incidents moving, decided from an incident's history and the time.

`due` is the rule, a pure function of the incident's story (the incident, its history, the reminders
it already had, with their snoozes) and `now`. The periodic check (`record_due`) and the job that sends
a reminder (`still_due`, asked again just before sending) both use it, so they cannot disagree, and a
test walks it through time without waiting.

- Update reminders: an Open, Investigating or Mitigating incident with a channel that has had no news
  (an incident update from Slack or Jira) for its priority's interval is reminded once. The next reminder
  comes only after another full quiet interval from that one (a reminder is not news), and a snooze holds
  the incident's update reminders back until it ends.
- Post-mortem reminder: an incident whose close needs a post-mortem, Mitigated for the configured time
  without one: its commander is told once (per time it became Mitigated).

A reminder is a row whose unique key is (incident, kind, start of the quiet period it ends): replicas
deciding the same reminder at once insert one row between them, and only an inserted row is sent. No lock
is held while Slack is called: the row commits with the job that sends it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot import events, incidents
from bot.enums import ReminderKind, Source, Status, UpdateKind
from bot.errors import BotError
from bot.models import Incident, IncidentUpdate, JiraPostMortem, Reminder
from bot.rules import Actor, check_can_update

#: The statuses whose incidents are still being worked on, and so must keep giving news.
ACTIVE = frozenset({Status.OPEN, Status.INVESTIGATING, Status.MITIGATING})
#: The incident updates that are news. Anything else recorded in the history (a timeline note, say)
#: does not hold update reminders back.
NEWS = frozenset(
    {
        UpdateKind.DECLARED,
        UpdateKind.UPDATED,
        UpdateKind.CLOSED,
        UpdateKind.KEY_EVENTS,
        UpdateKind.POSTMORTEM_REQUESTED,
    }
)


@dataclass(frozen=True)
class ReminderPolicy:
    """The configurable parts: intervals per priority, and who needs a post-mortem."""

    update_seconds: Mapping[int, float]
    postmortem_seconds: float
    postmortem_priorities: frozenset[int]
    #: post-mortems are written in Jira: without Jira sync nobody is reminded of them
    postmortems_enabled: bool = True


@dataclass(frozen=True)
class Due:
    """A reminder to send: its kind, the start of the quiet period it ends (its key), and how long the
    incident has gone without news (update) or stayed Mitigated (post-mortem)."""

    kind: ReminderKind
    period_start: datetime
    quiet_for: timedelta


@dataclass(frozen=True)
class Story:
    """What the rule reads of one incident: the incident, its history, the reminders it already had (with
    their snoozes), and whether its post-mortem exists."""

    incident: Incident
    history: Sequence[IncidentUpdate]
    reminders: Sequence[Reminder]
    has_postmortem: bool = False


def due(story: Story, *, now: datetime, policy: ReminderPolicy) -> list[Due]:
    """The reminders due now for this incident, given everything it went through."""
    found = [_update_due(story, now=now, policy=policy), _postmortem_due(story, now=now, policy=policy)]
    return [reminder for reminder in found if reminder is not None]


def is_news(update: IncidentUpdate) -> bool:
    return update.event_type in NEWS and update.source in (Source.SLACK, Source.JIRA)


def _update_due(story: Story, *, now: datetime, policy: ReminderPolicy) -> Due | None:
    incident = story.incident
    seconds = policy.update_seconds.get(incident.priority)
    if seconds is None or Status(incident.status) not in ACTIVE or not incident.channel_id:
        return None
    last_news = max((u.created_at for u in story.history if is_news(u)), default=incident.declared_at)
    earlier = [r for r in story.reminders if r.kind == ReminderKind.UPDATE]
    start = max([last_news, *(r.decided_at for r in earlier)])
    at = max([start + timedelta(seconds=seconds), *(r.snoozed_until for r in earlier if r.snoozed_until)])
    if now < at or any(r.period_start == start for r in earlier):
        return None
    return Due(ReminderKind.UPDATE, start, now - last_news)


def _postmortem_due(story: Story, *, now: datetime, policy: ReminderPolicy) -> Due | None:
    incident = story.incident
    if (
        story.has_postmortem
        or not policy.postmortems_enabled
        or incident.priority not in policy.postmortem_priorities
        or Status(incident.status) is not Status.MITIGATED
    ):
        return None
    since = max(
        (
            u.created_at
            for u in story.history
            if (status := u.change("status")) and status.new == Status.MITIGATED
        ),
        default=None,
    )
    if since is None or now < since + timedelta(seconds=policy.postmortem_seconds):
        return None
    if any(r.kind == ReminderKind.POSTMORTEM and r.period_start == since for r in story.reminders):
        return None
    return Due(ReminderKind.POSTMORTEM, since, now - since)


def record_due(*, session: Session, policy: ReminderPolicy, now: datetime) -> list[Reminder]:
    """The periodic check: record each reminder due now (once, whoever else checks) and its event."""
    candidates = _candidates(session, policy)
    if not candidates:
        return []
    ids = [incident.id for incident in candidates]
    histories: dict[int, list[IncidentUpdate]] = defaultdict(list)
    for update in session.exec(select(IncidentUpdate).where(col(IncidentUpdate.incident_id).in_(ids))):
        histories[update.incident_id].append(update)
    earlier: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in session.exec(select(Reminder).where(col(Reminder.incident_id).in_(ids))):
        earlier[reminder.incident_id].append(reminder)
    with_postmortem = set(
        session.exec(select(JiraPostMortem.incident_id).where(col(JiraPostMortem.incident_id).in_(ids)))
    )
    made = []
    for incident in candidates:
        story = Story(incident, histories[incident.id], earlier[incident.id], incident.id in with_postmortem)
        for reminder_due in due(story, now=now, policy=policy):
            reminder = _insert_once(session, incident.id, reminder_due, now)
            if reminder is not None:
                events.record(session, events.ReminderDue(incident=incident, reminder=reminder))
                made.append(reminder)
    return made


def _candidates(session: Session, policy: ReminderPolicy) -> list[Incident]:
    """Incidents a reminder could be due for; the rule itself decides."""
    wanted = []
    if policy.update_seconds:
        wanted.append(
            sa.and_(
                col(Incident.status).in_(list(ACTIVE)),
                col(Incident.priority).in_(list(policy.update_seconds)),
                col(Incident.channel_id).is_not(None),
            )
        )
    if policy.postmortems_enabled and policy.postmortem_priorities:
        wanted.append(
            sa.and_(
                Incident.status == Status.MITIGATED,
                col(Incident.priority).in_(list(policy.postmortem_priorities)),
            )
        )
    if not wanted:
        return []
    return list(session.exec(select(Incident).where(sa.or_(*wanted)).order_by(col(Incident.id))))


def _insert_once(session: Session, incident_id: int, reminder_due: Due, now: datetime) -> Reminder | None:
    """Insert the reminder's row unless another check already did: the new row, or None."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = (
        insert(Reminder)
        .values(
            incident_id=incident_id,
            kind=reminder_due.kind,
            period_start=reminder_due.period_start,
            decided_at=now,
        )
        .on_conflict_do_nothing(index_elements=["incident_id", "kind", "period_start"])
        .returning(col(Reminder.id))
    )
    new_id = session.execute(statement).scalar()
    return session.get(Reminder, new_id) if new_id is not None else None


def still_due(session: Session, reminder: Reminder, *, policy: ReminderPolicy, now: datetime) -> Due | None:
    """Asked again just before sending: None when the incident moved on since the reminder was decided
    (news, a close, a snooze, a post-mortem)."""
    incident = incidents.get(session, reminder.incident_id)
    others = [r for r in of_incident(session, incident.id) if r.id != reminder.id]
    story = Story(
        incident,
        incidents.history(session, incident.id),
        others,
        incidents.has_postmortem(session, incident.id),
    )
    for found in due(story, now=now, policy=policy):
        if found.kind == reminder.kind and found.period_start == reminder.period_start:
            return found
    return None


def of_incident(session: Session, incident_id: int) -> list[Reminder]:
    query = select(Reminder).where(Reminder.incident_id == incident_id).order_by(col(Reminder.id))
    return list(session.exec(query))


class ReminderGone(BotError):
    def __init__(self) -> None:
        super().__init__("This reminder is no longer known to the bot.")


def get(session: Session, reminder_id: int) -> Reminder:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        raise ReminderGone()
    return reminder


def snooze(
    *, session: Session, reminder_id: int, actor: Actor, seconds: float, now: datetime
) -> tuple[Incident, Reminder]:
    """Hold the incident's update reminders back until `now + seconds`; open to whoever may update it."""
    reminder = get(session, reminder_id)
    incident = incidents.get(session, reminder.incident_id)
    check_can_update(incident, actor)
    reminder.snoozed_until = now + timedelta(seconds=seconds)
    reminder.snoozed_by = actor.user_id
    session.add(reminder)
    events.record(session, events.ReminderSnoozed(incident=incident, reminder=reminder))
    return incident, reminder


def mark_sent(
    session: Session, reminder: Reminder, *, channel_id: str, message_ts: str, now: datetime
) -> None:
    """Keep where the reminder was posted, so that a snooze can edit it (and a retried job not post twice)."""
    reminder.channel_id, reminder.message_ts, reminder.sent_at = channel_id, message_ts, now
    session.add(reminder)

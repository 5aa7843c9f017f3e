"""The incident's timeline: notes taken from the channel, and every entry in time order.

A note is a channel message someone marked (a 📌 or the Add to timeline shortcut): its own time, its
author, its text (at most `NOTE_MAX` characters) and its permalink. One note per message, whatever the
number of pins; it goes when the last 📌 does. Reading the message takes Slack calls, which the domain
does not make: a request is recorded (`NoteRequested`) and a job reads the message, then adds the note.
Adding or removing it is open to whoever may update the incident, and records the event that tells the
thread and re-renders the post-mortem's timeline.

`entries` merges creation, status changes, key events and notes in time order: the one timeline that
`/incident timeline` shows and the post-mortem's table lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from bot import events, incidents
from bot.conversation import SlackMessage, check_person_message
from bot.enums import KeyEventKind, Status
from bot.models import Incident, IncidentUpdate, KeyEvent, TimelineNote
from bot.rules import Actor, check_can_update

NOTE_MAX = 300


def note_for(session: Session, channel_id: str, ts: str) -> TimelineNote | None:
    query = select(TimelineNote).where(TimelineNote.channel_id == channel_id, TimelineNote.message_ts == ts)
    return session.exec(query).first()


def notes(session: Session, incident_id: int) -> list[TimelineNote]:
    query = (
        select(TimelineNote)
        .where(TimelineNote.incident_id == incident_id)
        .order_by(col(TimelineNote.at), col(TimelineNote.id))
    )
    return list(session.exec(query))


def request_note(
    *,
    session: Session,
    incident_id: int,
    actor: Actor,
    channel_id: str,
    ts: str,
    thread_ts: str | None = None,
) -> TimelineNote | None:
    """Ask for a note of this message; the note when the message already has one (nothing is asked)."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    existing = note_for(session, channel_id, ts)
    if existing is not None:
        return existing
    events.record(
        session,
        events.NoteRequested(
            incident=incident,
            channel_id=channel_id,
            message_ts=ts,
            thread_ts=thread_ts,
            user_id=actor.user_id or "",
        ),
    )
    return None


def add_note(
    *,
    session: Session,
    incident_id: int,
    actor: Actor,
    message: SlackMessage,
    author_name: str,
    permalink: str | None,
) -> TimelineNote | None:
    """Add the message as a note at its own time; None when it already is one (more pins add nothing)."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    check_person_message(message, what="added to the timeline")
    if note_for(session, message.channel_id, message.ts) is not None:
        return None
    text = " ".join(message.text.split())
    note = TimelineNote(
        incident_id=incident.id,
        channel_id=message.channel_id,
        message_ts=message.ts,
        thread_ts=message.thread,
        at=message_time(message.ts),
        author_id=message.author_id or "",
        author_name=author_name,
        text=text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…",
        permalink=permalink,
        added_by=actor.user_id or "",
    )
    session.add(note)
    session.flush()
    events.record(session, events.TimelineNoteAdded(incident=incident, note=note))
    return note


def request_removal(*, session: Session, incident_id: int, actor: Actor, channel_id: str, ts: str) -> None:
    """A 📌 came off the message: check (by a job, which asks Slack) whether any is left."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    events.record(
        session,
        events.NoteRemovalRequested(
            incident=incident, channel_id=channel_id, message_ts=ts, user_id=actor.user_id or ""
        ),
    )


def remove_note(
    *, session: Session, incident_id: int, actor: Actor, channel_id: str, ts: str
) -> TimelineNote | None:
    """Remove the message's note; the removed note, or None when it had none."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    note = note_for(session, channel_id, ts)
    if note is None:
        return None
    session.delete(note)
    session.flush()
    events.record(session, events.TimelineNoteRemoved(incident=incident, note=note))
    return note


def message_time(ts: str) -> datetime:
    """A Slack `ts` (seconds since the epoch, as text) as a UTC time."""
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(frozen=True)
class Entry:
    """One line of the timeline; `kind` is `created`, `status`, `key_event` or `note` (whose `label` is
    its author and `message` its text)."""

    at: datetime
    kind: str
    label: str = ""
    message: str | None = None
    priority: int | None = None
    link: str | None = None


def entries(
    incident: Incident,
    updates: Sequence[IncidentUpdate],
    key_events: Sequence[KeyEvent],
    notes: Sequence[TimelineNote] = (),
) -> list[Entry]:
    """Creation, every status change, every key event and every note, ascending by time (stable for
    equal times: creation first, then history order, key events in lifecycle order, then notes)."""
    declared = next((u for u in updates if u.event_type == "declared"), None)
    declared_priority = (declared.changes.get("priority") or [None, None])[1] if declared else None
    created_at = declared.created_at if declared else incident.declared_at
    rows: list[tuple[datetime, int, int, Entry]] = [
        (created_at, 0, 0, Entry(created_at, "created", priority=declared_priority or incident.priority))
    ]
    for index, update in enumerate(updates):
        status = update.changes.get("status")
        if update.event_type == "declared" or not status or not status[1]:
            continue
        entry = Entry(update.created_at, "status", Status(status[1]).label)
        rows.append((update.created_at, 1, index, entry))
    order = list(KeyEventKind)
    for event in key_events:
        kind = KeyEventKind(event.kind)
        entry = Entry(event.at, "key_event", kind.label, (event.message or "").strip() or None)
        rows.append((event.at, 1, len(updates) + order.index(kind), entry))
    offset = len(updates) + len(order)
    for index, note in enumerate(notes):
        entry = Entry(note.at, "note", note.author_name, note.text, link=note.permalink)
        rows.append((note.at, 1, offset + index, entry))
    rows.sort(key=lambda item: item[:3])
    return [entry for *_, entry in rows]

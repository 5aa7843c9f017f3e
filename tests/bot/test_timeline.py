"""The conversation's use cases on SQLite and PostgreSQL: timeline notes and Send to Jira requests, their
rules (who may update the incident), their events, and the merged timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import conversation, events, incidents, timeline
from bot.conversation import SlackMessage, message_of
from bot.errors import MessageRefused, NotAllowed
from bot.events import EventBus
from bot.forms import DeclareForm, KeyEventInput, UpdateForm
from bot.jobs import Wakeup
from bot.rules import Actor, Policy
from bot.uow import UnitOfWork

POLICY = Policy()
REPORTER = Actor("UREP")
MEMBER = Actor("UMEM", in_channel=lambda _incident: True)
STRANGER = Actor("USTR")


@pytest.fixture
def uow(engine) -> UnitOfWork:
    return UnitOfWork(engine, bus=EventBus(), wakeup=Wakeup())


@pytest.fixture
def received(uow) -> list[object]:
    seen: list[object] = []
    for kind in (
        events.NoteRequested,
        events.NoteRemovalRequested,
        events.TimelineNoteAdded,
        events.TimelineNoteRemoved,
        events.JiraCommentRequested,
    ):
        uow.bus.subscribe(kind, lambda _session, event: seen.append(event))
    return seen


@pytest.fixture
def incident_id(uow) -> int:
    with uow.session() as session:
        incident = incidents.declare(
            session=session,
            reporter_id="UREP",
            form=DeclareForm(title="Checkout returns 500s", priority=1),
            policy=POLICY,
        )
        incident.channel_id = "CINC"
        session.commit()
        return incident.id


def message(ts: str = "1767225600.000100", text: str = "rolled back", **extra) -> SlackMessage:
    return SlackMessage(channel_id="CINC", ts=ts, author_id="UAUTH", text=text, **extra)


def add(uow, incident_id: int, actor: Actor = MEMBER, **extra):
    with uow.session() as session:
        note = timeline.add_note(
            session=session,
            incident_id=incident_id,
            actor=actor,
            message=message(**extra),
            author_name="Carol",
            permalink="https://x.slack.com/p1",
        )
        session.commit()
        return note


def test_a_note_is_added_once_at_the_messages_own_time_with_its_event(uow, incident_id, received) -> None:
    note = add(uow, incident_id)
    assert note is not None and note.at == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=100)
    assert (note.author_name, note.text, note.thread_ts) == ("Carol", "rolled back", "1767225600.000100")
    assert add(uow, incident_id) is None, "more pins add nothing"
    assert [type(e).__name__ for e in received] == ["TimelineNoteAdded"]
    with uow.session() as session:
        assert (
            timeline.request_note(
                session=session, incident_id=incident_id, actor=MEMBER, channel_id="CINC", ts=note.message_ts
            )
            is not None
        )


def test_a_note_keeps_at_most_300_characters_on_one_line(uow, incident_id) -> None:
    note = add(uow, incident_id, text="word\n" * 200)
    assert len(note.text) == 300 and note.text.endswith("…") and "\n" not in note.text


def test_a_reply_is_answered_in_its_thread(uow, incident_id) -> None:
    note = add(uow, incident_id, ts="1767225700.000200", thread_ts="1767225600.000100")
    assert note.thread_ts == "1767225600.000100"


def test_who_may_add_or_remove_a_note(uow, incident_id, received) -> None:
    with pytest.raises(NotAllowed, match="members of <#CINC>"):
        add(uow, incident_id, actor=STRANGER)
    add(uow, incident_id, actor=REPORTER)
    with uow.session() as session, pytest.raises(NotAllowed):
        timeline.remove_note(
            session=session, incident_id=incident_id, actor=STRANGER, channel_id="CINC", ts=message().ts
        )
    with uow.session() as session:
        removed = timeline.remove_note(
            session=session, incident_id=incident_id, actor=MEMBER, channel_id="CINC", ts=message().ts
        )
        session.commit()
    assert removed is not None
    assert [type(e).__name__ for e in received] == ["TimelineNoteAdded", "TimelineNoteRemoved"]
    with uow.session() as session:
        assert timeline.notes(session, incident_id) == []


@pytest.mark.parametrize(
    ("slack", "reason"),
    [
        ({"ts": "1.0", "text": "x", "bot_id": "B1"}, "posted by an app"),
        ({"ts": "1.0", "text": "x", "subtype": "bot_message"}, "posted by an app"),
        ({"ts": "1.0", "text": "This message was deleted.", "subtype": "tombstone"}, "deleted"),
        ({"ts": "1.0", "user": "U1", "text": "   "}, "no text"),
        ({}, "deleted"),
    ],
)
def test_messages_no_person_wrote_are_refused_with_the_reason(uow, incident_id, slack, reason) -> None:
    with uow.session() as session, pytest.raises(MessageRefused, match=reason):
        conversation.send_to_jira(
            session=session, incident_id=incident_id, actor=MEMBER, message=message_of("CINC", slack)
        )


def test_a_message_is_sent_to_jira_once(uow, incident_id, received) -> None:
    with uow.session() as session:
        first, new = conversation.send_to_jira(
            session=session, incident_id=incident_id, actor=MEMBER, message=message()
        )
        session.commit()
    with uow.session() as session:
        again, new_again = conversation.send_to_jira(
            session=session, incident_id=incident_id, actor=MEMBER, message=message()
        )
    assert new and not new_again and again.id == first.id
    assert [type(e).__name__ for e in received] == ["JiraCommentRequested"]


def test_the_timeline_merges_creation_status_key_events_and_notes_in_order(uow, incident_id) -> None:
    add(uow, incident_id, ts="4102444800.000000", text="the latest note")  # 2100-01-01
    with uow.session() as session:
        incident = incidents.get(session, incident_id)
        incidents.update(
            session=session,
            incident_id=incident_id,
            actor=REPORTER,
            form=UpdateForm(status="INVESTIGATING"),
            policy=POLICY,
        )
        detected = incident.declared_at - timedelta(minutes=5)
        incidents.set_key_events(
            session=session,
            incident_id=incident_id,
            actor=REPORTER,
            events_in={"detected": KeyEventInput(at=detected, message="alert fired")},
        )
        session.commit()
    add(uow, incident_id, ts=str(detected.timestamp()), text="same time as detected")
    with uow.session() as session:
        incident = incidents.get(session, incident_id)
        rows = timeline.entries(
            incident,
            incidents.history(session, incident_id),
            incidents.key_events(session, incident_id),
            timeline.notes(session, incident_id),
        )
    assert [(r.kind, r.label, r.message) for r in rows] == [
        ("key_event", "Detected", "alert fired"),
        ("note", "Carol", "same time as detected"),
        ("created", "", None),
        ("status", "Investigating", None),
        ("note", "Carol", "the latest note"),
    ]
    assert [r.at for r in rows] == sorted(r.at for r in rows)

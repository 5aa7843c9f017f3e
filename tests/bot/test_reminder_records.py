"""Reminder use cases on SQLite and PostgreSQL: each reminder recorded once (however many checks race),
asked again before sending, snoozed only by who may update; and the mitigation time they rely on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import events, incidents, reminders
from bot.enums import ReminderKind, Status
from bot.errors import NotAllowed
from bot.events import EventBus
from bot.forms import CloseForm, DeclareForm, UpdateForm
from bot.jobs import Wakeup
from bot.models import Incident, JiraPostMortem, Reminder
from bot.reminders import ReminderPolicy
from bot.rules import JIRA, Actor, Policy
from bot.uow import UnitOfWork

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = Policy(postmortem_required_for=frozenset({1, 2}), teams=("Payments",))
REMIND = ReminderPolicy(
    update_seconds={1: 1800, 2: 3600, 3: 7200},
    postmortem_seconds=3600,
    postmortem_priorities=frozenset({1, 2}),
)


@pytest.fixture
def uow(engine) -> UnitOfWork:
    return UnitOfWork(engine, bus=EventBus(), wakeup=Wakeup())


@pytest.fixture
def due_events(uow) -> list[events.ReminderDue]:
    seen: list[events.ReminderDue] = []
    uow.bus.subscribe(events.ReminderDue, lambda _session, event: seen.append(event))
    return seen


def declare(uow: UnitOfWork, priority: int = 1, *, channel: bool = True) -> int:
    with uow.session() as session:
        incident = incidents.declare(
            session=session,
            reporter_id="UREP",
            form=DeclareForm(
                title="Checkout returns 500s",
                priority=priority,
                suggested_team_routing="Payments" if priority >= 4 else None,
            ),
            policy=RULES,
            now=T0,
        )
        incident.channel_id = f"C{incident.id}" if channel else None
        session.commit()
        return incident.id


def update(uow: UnitOfWork, incident_id: int, at: datetime, actor: Actor = JIRA, **fields) -> None:
    with uow.session() as session:
        incidents.update(
            session=session,
            incident_id=incident_id,
            actor=actor,
            form=UpdateForm(**fields),
            policy=RULES,
            now=at,
        )
        session.commit()


def check(uow: UnitOfWork, now: datetime) -> list[Reminder]:
    with uow.session() as session:
        made = reminders.record_due(session=session, policy=REMIND, now=now)
        session.commit()
        return made


def rows(uow: UnitOfWork) -> list[Reminder]:
    with uow.session() as session:
        return list(session.exec(select(Reminder).order_by(Reminder.id)))


def test_a_check_records_each_due_reminder_once_with_its_event(uow, due_events) -> None:
    quiet, fresh, normal = declare(uow, 1), declare(uow, 3), declare(uow, 4, channel=False)
    assert check(uow, T0 + timedelta(minutes=29)) == []
    made = check(uow, T0 + timedelta(minutes=30))
    assert [(r.incident_id, r.kind, r.period_start) for r in made] == [(quiet, ReminderKind.UPDATE, T0)]
    assert [e.reminder.id for e in due_events] == [made[0].id]
    assert check(uow, T0 + timedelta(minutes=31)) == [], "decided once"
    assert {fresh, normal}.isdisjoint(r.incident_id for r in rows(uow))


def test_checks_racing_on_the_same_reminder_record_it_once(uow, engine, due_events) -> None:
    """Two replicas' checks in flight at once: the second waits for the first's row, then skips it."""
    declare(uow, 1)
    now = T0 + timedelta(minutes=31)
    first = uow.session()
    made_first = reminders.record_due(session=first, policy=REMIND, now=now)
    other_result: list[list[Reminder]] = []
    other = threading.Thread(target=lambda: other_result.append(check(uow, now + timedelta(seconds=1))))
    other.start()
    other.join(0.5)
    assert other.is_alive(), "the second insert waits for the first transaction"
    first.commit()
    first.close()
    other.join(10)
    assert len(made_first) == 1 and other_result == [[]]
    assert len(rows(uow)) == 1 and len(due_events) == 1


def test_the_next_reminder_is_keyed_on_the_last_one(uow) -> None:
    incident_id = declare(uow, 1)
    first = check(uow, T0 + timedelta(minutes=30, seconds=5))
    second = check(uow, T0 + timedelta(minutes=60, seconds=5))
    assert [r.period_start for r in first + second] == [T0, first[0].decided_at]
    update(uow, incident_id, T0 + timedelta(minutes=70), title="Checkout returns 502s now")
    assert check(uow, T0 + timedelta(minutes=99)) == []
    assert [r.period_start for r in check(uow, T0 + timedelta(minutes=100))] == [T0 + timedelta(minutes=70)]


def test_a_reminder_is_no_longer_due_once_the_incident_closed_or_got_news(uow) -> None:
    closing, talking, quiet = declare(uow, 3), declare(uow, 3), declare(uow, 3)
    made = {r.incident_id: r for r in check(uow, T0 + timedelta(hours=2))}
    later = T0 + timedelta(hours=2, minutes=1)
    update(uow, closing, later, status="MITIGATED")
    with uow.session() as session:
        incidents.close(
            session=session,
            incident_id=closing,
            actor=Actor("UREP"),
            form=CloseForm(reason="resolved"),
            policy=RULES,
        )
        session.commit()
    update(uow, talking, later, title="Checkout returns 502s now")
    with uow.session() as session:
        assert reminders.still_due(session, made[closing], policy=REMIND, now=later) is None
        assert reminders.still_due(session, made[talking], policy=REMIND, now=later) is None
        still = reminders.still_due(session, made[quiet], policy=REMIND, now=later)
    assert still is not None and still.quiet_for == timedelta(hours=2, minutes=1)


def test_a_postmortem_reminder_once_mitigated_long_enough_and_not_after_the_postmortem(uow) -> None:
    incident_id = declare(uow, 2)
    update(uow, incident_id, T0 + timedelta(minutes=5), status="MITIGATED")
    assert check(uow, T0 + timedelta(minutes=64)) == []
    [made] = [r for r in check(uow, T0 + timedelta(minutes=65)) if r.kind == ReminderKind.POSTMORTEM]
    assert made.period_start == T0 + timedelta(minutes=5)
    with uow.session() as session:
        session.add(JiraPostMortem(incident_id=incident_id, key="PM-1", jira_id="1", url="https://j/PM-1"))
        session.commit()
        assert reminders.still_due(session, made, policy=REMIND, now=T0 + timedelta(minutes=66)) is None


def test_a_snooze_is_open_to_whoever_may_update_and_silences_the_next_reminders(uow) -> None:
    incident_id = declare(uow, 1)
    [reminder] = check(uow, T0 + timedelta(minutes=30))
    snoozed: list[events.ReminderSnoozed] = []
    uow.bus.subscribe(events.ReminderSnoozed, lambda _session, event: snoozed.append(event))
    with uow.session() as session, pytest.raises(NotAllowed, match="may update this incident"):
        reminders.snooze(session=session, reminder_id=reminder.id, actor=Actor("UOUT"), seconds=1800, now=T0)
    member = Actor("UMEMBER", in_channel=lambda incident: incident.id == incident_id)
    at = T0 + timedelta(minutes=31)
    with uow.session() as session:
        reminders.snooze(session=session, reminder_id=reminder.id, actor=member, seconds=7200, now=at)
        session.commit()
    assert [(e.reminder.snoozed_until, e.reminder.snoozed_by) for e in snoozed] == [
        (at + timedelta(hours=2), "UMEMBER")
    ]
    assert check(uow, at + timedelta(minutes=119)) == []
    assert len(check(uow, at + timedelta(minutes=120))) == 1
    assert incident_id == reminder.incident_id


def test_mitigated_at_follows_the_status_there_and_back(uow) -> None:
    incident_id = declare(uow, 1)

    def mitigated_at() -> datetime | None:
        with uow.session() as session:
            return session.get(Incident, incident_id).mitigated_at

    assert mitigated_at() is None
    update(uow, incident_id, T0 + timedelta(minutes=10), status="MITIGATED")
    assert mitigated_at() == T0 + timedelta(minutes=10)
    update(uow, incident_id, T0 + timedelta(minutes=20), status="POST_MORTEM")
    assert mitigated_at() == T0 + timedelta(minutes=10), "still mitigated"
    update(uow, incident_id, T0 + timedelta(minutes=30), status="INVESTIGATING")
    assert mitigated_at() is None
    update(uow, incident_id, T0 + timedelta(minutes=40), status=Status.MITIGATING.value)
    update(uow, incident_id, T0 + timedelta(minutes=50), status=Status.MITIGATED.value)
    assert mitigated_at() == T0 + timedelta(minutes=50), "the last mitigation counts"

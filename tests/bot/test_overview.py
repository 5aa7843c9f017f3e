"""The Home tab's figures on SQLite and PostgreSQL: the open incidents in order, a person's own, the last
30 days per priority (count and median time to mitigate, from the status history), and Jira's backlog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from bot import incidents, overview
from bot.enums import JobState, Lane
from bot.events import EventBus
from bot.forms import CloseForm, DeclareForm, UpdateForm
from bot.jobs import Wakeup
from bot.models import JiraTicket, Job
from bot.rules import Actor, Policy
from bot.uow import UnitOfWork

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
RULES = Policy(postmortem_required_for=frozenset(), teams=("Payments",))


@pytest.fixture
def session(engine):
    with UnitOfWork(engine, bus=EventBus(), wakeup=Wakeup()).session() as session:
        yield session


def declare(
    session: Session, priority: int, at: datetime, reporter: str = "UREP", commander: str | None = None
):
    form = DeclareForm(
        title=f"Incident declared at {at:%d %H:%M}",
        priority=priority,
        commander_id=commander,
        suggested_team_routing="Payments" if priority >= 4 else None,
    )
    return incidents.declare(session=session, reporter_id=reporter, form=form, policy=RULES, now=at)


def move(session: Session, incident, status: str, at: datetime) -> None:
    incidents.update(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        form=UpdateForm(status=status),
        policy=RULES,
        now=at,
    )


def test_open_incidents_by_priority_then_newest_with_their_tickets(session) -> None:
    p2 = declare(session, 2, NOW - timedelta(hours=5))
    p1_old = declare(session, 1, NOW - timedelta(hours=4))
    p3 = declare(session, 3, NOW - timedelta(hours=1))
    p1_new = declare(session, 1, NOW - timedelta(hours=2))
    closed = declare(session, 1, NOW - timedelta(minutes=30))
    move(session, closed, "MITIGATED", NOW)
    incidents.close(
        session=session,
        incident_id=closed.id,
        actor=Actor("UREP"),
        form=CloseForm(reason="resolved"),
        policy=RULES,
    )
    session.add(
        JiraTicket(incident_id=p1_old.id, key="INC-7", jira_id="10007", url="https://jira/browse/INC-7")
    )
    session.commit()
    listing = overview.open_listing(session, limit=3)
    assert [row.incident.id for row in listing.rows] == [p1_new.id, p1_old.id, p2.id]
    assert listing.total == 4
    assert [row.ticket.key if row.ticket else None for row in listing.rows] == [None, "INC-7", None]
    assert p3.id not in [row.incident.id for row in listing.rows]


def test_your_incidents_are_the_open_ones_you_command_or_reported(session) -> None:
    mine = declare(session, 2, NOW - timedelta(hours=3), reporter="UME")
    commanding = declare(session, 3, NOW - timedelta(hours=2), commander="UME")
    declare(session, 1, NOW - timedelta(hours=1))
    session.commit()
    seen = overview.overview(session, user_id="UME", now=NOW, jira_enabled=True)
    assert [row.incident.id for row in seen.yours.rows] == [mine.id, commanding.id]
    assert seen.yours.total == 2 and seen.open.total == 3
    nobody = overview.overview(session, user_id="UNOBODY", now=NOW, jira_enabled=True)
    assert nobody.yours.rows == [] and nobody.yours.total == 0


def test_last_30_days_counts_and_median_time_to_mitigate_per_priority(session) -> None:
    for minutes in (10, 20, 60):  # P1: the median of three is the middle one
        incident = declare(session, 1, NOW - timedelta(days=2))
        move(session, incident, "MITIGATED", NOW - timedelta(days=2) + timedelta(minutes=minutes))
    declare(session, 1, NOW - timedelta(days=1))  # not mitigated: counted, no time
    for minutes in (10, 30):  # P2: the mean of the middle two
        incident = declare(session, 2, NOW - timedelta(days=3))
        move(session, incident, "INVESTIGATING", NOW - timedelta(days=3) + timedelta(minutes=1))
        move(session, incident, "POST_MORTEM", NOW - timedelta(days=3) + timedelta(minutes=minutes))
    declare(session, 3, NOW - timedelta(days=29))
    old = declare(session, 3, NOW - timedelta(days=31))  # out of the window
    move(session, old, "MITIGATED", NOW - timedelta(days=30, hours=20))
    session.commit()
    figures = {f.priority: f for f in overview.last_30_days(session, now=NOW)}
    assert sorted(figures) == [1, 2, 3, 4, 5]
    assert (figures[1].declared, figures[1].median_to_mitigate) == (4, pytest.approx(1200, abs=0.01))
    assert (figures[2].declared, figures[2].median_to_mitigate) == (2, pytest.approx(1200, abs=0.01))
    assert (figures[3].declared, figures[3].median_to_mitigate) == (1, None)
    assert (figures[4].declared, figures[4].median_to_mitigate) == (0, None)


def test_a_status_that_fell_back_below_mitigated_has_no_time_until_mitigated_again(session) -> None:
    incident = declare(session, 1, NOW - timedelta(hours=5))
    move(session, incident, "MITIGATED", NOW - timedelta(hours=4))
    move(session, incident, "INVESTIGATING", NOW - timedelta(hours=3))
    session.commit()
    assert overview.last_30_days(session, now=NOW)[0].median_to_mitigate is None
    move(session, incident, "MITIGATED", NOW - timedelta(hours=2))
    session.commit()
    assert overview.last_30_days(session, now=NOW)[0].median_to_mitigate == pytest.approx(3 * 3600, abs=0.01)


def test_sync_health_counts_jira_changes_waiting_and_failed_in_both_directions(session) -> None:
    assert overview.sync_health(session, now=NOW) == overview.SyncHealth(0, 0.0, 0)
    for lane, state, age in (
        (Lane.JIRA, JobState.PENDING, 300),
        (Lane.INBOUND, JobState.RUNNING, 60),
        (Lane.JIRA, JobState.FAILED, 900),
        (Lane.SLACK, JobState.PENDING, 3000),  # Slack's own: not Jira's health
        (Lane.JIRA, JobState.DONE, 5000),
    ):
        created = NOW - timedelta(seconds=age)
        session.add(Job(kind="x", lane=lane, state=state, created_at=created, next_attempt_at=created))
    session.commit()
    health = overview.sync_health(session, now=NOW)
    assert (health.waiting, health.failed) == (2, 1)
    assert health.oldest_waiting_seconds == pytest.approx(300)
    assert overview.overview(session, user_id="U1", now=NOW, jira_enabled=False).sync is None

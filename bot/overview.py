"""Where everything stands, for the Home tab: a person's incidents, the open ones, the last 30 days per
priority, and whether Jira is in step.

Read-only queries, each bounded however many incidents there are: rows are limited in SQL, and the
30-day figures are computed in SQL from an indexed window of `incident` (`declared_at`, with the
priority and `mitigated_at` in the same index), the median by ranking within each priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from bot.enums import JobState, Lane, Status
from bot.models import Incident, JiraTicket, Job

WINDOW = timedelta(days=30)
PRIORITIES = range(1, 6)
#: The lanes whose jobs carry changes between the incident and Jira (both ways).
JIRA_LANES = (Lane.JIRA, Lane.INBOUND)


@dataclass(frozen=True)
class Row:
    incident: Incident
    ticket: JiraTicket | None


@dataclass(frozen=True)
class Listing:
    """The first rows of a list, and how many there are in all."""

    rows: list[Row]
    total: int


@dataclass(frozen=True)
class PriorityFigures:
    priority: int
    declared: int
    #: median seconds from declared to mitigated, over those mitigated; None when none is
    median_to_mitigate: float | None


@dataclass(frozen=True)
class SyncHealth:
    """Jira changes not done yet: waiting (with the oldest's age) and failed. None when Jira is off."""

    waiting: int
    oldest_waiting_seconds: float
    failed: int


@dataclass(frozen=True)
class Overview:
    yours: Listing
    open: Listing
    last_30_days: list[PriorityFigures]
    sync: SyncHealth | None


def overview(
    session: Session, *, user_id: str, now: datetime, jira_enabled: bool, limit: int = 20, own_limit: int = 10
) -> Overview:
    """Everything the Home tab shows to `user_id`."""
    own = sa.or_(Incident.commander_id == user_id, Incident.reporter_id == user_id)
    return Overview(
        yours=open_listing(session, limit=own_limit, where=own),
        open=open_listing(session, limit=limit),
        last_30_days=last_30_days(session, now=now),
        sync=sync_health(session, now=now) if jira_enabled else None,
    )


def open_listing(session: Session, *, limit: int, where: Any = None) -> Listing:
    """Incidents not closed, by priority then newest, the first `limit` with their tickets."""
    still_open = sa.and_(Incident.status != Status.CLOSED, *([] if where is None else [where]))
    query = (
        select(Incident, JiraTicket)
        .join(JiraTicket, col(JiraTicket.incident_id) == col(Incident.id), isouter=True)
        .where(still_open)
        .order_by(col(Incident.priority), col(Incident.declared_at).desc(), col(Incident.id).desc())
        .limit(limit)
    )
    rows = [Row(incident, ticket) for incident, ticket in session.exec(query)]
    total = session.exec(select(sa.func.count()).select_from(Incident).where(still_open)).one()
    return Listing(rows=rows, total=total)


class SecondsBetween(FunctionElement[float]):
    """Seconds from the first time column to the second, in each database's own arithmetic."""

    type = sa.Float()
    inherit_cache = True


@compiles(SecondsBetween, "postgresql")
def _seconds_between_postgresql(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(SecondsBetween, "sqlite")
def _seconds_between_sqlite(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"
    )


def last_30_days(session: Session, *, now: datetime) -> list[PriorityFigures]:
    """Per priority: incidents declared in the last 30 days, and the median time they took from declared
    to mitigated (the mean of the middle two when their number is even)."""
    recent = (
        select(
            col(Incident.priority).label("priority"),
            SecondsBetween(Incident.declared_at, Incident.mitigated_at).label("took"),
        )
        .where(Incident.declared_at >= now - WINDOW)
        .subquery()
    )
    declared = dict(
        session.execute(select(recent.c.priority, sa.func.count()).group_by(recent.c.priority)).all()
    )
    ranked = (
        select(
            recent.c.priority,
            recent.c.took,
            sa.func.row_number().over(partition_by=recent.c.priority, order_by=recent.c.took).label("n"),
            sa.func.count().over(partition_by=recent.c.priority).label("of"),
        )
        .where(recent.c.took.is_not(None))
        .subquery()
    )
    middle = sa.or_(ranked.c.n == (ranked.c.of + 1) // 2, ranked.c.n == (ranked.c.of + 2) // 2)
    medians = dict(
        session.execute(
            select(ranked.c.priority, sa.func.avg(ranked.c.took)).where(middle).group_by(ranked.c.priority)
        ).all()
    )
    return [
        PriorityFigures(
            priority=priority,
            declared=declared.get(priority, 0),
            median_to_mitigate=float(medians[priority]) if priority in medians else None,
        )
        for priority in PRIORITIES
    ]


def sync_health(session: Session, *, now: datetime) -> SyncHealth:
    """Jira changes waiting (with the age of the oldest) and failed, in both directions."""
    in_jira_lanes = col(Job.lane).in_(list(JIRA_LANES))
    waiting_states = col(Job.state).in_([JobState.PENDING, JobState.RUNNING])
    waiting, oldest = session.execute(
        select(sa.func.count(), sa.func.min(Job.created_at)).where(in_jira_lanes, waiting_states)
    ).one()
    failed = session.exec(
        select(sa.func.count()).select_from(Job).where(in_jira_lanes, Job.state == JobState.FAILED)
    ).one()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return SyncHealth(waiting=waiting, oldest_waiting_seconds=max(age, 0.0), failed=failed)

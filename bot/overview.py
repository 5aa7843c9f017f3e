"""Where everything stands, for the Home tab: a person's incidents and follow-ups, the open ones, the last
30 days per priority, and whether Jira is in step.

Read-only queries, each bounded however many incidents there are: rows are limited in SQL, and the
30-day figures are one aggregate read from an index of `incident` alone: (declared_at, ...) when the
window holds few incidents, (priority, declared_at, ...) when it holds many, whose rows come grouped by
priority so that only each priority's durations are sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from bot import followups
from bot.enums import JobState, Lane, Status
from bot.models import FollowUp, Incident, JiraTicket, Job

WINDOW = timedelta(days=30)
#: Named rather than "not Closed", so that the status index serves: most incidents are closed.
OPEN_STATUSES = [status for status in Status if status is not Status.CLOSED]
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
    #: follow-ups assigned to the person and not done (the first few)
    followups: list[FollowUp] = field(default_factory=list)


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
        followups=followups.open_for(session, user_id, limit=own_limit),
    )


def open_listing(session: Session, *, limit: int, where: Any = None) -> Listing:
    """Incidents not closed, by priority then newest, the first `limit` with their tickets."""
    still_open = sa.and_(col(Incident.status).in_(OPEN_STATUSES), *([] if where is None else [where]))
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


class Median(FunctionElement[float]):
    """The median of a column over each group (the mean of the middle two for an even count):
    PostgreSQL's ordered-set aggregate, and on SQLite the `median` aggregate `bot.db` registers."""

    type = sa.Float()
    inherit_cache = True


@compiles(Median, "postgresql")
def _median_postgresql(element: Median, compiler: Any, **kw: Any) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(element.clauses, **kw)})"


@compiles(Median, "sqlite")
def _median_sqlite(element: Median, compiler: Any, **kw: Any) -> str:
    return f"median({compiler.process(element.clauses, **kw)})"


def last_30_days(session: Session, *, now: datetime) -> list[PriorityFigures]:
    """Per priority: incidents declared in the last 30 days, and the median time they took from declared
    to mitigated (over those mitigated: an incident not mitigated has no time, and is left out of it)."""
    took = SecondsBetween(Incident.declared_at, Incident.mitigated_at)
    query = (
        select(col(Incident.priority), sa.func.count(), Median(took))
        .where(Incident.declared_at >= now - WINDOW)
        .group_by(col(Incident.priority))
    )
    found = {priority: (count, median) for priority, count, median in session.execute(query).all()}
    figures = []
    for priority in PRIORITIES:
        count, median = found.get(priority, (0, None))
        figures.append(PriorityFigures(priority, count, None if median is None else float(median)))
    return figures


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

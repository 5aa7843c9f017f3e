"""Pausing a whole lane: its jobs stay queued, in order, and no worker claims them until it resumes.

Used when every job of a lane would fail the same way for a while (Jira refusing the bot's credentials):
retrying each of them would spend requests and attempts for nothing. The pause is a row in the database
(a `Checkpoint` named after the lane, holding since when), so it is shared by every replica, survives a
restart, and the claim itself reads it: no worker ever picks a paused lane's job.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.enums import JobState, Lane
from bot.models import Checkpoint, Job, utcnow

_PREFIX = "lane_paused:"


def _name(lane: Lane) -> str:
    return f"{_PREFIX}{lane.value}"


def claimable() -> sa.ColumnElement[bool]:
    """The claim's condition: the job's lane is not paused."""
    return ~sa.exists().where(Checkpoint.name == sa.literal(_PREFIX) + sa.cast(Job.lane, sa.String))


def pause(session: Session, lane: Lane) -> bool:
    """Pause the lane in the caller's transaction; False when it is paused already. Two replicas pausing
    at once both get True, and the second one's commit fails on the row's key (IntegrityError): the
    caller that commits is the one that paused it, so whatever it adds (telling people) happens once."""
    if session.get(Checkpoint, _name(lane)) is not None:
        return False
    session.add(Checkpoint(name=_name(lane), value=utcnow()))
    return True


def resume(session: Session, lane: Lane) -> bool:
    """Resume the lane and make its waiting jobs due now; True only for the caller that resumed it."""
    removed = session.execute(sa.delete(Checkpoint).where(col(Checkpoint.name) == _name(lane)))
    if removed.rowcount != 1:
        return False
    session.execute(
        sa.update(Job)
        .where(Job.lane == lane, Job.state == JobState.PENDING, Job.next_attempt_at > utcnow())
        .values(next_attempt_at=utcnow())
    )
    return True


def paused_since(session: Session, lane: Lane) -> datetime | None:
    """When the lane was paused, or None when it runs."""
    checkpoint = session.get(Checkpoint, _name(lane))
    return checkpoint.value if checkpoint is not None else None


def waiting(session: Session, lane: Lane) -> int:
    """How many of the lane's jobs are queued."""
    query = select(sa.func.count()).select_from(Job).where(Job.lane == lane, Job.state == JobState.PENDING)
    return session.exec(query).one()

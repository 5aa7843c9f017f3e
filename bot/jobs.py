"""The durable job queue (a transactional outbox): every call to Slack or Jira is a row here first.

Jobs are enqueued inside the caller's transaction, so a state change and the work it implies commit
together or not at all. Each job belongs to a *lane* (`Lane`) of an incident; within one
incident and lane jobs run strictly in the order they were made, and a Jira outage never holds up the
Slack lane. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL and a guarded UPDATE everywhere, so two
workers or two processes never run the same job. A claim is a short lease that the holding process
renews while the job runs (`renew_leases`, called by the worker pool's heartbeat): a process killed
mid-job stops renewing, its lease runs out within seconds, and another worker (or the restarted process)
claims the job again (handlers are idempotent). A holder that finishes after losing its lease records
nothing: the job belongs to its new holder.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import lanes
from bot.enums import JobState, Lane
from bot.models import Job, utcnow

PENDING, RUNNING, DONE, FAILED = JobState.PENDING, JobState.RUNNING, JobState.DONE, JobState.FAILED
_ENQUEUED = "jobs_enqueued"


class RetryLater(Exception):
    """A handler's transient failure; `retry_after` (seconds) is honoured when the remote gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(RetryLater):
    """The remote asked the bot to wait (a 429's Retry-After; credentials it refuses for now): not the
    job's failure, so the job waits exactly `retry_after`, not a growing backoff. (Its attempt still
    counts: handlers read `attempts > 1` as "an earlier attempt may have acted".)"""

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message, retry_after=retry_after)


class PermanentFailure(Exception):
    """A failure no retry can fix (e.g. Jira refusing a field): the job is parked at once."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, capped, never shorter than a remote's Retry-After."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        computed = min(self.cap, self.base * 2 ** max(attempts - 1, 0)) * random.uniform(0.5, 1.0)
        return max(computed, retry_after) if retry_after is not None else computed


class Wakeup:
    """Wakes one idle worker per notice that a job was committed in this process.

    One, not all: with every idle worker woken, each commit sent them all to claim and all but one found
    nothing, which was a third of the bot's CPU under load. A worker that does find a job gives notice
    again (`run_one`), so a burst of jobs still gets as many workers as it has jobs. Notices are counted,
    up to the number of waiting workers, so two that come together wake two workers; one given while no
    worker waits is kept for the next to go idle, so a commit between a claim and the wait is not lost.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._notices = 0
        self._waiting = 0
        self._everyone = 0

    def notify(self) -> None:
        with self._condition:
            self._notices = min(self._notices + 1, max(self._waiting, 1))
            self._condition.notify()

    def notify_all(self) -> None:
        """Wake every waiting worker (to stop)."""
        with self._condition:
            self._everyone += 1
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        with self._condition:
            everyone = self._everyone
            self._waiting += 1
            try:
                self._condition.wait_for(
                    lambda: self._notices > 0 or self._everyone != everyone, timeout=timeout
                )
                self._notices = max(self._notices - 1, 0)
            finally:
                self._waiting -= 1


def enqueued_jobs(session: Session, *, clear: bool = False) -> bool:
    """Whether jobs were added in the session's transaction (the unit of work wakes a worker then)."""
    return bool(session.info.pop(_ENQUEUED, False) if clear else session.info.get(_ENQUEUED, False))


def enqueue(
    session: Session,
    kind: str,
    *,
    lane: Lane,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: float = 0.0,
) -> Job:
    """Add a job to the caller's transaction; workers see it (and wake) when the caller commits."""
    now = utcnow()
    job = Job(
        kind=kind,
        lane=lane,
        incident_id=incident_id,
        payload=payload or {},
        next_attempt_at=now + timedelta(seconds=delay),
        created_at=now,
    )
    session.add(job)
    session.info[_ENQUEUED] = True
    return job


def _claim_statements() -> tuple[sa.Select, sa.Update]:
    """The claim's two statements, built once: building them for every claim (workers claim all the time)
    cost more of the bot's CPU than running them."""
    now = sa.bindparam("now")
    earlier = sa.orm.aliased(Job)
    blocked = (
        select(earlier.id)
        .where(
            earlier.incident_id == Job.incident_id,
            earlier.lane == Job.lane,
            earlier.id < Job.id,
            col(earlier.state).in_([PENDING, RUNNING]),
        )
        .exists()
    )
    runnable = sa.or_(
        sa.and_(Job.state == PENDING, Job.next_attempt_at <= now),
        sa.and_(Job.state == RUNNING, Job.locked_until < now),
    )
    pick = (
        select(Job)
        .where(runnable, sa.or_(col(Job.incident_id).is_(None), ~blocked), lanes.claimable())
        .order_by(col(Job.id))
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )
    take = (
        sa.update(Job)
        .where(col(Job.id) == sa.bindparam("job_id"), runnable)
        .values(
            state=RUNNING,
            locked_by=sa.bindparam("worker"),
            locked_until=sa.bindparam("until"),
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return pick, take


_PICK, _TAKE = _claim_statements()


class JobQueue:
    """Claims, completes and reschedules jobs; all the queue's SQL lives here."""

    def __init__(
        self,
        engine: Engine,
        *,
        wakeup: Wakeup,
        lease_seconds: float = 12.0,
        max_attempts: int = 12,
        backoff: Backoff | None = None,
    ) -> None:
        self.engine = engine
        self.wakeup = wakeup
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self._sqlite_claim_lock = threading.Lock()
        self._held: dict[int, str] = {}  # job id -> worker id, for the jobs this process runs now
        self._held_lock = threading.Lock()

    def claim(self, worker_id: str) -> Job | None:
        """Take the oldest runnable job whose earlier siblings (same incident and lane) are finished."""
        if self.engine.dialect.name == "sqlite":
            with self._sqlite_claim_lock:
                return self._claim(worker_id)
        return self._claim(worker_id)

    def _claim(self, worker_id: str) -> Job | None:
        now = utcnow()
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.execute(_PICK, {"now": now}).scalars().first()
            if job is None:
                return None
            claimed = session.execute(
                _TAKE, {"now": now, "job_id": job.id, "worker": worker_id, "until": now + self.lease}
            )
            session.commit()
            if claimed.rowcount != 1:
                return None
            session.refresh(job)
        with self._held_lock:
            self._held[job.id] = worker_id
        return job

    def renew_leases(self) -> int:
        """Extend the lease of every job this process still holds; returns how many were renewed.

        One statement for all of them, so a heartbeat every few seconds costs next to nothing; a job
        whose lease was already taken over (a stall longer than the lease) is not ours to renew."""
        with self._held_lock:
            held = dict(self._held)
        if not held:
            return 0
        with Session(self.engine) as session:
            result = session.execute(
                sa.update(Job)
                .where(
                    col(Job.id).in_(list(held)),
                    Job.state == RUNNING,
                    col(Job.locked_by).in_(set(held.values())),
                )
                .values(locked_until=utcnow() + self.lease)
            )
            session.commit()
        return result.rowcount

    def _release(self, job: Job) -> None:
        with self._held_lock:
            self._held.pop(job.id, None)

    def complete(self, job: Job) -> None:
        self._finish(job, state=DONE, error=None)

    def fail(self, job: Job, error: BaseException) -> datetime | None:
        """Reschedule with backoff, or park as failed; returns the next try.

        A remote that is down or throttling (`RetryLater`) is waited out however long it takes, so
        nothing is lost and the lane's order holds (a `Throttled` job waits exactly as long as it was
        asked to); a refusal (`PermanentFailure`) parks at once, and
        an unexpected error (a bug) parks once its attempts are spent.
        """
        message = _describe(error)
        transient = isinstance(error, RetryLater)
        if isinstance(error, PermanentFailure) or (not transient and job.attempts >= self.max_attempts):
            self._finish(job, state=FAILED, error=message)
            return None
        if isinstance(error, Throttled):
            delay = error.retry_after or 0.0
        else:
            retry_after = error.retry_after if isinstance(error, RetryLater) else None
            delay = self.backoff.delay(job.attempts, retry_after)
        next_at = utcnow() + timedelta(seconds=delay)
        self._settle(
            job,
            state=PENDING,
            next_attempt_at=next_at,
            locked_by=None,
            locked_until=None,
            last_error=message,
        )
        return next_at

    def _finish(self, job: Job, *, state: JobState, error: str | None) -> None:
        self._settle(
            job, state=state, finished_at=utcnow(), locked_by=None, locked_until=None, last_error=error
        )

    def _settle(self, job: Job, **values: Any) -> None:
        """Only while we still hold the claim: a job whose lease ran out belongs to its new holder."""
        try:
            with Session(self.engine) as session:
                session.execute(
                    sa.update(Job)
                    .where(col(Job.id) == job.id, Job.locked_by == job.locked_by)
                    .values(**values)
                )
                session.commit()
        finally:
            self._release(job)

    def retry_failed(self, job_ids: Sequence[int] | None = None) -> int:
        """Put parked jobs back in the queue (all of them, or the given ids)."""
        query = sa.update(Job).where(Job.state == FAILED)
        if job_ids:
            query = query.where(col(Job.id).in_(list(job_ids)))
        with Session(self.engine) as session:
            result = session.execute(
                query.values(state=PENDING, attempts=0, next_attempt_at=utcnow(), finished_at=None)
            )
            session.commit()
        self.wakeup.notify()
        return result.rowcount

    def listing(self, states: Sequence[JobState] = (PENDING, RUNNING, FAILED)) -> list[Job]:
        with Session(self.engine) as session:
            return list(
                session.exec(select(Job).where(col(Job.state).in_(list(states))).order_by(col(Job.id)))
            )

    def backlog(self) -> tuple[dict[JobState, int], float]:
        """Jobs per state (not done) and the age in seconds of the oldest pending job."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(Job.state, sa.func.count()).where(Job.state != DONE).group_by(Job.state)
            ).all()
            counts = {JobState(state): count for state, count in rows}
            oldest = session.exec(select(sa.func.min(Job.created_at)).where(Job.state == PENDING)).one()
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        return counts, age


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:2000]


def incident_backlog(session: Session, incident_id: int) -> dict[JobState, int]:
    """Jobs of one incident not done yet, by state (for `/incident status`)."""
    rows = session.execute(
        select(Job.state, sa.func.count())
        .where(Job.incident_id == incident_id, col(Job.state).in_([PENDING, RUNNING, FAILED]))
        .group_by(Job.state)
    ).all()
    return {JobState(state): count for state, count in rows}


def absorb_followers(session: Session, job: Job) -> list[Job]:
    """The pending jobs of `job`'s kind queued right behind it in its incident's lane (up to the first job
    of another kind), marked done in the caller's transaction. The caller folds their work into `job`
    (`replace_payload`) in that same transaction, so the two commit together or not at all.

    Safe without row locks: a job behind a running one in its lane is never claimed."""
    later = session.exec(
        select(Job)
        .where(
            Job.incident_id == job.incident_id,
            Job.lane == job.lane,
            col(Job.id) > job.id,
            col(Job.state).in_([PENDING, RUNNING]),
        )
        .order_by(col(Job.id))
    ).all()
    followers = list(takewhile(lambda other: other.kind == job.kind and other.state == PENDING, later))
    for follower in followers:
        follower.state = DONE
        follower.finished_at = utcnow()
        session.add(follower)
    return followers


def replace_payload(session: Session, job: Job, payload: dict[str, Any]) -> bool:
    """Give a running job a new payload (in the caller's transaction) while we still hold it."""
    result = session.execute(
        sa.update(Job)
        .where(col(Job.id) == job.id, Job.locked_by == job.locked_by, Job.state == RUNNING)
        .values(payload=payload)
    )
    return result.rowcount == 1


def lane_busy(session: Session, incident_id: int, lane: Lane, *, besides: int) -> bool:
    """Whether the incident has other unfinished jobs in this lane (used to tell when Jira caught up)."""
    query = select(Job.id).where(
        Job.incident_id == incident_id,
        Job.lane == lane,
        Job.id != besides,
        col(Job.state).in_([PENDING, RUNNING]),
    )
    return session.exec(query).first() is not None

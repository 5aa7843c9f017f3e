"""Worker threads that drain the job queue, and the registry that maps job kinds to handlers.

Handlers live in `sync/` and are registered by kind by the composition root. A handler gets the job
and does its I/O; it raises `RetryLater` for a transient failure (with the remote's Retry-After when
there is one) or `PermanentFailure` for one no retry can fix. Any other exception is treated as
transient and logged with its traceback.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Protocol

from bot.jobs import JobQueue, PermanentFailure, RetryLater, Throttled
from bot.logs import bound
from bot.metrics import JOB_RESULTS, JOB_SECONDS
from bot.models import Job

logger = logging.getLogger(__name__)


class Handler(Protocol):
    def __call__(self, job: Job) -> None: ...


class HandlerRegistry:
    """Job kind → handler; an unknown kind is a permanent failure, visible in `bot jobs`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Handler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise PermanentFailure(f"no handler registered for job kind {kind!r}") from None


def run_one(queue: JobQueue, registry: HandlerRegistry, worker_id: str) -> bool:
    """Claim and run one job; False when there was nothing to do."""
    job = queue.claim(worker_id)
    if job is None:
        return False
    queue.wakeup.notify()  # there may be more: the next idle worker looks
    started = time.monotonic()
    with bound(incident=job.incident_id, job=job.id, kind=job.kind, attempt=job.attempts):
        _run(queue, registry, job)
    JOB_SECONDS.labels(kind=job.kind).observe(time.monotonic() - started)
    return True


def _run(queue: JobQueue, registry: HandlerRegistry, job: Job) -> None:
    try:
        registry.handler(job.kind)(job)
    except (RetryLater, PermanentFailure) as exc:
        _failed(queue, job, exc)
    except Exception as exc:
        logger.exception("job %s (%s) for incident %s raised", job.id, job.kind, job.incident_id)
        _failed(queue, job, exc)
    else:
        queue.complete(job)
        JOB_RESULTS.labels(kind=job.kind, outcome="done").inc()


def _failed(queue: JobQueue, job: Job, exc: BaseException) -> None:
    next_at = queue.fail(job, exc)
    if next_at is None:
        JOB_RESULTS.labels(kind=job.kind, outcome="failed").inc()
        logger.error(
            "job %s (%s) for incident %s parked as failed after %s attempt(s): %s",
            job.id,
            job.kind,
            job.incident_id,
            job.attempts,
            exc,
        )
    else:
        throttled = isinstance(exc, Throttled)
        JOB_RESULTS.labels(kind=job.kind, outcome="throttled" if throttled else "retry").inc()
        logger.log(
            logging.INFO if throttled else logging.WARNING,
            "job %s (%s) for incident %s will retry at %s: %s",
            job.id,
            job.kind,
            job.incident_id,
            next_at.isoformat(timespec="seconds"),
            exc,
        )


class WorkerPool:
    """N threads claiming jobs; they sleep until woken by a commit or a short poll interval.

    A heartbeat thread renews the leases of the jobs the pool is running, every quarter of the lease
    unless told otherwise: a lease can then be short (a killed process's jobs are taken over within it)
    while a job that really takes long keeps its claim for as long as it runs.
    """

    def __init__(
        self,
        queue: JobQueue,
        registry: HandlerRegistry,
        *,
        threads: int = 4,
        poll_interval: float = 0.5,
        heartbeat_interval: float | None = None,
    ) -> None:
        self.queue = queue
        self.registry = registry
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval or queue.lease.total_seconds() / 4
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._prefix = f"{uuid.uuid4().hex[:8]}"
        self._threads = [
            threading.Thread(
                target=self._loop, args=(f"{self._prefix}-{n}",), name=f"worker-{n}", daemon=True
            )
            for n in range(threads)
        ]
        self._heartbeat = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        self._heartbeat.start()

    def stop(self, timeout: float = 8.0) -> None:
        """Stop claiming, let in-flight jobs finish within the timeout (their lease covers the rest)."""
        self._stop.set()
        self.queue.wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._stopped.set()  # jobs still running past the timeout are left to lapse and be taken over
        self._heartbeat.join(1.0)

    def _beat(self) -> None:
        while not self._stopped.wait(self.heartbeat_interval):
            try:
                self.queue.renew_leases()
            except Exception:
                logger.exception("could not renew the leases of running jobs; retrying at the next beat")

    def _loop(self, worker_id: str) -> None:
        while not self._stop.is_set():
            try:
                worked = run_one(self.queue, self.registry, worker_id)
            except Exception:
                logger.exception("worker %s could not claim a job; retrying shortly", worker_id)
                worked = False
            if not worked and not self._stop.is_set():
                self.queue.wakeup.wait(self.poll_interval)

"""The durable job queue on SQLite and PostgreSQL: order, backoff, parking, wake-up, single execution."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.events import EventBus
from bot.jobs import (
    Backoff,
    JobQueue,
    PermanentFailure,
    RetryLater,
    Wakeup,
    absorb_followers,
    enqueue,
    replace_payload,
)
from bot.models import Job, utcnow
from bot.uow import UnitOfWork
from bot.workers import HandlerRegistry, WorkerPool, run_one

FAST = Backoff(base=0.01, cap=0.05)


def add_jobs(engine, specs: list[tuple[str, int | None, str]], wakeup: Wakeup | None = None) -> list[int]:
    """Enqueue (kind, incident, lane) jobs in one transaction, as a use case would (its commit wakes
    `wakeup`, the queue's, when given)."""
    with UnitOfWork(engine, bus=EventBus(), wakeup=wakeup or Wakeup()).session() as session:
        jobs = [
            enqueue(session, kind, lane=lane, incident_id=incident, payload={"n": n})
            for n, (kind, incident, lane) in enumerate(specs)
        ]
        session.commit()
        return [job.id for job in jobs]


def wait_until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def states(engine) -> dict[int, str]:
    with Session(engine) as session:
        return {job.id: job.state for job in session.exec(select(Job))}


def test_jobs_of_one_incident_and_lane_run_in_order_even_through_retries(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=FAST)
    ran: list[tuple[int, int]] = []
    failed_once: set[int] = set()

    def handler(job: Job) -> None:
        if job.payload["n"] == 0 and job.id not in failed_once:
            failed_once.add(job.id)
            raise RetryLater("jira down")
        time.sleep(0.005)
        ran.append((job.incident_id, job.payload["n"]))

    registry = HandlerRegistry()
    registry.register("push", handler)
    add_jobs(engine, [("push", 1, "jira")] * 6 + [("push", 2, "jira")] * 3)
    pool = WorkerPool(queue, registry, threads=4, poll_interval=0.02)
    pool.start()
    try:
        wait_until(lambda: len(ran) == 9)
    finally:
        pool.stop()
    assert [n for incident, n in ran if incident == 1] == [0, 1, 2, 3, 4, 5]
    assert [n for incident, n in ran if incident == 2] == [6, 7, 8]


def test_a_blocked_lane_does_not_hold_up_the_other_lane(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=Backoff(base=60, cap=60))
    registry = HandlerRegistry()
    registry.register("jira", lambda job: (_ for _ in ()).throw(RetryLater("down", retry_after=60)))
    registry.register("slack", lambda job: None)
    jira_id, slack_id = add_jobs(engine, [("jira", 1, "jira"), ("slack", 1, "slack")])
    assert run_one(queue, registry, "w1") and run_one(queue, registry, "w1")
    assert states(engine) == {jira_id: "pending", slack_id: "done"}


def test_backoff_honours_retry_after(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=Backoff(base=0.01, cap=0.02))
    registry = HandlerRegistry()
    registry.register("push", lambda job: (_ for _ in ()).throw(RetryLater("429", retry_after=30)))
    [job_id] = add_jobs(engine, [("push", 1, "jira")])
    before = utcnow()
    run_one(queue, registry, "w1")
    with Session(engine) as session:
        job = session.get(Job, job_id)
    assert job.state == "pending" and job.attempts == 1 and "429" in job.last_error
    assert job.next_attempt_at >= before + timedelta(seconds=29)
    assert not run_one(queue, registry, "w1"), "a job must not run before its next attempt time"


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    backoff = Backoff(base=1, cap=20)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (5, 16), (9, 20)]:
        delays = [backoff.delay(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_failing_job_is_parked_with_its_error_and_can_be_retried(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=FAST, max_attempts=3)
    registry = HandlerRegistry()
    calls = []

    def handler(job: Job) -> None:
        calls.append(job.id)
        if len(calls) <= 3:
            raise RuntimeError("boom")

    registry.register("push", handler)
    [job_id] = add_jobs(engine, [("push", 1, "jira")])
    wait_until(lambda: run_one(queue, registry, "w") is False and states(engine)[job_id] == "failed")
    assert len(calls) == 3
    [parked] = queue.listing(["failed"])
    assert parked.last_error == "RuntimeError: boom" and parked.attempts == 3
    counts, _ = queue.backlog()
    assert counts == {"failed": 1}
    assert queue.retry_failed() == 1
    assert run_one(queue, registry, "w") and states(engine)[job_id] == "done"


def test_permanent_failure_parks_at_once_and_unknown_kinds_are_parked(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=FAST)
    registry = HandlerRegistry()
    registry.register("bad", lambda job: (_ for _ in ()).throw(PermanentFailure("400 field refused")))
    bad, unknown = add_jobs(engine, [("bad", 1, "jira"), ("mystery", 2, "jira")])
    run_one(queue, registry, "w")
    run_one(queue, registry, "w")
    assert states(engine) == {bad: "failed", unknown: "failed"}


def test_workers_wake_at_once_on_commit(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup())
    done = threading.Event()
    registry = HandlerRegistry()
    registry.register("ping", lambda job: done.set())
    pool = WorkerPool(queue, registry, threads=1, poll_interval=30)
    pool.start()
    try:
        time.sleep(0.2)  # let the worker go idle on its 30 s poll
        started = time.monotonic()
        add_jobs(engine, [("ping", None, "slack")], queue.wakeup)
        assert done.wait(5)
        latency = time.monotonic() - started
    finally:
        pool.stop()
    assert latency < 1.0, f"woke after {latency:.3f}s"


class CountingQueue(JobQueue):
    """The real queue, counting claims: how many times workers went to the database."""

    claims = 0

    def claim(self, worker_id: str) -> Job | None:
        self.claims += 1
        return super().claim(worker_id)


def test_a_commit_wakes_one_idle_worker_and_a_burst_gets_one_worker_per_job(engine) -> None:
    queue = CountingQueue(engine, wakeup=Wakeup())
    together = threading.Barrier(3, timeout=5)  # broken unless three jobs run at the same time
    ran: list[int] = []
    registry = HandlerRegistry()
    registry.register("ping", lambda job: ran.append(job.id))
    registry.register("meet", lambda job: ran.append(together.wait()))
    pool = WorkerPool(queue, registry, threads=8, poll_interval=30)
    pool.start()
    try:
        wait_until(lambda: queue.claims >= 8)  # each worker found nothing and went idle
        idle = queue.claims
        add_jobs(engine, [("ping", None, "slack")], queue.wakeup)
        wait_until(lambda: len(ran) == 1)
        wait_until(lambda: queue.claims >= idle + 3)
        # the woken worker's claim, its look for more once done, and the one it passed the wake-up to
        # (three), with room for a stray wake-up from elsewhere in the process; waking every idle worker
        # made it nine
        assert queue.claims <= idle + 5
        add_jobs(engine, [("meet", n, "slack") for n in (1, 2, 3)], queue.wakeup)
        wait_until(lambda: len(ran) == 4)
    finally:
        pool.stop()
    assert not together.broken and states(engine) == dict.fromkeys(states(engine), "done")


def test_expired_lease_is_claimed_again(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), lease_seconds=0.2)
    [job_id] = add_jobs(engine, [("push", 1, "jira")])
    assert queue.claim("dead-worker").id == job_id
    assert queue.claim("other") is None
    job = wait_until(lambda: queue.claim("other"), timeout=5)
    assert job.id == job_id and job.attempts == 2


def test_a_running_job_keeps_its_short_lease_while_its_pool_beats(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), lease_seconds=0.6)
    other = JobQueue(engine, wakeup=Wakeup(), lease_seconds=0.6)  # another process on the same database
    started, finish = threading.Event(), threading.Event()
    registry = HandlerRegistry()
    registry.register("slow", lambda job: (started.set(), finish.wait(10)))
    [job_id] = add_jobs(engine, [("slow", 1, "slack")])
    pool = WorkerPool(queue, registry, threads=1, poll_interval=0.02, heartbeat_interval=0.1)
    pool.start()
    try:
        assert started.wait(5)
        deadline = time.monotonic() + 2.0  # three leases and more
        while time.monotonic() < deadline:
            assert other.claim("other-process") is None, "a beating holder's job was taken over"
            time.sleep(0.05)
        finish.set()
        wait_until(lambda: states(engine)[job_id] == "done")
    finally:
        finish.set()
        pool.stop()
    with Session(engine) as session:
        assert session.get(Job, job_id).attempts == 1


def test_a_job_finished_after_its_lease_was_taken_over_is_recorded_once(engine) -> None:
    stalled = JobQueue(engine, wakeup=Wakeup(), lease_seconds=0.2)  # a holder that stopped beating
    taker = JobQueue(engine, wakeup=Wakeup(), lease_seconds=30)
    [job_id] = add_jobs(engine, [("push", 1, "jira")])
    job = stalled.claim("stalled")
    taken = wait_until(lambda: taker.claim("taker"), timeout=5)
    assert taken.id == job.id == job_id
    stalled.complete(job)  # the old holder wakes up and finishes: it no longer holds the job
    assert stalled.renew_leases() == 0
    assert states(engine)[job_id] == "running"
    stalled.fail(job, RetryLater("late"))
    with Session(engine) as session:
        row = session.get(Job, job_id)
        assert (row.state, row.locked_by, row.last_error) == ("running", "taker", None)
    taker.complete(taken)
    assert states(engine)[job_id] == "done"


def test_a_job_absorbs_the_same_kind_queued_right_behind_it_in_its_lane_only(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup())
    ids = add_jobs(
        engine,
        [
            ("push", 1, "jira"),
            ("push", 1, "jira"),
            ("push", 1, "slack"),  # another lane
            ("push", 2, "jira"),  # another incident
            ("push", 1, "jira"),
            ("timeline", 1, "jira"),  # another kind: what comes after it keeps its place
            ("push", 1, "jira"),
        ],
    )
    job = queue.claim("w")
    assert job.id == ids[0]
    with Session(engine) as session:
        absorbed = absorb_followers(session, job)
        assert [j.id for j in absorbed] == [ids[1], ids[4]]
        assert replace_payload(session, job, {"n": "merged"})
        session.commit()
    assert [s for _, s in sorted(states(engine).items())] == [
        "running",
        "done",
        "pending",
        "pending",
        "done",
        "pending",
        "pending",
    ]
    with Session(engine) as session:
        assert session.get(Job, job.id).payload == {"n": "merged"}


def test_a_job_whose_lease_was_taken_over_absorbs_nothing(engine) -> None:
    stalled = JobQueue(engine, wakeup=Wakeup(), lease_seconds=0.2)
    taker = JobQueue(engine, wakeup=Wakeup(), lease_seconds=30)
    first, second = add_jobs(engine, [("push", 1, "jira"), ("push", 1, "jira")])
    job = stalled.claim("stalled")
    wait_until(lambda: taker.claim("taker"), timeout=5)
    with Session(engine) as session:
        assert absorb_followers(session, job)
        assert not replace_payload(session, job, {"n": "merged"})  # the caller then does not commit
    assert states(engine) == {first: "running", second: "pending"}


WORKER_SCRIPT = Path(__file__).with_name("job_worker_process.py")


def test_two_processes_never_run_one_job_twice(request) -> None:
    url = request.getfixturevalue("postgres_url")
    from bot import db

    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE job RESTART IDENTITY")
        connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS test_runs (job_id int, pid int)")
        connection.exec_driver_sql("TRUNCATE test_runs")
    add_jobs(engine, [("record", n % 7 or None, "jira") for n in range(300)])
    env = {**os.environ, "TEST_DATABASE_URL": url}
    procs = [subprocess.Popen([sys.executable, str(WORKER_SCRIPT)], env=env) for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT job_id, pid FROM test_runs")).all()
        connection.exec_driver_sql("DROP TABLE test_runs")
    engine.dispose()
    ids = [row.job_id for row in rows]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert len({row.pid for row in rows}) == 2, "both processes should have taken part"


def test_a_remote_outage_is_waited_out_past_the_attempt_budget(engine) -> None:
    queue = JobQueue(engine, wakeup=Wakeup(), backoff=Backoff(base=0.001, cap=0.001), max_attempts=2)
    registry = HandlerRegistry()
    calls = []

    def handler(job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) < 6:
            raise RetryLater("Jira unreachable")

    registry.register("push", handler)
    [job_id] = add_jobs(engine, [("push", 1, "jira")])
    wait_until(lambda: (run_one(queue, registry, "w") or True) and states(engine)[job_id] != "pending")
    assert states(engine)[job_id] == "done" and calls == [1, 2, 3, 4, 5, 6]

"""A worker process for the two-process queue test: drains the queue, recording which job ran where."""

import os
import time

import sqlalchemy as sa

from bot import db
from bot.jobs import JobQueue, Wakeup
from bot.workers import HandlerRegistry, WorkerPool

engine = db.make_engine(os.environ["TEST_DATABASE_URL"])
queue = JobQueue(engine, wakeup=Wakeup())
registry = HandlerRegistry()


def record(job) -> None:
    time.sleep(0.002)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO test_runs (job_id, pid) VALUES (:j, :p)"), {"j": job.id, "p": os.getpid()}
        )


registry.register("record", record)
pool = WorkerPool(queue, registry, threads=3, poll_interval=0.05)
pool.start()
deadline = time.monotonic() + 50
while time.monotonic() < deadline:
    counts, _ = queue.backlog()
    if not counts:
        break
    time.sleep(0.05)
pool.stop()

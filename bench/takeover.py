"""Takeover after SIGKILL: how long the jobs a killed bot process was running take to run again.

A P1 bot that dies (OOM, a lost node, `kill -9`) must not leave its incidents silent for long: another
worker must take its jobs over. Under a steady load of Slack updates and declarations (every Jira request
delayed by `--jira-latency`, so that jobs are in flight most of the time), the bot process is killed at
random moments, `--kills` times:

- `--db sqlite`: the killed process is restarted at once (one process owns a SQLite file);
- `--db postgresql --redis-url …`: a second replica runs beside it and must take the jobs over; the
  killed one is restarted after each measurement, so there are two again for the next kill.

For each kill the jobs running at that instant are read from the database. From then on it is polled
every 20 ms: a job whose attempt count goes up was taken over (the time from the kill is the figure); a
job that finishes without a new attempt was the surviving replica's (or committed just before the kill)
and is not counted. At the end, with the load stopped and the queue drained: one Jira ticket per incident,
which jobs ran more than once, and the Slack messages that appear twice (allowed: a post in flight at a
kill may have reached Slack before the kill).

    python -m bench.takeover                                                   # 20 kills, SQLite
    python -m bench.takeover --db postgresql --redis-url redis://127.0.0.1:6379/13
    python -m bench.takeover --kills 5
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    DeclareSubmissions,
    Summary,
    add_bot_options,
    bot_env,
    bot_errors,
    machine,
    print_table,
    running_rig,
    wait_until,
)
from sandbox.rig import Rig
from sync.jira_fields import MARKER

POLL = 0.02


class Load:
    """Slack updates to the incidents' titles, and now and then a new P2 incident, until stopped.

    Actions that meet a dead bot (no ack, no modal) are counted and given up: Slack would show the user
    an error and they would try again."""

    def __init__(self, rig: Rig, channels: list[str], declare: DeclareSubmissions, rate: float) -> None:
        self.rig = rig
        self.channels = channels
        self.declare = declare
        self.interval = 1.0 / rate
        self.stop = threading.Event()
        self.done = Counter[str]()
        self.thread = threading.Thread(target=self._run, name="load", daemon=True)

    def _run(self) -> None:
        alice = self.rig.slack_user("alice")
        number = 0
        while not self.stop.wait(self.interval):
            number += 1
            try:
                if number % 10 == 0:
                    ack = self.declare.submit(f"Takeover benchmark incident {number:05d}", {"Priority": "P2"})
                    self.done["declared" if not ack.errors else "refused"] += 1
                    continue
                channel = self.channels[number % len(self.channels)]
                alice.click(channel, "Update")
                ack = alice.submit(alice.wait_for_view(timeout=3), {"Title": f"Takeover update {number:05d}"})
                self.done["updated" if not ack.errors else "refused"] += 1
            except Exception:  # the bot is down for a moment: this action is lost to the user, not to us
                self.done["no answer"] += 1


def query(rig: Rig, sql: str) -> list[Any]:
    engine = sa.create_engine(rig.env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def running(rig: Rig) -> dict[int, int]:
    """Running jobs: id -> attempts."""
    rows = query(rig, "SELECT id, attempts FROM job WHERE state = 'running'")
    return {row.id: row.attempts for row in rows}


def takeovers(rig: Rig, held: dict[int, int], killed_at: float, timeout: float = 60.0) -> list[float]:
    """Seconds from the kill until each of the killed process's jobs was claimed again."""
    if not held:
        return []
    found: dict[int, float] = {}
    others: set[int] = set()
    ids = ",".join(str(job_id) for job_id in held)
    deadline = time.monotonic() + timeout
    while len(found) + len(others) < len(held) and time.monotonic() < deadline:
        for row in query(rig, f"SELECT id, state, attempts FROM job WHERE id IN ({ids})"):
            if row.id in found or row.id in others:
                continue
            if row.attempts > held[row.id]:
                found[row.id] = time.monotonic() - killed_at
            elif row.state != "running":
                others.add(row.id)
        time.sleep(POLL)
    missing = set(held) - set(found) - others
    if missing:
        raise TimeoutError(f"jobs {sorted(missing)} were not taken over within {timeout} s")
    return sorted(found.values())


def setup(rig: Rig, incidents: int) -> tuple[list[str], DeclareSubmissions]:
    declare = DeclareSubmissions(rig)
    for number in range(incidents):
        ack = declare.submit(f"Takeover benchmark anchor {number}", {"Priority": "P2"})
        if ack.errors:
            raise RuntimeError(f"declaration refused: {ack.errors}")

    def ready() -> list[str] | None:
        channels = [
            cid
            for cid, channel in rig.slack.channels.items()
            if channel["name"].startswith("inc-") and rig.slack.bookmarks(cid)
        ]
        return channels if len(channels) >= incidents else None

    return wait_until(ready, 60, 0.05, "the anchor incidents' channels"), declare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills (20)")
    parser.add_argument("--incidents", type=int, default=3, help="incidents updated by the load (3)")
    parser.add_argument("--rate", type=float, default=2.0, help="Slack actions per second (2)")
    parser.add_argument("--jira-latency", type=float, default=1.0, help="added to each Jira request (1 s)")
    parser.add_argument("--seed", type=int, default=12, help="random kill moments (12)")
    add_bot_options(parser)
    args = parser.parse_args(argv)
    replicas = args.db == "postgresql"
    if replicas and not args.redis_url:
        parser.error("--db postgresql runs two replicas: give them a shared --redis-url")
    chance = random.Random(args.seed)

    mode = "a second replica takes over" if replicas else "the killed process is restarted at once"
    print(f"takeover on {machine()}")
    print(
        f"{args.kills} kills, database {args.db}: {mode}; load {args.rate:g} Slack actions/s over "
        f"{args.incidents} incidents, Jira +{args.jira_latency:g} s per request"
    )
    per_job: list[float] = []
    per_kill: list[tuple[int, int, float | None]] = []
    with running_rig(
        db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
    ) as rig:
        channels, declare = setup(rig, args.incidents)
        if replicas:
            rig.start_another_bot()
        rig.jira.add_latency(seconds=args.jira_latency, duration=None)
        load = Load(rig, channels, declare, args.rate)
        load.thread.start()
        for kill in range(1, args.kills + 1):
            time.sleep(chance.uniform(1.0, 4.0))
            held = running(rig)
            killed_at = time.monotonic()
            rig.stop_bot(kill=True)
            if not replicas:
                rig.start_bot()
            times = takeovers(rig, held, killed_at)
            per_job += times
            per_kill.append((kill, len(times), max(times) if times else None))
            if replicas:
                rig.start_bot()
            print(f"  kill {kill}: {len(times)} job(s) taken over, {', '.join(f'{t:.2f}' for t in times)} s")
        load.stop.set()
        load.thread.join(10)
        rig.jira.clear_faults()
        wait_until(
            lambda: not query(rig, "SELECT id FROM job WHERE state IN ('pending', 'running')"),
            120,
            0.2,
            "the queue to drain",
        )
        declared = args.incidents + load.done["declared"]
        tickets = Counter(  # incident ids, from the marker each ticket carries
            MARKER.incident_of(issue["fields"].get("description"))
            for key, issue in rig.jira.issues.items()
            if key.startswith("INC-")
        )
        twice_run = query(rig, "SELECT count(*) AS n FROM job WHERE attempts > 1")[0].n
        failed = query(rig, "SELECT count(*) AS n FROM job WHERE state = 'failed'")[0].n
        duplicates = sum(
            count - 1
            for cid in rig.slack.channels
            for count in Counter(m["text"] for m in rig.slack.messages(cid) if not m.get("blocks")).values()
            if count > 1
        )
        errors = bot_errors(rig)
        for line in errors[:5]:
            print(f"  bot log: {line}")

    summary = Summary.of(per_job)
    kills_with_jobs = [k for k in per_kill if k[1]]
    print_table(
        "Takeover after SIGKILL, seconds from the kill to each held job running again (goal: p99 <= 15 s)",
        ["mode", "kills", "kills with jobs in flight", "jobs taken over", "p50", "p95", "p99", "max"],
        [
            [
                "restart" if not replicas else "second replica",
                len(per_kill),
                len(kills_with_jobs),
                summary.count,
                f"{summary.p50:.2f}",
                f"{summary.p95:.2f}",
                f"{summary.p99:.2f}",
                f"{summary.max:.2f}",
            ]
        ],
    )
    print_table(
        "Done twice? (after the load, with the queue drained)",
        [
            "incidents declared",
            "Jira tickets",
            "tickets made twice",
            "jobs run more than once",
            "jobs failed",
            "Slack messages twice",
            "load actions",
        ],
        [
            [
                declared,
                sum(tickets.values()),
                sum(count - 1 for count in tickets.values() if count > 1),
                f"{twice_run} (jobs taken over: {summary.count})",
                failed,
                duplicates,
                ", ".join(f"{k} {v}" for k, v in sorted(load.done.items())),
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

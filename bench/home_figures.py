"""Home tab cost: the SQL behind the Home tab, and opening the tab, with 100,000 incidents.

The Home tab is rebuilt each time someone opens it, so what it reads must stay cheap however long the bot
has lived. Its heaviest part is *Last 30 days*: per priority, the incidents declared in the window and the
median time from declared to mitigated.

Set-up (not timed): a fresh database gets N incidents declared over the last `--days` days (one scenario
per value: spread over a year, or all within the 30-day window, the worst case), priorities P1-P5 in the
proportions 5/10/25/30/30 %, all closed but 500; each mitigated one mitigated after a log-normal time
(median 45 min); each with its history (declared, mitigated, closed: the `incident_update` rows the bot
writes) and one finished job per update, written directly after `bot.db.upgrade`; then, on PostgreSQL,
`VACUUM ANALYZE`, as autovacuum leaves a database that has lived a while.

Timed in-process, each `--runs` times after a warm-up, on the database alone: `last_30_days` (goal:
< 50 ms on PostgreSQL) and `overview` (everything one opening of the tab reads). Then, unless
`--round-trips 0`, the real bot on the same database: the Home tab opened through the Slack emulator, from
`app_home_opened` sent to the published view received. The query plan of `last_30_days` is printed for
PostgreSQL.

    python -m bench.home_figures                                 # PostgreSQL, 100,000 incidents
    python -m bench.home_figures --incidents 10000 --days 30 --db sqlite,postgresql --runs 20
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlmodel import Session

from bench._common import Summary, csv_list, database, machine, ms, print_table
from bot import db, overview
from bot.enums import JobState, Lane, Source, Status, UpdateKind
from bot.models import Incident, IncidentUpdate, Job, utcnow
from sandbox.rig import person, start_rig

PRIORITY_WEIGHTS = (5, 10, 25, 30, 30)
OPEN = 500
OPEN_STATUSES = (Status.OPEN, Status.INVESTIGATING, Status.MITIGATING, Status.MITIGATED, Status.POST_MORTEM)
USER = person("alice").slack_id
BATCH = 5000
SCAN = re.compile(r"((?:Parallel )?(?:Index Only|Index|Bitmap Heap|Bitmap Index|Seq) Scan[^(]*)")


def seed(url: str, count: int, days: int) -> None:
    """N incidents with their history and jobs, as the bot would have written them."""
    rng = random.Random(8)
    now = utcnow()
    template = Incident(title="x", priority=3, reporter_id=USER, commander_id=USER).model_dump()
    incidents, updates, jobs = [], [], []
    for number in range(1, count + 1):
        declared = now - timedelta(seconds=rng.uniform(0, days * 86400))
        priority = rng.choices(range(1, 6), weights=PRIORITY_WEIGHTS)[0]
        status = OPEN_STATUSES[number % len(OPEN_STATUSES)] if number <= OPEN else Status.CLOSED
        mitigated = None
        if status.rank >= Status.MITIGATED.rank:
            mitigated = min(declared + timedelta(minutes=rng.lognormvariate(3.8, 1.0)), now)
        reporter = USER if number % 50 == 0 else person("bob").slack_id
        incidents.append(
            {
                **template,
                "id": number,
                "title": f"Seeded incident number {number}",
                "priority": priority,
                "status": status,
                "reporter_id": reporter,
                "commander_id": reporter,
                "declared_at": declared,
                "updated_at": mitigated or declared,
                "mitigated_at": mitigated,
                "closed_at": mitigated if status is Status.CLOSED else None,
            }
        )
        history = [(declared, UpdateKind.DECLARED, [None, "OPEN"])]
        if mitigated is not None:
            history.append((mitigated, UpdateKind.UPDATED, ["INVESTIGATING", "MITIGATED"]))
        if status is Status.CLOSED:
            history.append((mitigated or declared, UpdateKind.CLOSED, ["MITIGATED", "CLOSED"]))
        for at, kind, change in history:
            updates.append(
                {
                    "incident_id": number,
                    "created_at": at,
                    "author_id": reporter,
                    "source": Source.SLACK,
                    "event_type": kind,
                    "changes": {"status": change},
                }
            )
            jobs.append(
                {
                    "kind": "jira.push_changes",
                    "lane": Lane.JIRA,
                    "incident_id": number,
                    "payload": {},
                    "state": JobState.DONE,
                    "attempts": 1,
                    "next_attempt_at": at,
                    "created_at": at,
                    "finished_at": at,
                }
            )
    engine = db.make_engine(url)
    with engine.begin() as connection:
        for table, rows in ((Incident, incidents), (IncidentUpdate, updates), (Job, jobs)):
            for start in range(0, len(rows), BATCH):
                connection.execute(sa.insert(table.__table__), rows[start : start + BATCH])
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))")
    if engine.dialect.name == "postgresql":  # what autovacuum does in a database that has lived a while
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def timed(call: Callable[[], Any], runs: int) -> Summary:
    call()  # warm: connection, statement and plan caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return Summary.of(seconds)


def plan(url: str) -> str:
    """The plan nodes PostgreSQL picks for `last_30_days`' statements (EXPLAIN ANALYZE), in short."""
    engine = db.make_engine(url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        return "-"
    captured: list[tuple[str, Any]] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: captured.append((args[2], args[3])))
    with Session(engine) as session:
        overview.last_30_days(session, now=utcnow())
    nodes = []
    with engine.connect() as connection:
        for statement, parameters in captured[:2]:
            rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT TEXT) {statement}", parameters)
            nodes += [found.group(1).strip() for (line,) in rows if (found := SCAN.search(line))]
    engine.dispose()
    return "; ".join(dict.fromkeys(nodes))


def round_trips(url: str, count: int) -> Summary:
    """Open the Home tab through Slack, `count` times: `app_home_opened` to the view published."""
    workdir = Path(tempfile.mkdtemp(prefix="bot-bench-home-"))
    rig = start_rig(database_url=url, workdir=workdir, env={"LOG_LEVEL": "WARNING"})
    try:
        alice = rig.slack_user("alice")
        alice.open_home(timeout=30)  # warm
        seconds = []
        for _ in range(count):
            started = time.perf_counter()
            view = alice.open_home(timeout=30)
            seconds.append(time.perf_counter() - started)
        assert len(view["blocks"]) <= 100
        return Summary.of(seconds)
    finally:
        rig.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000, help="incidents (100000)")
    parser.add_argument(
        "--days", default="3650,365,30", help="comma list: days the incidents span (3650,365,30)"
    )
    parser.add_argument("--db", default="postgresql", help="comma list of databases (postgresql)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query (50)")
    parser.add_argument("--round-trips", type=int, default=20, help="Home tab openings through Slack (20)")
    args = parser.parse_args(argv)

    logging.getLogger().setLevel(logging.ERROR)
    print(f"home_figures on {machine()}")
    rows = []
    for db_kind in csv_list(args.db):
        for days in (int(d) for d in csv_list(args.days)):
            with (
                tempfile.TemporaryDirectory(prefix="bot-bench-") as workdir,
                database(db_kind, Path(workdir)) as url,
            ):
                started = time.perf_counter()
                seed(url, args.incidents, days)
                seeded = time.perf_counter() - started
                engine = db.make_engine(url)
                with Session(engine) as session:
                    in_window = sum(f.declared for f in overview.last_30_days(session, now=utcnow()))
                    figures = timed(lambda s=session: overview.last_30_days(s, now=utcnow()), args.runs)
                    whole = timed(
                        lambda s=session: overview.overview(s, user_id=USER, now=utcnow(), jira_enabled=True),
                        args.runs,
                    )
                engine.dispose()
                trip = round_trips(url, args.round_trips) if args.round_trips else None
                print(f"{db_kind}, {days} days: seeded in {seeded:.0f} s; plan: {plan(url)}")
                rows.append(
                    [
                        db_kind,
                        f"{args.incidents:,}",
                        days,
                        f"{in_window:,}",
                        ms(figures.p50),
                        ms(figures.p99),
                        ms(whole.p50),
                        ms(whole.p99),
                        ms(trip.p50) if trip else "-",
                        ms(trip.p99) if trip else "-",
                    ]
                )
    print_table(
        f"Home tab at scale (ms; {args.runs} runs per query, p99 = max below 100 runs; "
        "goal: Last 30 days < 50 ms)",
        [
            "db",
            "incidents",
            "declared over (days)",
            "in the 30-day window",
            "Last 30 days p50",
            "p99",
            "whole Home read p50",
            "p99",
            "tab opened → view published p50",
            "p99",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reconciler cost: Jira requests and seconds of one reconciliation, with many incidents and few changes.

The reconciler is the safety net behind the webhook; it runs every few minutes for as long as the bot
lives, so it must cost what changed in Jira since its last run (pages of `search/jql` results with
their changelogs), never one request per incident the bot has ever known.

Set-up (not timed): the bot's database gets N incidents, each with its Jira ticket (rows written directly
after `bot.db.upgrade`); the Jira emulator gets the N issues, last updated a day ago (its clock is set back
while they are created). The reconciler's checkpoint is put at one interval ago, as after a normal run.
Then, for each point of `--changed`, that many issues are edited in Jira by a person, and one
`Reconciler.run()` is timed in-process (`runtime.reconcile`, as `python -m bot reconcile --once` calls
it, over the bot's own runtime built from the same environment; `--cli` also times the command itself,
Python start-up included). The edited issues are then aged again, so the next point sees only its own.

The seconds include the emulator's work: it evaluates JQL by scanning every issue, once per page, which
is slower than Jira's index and only makes the figure pessimistic.

    python -m bench.reconciler_cost                          # 10,000 incidents, 100 changed
    python -m bench.reconciler_cost --incidents 1000 --changed 0,10,250
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bench._common import DATABASES, add_bot_options, bot_env, csv_list, machine, print_table, running_rig
from bot import db
from bot.app import Runtime, build_runtime
from bot.models import Checkpoint, Incident, JiraTicket, utcnow
from bot.settings import load_settings
from sandbox.jira import issues
from sandbox.rig import JIRA_BOT, Rig
from sync.reconciler import CHECKPOINT

REPORT = {
    "seen": re.compile(r"(\d+) updated issue"),
    "linked": re.compile(r"(\d+) linked"),
    "applied": re.compile(r"(\d+) (?:new )?change set"),
}


def report_figures(output: str) -> dict[str, str]:
    """The counts on the first line of the reconcile report (`?` for any it does not state)."""
    first = output.splitlines()[0] if output else ""
    return {name: (m.group(1) if (m := pattern.search(first)) else "?") for name, pattern in REPORT.items()}


def seed(rig: Rig, count: int, interval: int) -> list[str]:
    """N incident tickets in Jira (updated a day ago) and N incidents linked to them in the bot's DB."""
    jira = rig.jira
    jira.set_webhook(None)  # the set-up is history; only the timed run talks to the bot's code
    state = jira.state
    real_clock = state.clock
    day_ago = real_clock() - timedelta(days=1)
    state.clock = lambda: day_ago
    keys, tickets = [], []
    try:
        for number in range(1, count + 1):
            body = {
                "fields": {
                    "project": {"key": "INC"},
                    "issuetype": {"name": "Incident"},
                    "summary": f"Seeded incident number {number}",
                    "customfield_11064": {"value": "3"},
                }
            }
            record = issues.create_issue(state, JIRA_BOT, body)
            keys.append(record["key"])
            tickets.append(
                {
                    "incident_id": number,
                    "key": record["key"],
                    "jira_id": record["id"],
                    "url": f"{jira.url}/browse/{record['key']}",
                    "field_versions": {},
                }
            )
    finally:
        state.clock = real_clock
    engine = db.make_engine(rig.env["DATABASE_URL"])
    template = Incident(title="x", priority=3, reporter_id="U0ALICE", commander_id="U0ALICE").model_dump()
    rows = [
        {**template, "id": number, "title": f"Seeded incident number {number}"}
        for number in range(1, count + 1)
    ]
    with engine.begin() as connection:
        for start in range(0, count, 1000):
            connection.execute(sa.insert(Incident.__table__), rows[start : start + 1000])
            connection.execute(sa.insert(JiraTicket.__table__), tickets[start : start + 1000])
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval('incident_id_seq', (SELECT max(id) FROM incident))")
    engine.dispose()
    set_checkpoint(rig, interval)
    return keys


def set_checkpoint(rig: Rig, interval: int) -> None:
    """The reconciler's high-water mark one interval ago, as after its previous scheduled run."""
    engine = db.make_engine(rig.env["DATABASE_URL"])
    with engine.begin() as connection:
        table = Checkpoint.__table__
        connection.execute(sa.delete(table).where(table.c.name == CHECKPOINT))
        connection.execute(
            sa.insert(table), [{"name": CHECKPOINT, "value": utcnow() - timedelta(seconds=interval)}]
        )
    engine.dispose()


def change(rig: Rig, keys: list[str], count: int, round_: int) -> list[str]:
    """A person edits `count` issues spread over all of them; returns their keys."""
    if count == 0:
        return []
    step = max(1, len(keys) // count)
    chosen = [keys[(i * step + round_) % len(keys)] for i in range(count)]
    carol = rig.jira_user("carol")
    for key in chosen:
        carol.update(key, summary=f"Retitled in Jira, round {round_}, {key}")
    return chosen


def age(rig: Rig, keys: list[str]) -> None:
    """Make edited issues look old again, so the next point's search does not return them."""
    state = rig.jira.state
    with state.lock:
        old = state.clock() - timedelta(days=1)
        for key in keys:
            state.issues[key]["updated"] = old


def runtime_for(rig: Rig) -> Runtime:
    """The bot's runtime built from the rig's environment, as `python -m bot reconcile --once` builds it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(rig.env)
    try:
        return build_runtime(load_settings())
    finally:
        os.environ.clear()
        os.environ.update(saved)


def timed_run(rig: Rig, runtime: Runtime, *, cli: bool) -> tuple[float, list[dict[str, Any]], str]:
    rig.jira.clear_requests()
    started = time.perf_counter()
    if cli:
        done = rig.reconcile_once(timeout=120)
        output = done.stdout if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-2000:]}"
    else:
        assert runtime.reconcile is not None
        output = runtime.reconcile()
    return time.perf_counter() - started, rig.jira.requests, output


def kind_of(request: dict[str, Any]) -> str:
    path = request["path"]
    if "/search" in path:
        return "search"
    if path.endswith("/changelog"):
        return "changelog"
    return "other"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000, help="incidents with tickets (10000)")
    parser.add_argument("--changed", default="100", help="comma list: issues changed in Jira per run (100)")
    add_bot_options(parser, databases=",".join(DATABASES))
    parser.add_argument("--interval", type=int, default=300, help="seconds since the last run (300)")
    parser.add_argument("--cli", action="store_true", help="also time `python -m bot reconcile --once`")
    args = parser.parse_args(argv)

    logging.getLogger().setLevel(logging.ERROR)  # Bolt copies the root level: no "token unused" notice
    print(f"reconciler_cost on {machine()}")
    rows = []
    others: Counter[str] = Counter()
    for db_kind in csv_list(args.db):
        with running_rig(
            db_kind=db_kind,
            redis_url=args.redis_url,
            env=bot_env(args.bot_env),
            start_bot=False,
            keep=args.keep,
        ) as rig:
            started = time.perf_counter()
            keys = seed(rig, args.incidents, args.interval)
            print(
                f"{db_kind}: seeded {len(keys)} incidents and issues in {time.perf_counter() - started:.1f} s"
            )
            runtime = runtime_for(rig)
            runtime.reconcile and runtime.reconcile()  # warm: connect to Jira, learn its account, once
            modes = ["in-process", "cli"] if args.cli else ["in-process"]
            for round_, (changed, mode) in enumerate(
                (int(c), m) for c in csv_list(args.changed) for m in modes
            ):
                edited = change(rig, keys, changed, round_)
                set_checkpoint(rig, args.interval)
                seconds, requests_, output = timed_run(rig, runtime, cli=mode == "cli")
                age(rig, edited)
                kinds = Counter(kind_of(r) for r in requests_)
                figures = report_figures(output)
                if "?" in figures.values():
                    print(f"unexpected reconcile output: {output[:500]}")
                others.update(f"{r['method']} {r['path']}" for r in requests_ if kind_of(r) == "other")
                rows.append(
                    [
                        db_kind,
                        mode,
                        len(keys),
                        changed,
                        figures["seen"],
                        figures["linked"],
                        figures["applied"],
                        len(requests_),
                        kinds["search"],
                        kinds["changelog"],
                        kinds["other"],
                        f"{seconds:.2f}",
                    ]
                )
            runtime.engine.dispose()
    print_table(
        "One reconciliation (requests counted by the Jira emulator; goal: grows with pages, < 5 s)",
        [
            "db",
            "run",
            "incidents",
            "changed",
            "issues seen",
            "linked",
            "applied",
            "Jira requests",
            "search pages",
            "changelog",
            "other",
            "seconds",
        ],
        rows,
    )
    if others:
        print("'other' requests, all runs: " + ", ".join(f"{path} x{n}" for path, n in others.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

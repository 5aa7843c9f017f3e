"""What every benchmark shares: percentiles, tables, machine facts, throw-away databases, the rig.

Benchmarks are not tests: they print figures and never assert a goal. They stand on the same e2e rig as
the tests (`sandbox.rig`: both emulators and the real `python -m bot run` on loopback), so what they
time is the shipped process reached only through Slack and Jira, never a function called in-process
(except where a script says why).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot import db
from sandbox.rig import Rig, person, start_rig
from sandbox.slack import Ack, SlackEmulator, forms

# Loopback only: requests and http.client must never route 127.0.0.1 through a proxy.
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_proxy, None)

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = ("sqlite", "postgresql")
COMMAND = "/incident"


# ---- numbers ------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: a value that was really observed, and never flattering for a p99."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            count=len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            max=max(values) if values else math.nan,
        )


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds, one decimal; `-` when nothing was measured."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table (so a run's output pastes straight into docs/BENCHMARKS.md)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(f"\n{title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(flush=True)


def csv_list(text: str) -> list[str]:
    """`--db sqlite,postgresql` style flags."""
    return [part.strip() for part in text.split(",") if part.strip()]


def bot_env(pairs: Sequence[str] | None) -> dict[str, str]:
    """`--bot-env WORKER_THREADS=1` (repeatable): extra settings for the bot process, for experiments."""
    env = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--bot-env wants NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def add_bot_options(parser: argparse.ArgumentParser, *, databases: str | None = None) -> None:
    """The flags every script that runs the bot shares: database(s), Redis, extra settings, keep."""
    if databases is None:
        parser.add_argument("--db", default="sqlite", choices=DATABASES, help="bot database (sqlite)")
    else:
        parser.add_argument("--db", default=databases, help=f"comma list of databases ({databases})")
    parser.add_argument("--redis-url", default=None, help="Redis for the bot (default: its embedded store)")
    parser.add_argument(
        "--bot-env", action="append", metavar="NAME=VALUE", help="extra bot setting, e.g. WORKER_THREADS=8"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the bot's log")


def wait_until(predicate: Any, timeout: float, interval: float = 0.01, what: str = "condition") -> Any:
    """Poll until truthy; TimeoutError naming `what` otherwise (a benchmark must stop by itself)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---- the machine --------------------------------------------------------------------------------
def machine() -> str:
    """nproc, CPU model and memory, so every printed figure says where it was measured."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "? GiB"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return f"{os.cpu_count()} CPU ({model}), {memory} RAM, Python {platform.python_version()}"


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (KiB) of a process, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0])
    return out


# ---- databases ----------------------------------------------------------------------------------
@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """An empty, migrated database for one run: a SQLite file in `workdir`, or a PostgreSQL database
    created for the run and dropped after it (the shared server's `test` database is never touched)."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir}/bot.sqlite"
        _migrate(url)
        yield url
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database {kind!r}; choose from {DATABASES}")
    name = f"bot_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _migrate(url: str) -> None:
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()


# ---- the rig ------------------------------------------------------------------------------------
@contextlib.contextmanager
def running_rig(
    *,
    db_kind: str = "sqlite",
    redis_url: str | None = None,
    env: Mapping[str, str] | None = None,
    start_bot: bool = True,
    keep: bool = False,
) -> Iterator[Rig]:
    """Emulators plus the real bot on a fresh database; everything stopped afterwards.

    The work directory (database file, the bot's log) is removed after a clean run, and kept, with its
    path printed, after a failed one or with `keep`. The bot logs at WARNING: an INFO line per job would
    be the benchmark's own load on 2 cores.
    """
    workdir = Path(tempfile.mkdtemp(prefix="bot-bench-"))
    failed = True
    try:
        with database(db_kind, workdir) as url:
            rig = start_rig(
                database_url=url,
                redis_url=redis_url,
                workdir=workdir,
                env={"LOG_LEVEL": "WARNING", **(env or {})},
                start_bot=start_bot,
            )
            try:
                yield rig
            finally:
                rig.stop()
        failed = False
    finally:
        if keep or failed:
            print(f"(work directory kept: {workdir}; the bot's log: {workdir / 'bot.log'})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def bot_metrics(rig: Rig) -> dict[str, float]:
    """The bot's `/metrics`, flattened to `name{label="v",...}` -> value (the backlog is read fresh)."""
    text = requests.get(f"{rig.http_url}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def bot_errors(rig: Rig) -> list[str]:
    """ERROR lines of the bot's log: a benchmark prints them rather than hiding a broken run."""
    return [line for line in rig.bot_log().splitlines() if " ERROR " in line or "Traceback" in line]


# ---- acting in Slack ----------------------------------------------------------------------------
class ViewSubmissions:
    """`view_submission` payloads of one modal, built from one captured view.

    Opening the modal for every submission would add a slash command and a `views.open` each to the load
    being measured; Slack itself never checks that a submitted view is still open, so a view captured once
    and filled by label (the emulator's own `forms.build_state`, i.e. what Slack's client would send) is
    submitted again with a new title and a fresh trigger_id each time.
    """

    def __init__(self, rig: Rig, command: str, who: str = "alice") -> None:
        self.emu: SlackEmulator = rig.slack
        self.user_id = person(who).slack_id
        user = rig.slack_user(who)
        ack = user.command(COMMAND, command, channel_id=rig.general)
        if ack.text:
            raise RuntimeError(f"/incident {command} answered {ack.text!r} instead of opening the modal")
        self.view = user.wait_for_view(timeout=10)

    def payload(self, title: str, values: Mapping[str, Any]) -> dict[str, Any]:
        state = self.emu.state
        with state.lock:
            view = copy.deepcopy(self.view)
            view["state"] = {
                "values": forms.build_state(
                    view,
                    {"Title": title, **values},
                    users=lambda ref: (state.find_user(ref) or {"id": ref})["id"],
                    convs=lambda ref: state.conversation(ref).id,
                )
            }
            name = state.users[self.user_id]["name"]
            return {
                "type": "view_submission",
                "user": {"id": self.user_id, "username": name, "name": name, "team_id": state.team_id},
                "api_app_id": state.app_id,
                "token": "sandbox-verification-token",
                "team": {"id": state.team_id, "domain": state.team_domain},
                "enterprise": None,
                "is_enterprise_install": False,
                "trigger_id": state.issue_trigger(self.user_id, view["id"]),
                "view": view,
                "response_urls": [],
            }

    def submit(self, title: str, values: Mapping[str, Any], timeout: float = 10.0) -> Ack:
        return self.emu.send_envelope("interactive", self.payload(title, values), timeout)


class DeclareSubmissions(ViewSubmissions):
    """Declarations, from one captured Declare modal."""

    def __init__(self, rig: Rig, who: str = "alice") -> None:
        super().__init__(rig, "open Benchmark incident title", who)


def declare_and_wait(rig: Rig, title: str, *, who: str = "alice", priority: str = "P1") -> tuple[str, str]:
    """Declare one incident through Slack and wait until its channel is announced and its ticket exists.

    Returns (channel id, Jira key): the starting point of the benchmarks that update an incident.
    """
    declare = DeclareSubmissions(rig, who)
    ack = declare.submit(title, {"Priority": priority})
    if ack.errors:
        raise RuntimeError(f"the Declare modal was refused: {ack.errors}")
    slack = rig.slack
    channel = slack.wait_for(
        lambda: next((cid for cid, c in slack.channels.items() if c["name"].startswith("inc-")), None),
        timeout=20,
    )
    slack.wait_for(lambda: slack.bookmarks(channel), timeout=20)
    key = next(k for k in rig.jira.issues if k.startswith("INC-"))
    return channel, key

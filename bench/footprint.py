"""Footprint: start-up time and resident memory of `python -m bot run`, idle and after many incidents.

An on-call bot is restarted by deploys and crashes at the worst moments, and lives for weeks: it must
be back quickly, and its memory must not grow with the incidents it has handled (caches, leaks).

- Start-up: from spawning the process to its Socket Mode connection being up (the emulator's own
  connection event, no polling) and to `/healthz` answering 200 — the moment the rig, and a
  deployment's readiness probe, consider it ready. Repeated `--starts` times on the same database.
- Memory: VmRSS (and the peak, VmHWM) from /proc/<pid>/status after `--settle` idle seconds; then
  again after N incidents have been declared through Slack (Declare submissions, as in ack_latency)
  and every job they caused (channel, announcement, Jira ticket, bookmark...) has run.

    python -m bench.footprint                        # 1,000 incidents, 3 starts
    python -m bench.footprint --incidents 50 --starts 2 --settle 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from bench._common import (
    DeclareSubmissions,
    add_bot_options,
    bot_env,
    bot_errors,
    bot_metrics,
    machine,
    print_table,
    proc_status,
    running_rig,
    wait_until,
)
from sandbox.rig import Rig


def timed_start(rig: Rig) -> tuple[float, float]:
    """Seconds from spawning the bot to Socket Mode connected, and to /healthz 200."""
    failure: list[BaseException] = []

    def start() -> None:
        try:
            rig.start_bot(timeout=60)
        except BaseException as exc:  # reported by the caller
            failure.append(exc)

    thread = threading.Thread(target=start, name="start-bot")
    spawned = time.monotonic()
    thread.start()
    rig.slack.wait_connected(timeout=60)
    connected = time.monotonic()
    session = requests.Session()

    def healthy() -> bool:
        try:
            return session.get(f"{rig.http_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=60, interval=0.005, what="/healthz 200")
    ready = time.monotonic()
    thread.join()
    if failure:
        raise failure[0]
    return connected - spawned, ready - spawned


IMPORTS = "import bot.cli, bot.app, bot.runner, listeners, sync, sync.jira_client"


def import_seconds(rig: Rig) -> float:
    """Seconds for a fresh interpreter to import what `bot run` imports (and nothing else): the part of
    start-up that is Python loading code, as opposed to the bot connecting and starting its threads."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", IMPORTS], env=rig.env, cwd=rig.workdir, check=True, timeout=120)
    return time.monotonic() - started


def memory(rig: Rig) -> dict[str, int]:
    assert rig.process is not None
    return proc_status(rig.process.pid)


def declare_many(rig: Rig, count: int, priority: str) -> tuple[float, float]:
    """Declare `count` incidents through Slack; seconds to submit them all, and until all jobs ran."""
    declare = DeclareSubmissions(rig, "alice")
    started = time.monotonic()
    for number in range(1, count + 1):
        ack = declare.submit(f"Footprint benchmark incident {number:05d}", {"Priority": priority})
        if ack.errors:
            raise RuntimeError(f"Declare refused: {ack.errors}")
    submitted = time.monotonic() - started

    def drained() -> bool:
        metrics = bot_metrics(rig)
        busy = sum(metrics.get(f'bot_job_backlog{{state="{s}"}}', 0) for s in ("pending", "running"))
        tickets = sum(1 for key in rig.jira.issues if key.startswith("INC-"))
        return busy == 0 and tickets >= count

    wait_until(drained, timeout=max(120.0, count * 1.0), interval=0.5, what="every job to run")
    return submitted, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000, help="incidents to declare (1000)")
    parser.add_argument("--priority", default="P1", choices=["P1", "P2", "P3"], help="of each incident")
    parser.add_argument("--starts", type=int, default=3, help="timed start-ups (3)")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before reading memory (5)")
    add_bot_options(parser)
    args = parser.parse_args(argv)

    print(f"footprint on {machine()}")
    print(f"database {args.db}; {args.incidents} {args.priority} incidents declared through Slack")
    starts = []
    with running_rig(
        db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), start_bot=False, keep=args.keep
    ) as rig:
        for attempt in range(args.starts):
            if attempt:
                rig.stop_bot()
            imports = import_seconds(rig)
            starts.append((*timed_start(rig), imports))
        time.sleep(args.settle)
        idle = memory(rig)
        submitted, drained = declare_many(rig, args.incidents, args.priority)
        time.sleep(args.settle)
        after = memory(rig)
        for line in bot_errors(rig)[:5]:
            print(f"  bot log: {line}")
    print_table(
        "Start-up (s): process spawned -> Socket Mode connected -> /healthz 200 (imports alone, just before)",
        ["start", "connected", "healthy", "imports alone"],
        [[i + 1, f"{c:.2f}", f"{h:.2f}", f"{m:.2f}"] for i, (c, h, m) in enumerate(starts)],
    )
    grown = after["VmRSS"] - idle["VmRSS"]
    print_table(
        "Resident memory of `python -m bot run` (MiB)",
        ["when", "RSS", "peak (VmHWM)"],
        [
            ["idle after start", f"{idle['VmRSS'] / 1024:.1f}", f"{idle['VmHWM'] / 1024:.1f}"],
            [
                f"after {args.incidents} incidents",
                f"{after['VmRSS'] / 1024:.1f}",
                f"{after['VmHWM'] / 1024:.1f}",
            ],
        ],
    )
    per = grown / args.incidents if args.incidents else 0.0
    print(
        f"RSS grew {grown / 1024:.1f} MiB ({per:.1f} KiB per incident); declarations submitted in "
        f"{submitted:.1f} s, all their jobs done {drained:.1f} s after the first"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

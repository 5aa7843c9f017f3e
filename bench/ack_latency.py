"""Ack latency over Socket Mode: how long Slack waits for the bot's ack, with Jira fast and with Jira slow.

Slack gives an app 3 s to ack and the design promises far less (listeners parse, validate, call the
domain and ack; every Jira and Slack call is a job). So the same open-loop load — a steady rate of
`/incident help`, Declare submissions and "Update" clicks, interleaved — runs once with Jira answering
at once and once with every Jira request delayed; the emulator times each envelope from sent to acked.
If a listener waited on Jira anywhere, the second run would show it.

Open loop: interaction i is sent at start + i/rate whatever happened to the earlier ones (a pool of
sender threads waits for the acks), so a slow ack cannot slow the load down and hide itself.

    python -m bench.ack_latency                      # 20/s for 30 s, Jira latency 0 s and 2 s
    python -m bench.ack_latency --duration 3 --jira-latency 0,2
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also runnable as `python bench/<name>.py`

from bench._common import (
    COMMAND,
    DeclareSubmissions,
    Summary,
    add_bot_options,
    bot_env,
    bot_errors,
    bot_metrics,
    csv_list,
    declare_and_wait,
    machine,
    ms,
    print_table,
    running_rig,
)
from sandbox.rig import Rig

KINDS = ("help", "declare", "click")


@dataclass
class Sample:
    kind: str
    latency: float | None  # None: no ack (see `failure`)
    refused: bool = False  # a Declare answered with field errors
    failure: str | None = None
    send_lag: float = 0.0  # how late the sender was against the schedule: the load generator's own health


class Load:
    """The three interactions on one rig: an anchor incident to click on, a captured Declare modal."""

    def __init__(self, rig: Rig, priority: str) -> None:
        self.rig = rig
        self.priority = priority
        self.channel, _ = declare_and_wait(rig, "Benchmark anchor incident for button clicks", priority="P1")
        self.declare = DeclareSubmissions(rig, "alice")
        self.helper = rig.slack_user("bob")
        self.clicker = rig.slack_user("alice")
        self.numbers = itertools.count(1)

    def send(self, kind: str, timeout: float) -> Sample:
        try:
            if kind == "help":
                ack = self.helper.command(COMMAND, "help", channel_id=self.rig.general, timeout=timeout)
            elif kind == "declare":
                title = f"Benchmark declaration number {next(self.numbers)}"
                ack = self.declare.submit(title, {"Priority": self.priority}, timeout=timeout)
            else:
                ack = self.clicker.click(self.channel, "Update", timeout=timeout)
        except Exception as exc:  # no ack (TimeoutError) or no connection: counted, never lost
            return Sample(kind, None, failure=type(exc).__name__)
        return Sample(kind, ack.latency, refused=ack.errors is not None)


def run_phase(load: Load, *, rate: float, duration: float, warmup: float, senders: int) -> list[Sample]:
    """Send `rate`/s for warmup + duration seconds; keep the samples after the warm-up."""
    total = int((warmup + duration) * rate)
    skip = int(warmup * rate)
    samples: list[Sample | None] = [None] * total
    lock = threading.Lock()

    def one(index: int, due: float) -> None:
        lag = time.monotonic() - due
        sample = load.send(KINDS[index % len(KINDS)], timeout=10.0)
        sample.send_lag = lag
        with lock:
            samples[index] = sample

    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="sender") as pool:
        start = time.monotonic() + 0.1
        for index in range(total):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, index, due)
    kept = [s for s in samples[skip:] if s is not None]
    failures = Counter(s.failure for s in kept if s.failure)
    if failures:
        print("interactions without an ack: " + ", ".join(f"{name} x{n}" for name, n in failures.items()))
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="interactions per second (default 20)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per phase (30)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (2)")
    parser.add_argument(
        "--jira-latency", default="0,2", help="comma list of seconds added to every Jira request (0,2)"
    )
    add_bot_options(parser)
    parser.add_argument("--priority", default="P1", choices=["P1", "P2", "P3"], help="of each Declare")
    parser.add_argument("--senders", type=int, default=32, help="sender threads waiting for acks (32)")
    args = parser.parse_args(argv)

    print(f"ack_latency on {machine()}")
    print(
        f"{args.rate:g} interactions/s ({', '.join(KINDS)} in turn) for {args.duration:g} s after "
        f"{args.warmup:g} s warm-up; database {args.db}; Declare priority {args.priority}"
    )
    results: dict[float, list[Sample]] = {}
    for latency in (float(x) for x in csv_list(args.jira_latency)):
        with running_rig(
            db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
        ) as rig:
            load = Load(rig, args.priority)
            if latency:
                rig.jira.add_latency(latency, duration=None)
            results[latency] = run_phase(
                load, rate=args.rate, duration=args.duration, warmup=args.warmup, senders=args.senders
            )
            pending = bot_metrics(rig).get('bot_job_backlog{state="pending"}', 0)
            print(f"Jira +{latency:g} s: {int(pending)} job(s) still pending when the phase ended")
            errors = bot_errors(rig)
            if errors:
                print(f"bot log errors with Jira +{latency:g} s ({len(errors)}):", *errors[:5], sep="\n  ")
    rows = []
    for latency, samples in results.items():
        for kind in (*KINDS, "all"):
            chosen = [s for s in samples if kind in ("all", s.kind)]
            acked = [s.latency for s in chosen if s.latency is not None]
            summary = Summary.of(acked)
            rows.append(
                [
                    f"+{latency:g} s",
                    kind,
                    summary.count,
                    len(chosen) - len(acked),
                    sum(s.refused for s in chosen),
                    ms(summary.p50),
                    ms(summary.p95),
                    ms(summary.p99),
                    ms(summary.max),
                    ms(max((s.send_lag for s in chosen), default=float("nan"))),
                ]
            )
    print_table(
        "Ack latency (ms), envelope sent -> ack received, measured by the Slack emulator",
        ["Jira", "kind", "acks", "no ack", "refused", "p50", "p95", "p99", "max", "max send lag"],
        rows,
    )
    latencies = sorted(results)
    if len(latencies) > 1:
        base, slow = latencies[0], latencies[-1]
        growth = []
        for kind in (*KINDS, "all"):
            p99 = {
                lat: Summary.of(
                    [s.latency for s in results[lat] if kind in ("all", s.kind) and s.latency is not None]
                ).p99
                for lat in (base, slow)
            }
            growth.append([kind, ms(p99[base]), ms(p99[slow]), ms(p99[slow] - p99[base])])
        print_table(
            f"p99 growth with Jira latency (+{base:g} s -> +{slow:g} s); goal: p99 < 100 ms and no growth",
            ["kind", f"p99 at +{base:g} s", f"p99 at +{slow:g} s", "difference"],
            growth,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Webhook intake: how many signed Jira deliveries per second the bot takes in, beside a bare endpoint.

Jira sends a webhook for every change to every issue of the watched projects, most of them about
issues no incident is linked to; the route must take each in (verify, de-duplicate, record) and answer
within 100 ms. Raw requests per second mostly measure the machine, so each figure is taken beside a
bare endpoint served by the same library started the same way (`bench/_bare.py`), just before, with the
same client: the ratio is the figure.

Bodies are real: the Jira emulator's own webhook for a change to the linked issue (the ticket of a
declared incident) and to an unrelated issue is captured, then replayed with a fresh changelog id and
`X-Atlassian-Webhook-Identifier` per delivery, signed with the bot's secret. Linked deliveries change
`labels` by default (recorded and processed by a job that finds nothing to apply); `--linked-field
summary` makes every one a title change applied to the incident and posted in its channel.

    python -m bench.webhook_intake                  # 10 s per cell, 8 client threads, SQLite and PostgreSQL
    python -m bench.webhook_intake --duration 2 --db sqlite
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._bare import PATH
from bench._common import (
    DATABASES,
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
    wait_until,
)
from sandbox.rig import WEBHOOK_SECRET, Rig, free_port

SECRET = WEBHOOK_SECRET.encode()
KINDS = ("unrelated", "linked")


@dataclass
class Result:
    """What the client threads saw in one timed run against one endpoint."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class Bodies:
    """A captured webhook body with its changelog id (and, for summary changes, the value) as slots."""

    def __init__(self, body: bytes, value_marker: str | None) -> None:
        payload = json.loads(body)
        payload["changelog"]["id"] = "__CID__"
        self.template = json.dumps(payload).encode()
        self.value_marker = value_marker.encode() if value_marker else None
        self.ids = itertools.count(50_000_000)
        self.lock = threading.Lock()

    def next(self) -> tuple[bytes, dict[str, str]]:
        with self.lock:
            number = next(self.ids)
        body = self.template.replace(b"__CID__", str(number).encode())
        if self.value_marker:
            body = body.replace(self.value_marker, str(number).encode())
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Hub-Signature": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
            "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
            "User-Agent": "Atlassian Webhook HTTP Client",
        }
        return body, headers


def hammer(port: int, bodies: Bodies, *, threads: int, duration: float) -> Result:
    """`threads` keep-alive connections POSTing back to back until the deadline (closed loop)."""
    result = Result(seconds=duration)
    lock = threading.Lock()
    start_line = threading.Barrier(threads + 1)

    def client() -> None:
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        failures = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start_line.wait()
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            body, headers = bodies.next()
            started = time.perf_counter()
            try:
                connection.request("POST", PATH, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                failures += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies.append(time.perf_counter() - started)
            try:
                outcome = json.loads(answer).get("status", "?")
            except ValueError:
                outcome = "?"
            statuses[f"{response.status} {outcome}"] += 1
        connection.close()
        with lock:
            result.latencies += latencies
            result.statuses += statuses
            result.failures += failures

    workers = [threading.Thread(target=client, name=f"client-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    start_line.wait()
    began = time.monotonic()
    for worker in workers:
        worker.join()
    result.seconds = time.monotonic() - began
    return result


class BareServer:
    """`bench/_bare.py` in its own process, like the bot's server is in the bot's process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench._bare", "--port", str(self.port)],
            cwd=Path(__file__).resolve().parents[1],
        )

        def up() -> bool:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", PATH)
                return connection.getresponse().status == 200
            except OSError:
                return False

        try:
            wait_until(up, timeout=20, what="the bare endpoint")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def capture(rig: Rig, linked_field: str) -> dict[str, Bodies]:
    """Declare an incident (its ticket is the linked issue), create an unrelated issue, and capture the
    emulator's webhook for one change to each; then stop the emulator sending (only replays follow)."""
    _, key = declare_and_wait(rig, "Webhook intake benchmark incident", priority="P1")
    carol = rig.jira_user("carol")
    other = carol.create("TEAM", "Unrelated work item in another team's project", issuetype="Task")
    marker = "__VALUE__"
    captured: dict[str, Bodies] = {}
    for kind, issue in (("unrelated", other), ("linked", key)):
        if kind == "linked" and linked_field == "summary":
            carol.update(issue, summary=f"Benchmark title {marker}")
        else:
            carol.update(issue, labels=["benchmark"])
        body = rig.jira.wait_for(lambda issue=issue: _change_of(rig, issue), timeout=10)
        captured[kind] = Bodies(body, marker if kind == "linked" and linked_field == "summary" else None)
    rig.jira.set_webhook(None)
    return captured


def _change_of(rig: Rig, key: str) -> bytes | None:
    """The newest webhook body the emulator sent for a change (with a changelog) to issue `key`."""
    for delivery in reversed(rig.jira.webhook_deliveries):
        payload = json.loads(delivery["body"])
        if payload.get("changelog") and payload["issue"]["key"] == key:
            return delivery["body"]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per timed run (10)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent client connections (8)")
    add_bot_options(parser, databases=",".join(DATABASES))
    parser.add_argument(
        "--linked-field",
        default="labels",
        choices=["labels", "summary"],
        help="what linked deliveries change",
    )
    args = parser.parse_args(argv)

    print(f"webhook_intake on {machine()}")
    print(
        f"{args.threads} client threads (http.client, keep-alive), {args.duration:g} s per run; "
        f"linked deliveries change {args.linked_field}"
    )
    bare = BareServer()
    rows, outcomes = [], []
    try:
        for db_kind in csv_list(args.db):
            with running_rig(
                db_kind=db_kind, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
            ) as rig:
                bodies = capture(rig, args.linked_field)
                bot_port = int(rig.env["HTTP_PORT"])
                for kind in KINDS:
                    base = hammer(bare.port, bodies[kind], threads=args.threads, duration=args.duration)
                    got = hammer(bot_port, bodies[kind], threads=args.threads, duration=args.duration)
                    bot, bare_s = Summary.of(got.latencies), Summary.of(base.latencies)
                    rows.append(
                        [
                            db_kind,
                            kind,
                            bot.count,
                            f"{got.rate:.0f}",
                            ms(bot.p50),
                            ms(bot.p99),
                            ms(bot.max),
                            f"{base.rate:.0f}",
                            ms(bare_s.p50),
                            ms(bare_s.p99),
                            f"{base.rate / got.rate:.2f}x" if got.rate else "-",
                        ]
                    )
                    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(got.statuses.items()))
                    outcomes.append([db_kind, kind, statuses, got.failures, base.failures])
                metrics = bot_metrics(rig)
                pending = int(metrics.get('bot_job_backlog{state="pending"}', 0))
                print(
                    f"{db_kind}: {pending} job(s) pending after the runs (linked deliveries still applying)"
                )
                for line in bot_errors(rig)[:5]:
                    print(f"  bot log: {line}")
    finally:
        bare.stop()
    print_table(
        "Webhook intake: signed deliveries, bot vs bare endpoint (ms; ratio = bare rate / bot rate)",
        [
            "db",
            "issue",
            "deliveries",
            "bot /s",
            "p50",
            "p99",
            "max",
            "bare /s",
            "bare p50",
            "bare p99",
            "ratio",
        ],
        rows,
    )
    print_table(
        "Answers (status code and route outcome) and connection failures",
        ["db", "issue", "bot answers", "bot failures", "bare failures"],
        outcomes,
    )
    print("Goal: >= 500/s for unrelated issues on PostgreSQL, and within 3x of bare (ratio <= 3).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

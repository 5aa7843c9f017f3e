"""Sync latency both ways: a change made on one side, until the other side shows it.

What an incident commander feels: they retitle the incident in Slack and look at the Jira ticket, or a
colleague edits the ticket in Jira and the channel is told. Both go through the durable job queue
(and, from Jira, the signed webhook), so this is the queue's pick-up delay plus the work, end to end.

- Slack -> Jira: press "Update" on the announcement, submit a new Title; clock from just before the
  submission to the moment the Jira emulator stores that summary (a change listener of the emulator's
  store, called as the change is made, so no polling error).
- Jira -> Slack: a person edits the summary in Jira (`JiraUser.update`, which queues the emulator's
  signed webhook as Jira would); clock from just before the edit to the arrival, at the Slack emulator,
  of the `chat.postMessage` "Jira <KEY>: Summary changed from ... to ..." for the incident's channel
  (the emulator stamps every Web API call on arrival).

- Jira comment -> Slack: a person comments on the ticket (`JiraUser.comment`, which sends
  `comment_created` and its `jira:issue_updated` twin); clock until the Slack emulator receives the
  `chat.postMessage` "Jira <KEY>: comment by ..." carrying the comment's text.
- Send to Jira -> Jira comment: a person's message is in the channel (posted before the clock starts);
  clock from just before the Send to Jira message shortcut is sent to the moment the Jira emulator stores
  the comment carrying that message (a change listener, as for the summary).

Changes are made one after another (each waits for the previous to show), emulators answer at once.

    python -m bench.sync_latency                    # 200 changes each way
    python -m bench.sync_latency --changes 20
    python -m bench.sync_latency --only comment,send # only the conversation's two rows
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    Summary,
    add_bot_options,
    bot_env,
    bot_errors,
    csv_list,
    declare_and_wait,
    machine,
    ms,
    print_table,
    running_rig,
    wait_until,
)
from sandbox.jira.state import Change
from sandbox.rig import Rig

TIMEOUT = 15.0
DIRECTIONS = ("update", "edit", "comment", "send")


class JiraWatch:
    """When the Jira emulator stores a given summary on a given issue (monotonic clock)."""

    def __init__(self, rig: Rig, key: str) -> None:
        self.key = key
        self.expected: str | None = None
        self.seen_at: float | None = None
        self.seen = threading.Event()
        rig.jira.state.listeners.append(self._on_change)

    def expect(self, summary: str) -> None:
        self.expected, self.seen_at = summary, None
        self.seen.clear()

    def _on_change(self, change: Change) -> None:
        record = change.record
        if record["key"] == self.key and record["fields"].get("summary") == self.expected:
            self.seen_at = time.monotonic()
            self.seen.set()

    def wait(self) -> float:
        if not self.seen.wait(TIMEOUT) or self.seen_at is None:
            raise TimeoutError(f"Jira did not show {self.expected!r} on {self.key} within {TIMEOUT} s")
        return self.seen_at


class CommentWatch:
    """When the Jira emulator stores a comment whose body contains a token (monotonic clock)."""

    def __init__(self, rig: Rig) -> None:
        self.token: str | None = None
        self.seen_at: float | None = None
        self.seen = threading.Event()
        rig.jira.state.listeners.append(self._on_change)

    def expect(self, token: str) -> None:
        self.token, self.seen_at = token, None
        self.seen.clear()

    def _on_change(self, change: Change) -> None:
        if change.webhook_event == "comment_created" and self.token and self.token in str(change.comment):
            self.seen_at = time.monotonic()
            self.seen.set()

    def wait(self) -> float:
        if not self.seen.wait(TIMEOUT) or self.seen_at is None:
            raise TimeoutError(f"Jira did not store a comment with {self.token!r} within {TIMEOUT} s")
        return self.seen_at


class SlackWatch:
    """Arrival time of the first chat.postMessage to a channel whose text contains a token.

    Reads the emulator's call log from a cursor under its lock, copying nothing: a deep copy of a
    growing log on every poll would make the benchmark its own noise.
    """

    def __init__(self, rig: Rig, channel: str) -> None:
        self.state = rig.slack.state
        self.channel = channel
        self.cursor = 0

    def find(self, token: str) -> float | None:
        with self.state.lock:
            calls = self.state.calls
            for index in range(self.cursor, len(calls)):
                call: dict[str, Any] = calls[index]
                params = call["params"]
                if (
                    call["method"] == "chat.postMessage"
                    and params.get("channel") == self.channel
                    and token in str(params.get("text", ""))
                ):
                    self.cursor = index + 1
                    return float(call["at"])
        return None


def slack_to_jira(rig: Rig, channel: str, key: str, changes: int) -> list[float]:
    alice = rig.slack_user("alice")
    watch = JiraWatch(rig, key)
    latencies = []
    for number in range(changes):
        title = f"Slack side change number {number:05d}"
        alice.click(channel, "Update")
        view = alice.wait_for_view(timeout=TIMEOUT)
        watch.expect(title)
        started = time.monotonic()
        ack = alice.submit(view, {"Title": title})
        if ack.errors:
            raise RuntimeError(f"the Update modal was refused: {ack.errors}")
        latencies.append(watch.wait() - started)
    return latencies


def jira_to_slack(rig: Rig, channel: str, key: str, changes: int) -> list[float]:
    carol = rig.jira_user("carol")
    watch = SlackWatch(rig, channel)
    latencies = []
    for number in range(changes):
        token = f"Jira side change number {number:05d}"
        started = time.monotonic()
        carol.update(key, summary=token)
        arrived = wait_until(lambda token=token: watch.find(token), TIMEOUT, 0.002, f"Slack message {token}")
        latencies.append(arrived - started)
    return latencies


def jira_comment_to_slack(rig: Rig, channel: str, key: str, changes: int) -> list[float]:
    dave = rig.jira_user("dave")
    watch = SlackWatch(rig, channel)
    latencies = []
    for number in range(changes):
        token = f"Jira comment number {number:05d}"
        started = time.monotonic()
        dave.comment(key, token)
        arrived = wait_until(lambda token=token: watch.find(token), TIMEOUT, 0.002, f"Slack message {token}")
        latencies.append(arrived - started)
    return latencies


def send_to_jira(rig: Rig, channel: str, _key: str, changes: int) -> list[float]:
    alice = rig.slack_user("alice")
    watch = CommentWatch(rig)
    latencies = []
    for number in range(changes):
        token = f"Slack message number {number:05d}"
        ts = alice.say(channel, token)
        watch.expect(token)
        started = time.monotonic()
        alice.shortcut(channel, ts, "send_to_jira", timeout=TIMEOUT)
        latencies.append(watch.wait() - started)
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="changes each way (200)")
    parser.add_argument(
        "--only",
        default=",".join(DIRECTIONS),
        help=f"comma list of directions to run, of {', '.join(DIRECTIONS)} (all)",
    )
    add_bot_options(parser)
    args = parser.parse_args(argv)

    print(f"sync_latency on {machine()}")
    print(f"{args.changes} changes each way, one at a time; database {args.db}; emulators answer at once")
    with running_rig(
        db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
    ) as rig:
        channel, key = declare_and_wait(rig, "Sync latency benchmark incident", priority="P1")
        runs = {
            "update": ("Slack -> Jira (Update modal title -> Jira summary)", slack_to_jira),
            "edit": ("Jira -> Slack (Jira summary edit -> channel message)", jira_to_slack),
            "comment": ("Jira -> Slack (Jira comment -> channel message)", jira_comment_to_slack),
            "send": ("Slack -> Jira (Send to Jira shortcut -> Jira comment)", send_to_jira),
        }
        results = {
            runs[name][0]: runs[name][1](rig, channel, key, args.changes)
            for name in DIRECTIONS
            if name in csv_list(args.only)
        }
        for line in bot_errors(rig)[:5]:
            print(f"  bot log: {line}")
    rows = []
    for direction, values in results.items():
        summary = Summary.of(values)
        rows.append(
            [direction, summary.count, ms(summary.p50), ms(summary.p95), ms(summary.p99), ms(summary.max)]
        )
    print_table(
        "Sync latency (ms); goal: p99 < 500 ms",
        ["direction", "changes", "p50", "p95", "p99", "max"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

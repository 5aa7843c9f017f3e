"""Coalescing: a Jira outage during which one incident gets many Slack edits, then Jira answers again.

What an incident commander lives through when Jira goes away in the middle of a P1: they keep editing in
Slack (title, priority, commander, status back and forth), every change is told in the channel at once,
and the Jira pushes queue up. When Jira answers again the backlog should reach it as the fewest requests
that give the same end state, quickly.

- The outage is `JiraEmulator.refuse_connections(None)`: the bot's requests are refused, as when Jira or the
  network is down. During it, `--edits` changes are made through the Update modal, evenly spread.
- At the end of the outage the emulator listens again; the clock starts. The figures: every request Jira
  received from then on, by kind, and the time until Jira shows the final state (summary, priority,
  assignee, status), polled every 5 ms.

    python -m bench.coalescing                          # a 5-minute outage, 100 edits
    python -m bench.coalescing --outage-seconds 30      # the same 100 edits, a 30 s outage
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    add_bot_options,
    bot_env,
    bot_errors,
    declare_and_wait,
    machine,
    print_table,
    running_rig,
    wait_until,
)
from bot.enums import Status
from sandbox.rig import Rig, person
from sync.workflow import INCIDENT_TO_JIRA_STATUS

FIELDS = ("Title", "Priority", "Commander", "Status")
STATUSES = (Status.MITIGATED, Status.INVESTIGATING, Status.MITIGATING)
COMMANDERS = ("bob", "carol")


def edit(number: int) -> tuple[str, Any]:
    """The `number`-th edit: the fields in turn, each value different from its previous one."""
    field = FIELDS[number % len(FIELDS)]
    turn = number // len(FIELDS)
    if field == "Title":
        return field, f"Coalescing benchmark incident, edit {number:03d}"
    if field == "Priority":
        return field, f"P{2 - turn % 2}"  # the incident starts as a P1
    if field == "Commander":
        return field, COMMANDERS[turn % 2]
    return field, STATUSES[turn % len(STATUSES)].label


def final_state(edits: int) -> dict[str, Any]:
    """What Jira must show once the backlog has been sent."""
    last = dict(edit(n) for n in range(edits))
    status = next(s for s in Status if s.label == last["Status"])
    return {
        "summary": last["Title"],
        "priority": last["Priority"].removeprefix("P"),
        "assignee": person(last["Commander"]).jira_account,
        "status": INCIDENT_TO_JIRA_STATUS[status],
    }


def jira_state(rig: Rig, key: str) -> dict[str, Any]:
    issue = rig.jira.issue(key)
    fields = issue["fields"]
    return {
        "summary": fields.get("summary"),
        "priority": (fields.get("customfield_11064") or {}).get("value"),
        "assignee": (fields.get("assignee") or {}).get("accountId"),
        "status": issue["status"],
    }


def kind_of(request: dict[str, Any], key: str) -> str:
    """A request as the table shows it, e.g. `PUT issue/{key}`, issue keys and ids folded."""
    path = re.sub(r"^/rest/api/(2|3|latest)/", "", request["path"])
    path = path.replace(key, "{key}")
    path = re.sub(r"issue/\d+", "issue/{id}", path)
    return f"{request['method']} {path}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-seconds", type=float, default=300.0, help="outage length (300)")
    parser.add_argument("--edits", type=int, default=100, help="Slack edits during the outage (100)")
    add_bot_options(parser)
    args = parser.parse_args(argv)

    print(f"coalescing on {machine()}")
    print(f"{args.edits} Slack edits during a {args.outage_seconds:g} s Jira outage; database {args.db}")
    expected = final_state(args.edits)
    with running_rig(
        db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
    ) as rig:
        channel, key = declare_and_wait(rig, "Coalescing benchmark incident", priority="P1")
        wait_until(
            lambda: jira_state(rig, key)["assignee"] and rig.jira.issue(key)["remote_links"],
            10,
            what="the ticket's set-up (assignee, link to the channel)",
        )
        alice = rig.slack_user("alice")

        def changes_told() -> int:
            return sum(m["text"].startswith(":pencil2:") for m in rig.slack.messages(channel))

        rig.jira.refuse_connections(seconds=None)
        started = time.monotonic()
        for number in range(args.edits):
            wait_until(
                lambda n=number: time.monotonic() >= started + n * args.outage_seconds / args.edits,
                args.outage_seconds + 60,
                0.01,
                "the next edit's time",
            )
            alice.click(channel, "Update")
            field, value = edit(number)
            ack = alice.submit(alice.wait_for_view(timeout=15), {field: value})
            if ack.errors:
                raise RuntimeError(f"edit {number} was refused: {ack.errors}")
        wait_until(lambda: time.monotonic() >= started + args.outage_seconds, args.outage_seconds + 60)
        told = wait_until(
            lambda: changes_told() >= args.edits and changes_told(), 30, what="a message per edit"
        )
        rig.jira.clear_requests()
        back = time.monotonic()
        rig.jira.clear_faults()
        wait_until(lambda: jira_state(rig, key) == expected, 60, 0.005, "Jira's final state")
        final_after = time.monotonic() - back
        time.sleep(2)  # anything still to come (echo handling, the lag notice) shows in the count
        requests = Counter(kind_of(r, key) for r in rig.jira.requests)
        for line in bot_errors(rig)[:5]:
            print(f"  bot log: {line}")

    writes = {k: v for k, v in requests.items() if not k.startswith("GET ")}
    reads = {k: v for k, v in requests.items() if k.startswith("GET ")}
    print_table(
        "Jira requests after Jira answered again (goal: <= 1 PUT + the transitions of one shortest path)",
        ["request", "count"],
        [[k, v] for k, v in sorted(writes.items())] + [[k, v] for k, v in sorted(reads.items())],
    )
    print_table(
        "Time to Jira's final state (goal: < 2 s after Jira answers again)",
        ["edits", "outage s", "changes told in the channel", "final state after s", "final state"],
        [
            [
                args.edits,
                f"{args.outage_seconds:g}",
                told,
                f"{final_after:.2f}",
                ", ".join(f"{k}={v}" for k, v in expected.items()),
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

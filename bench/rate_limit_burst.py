"""Rate limit: many incidents updated in a burst, against a Jira that answers 429 past 10 requests/s.

What a bad hour looks like: a broad outage, dozens of incidents, everyone editing at once. Jira Cloud
answers 429 (`RateLimit-Reason: jira-quota-global-based`) past its quota; the bot must pace itself
(`JIRA_MAX_REQUESTS_PER_SECOND`, its budget shared by replicas) so that the burst loses nothing, keeps
each incident's changes in order, and meets few 429s.

- `--incidents` P4 incidents are declared through Slack (each gets a ticket), then one Update modal per
  incident is captured (`/incident update #N`, not timed).
- The emulator starts refusing requests past 10 in any sliding second (`JiraEmulator.rate_limit(10, 1)`).
- The burst: `--rounds` rounds, each submitting a new title for every incident as fast as 8 sender
  threads go; round r+1 starts when round r is submitted, so each incident's titles are made in order.
- Figures: the time until every ticket shows its last title, incidents whose ticket does not (lost), tickets
  whose summary history is not in the order the titles were made, the 429s Jira sent (the emulator's
  count) and the ones the bot counted (`bot_rate_limited_total`), and the Jira requests made.

    python -m bench.rate_limit_burst                         # 50 incidents, 2 rounds
    python -m bench.rate_limit_burst --incidents 20
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    DeclareSubmissions,
    ViewSubmissions,
    add_bot_options,
    bot_env,
    bot_errors,
    bot_metrics,
    machine,
    print_table,
    running_rig,
    wait_until,
)
from sandbox.rig import Rig
from sync.jira_fields import MARKER

LIMIT = 10


def tickets(rig: Rig) -> dict[int, str]:
    """Incident id -> ticket key, from the marker each ticket carries."""
    found = {}
    for key, issue in rig.jira.issues.items():
        incident = MARKER.incident_of(issue["fields"].get("description"))
        if incident is not None:
            found[incident] = key
    return found


def summaries(rig: Rig, key: str) -> list[str]:
    return [
        item["toString"]
        for history in rig.jira.issue(key)["changelog"]
        for item in history["items"]
        if item["field"] == "summary"
    ]


def title(incident: int, round_: int) -> str:
    return f"Burst incident {incident:03d}, round {round_}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=50, help="incidents (50)")
    parser.add_argument("--rounds", type=int, default=2, help="title changes per incident (2)")
    add_bot_options(parser)
    args = parser.parse_args(argv)

    print(f"rate_limit_burst on {machine()}")
    print(
        f"{args.incidents} incidents x {args.rounds} changes in a burst; Jira answers 429 past {LIMIT} "
        f"requests/s; database {args.db}"
    )
    with running_rig(
        db_kind=args.db, redis_url=args.redis_url, env=bot_env(args.bot_env), keep=args.keep
    ) as rig:
        declare = DeclareSubmissions(rig)
        for number in range(args.incidents):
            values = {"Priority": "P4", "Suggested team": "Checkout"}
            ack = declare.submit(f"Burst incident number {number:03d}", values)
            if ack.errors:
                raise RuntimeError(f"declaration refused: {ack.errors}")
        keys = wait_until(
            lambda: (found := tickets(rig)) and len(found) >= args.incidents and found,
            120,
            0.1,
            "a ticket per incident",
        )
        forms = {incident: ViewSubmissions(rig, f"update #{incident}") for incident in sorted(keys)}
        wait_until(
            lambda: not any(r["status"] is None for r in rig.jira.requests), 30, what="Jira to go quiet"
        )
        rig.jira.clear_requests()
        rig.jira.rate_limit(LIMIT, retry_after=1)
        refused_before = rig.jira.rate_limited_count
        started = time.monotonic()
        with ThreadPoolExecutor(8) as senders:
            for round_ in range(args.rounds):
                acks = list(
                    senders.map(lambda item, r=round_: item[1].submit(title(item[0], r), {}), forms.items())
                )
                refused = [ack.errors for ack in acks if ack.errors]
                if refused:
                    raise RuntimeError(f"updates refused: {refused[:3]}")
        submitted = time.monotonic() - started
        last = args.rounds - 1

        def all_final() -> bool:
            return all(rig.jira.issue(key)["fields"]["summary"] == title(i, last) for i, key in keys.items())

        wait_until(all_final, 300, 0.05, "every ticket's last title")
        drained = time.monotonic() - started
        lost = [i for i, key in keys.items() if rig.jira.issue(key)["fields"]["summary"] != title(i, last)]
        disordered = []
        for incident, key in keys.items():
            made = [title(incident, r) for r in range(args.rounds)]
            history = summaries(rig, key)
            if history != [t for t in made if t in history]:
                disordered.append(key)
        refused = rig.jira.rate_limited_count - refused_before
        counted = sum(
            value
            for name, value in bot_metrics(rig).items()
            if name.startswith("bot_rate_limited_total{") and 'target="jira"' in name
        )
        requests = len(rig.jira.requests)
        for line in bot_errors(rig)[:5]:
            print(f"  bot log: {line}")

    print_table(
        "Burst against Jira's rate limit (goal: zero lost, each incident in order, 429s <= 5)",
        [
            "incidents",
            "changes",
            "submitted in s",
            "all in Jira after s",
            "lost",
            "out of order",
            "429s sent by Jira",
            "429s counted by the bot",
            "Jira requests",
        ],
        [
            [
                args.incidents,
                args.incidents * args.rounds,
                f"{submitted:.1f}",
                f"{drained:.1f}",
                len(lost),
                len(disordered),
                refused,
                int(counted),
                requests,
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

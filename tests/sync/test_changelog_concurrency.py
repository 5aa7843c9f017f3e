"""Both doors at once on one issue (the reconciler runs beside the webhook jobs): the processor applies
a history once and, per field, never lets an older history win a race against a newer one."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.sync.webhook_support import declared, item, jira_lines, processor_of

BOB = {"accountId": "acc-bob", "displayName": "Bob"}


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls on as many threads, released together; their results, or what they raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results.append(call())
        except Exception as exc:  # collected and asserted on by the test
            results.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_one_history_through_both_doors_at_once_is_applied_once(harness) -> None:
    incident, ticket = declared(harness, webhooks=False)
    processor = processor_of(harness)
    history = {"id": "700001", "items": [item("summary", "Checkout returns 503 errors")], "author": BOB}
    outcomes = at_once(
        *(
            lambda door=door: processor.apply(ticket_id=ticket.id, history=history, door=door)
            for door in ("webhook", "reconciler", "webhook", "reconciler")
        )
    )
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(bool(o.applied) for o in outcomes) == [False, False, False, True]
    harness.drain()
    assert len(jira_lines(harness, incident)) == 1


def test_an_older_history_racing_a_newer_one_never_wins(harness) -> None:
    incident, ticket = declared(harness, webhooks=False)
    processor = processor_of(harness)
    for n in range(8):
        older, newer = (
            {
                "id": str(710000 + 10 * n + k),
                "items": [item("summary", f"Checkout fails, round {n}.{k}")],
                "author": BOB,
            }
            for k in (1, 2)
        )
        outcomes = at_once(
            lambda h=newer: processor.apply(ticket_id=ticket.id, history=h, door="webhook"),
            lambda h=older: processor.apply(ticket_id=ticket.id, history=h, door="reconciler"),
        )
        assert not [o for o in outcomes if isinstance(o, Exception)]
        assert harness.incident(incident.id).title == f"Checkout fails, round {n}.2"

"""Who is who: two workers looking the same person up at once both get the answer, neither fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sync.directory import Directory


def test_two_workers_looking_up_one_new_person_at_once_both_get_the_account(harness) -> None:
    directory = Directory(harness.runtime.sync)
    harness.slack.slow("users.info", 0.5, times=2)  # both are inside the lookup before either records it
    with ThreadPoolExecutor(2) as workers:
        answers = list(workers.map(lambda _: directory.jira_account("U0BOB"), range(2)))
    assert answers == ["acc-bob", "acc-bob"]
    assert len(harness.slack.calls_to("users.info")) == 2
    assert directory.jira_account("U0BOB") == "acc-bob"
    assert len(harness.slack.calls_to("users.info")) == 2, "recorded once, then read from the database"

"""The shared request budget: evenly spaced turns, bounded sleeps, rescheduling beyond, site-wide holds."""

from __future__ import annotations

import threading
import uuid

import pytest

from bot.budget import RequestBudget
from bot.jobs import Throttled
from bot.kv import KeyValueStore
from tests.conftest import REDIS_TEST_URL


class Clock:
    """Time that moves only when a test says so (or, `advancing`, when the budget sleeps)."""

    def __init__(self, *, advancing: bool = False) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []
        self.advancing = advancing
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(round(seconds, 6))
            if self.advancing:
                self.now += seconds


def budget(kv: KeyValueStore, clock: Clock, name: str, per_second: float = 10.5) -> RequestBudget:
    """10.5 per second: turns 0.1 s apart once the jitter margin is added."""
    return RequestBudget(kv, name=name, per_second=per_second, max_wait=0.35, clock=clock, sleep=clock.sleep)


@pytest.fixture(params=["redis", "embedded"])
def kv(request) -> KeyValueStore:
    return KeyValueStore.from_url(REDIS_TEST_URL if request.param == "redis" else None)


def test_requests_are_spaced_and_a_far_turn_reschedules_the_job(kv) -> None:
    clock = Clock()
    jira = budget(kv, clock, f"jira-{uuid.uuid4().hex}")
    for _ in range(4):
        jira.spend()
    assert clock.slept == [0.1, 0.2, 0.3], "the first goes at once, the next ones 100 ms apart"
    with pytest.raises(Throttled) as far:
        jira.spend()
    assert far.value.retry_after == pytest.approx(0.4)
    clock.now += 0.4
    jira.spend()
    assert clock.slept == [0.1, 0.2, 0.3], "its turn had come: no sleep"


def test_replicas_share_one_budget_through_the_store(kv) -> None:
    clock = Clock()
    name = f"jira-{uuid.uuid4().hex}"
    if kv.embedded:  # the embedded store is one process's: two budgets over it stand for two threads
        first = second = budget(kv, clock, name)
    else:  # two processes: two clients of the same Redis
        first, second = budget(kv, clock, name), budget(KeyValueStore.from_url(REDIS_TEST_URL), clock, name)
    first.spend()
    second.spend()
    first.spend()
    assert clock.slept == [0.1, 0.2]


def test_a_site_wide_429_holds_every_turn_for_its_retry_after(kv) -> None:
    clock = Clock(advancing=True)
    jira = budget(kv, clock, f"jira-{uuid.uuid4().hex}")
    jira.hold(3)
    with pytest.raises(Throttled) as held:
        jira.spend()
    assert held.value.retry_after == pytest.approx(3)
    clock.now += 2.8
    jira.spend()
    assert clock.slept == [pytest.approx(0.2)]


def test_concurrent_spenders_never_share_a_turn(kv) -> None:
    clock = Clock()
    jira = RequestBudget(
        kv, name=f"jira-{uuid.uuid4().hex}", per_second=1050, max_wait=10, clock=clock, sleep=clock.sleep
    )
    threads = [threading.Thread(target=lambda: [jira.spend() for _ in range(10)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(clock.slept) == [round(n / 1000, 6) for n in range(1, 40)], "40 turns, one each"


def test_a_turn_reserved_before_a_hold_does_not_go_out_during_it(kv) -> None:
    clock = Clock()
    jira = budget(kv, clock, f"jira-{uuid.uuid4().hex}")
    jira.spend()

    def sleep_then_hold(seconds: float) -> None:  # a 429 arrives while this caller waits for its turn
        clock.slept.append(seconds)
        jira.hold(2)

    jira.sleep = sleep_then_hold
    with pytest.raises(Throttled) as held:
        jira.spend()
    assert held.value.retry_after == pytest.approx(2)

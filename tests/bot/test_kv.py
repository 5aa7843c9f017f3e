"""The key-value store on the real local Redis and on the embedded store: the same semantics."""

from __future__ import annotations

import time
import uuid

import pytest

from bot.kv import KeyValueStore
from tests.conftest import REDIS_TEST_URL


@pytest.fixture(params=["redis", "embedded"])
def kv(request) -> KeyValueStore:
    store = KeyValueStore.from_url(REDIS_TEST_URL if request.param == "redis" else None)
    assert store.embedded == (request.param == "embedded")
    assert store.ping()
    return store


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_set_if_absent_only_once(kv) -> None:
    k = key()
    assert kv.set(k, "a", ttl=5, only_if_absent=True)
    assert not kv.set(k, "b", ttl=5, only_if_absent=True)
    assert kv.get(k) == "a"


def test_keys_expire(kv) -> None:
    k = key()
    kv.set(k, "v", ttl=0.1)
    deadline = time.monotonic() + 3
    while kv.get(k) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kv.get(k) is None


def test_a_counter_gives_as_many_as_were_counted_then_goes(kv) -> None:
    k = key()
    kv.count_up(k, ttl=5)
    kv.count_up(k, ttl=5)
    assert kv.get(k) == "2"
    assert kv.take_one(k) and kv.take_one(k)
    assert not kv.take_one(k), "none left"
    assert kv.get(k) is None, "the key went at zero, and an empty take left nothing behind"


def test_lock_has_one_holder_and_is_released(kv) -> None:
    name = key()
    with kv.lock(name, ttl=5) as first, kv.lock(name, ttl=5) as second:
        assert first and not second
    with kv.lock(name, ttl=5) as again:
        assert again


def test_a_lock_that_expired_and_was_retaken_is_not_released_by_the_old_holder(kv) -> None:
    name = key()
    first = kv.lock(name, ttl=0.05)
    assert first.__enter__()
    time.sleep(0.1)
    second = kv.lock(name, ttl=5)
    assert second.__enter__()
    first.__exit__(None, None, None)
    with kv.lock(name, ttl=5) as third:
        assert not third, "the old holder must not have deleted the new holder's lock"
    second.__exit__(None, None, None)


def test_unreachable_redis_degrades_instead_of_crashing(caplog) -> None:
    store = KeyValueStore.from_url("redis://127.0.0.1:1/0")
    assert not store.ping()
    assert store.take_one("k") is False
    assert store.set("k", "v", ttl=1, only_if_absent=True) is False
    with store.lock("x", ttl=1) as held:
        assert not held
    assert store.next_turn("t", now=0.0, spacing=1.0, max_wait=0.0) == (True, 0.0), "no budget to share"
    assert "redis unavailable" in caplog.text


def test_turns_on_a_timeline_are_spaced_and_never_reserved_too_far(kv) -> None:
    k = key()
    now = time.time()
    turns = [kv.next_turn(k, now=now, spacing=0.25, max_wait=0.6) for _ in range(4)]
    assert turns == [(True, 0.0), (True, 0.25), (True, 0.5), (False, 0.75)], "too far: not reserved"
    assert kv.next_turn(k, now=now + 0.5, spacing=0.25, max_wait=0.6) == (True, 0.25)
    assert kv.next_turn(k, now=now + 10, spacing=0.25, max_wait=0.0) == (True, 0.0), "idle time is not saved"


def test_held_turns_wait_for_everyone(kv) -> None:
    k = key()
    now = time.time()
    kv.hold_turns(k, now=now, until=now + 5)
    assert kv.next_turn(k, now=now + 1, spacing=0.1, max_wait=1.0) == (False, 4.0)
    assert kv.next_turn(k, now=now + 4.5, spacing=0.1, max_wait=1.0) == (True, 0.5)
    kv.hold_turns(k, now=now + 4.5, until=now + 4.6)  # an earlier hold never frees reserved turns
    assert kv.next_turn(k, now=now + 4.5, spacing=0.1, max_wait=1.0) == (True, pytest.approx(0.6))

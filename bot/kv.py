"""The few Redis operations the bot needs, on a real Redis or on an embedded in-process store.

Loop-guard keys, webhook de-duplication and the reconciler's leader lock all need the same three
things: set-if-absent with a TTL, get-and-delete, and a lock; the shared Jira request budget needs a
timeline of turns. With no `REDIS_URL` the same code runs
on fakeredis (one process only), so the semantics are Redis's own, not a hand-written imitation.
When a real Redis goes away the store logs a warning and answers as "nothing known" rather than
crashing the bot: guards then err on the side of processing a change (which the changelog-id
de-duplication in the database still keeps single).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import redis

logger = logging.getLogger(__name__)
T = TypeVar("T")


class KeyValueStore:
    """TTL keys, single-use keys and locks over a redis-py client."""

    def __init__(self, client: redis.Redis, *, embedded: bool) -> None:
        self._client = client
        self.embedded = embedded

    @classmethod
    def from_url(cls, url: str | None) -> KeyValueStore:
        """Redis when a URL is configured, else the embedded store."""
        if url:
            client = redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
            )
            return cls(client, embedded=False)
        import fakeredis  # only the embedded store needs it (its import costs start-up time)

        return cls(fakeredis.FakeRedis(decode_responses=True), embedded=True)

    def set(self, key: str, value: str, *, ttl: float, only_if_absent: bool = False) -> bool:
        """Set a key with a TTL; with only_if_absent, True only for the caller that created it."""
        try:
            return bool(self._client.set(key, value, px=int(ttl * 1000), nx=only_if_absent))
        except redis.RedisError as exc:
            logger.warning("redis unavailable for set %s: %s", key, exc)
            return not only_if_absent

    def count_up(self, key: str, *, ttl: float) -> None:
        """Add one to a counter kept for `ttl` from its last increment."""
        try:
            with self._client.pipeline() as pipe:
                pipe.incr(key)
                pipe.pexpire(key, int(ttl * 1000))
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("redis unavailable for count_up %s: %s", key, exc)

    def take_one(self, key: str) -> bool:
        """Take one from a counter, atomically: True when there was one to take (the key goes at zero)."""
        try:
            left = self._client.decr(key)
            if left <= 0:
                self._client.delete(key)
            return left >= 0
        except redis.RedisError as exc:
            logger.warning("redis unavailable for take_one %s: %s", key, exc)
            return False

    def get(self, key: str) -> str | None:
        try:
            return self._client.get(key)
        except redis.RedisError as exc:
            logger.warning("redis unavailable for get %s: %s", key, exc)
            return None

    def delete(self, key: str) -> None:
        try:
            self._client.delete(key)
        except redis.RedisError as exc:
            logger.warning("redis unavailable for delete %s: %s", key, exc)

    @contextmanager
    def lock(self, name: str, *, ttl: float) -> Iterator[bool]:
        """A non-blocking lock: yields True to the one holder, False to everyone else."""
        token = uuid.uuid4().hex
        key = f"lock:{name}"
        try:
            held = bool(self._client.set(key, token, px=int(ttl * 1000), nx=True))
        except redis.RedisError as exc:
            logger.warning("redis unavailable for lock %s: %s", name, exc)
            held = False
        try:
            yield held
        finally:
            if held:
                try:
                    self._release(key, token)
                except redis.RedisError as exc:
                    logger.warning("redis unavailable releasing lock %s: %s", name, exc)

    def _release(self, key: str, token: str) -> None:
        """Delete the lock only if we still hold it (it may have expired and been taken)."""
        with self._client.pipeline() as pipe:
            try:
                pipe.watch(key)
                if pipe.get(key) == token:
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
            except redis.WatchError:
                pass  # someone else took the expired lock meanwhile: theirs now

    def next_turn(self, key: str, *, now: float, spacing: float, max_wait: float) -> tuple[bool, float]:
        """Reserve a turn on a timeline every holder of the store shares, turns `spacing` seconds apart
        (a generic cell rate algorithm: the key holds when the next turn is free).

        Returns (True, seconds to wait for the turn reserved), or (False, seconds until the next free
        turn) without reserving when that is more than `max_wait` away. With Redis gone there is no
        timeline to share: (True, 0.0)."""

        def reserve(free: float) -> tuple[float | None, tuple[bool, float]]:
            start = max(free, now)
            if start - now > max_wait:
                return None, (False, start - now)
            return start + spacing, (True, start - now)

        return self._timeline(key, now, reserve, unavailable=(True, 0.0))

    def hold_turns(self, key: str, *, now: float, until: float) -> None:
        """Make no turn of the timeline free before `until` (a remote asked everyone to wait)."""
        self._timeline(key, now, lambda free: (max(free, until), None), unavailable=None)

    def _timeline(
        self, key: str, now: float, change: Callable[[float], tuple[float | None, T]], *, unavailable: T
    ) -> T:
        """Read-modify-write the timeline under WATCH, retried when another holder wrote in between
        (no Lua: the embedded store has none). The key lives until its last reserved turn."""
        try:
            with self._client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        free = float(pipe.get(key) or 0.0)
                        value, result = change(free)
                        if value is None:
                            pipe.unwatch()
                            return result
                        pipe.multi()
                        pipe.set(key, repr(value), px=max(1, int((value - now) * 1000)) + 1000)
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        continue
        except redis.RedisError as exc:
            logger.warning("redis unavailable for %s: %s", key, exc)
            return unavailable

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

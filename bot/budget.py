"""One request budget shared by every replica: requests to a remote are spaced evenly on a timeline kept in
Redis (the embedded store for a single process), so a burst of jobs never becomes a burst of requests.

Evenly spaced rather than a bucket that fills up: a remote that counts requests over any sliding second
(as Jira's quota does) then never sees more than the budget, whatever the moment. A caller waits for its
turn when it is near (a worker thread sleeps at most `max_wait`), else its job is rescheduled for then
(`Throttled`). A remote's site-wide 429 holds every turn until its Retry-After has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.jobs import Throttled
from bot.kv import KeyValueStore

#: Turns are this much farther apart than the rate alone says: requests reach the remote a few ms off
#: their turn, and over the N+1 requests of a sliding second that must not add up to N+1 in it.
JITTER_MARGIN = 0.05


class RequestBudget:
    def __init__(
        self,
        kv: KeyValueStore,
        *,
        name: str,
        per_second: float,
        max_wait: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.kv = kv
        self.name = name
        self.key = f"budget:{name}"
        self.hold_key = f"budget:{name}:held"
        self.spacing = (1.0 + JITTER_MARGIN) / per_second
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep

    def spend(self) -> None:
        """Take a turn for one request: sleep until it comes, or raise `Throttled` if it is far (or a
        hold came while waiting for it: turns reserved before a 429 do not go out during its pause)."""
        reserved, wait = self.kv.next_turn(
            self.key, now=self.clock(), spacing=self.spacing, max_wait=self.max_wait
        )
        if not reserved:
            raise Throttled(f"{self.name} request budget: next turn in {wait:.1f} s", retry_after=wait)
        if wait > 0:
            self.sleep(wait)
            held = float(self.kv.get(self.hold_key) or 0.0) - self.clock()
            if held > 0:
                raise Throttled(f"{self.name} asked to wait {held:.1f} s more", retry_after=held)

    def hold(self, seconds: float) -> None:
        """No request for `seconds`, from any replica (the remote said so, for all of us)."""
        now = self.clock()
        self.kv.hold_turns(self.key, now=now, until=now + seconds)
        self.kv.set(self.hold_key, repr(now + seconds), ttl=seconds)

"""Jira Cloud's rate limiting: a site-wide request quota and per-issue write throttling, both as 429s.

Separate from `faults.py` because these answer only some requests, the way Jira's quotas do: the bot
must back off on `Retry-After` and retry the very write it was making, not just wait out an outage.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass

GLOBAL_REASON = "jira-quota-global-based"
ISSUE_WRITE_REASON = "jira-per-issue-on-write"
_ISSUE_PATH = re.compile(r"^/rest/api/(?:2|3|latest)/issue/[^/]+(?:/|$)")
_WRITES = frozenset({"PUT", "POST", "DELETE"})


@dataclass(frozen=True)
class Throttle:
    """A request refused with 429: how long the client should wait, and Jira's `RateLimit-Reason`."""

    retry_after: int
    reason: str


class RateLimits:
    """The quotas in force; `check` admits a request or says why it is refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_second: float | None = None
        self._global_retry_after = 1
        self._admitted: deque[float] = deque()
        self._issue_writes: deque[int] = deque()
        self.refused = 0

    def limit(self, requests_per_second: float | None, retry_after: int) -> None:
        """Admit at most `requests_per_second` REST requests in any sliding second (None: no limit)."""
        if requests_per_second is not None and requests_per_second < 0:
            raise ValueError("requests_per_second must be >= 0")
        with self._lock:
            self._per_second = requests_per_second
            self._global_retry_after = retry_after
            self._admitted.clear()

    def throttle_issue_writes(self, times: int, retry_after: int) -> None:
        """Refuse the next `times` writes to an existing issue's resources."""
        with self._lock:
            self._issue_writes.extend([retry_after] * times)

    def clear(self) -> None:
        """Lift every limit; `refused` keeps counting what was already sent."""
        with self._lock:
            self._per_second = None
            self._admitted.clear()
            self._issue_writes.clear()

    def check(self, method: str, path: str) -> Throttle | None:
        """The 429 to answer this request with, or None to serve it (admitting it into the window)."""
        if not path.startswith("/rest/"):
            return None
        with self._lock:
            throttle = self._over_quota() or self._issue_write(method, path)
            if throttle is not None:
                self.refused += 1
            return throttle

    def _over_quota(self) -> Throttle | None:
        if self._per_second is None:
            return None
        now = time.monotonic()
        while self._admitted and self._admitted[0] <= now - 1.0:
            self._admitted.popleft()
        if len(self._admitted) + 1 > self._per_second:
            return Throttle(self._global_retry_after, GLOBAL_REASON)
        self._admitted.append(now)
        return None

    def _issue_write(self, method: str, path: str) -> Throttle | None:
        if not self._issue_writes or method not in _WRITES or not _ISSUE_PATH.match(path):
            return None
        return Throttle(self._issue_writes.popleft(), ISSUE_WRITE_REASON)

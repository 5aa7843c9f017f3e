"""Timed fault injection for the REST side: forced error statuses, added latency, refused credentials
(a 401, or on Data Center a login refused until a CAPTCHA is answered).

Tests use these to prove the bot keeps changes and retries (honouring `Retry-After`) while Jira is
down or slow. Refused connections need the listening socket and live in the emulator itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    """Every request answers `status`, with `Retry-After` when set."""

    status: int
    retry_after: float | None
    until: float | None


class Faults:
    """Current faults; each expires at its own monotonic deadline (None: until cleared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure: Failure | None = None
        self._latency: tuple[float, float | None] | None = None
        self._refused: dict[str, float | None] = {}  # account id -> until (None: until cleared)
        self._captcha: dict[str, float | None] = {}  # account id -> until: its password logins get a 403

    @staticmethod
    def _deadline(seconds: float | None) -> float | None:
        return None if seconds is None else time.monotonic() + seconds

    @staticmethod
    def _alive(until: float | None) -> bool:
        return until is None or time.monotonic() < until

    def fail_with(self, status: int, retry_after: float | None, seconds: float | None) -> None:
        """Answer every request with `status` for `seconds`."""
        with self._lock:
            self._failure = Failure(status, retry_after, self._deadline(seconds))

    def add_latency(self, seconds: float, duration: float | None) -> None:
        """Delay every request by `seconds` for `duration`."""
        with self._lock:
            self._latency = (seconds, self._deadline(duration))

    def refuse_credentials(self, account_id: str, seconds: float | None) -> None:
        """Treat the account's credentials as expired or revoked for `seconds`."""
        with self._lock:
            self._refused[account_id] = self._deadline(seconds)

    def demand_captcha(self, account_id: str, seconds: float | None) -> None:
        """Refuse the account's password logins as after repeated failures, for `seconds`."""
        with self._lock:
            self._captcha[account_id] = self._deadline(seconds)

    def accept_credentials(self, account_id: str) -> None:
        with self._lock:
            self._refused.pop(account_id, None)
            self._captcha.pop(account_id, None)

    def captcha_demanded(self, account_id: str) -> bool:
        """Whether the account's password logins are refused (a CAPTCHA to answer first) right now."""
        with self._lock:
            if account_id in self._captcha and not self._alive(self._captcha[account_id]):
                del self._captcha[account_id]
            return account_id in self._captcha

    def credentials_refused(self, account_id: str) -> bool:
        """Whether the account's credentials are refused right now."""
        with self._lock:
            if account_id in self._refused and not self._alive(self._refused[account_id]):
                del self._refused[account_id]
            return account_id in self._refused

    def clear(self) -> None:
        """Remove all REST faults now."""
        with self._lock:
            self._failure = None
            self._latency = None
            self._refused.clear()
            self._captcha.clear()

    def failure(self) -> Failure | None:
        """The failure to answer with right now, if any."""
        with self._lock:
            if self._failure is not None and not self._alive(self._failure.until):
                self._failure = None
            return self._failure

    def latency(self) -> float:
        """Seconds to wait before handling a request right now."""
        with self._lock:
            if self._latency is not None and not self._alive(self._latency[1]):
                self._latency = None
            return self._latency[0] if self._latency else 0.0

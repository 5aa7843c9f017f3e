"""The narrow seam around the `jira` library: the handful of Jira calls the bot makes.

The client is built lazily (the library calls `serverInfo` on construction, and a Jira outage must
not stop the bot from starting) with `max_retries=0` and a timeout: retrying is the job queue's
work, where it is durable and honours Retry-After. Every failure comes out as `RetryLater` (429, 503,
5xx, connection errors, timeouts) or `PermanentFailure` (any other 4xx), with no secret in the text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from bot.jobs import PermanentFailure, RetryLater
from bot.settings import Settings

T = TypeVar("T")
_RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


class JiraGateway:
    """Thread-safe, lazily connected access to one Jira site."""

    def __init__(self, settings: Settings) -> None:
        if not settings.jira_url:
            raise ValueError("JIRA_URL is not set")
        self.settings = settings
        self.url = settings.jira_url
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    def client(self) -> JIRA:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> JIRA:
        settings = self.settings
        auth: dict[str, Any]
        if settings.jira_pat is not None:
            auth = {"token_auth": settings.jira_pat.get_secret_value()}
        else:
            token = settings.jira_api_token.get_secret_value() if settings.jira_api_token else ""
            auth = {"basic_auth": (settings.jira_user or "", token)}
        with translate_errors("connect"):
            return JIRA(server=self.url, max_retries=0, timeout=settings.jira_timeout_seconds, **auth)

    def call(self, what: str, fn: Callable[[JIRA], T]) -> T:
        """Run one library call, translating its failures for the job queue."""
        with translate_errors(what):
            return fn(self.client())

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    def myself(self) -> dict[str, Any]:
        return self.call("myself", lambda jira: jira.myself())

    def field_ids(self) -> set[str]:
        return self.call("fields", lambda jira: {field["id"] for field in jira.fields()})


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Map library and transport errors onto the queue's RetryLater / PermanentFailure."""
    try:
        yield
    except JIRAError as exc:
        status = exc.status_code or 0
        detail = f"Jira {what} failed: HTTP {status} {_brief(exc.text)}"
        if status in _RETRYABLE or status == 0:
            raise RetryLater(detail, retry_after=_retry_after(exc.response)) from None
        raise PermanentFailure(detail) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RetryLater(f"Jira {what} failed: {type(exc).__name__} (Jira unreachable)") from None


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _brief(text: str | None) -> str:
    return (text or "").strip().replace("\n", " ")[:300]

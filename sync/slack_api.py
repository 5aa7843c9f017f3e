"""Slack Web API failures translated for the job queue: rate limits and outages retry, the rest park.

A `ratelimited` answer (429 with Retry-After) is `Throttled`: the job, and so its incident's lane, waits
exactly that long, not a growing backoff. slack_sdk's client only retries connection errors by default
(no rate-limit retry handler is installed), so no worker thread ever sleeps through a Retry-After.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.jobs import PermanentFailure, RetryLater, Throttled
from bot.metrics import RATE_LIMITED, SYNC_RESULTS

_TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


@dataclass
class Outcome:
    """Which tolerated Slack error, if any, ended the call."""

    tolerated: str | None = None


@contextmanager
def slack_call(what: str, *, tolerate: frozenset[str] | set[str] = frozenset()) -> Iterator[Outcome]:
    """Run Slack calls; a tolerated error code is swallowed and reported in the outcome, any other
    failure raises RetryLater (with Retry-After) or PermanentFailure."""
    outcome = Outcome()
    try:
        yield outcome
    except SlackApiError as exc:
        code = error_code(exc)
        if code in tolerate:
            outcome.tolerated = code
            SYNC_RESULTS.labels(target="slack", kind=what, outcome="ok").inc()
            return
        status = exc.response.status_code if exc.response is not None else 0
        retry_after = _retry_after(exc)
        if (status == 429 or code == "ratelimited") and retry_after is not None:
            SYNC_RESULTS.labels(target="slack", kind=what, outcome="throttled").inc()
            RATE_LIMITED.labels(target="slack", reason=what).inc()
            raise Throttled(f"Slack {what}: {code or status}", retry_after=retry_after) from None
        if status == 429 or status >= 500 or code in _TRANSIENT_ERRORS:
            SYNC_RESULTS.labels(target="slack", kind=what, outcome="retry").inc()
            raise RetryLater(f"Slack {what}: {code or status}", retry_after=retry_after) from None
        SYNC_RESULTS.labels(target="slack", kind=what, outcome="refused").inc()
        raise PermanentFailure(f"Slack {what}: {code or status}") from None
    except (SlackClientError, OSError) as exc:
        SYNC_RESULTS.labels(target="slack", kind=what, outcome="retry").inc()
        raise RetryLater(f"Slack {what}: {type(exc).__name__}") from None
    SYNC_RESULTS.labels(target="slack", kind=what, outcome="ok").inc()


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                return None
    return None

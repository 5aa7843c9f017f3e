"""Jira Cloud webhook delivery: signed, in order, retried, recorded, and able to be held or lost on purpose.

A background thread sends so REST requests never wait on the receiver. Each delivery keeps one
`X-Atlassian-Webhook-Identifier` across its retries (the receiver's dedupe key); retries follow
Atlassian's policy (408, 409, 425, 429, 5xx, connection failures) with short, configurable delays.
Held deliveries can be released one by one in any order, since Jira does not promise delivery order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

RETRY_STATUSES = {408, 409, 425, 429}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class _Job:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Jira sends for a webhook registered with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _describe(index: int, job: _Job) -> dict[str, Any]:
    """A held delivery as a test picks it: by event, issue and changelog id rather than raw bytes."""
    body = json.loads(job.body)
    return {
        "index": index,
        "webhookEvent": body.get("webhookEvent"),
        "issue_key": (body.get("issue") or {}).get("key"),
        "changelog_id": (body.get("changelog") or {}).get("id"),
        "identifier": job.headers["X-Atlassian-Webhook-Identifier"],
        "body": body,
    }


class WebhookSender:
    """Queue and deliver webhook bodies to the configured URL, recording every attempt."""

    def __init__(self, retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0), timeout: float = 5.0) -> None:
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.url: str | None = None
        self.secret: str | None = None
        self.deliveries: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self._held: dict[int, _Job] = {}
        self._holding = False
        self._next_index = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="jira-emulator-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop promptly; a delivery in flight may finish in the background."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._thread = None

    def submit(self, body: bytes) -> None:
        """Queue a new delivery to the current URL (ignored when no URL is set)."""
        with self._lock:
            if self.url is None:
                return
            headers = {
                "Content-Type": "application/json; charset=UTF-8",
                "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex,
                "X-Atlassian-Webhook-Flow": "Primary",
                "User-Agent": "Atlassian Webhook HTTP Client",
            }
            if self.secret:
                headers["X-Hub-Signature"] = sign(self.secret, body)
            job = _Job(self.url, body, headers)
            if self._holding:
                self._held[self._next_index] = job
                self._next_index += 1
            else:
                self._queue.put(job)

    def redeliver(self, index: int, *, new_identifier: bool = False) -> None:
        """Send a past delivery again with the same signature (a duplicate): under the same identifier,
        or under a new one, as when Jira fires the same change to the webhook twice."""
        past = self.deliveries[index]
        headers = {k: v for k, v in past["headers"].items() if k != "X-Atlassian-Webhook-Retry"}
        if new_identifier:
            headers["X-Atlassian-Webhook-Identifier"] = uuid.uuid4().hex
        self._queue.put(_Job(past["url"], past["body"], headers))

    def hold(self) -> None:
        """Keep new deliveries back, each under an index counted from 0, until `release_all`."""
        with self._lock:
            self._holding = True

    def held(self) -> list[dict[str, Any]]:
        """The deliveries held back, oldest first (see `_describe`)."""
        with self._lock:
            return [_describe(index, job) for index, job in self._held.items()]

    def release(self, index: int) -> None:
        """Send one held delivery now (after any already queued); the others stay held."""
        with self._lock:
            job = self._held.pop(index, None)
            if job is None:
                raise IndexError(f"no held webhook #{index} (held: {list(self._held)})")
            self._queue.put(job)

    def drop(self, index: int) -> None:
        """Lose one held delivery (a webhook Jira never manages to deliver); the others stay held."""
        with self._lock:
            job = self._held.pop(index, None)
            if job is None:
                raise IndexError(f"no held webhook #{index} (held: {list(self._held)})")
            self.dropped.append({"url": job.url, "headers": dict(job.headers), "body": job.body})

    def release_all(self, order: list[int] | None = None, drop: bool = False) -> None:
        """Stop holding: send every held delivery in `order` (None: as they came), or lose them all."""
        with self._lock:
            indices = list(self._held) if order is None else list(order)
            if sorted(indices) != sorted(self._held):
                raise ValueError(f"order {order} must list each held webhook once: {list(self._held)}")
            jobs = [self._held[index] for index in indices]
            self._held, self._holding, self._next_index = {}, False, 0
            for job in jobs:
                if drop:
                    self.dropped.append({"url": job.url, "headers": dict(job.headers), "body": job.body})
                else:
                    self._queue.put(job)

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._queue.get()
            if job is None:
                continue
            try:
                self._deliver(job)
            except Exception:  # a broken receiver must never kill the sender thread
                logger.exception("webhook delivery to %s failed unexpectedly", job.url)

    def _deliver(self, job: _Job) -> None:
        for attempt in range(len(self.retry_delays) + 1):
            headers = dict(job.headers)
            if attempt:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
            status, error = self._post(job.url, job.body, headers)
            self.deliveries.append(
                {"url": job.url, "headers": headers, "body": job.body, "status": status, "error": error}
            )
            retryable = status is None or status in RETRY_STATUSES or status >= 500
            if (
                not retryable
                or attempt == len(self.retry_delays)
                or self._stop.wait(self.retry_delays[attempt])
            ):
                return

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                response.read()
                return response.status, None
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code, None
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

"""`POST /jira/webhook`: verify, de-duplicate, record, answer; the processing runs afterwards as a job.

Fail closed: without a configured secret every delivery is refused. The HMAC-SHA256 of the raw body
is compared in constant time. A delivery for an issue linked to an incident is recorded (keyed by
`X-Atlassian-Webhook-Identifier`, which Jira keeps across retries) together with the job that will
apply it, in one commit, before the 2xx goes out; anything else costs one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.enums import DeliveryState, Lane
from bot.jobs import enqueue
from bot.metrics import WEBHOOK_DELIVERIES
from bot.models import Job, WebhookDelivery
from sync.changelog import ChangelogProcessor, LinkedTicket, as_dict, changelog_key, linked_ticket
from sync.context import SyncContext
from sync.followups import refresh_followup
from sync.jira_comments import announced_comment
from sync.outbox import Kind

logger = logging.getLogger(__name__)

HANDLED_EVENTS = ("jira:issue_updated",)  # a tuple: `in` must not hash whatever JSON gives
_TOKEN = re.compile(r"[!-~]+")  # printable ASCII, no spaces
_COMMENT_LINK = re.compile(r"/issue/([0-9]{1,18})/comment/")  # a comment's `self`: …/issue/{id}/comment/{id}


def _answer(status: int, outcome: str, detail: str) -> JSONResponse:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    return JSONResponse({"status": outcome, "detail": detail}, status_code=status)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature: sha256=<hex>`, method name in any case, compared in constant time.

    Compared as bytes: a header with characters outside ASCII is simply wrong, not an error.
    """
    if not header or "=" not in header:
        return False
    method, _, given = header.partition("=")
    if method.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace"))


class Absences:
    """Lookups that found nothing, remembered for `ttl` seconds (at most `size` of them), so a stream of
    deliveries about the same unrelated issue asks the database once in a while, not every time."""

    def __init__(self, *, ttl: float = 3.0, size: int = 50_000) -> None:
        self.ttl = ttl
        self.size = size
        self._until: dict[tuple[str | None, str | None], float] = {}

    def known(self, key: tuple[str | None, str | None]) -> bool:
        return self._until.get(key, 0.0) > time.monotonic()

    def remember(self, key: tuple[str | None, str | None]) -> None:
        if len(self._until) >= self.size:
            self._until.clear()
        self._until[key] = time.monotonic() + self.ttl


class LinkCache:
    """Which Jira issues are incident tickets, remembered so most deliveries skip the database.

    A link, once made, never goes away, so a found ticket is kept (up to `size` entries). "Not
    linked" is kept for `negative_ttl` seconds only: a ticket recorded meanwhile by another replica
    is seen after that, and the reconciler covers the gap.
    """

    def __init__(self, engine: Engine, *, negative_ttl: float = 3.0, size: int = 50_000) -> None:
        self.engine = engine
        self.size = size
        self._found: dict[tuple[str | None, str | None], LinkedTicket] = {}
        self._absent = Absences(ttl=negative_ttl, size=size)

    def lookup(self, issue_id: str | None, issue_key: str | None) -> LinkedTicket | None:
        key = (issue_id, issue_key)
        if (ticket := self._found.get(key)) is not None:
            return ticket
        if self._absent.known(key):
            return None
        ticket = linked_ticket(self.engine, issue_id=issue_id, issue_key=issue_key)
        if ticket is None:
            self._absent.remember(key)
            return None
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[key] = ticket
        return ticket


class WebhookIntake:
    def __init__(
        self, ctx: SyncContext, *, own_comment: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        self.ctx = ctx
        self.links = LinkCache(ctx.engine)
        #: issues found to be no follow-up either, for a few seconds (a new one is caught by the reconciler)
        self.not_followups = Absences()
        #: whether a comment is the bot's own (never announced: not even recorded)
        self.own_comment = own_comment or (lambda _comment: False)

    def route(self) -> Route:
        return Route("/jira/webhook", self.receive, methods=["POST"])

    async def receive(self, request: Request) -> JSONResponse:
        secret = self.ctx.settings.jira_webhook_secret
        if secret is None:
            return _answer(401, "refused", "no JIRA_WEBHOOK_SECRET is configured: deliveries are refused")
        limit = self.ctx.settings.webhook_max_bytes
        too_large = f"body over {limit} bytes (WEBHOOK_MAX_BYTES)"
        declared = request.headers.get("content-length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
            return _answer(413, "too_large", too_large)
        received = bytearray()
        async for chunk in request.stream():  # also bounds a chunked body, which declares no length
            received += chunk
            if len(received) > limit:
                return _answer(413, "too_large", too_large)
        body = bytes(received)
        if not signature_ok(secret.get_secret_value(), body, request.headers.get("x-hub-signature")):
            return _answer(401, "bad_signature", "missing or wrong X-Hub-Signature")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8/16/32, or nested beyond reason
            return _answer(400, "malformed", "body is not JSON")
        if not isinstance(payload, dict):
            return _answer(400, "malformed", "body is not a JSON object")
        identifier = _identifier(request.headers.get("x-atlassian-webhook-identifier"), body)
        return await run_in_threadpool(self._record, identifier, payload)

    def _record(self, identifier: str, payload: dict[str, Any]) -> JSONResponse:
        changelog = payload.get("webhookEvent") in HANDLED_EVENTS and bool(_changelog(payload))
        written = announced_comment(payload)  # a comment written or edited (sync.jira_comments)
        comment = written is not None and not self.own_comment(written)
        if not changelog and not comment:
            return _answer(200, "ignored", "not an issue update with a changelog, nor a comment")
        ref = _issue_ref(payload)
        ticket = self.links.lookup(*ref)
        if ticket is None:
            if changelog and not self.not_followups.known(ref):
                if refresh_followup(self.ctx, *ref):
                    return _answer(202, "accepted", "follow-up to refresh")
                self.not_followups.remember(ref)
            return _answer(200, "ignored", "issue not linked to an incident")
        with self.ctx.session() as session:
            try:  # stored re-encoded as ASCII JSON: whatever the body's encoding, any database keeps it
                stored = json.dumps(payload)
            except (ValueError, RecursionError):
                return _answer(400, "malformed", "body cannot be stored")
            session.add(WebhookDelivery(identifier=identifier, body=stored))
            for kind, wanted in ((Kind.APPLY_WEBHOOK, changelog), (Kind.APPLY_COMMENT, comment)):
                if wanted:
                    enqueue(
                        session,
                        kind,
                        lane=Lane.INBOUND,
                        incident_id=ticket.incident_id,
                        payload={"identifier": identifier, "ticket_id": ticket.id},
                    )
            try:
                session.commit()
            except IntegrityError:
                return _answer(200, "duplicate", "delivery already received")
        return _answer(202, "accepted", "recorded")


class WebhookApplier:
    """The job that applies a recorded delivery through the changelog processor."""

    def __init__(self, ctx: SyncContext, processor: ChangelogProcessor) -> None:
        self.ctx = ctx
        self.processor = processor

    def __call__(self, job: Job) -> None:
        with self.ctx.session() as session:
            delivery = session.get(WebhookDelivery, job.payload["identifier"])
            if delivery is None or delivery.state != DeliveryState.PENDING:
                return
            payload = as_dict(json.loads(delivery.body))
        changelog = _changelog(payload)
        history = {
            "id": changelog.get("id"),
            "items": changelog.get("items"),
            "author": as_dict(payload.get("user")),
        }
        outcome = self.processor.apply(
            ticket_id=job.payload["ticket_id"],
            history=history,
            door="webhook",
            issue_key=as_dict(payload.get("issue")).get("key"),
        )
        logger.info(
            "webhook %s for incident %s: applied %s, skipped %s%s",
            delivery.identifier,
            job.incident_id,
            outcome.applied,
            outcome.skipped,
            " (duplicate)" if outcome.duplicate else "",
        )
        with self.ctx.session() as session:
            delivery = session.get(WebhookDelivery, job.payload["identifier"])
            delivery.state = DeliveryState.PROCESSED
            session.add(delivery)
            session.commit()


def _changelog(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's changelog when it has a Jira changelog id and a list of items, else {}."""
    changelog = as_dict(payload.get("changelog"))
    if changelog_key(changelog.get("id")) is None or not isinstance(changelog.get("items"), list):
        return {}
    return changelog


def _issue_ref(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """The (id, key) of the issue a delivery is about: from its `issue`, else from the comment's `self`
    link (Data Center may send a comment event with no `issue` at all)."""
    issue = as_dict(payload.get("issue"))
    ref = (_text(issue.get("id")), _text(issue.get("key")))
    if ref != (None, None):
        return ref
    link = as_dict(payload.get("comment")).get("self")
    found = _COMMENT_LINK.search(link) if isinstance(link, str) else None
    return (found.group(1) if found else None), None


def _identifier(header: str | None, body: bytes) -> str:
    """Jira's delivery id as given when it is a sane token, else a digest (of it, or of the body)."""
    if header and len(header) <= 200 and _TOKEN.fullmatch(header):
        return header
    source = header.encode("utf-8", "replace") if header else body
    return "sha256:" + hashlib.sha256(source).hexdigest()


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None

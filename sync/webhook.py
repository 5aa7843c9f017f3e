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
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.jobs import enqueue
from bot.metrics import WEBHOOK_DELIVERIES
from bot.models import Job, WebhookDelivery
from sync.changelog import ChangelogProcessor, linked_ticket
from sync.context import SyncContext
from sync.outbox import Kind

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
INBOUND = "inbound"
HANDLED_EVENTS = {"jira:issue_updated"}


def _answer(status: int, outcome: str, detail: str) -> JSONResponse:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    return JSONResponse({"status": outcome, "detail": detail}, status_code=status)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature: sha256=<hex>`, method name in any case, compared in constant time."""
    if not header or "=" not in header:
        return False
    method, _, given = header.partition("=")
    if method.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


class WebhookIntake:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def route(self) -> Route:
        return Route("/jira/webhook", self.receive, methods=["POST"])

    async def receive(self, request: Request) -> JSONResponse:
        secret = self.ctx.settings.jira_webhook_secret
        if secret is None:
            return _answer(401, "refused", "no JIRA_WEBHOOK_SECRET is configured: deliveries are refused")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return _answer(413, "too_large", "body over 1 MiB")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _answer(413, "too_large", "body over 1 MiB")
        if not signature_ok(secret.get_secret_value(), body, request.headers.get("x-hub-signature")):
            return _answer(401, "bad_signature", "missing or wrong X-Hub-Signature")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _answer(400, "malformed", "body is not JSON")
        if not isinstance(payload, dict):
            return _answer(400, "malformed", "body is not a JSON object")
        identifier = (
            request.headers.get("x-atlassian-webhook-identifier")
            or "sha256:" + hashlib.sha256(body).hexdigest()
        )
        return await run_in_threadpool(self._record, identifier[:200], payload, body)

    def _record(self, identifier: str, payload: dict[str, Any], body: bytes) -> JSONResponse:
        if payload.get("webhookEvent") not in HANDLED_EVENTS or not _changelog(payload):
            return _answer(200, "ignored", "event without a changelog")
        issue = _dict(payload.get("issue"))
        with self.ctx.session() as session:
            ticket = linked_ticket(
                session, issue_id=_text(issue.get("id")), issue_key=_text(issue.get("key"))
            )
            if ticket is None:
                return _answer(200, "ignored", "issue not linked to an incident")
            session.add(WebhookDelivery(identifier=identifier, body=body.decode("utf-8", "replace")))
            enqueue(
                session,
                Kind.APPLY_WEBHOOK,
                lane=INBOUND,
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
            if delivery is None or delivery.state != "pending":
                return
            payload = json.loads(delivery.body)
        changelog = _changelog(payload)
        history = {
            "id": changelog.get("id"),
            "items": changelog.get("items"),
            "author": _dict(payload.get("user")),
        }
        outcome = self.processor.apply(ticket_id=job.payload["ticket_id"], history=history, door="webhook")
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
            delivery.state = "processed"
            session.add(delivery)
            session.commit()


def _changelog(payload: dict[str, Any]) -> dict[str, Any]:
    changelog = _dict(payload.get("changelog"))
    return changelog if changelog.get("id") and isinstance(changelog.get("items"), list) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None

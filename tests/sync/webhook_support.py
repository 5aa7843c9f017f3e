"""Helpers shared by the Jira → incident tests (webhook, changelog, reconciler); no tests of its own.

(They would sit in tests/sync/conftest.py, which belongs to the harness; this module keeps them beside
the tests that use them.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from sqlmodel import select

from bot.app import build_runtime
from bot.models import AppliedChangelog, Incident, JiraTicket, Job, WebhookDelivery
from bot.workers import run_one
from sandbox.rig import WEBHOOK_SECRET
from sync.jira_comments import CommentFeed
from sync.outbox import Kind
from sync.reconciler import Reconciler
from tests.sync.conftest import Harness, harness_settings

SESSION = requests.Session()
SESSION.trust_env = False


def sign(body: bytes, secret: str = WEBHOOK_SECRET, method: str = "sha256") -> str:
    digest = getattr(hashlib, method.lower())
    return f"{method}=" + hmac.new(secret.encode(), body, digest).hexdigest()


def post(
    url: str,
    body: bytes | dict[str, Any],
    *,
    identifier: str | None = None,
    signature: str | None = "sign",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST to the webhook route as Jira would: JSON body, signed, with a delivery identifier."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json; charset=UTF-8"}
    sent["X-Atlassian-Webhook-Identifier"] = identifier or uuid.uuid4().hex
    if signature == "sign":
        sent["X-Hub-Signature"] = sign(raw)
    elif signature is not None:
        sent["X-Hub-Signature"] = signature
    sent.update(headers or {})
    return SESSION.post(url, data=raw, headers=sent, timeout=10)


def issue_updated(
    ticket: JiraTicket,
    changelog_id: int | str,
    items: list[dict[str, Any]],
    *,
    account: str = "acc-bob",
    name: str = "Bob",
) -> dict[str, Any]:
    """A `jira:issue_updated` body for the ticket (PROTOCOLS §3's shape, the fields trimmed)."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_updated",
        "user": {"accountId": account, "displayName": name, "active": True},
        "issue": {"id": ticket.jira_id, "key": ticket.key, "fields": {}},
        "changelog": {"id": str(changelog_id), "items": items},
    }


def item(field_id: str, to: str | None, frm: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "field": field_id,
        "fieldtype": "custom" if field_id.startswith("customfield_") else "jira",
        "fieldId": field_id,
        "from": None,
        "fromString": frm,
        "to": None,
        "toString": to,
        **extra,
    }


def delivered(harness: Harness) -> dict[str, list[dict[str, Any]]]:
    """Finished webhook deliveries (a status came back) by changelog id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for delivery in harness.jira.webhook_deliveries:
        if delivery["status"] is None:
            continue
        changelog = json.loads(delivery["body"]).get("changelog") or {}
        out.setdefault(str(changelog.get("id")), []).append(delivery)
    return out


def settle(harness: Harness, timeout: float = 10.0) -> None:
    """Run jobs and wait for the webhooks they cause, until Jira has told the route every history."""
    deadline = time.monotonic() + timeout
    while True:
        harness.drain()
        dropped = {
            str((json.loads(d["body"]).get("changelog") or {}).get("id"))
            for d in harness.jira.dropped_webhooks
        }
        wanted = {
            str(h["id"]) for issue in harness.jira.issues.values() for h in issue["changelog"]
        } - dropped
        if wanted <= set(delivered(harness)) and not run_one(
            harness.runtime.queue, harness.runtime.registry, "test-settle"
        ):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"webhooks not delivered: {sorted(wanted - set(delivered(harness)))}")
        time.sleep(0.02)


def declared(
    harness: Harness, priority: int = 3, *, webhooks: bool = True, **fields: Any
) -> tuple[Incident, JiraTicket]:
    """An incident with its channel and ticket, every job done and (`webhooks`) every webhook received."""
    incident = harness.declare(priority, **fields)
    if webhooks:
        settle(harness)
    else:
        harness.drain()
    return harness.incident(incident.id), harness.ticket(incident)


def jira_lines(harness: Harness, incident: Incident) -> list[str]:
    """The `Jira <KEY>: …` messages of the incident channel."""
    return [text for text in harness.channel_texts(incident) if text.startswith("Jira ")]


def jira_writes(harness: Harness) -> list[dict[str, Any]]:
    """Requests that would change something in Jira."""
    return [r for r in harness.jira.requests if r["method"] in ("POST", "PUT", "DELETE")]


def rows(harness: Harness) -> dict[str, int]:
    """How many deliveries, inbound jobs and applied changelogs the database holds."""
    with harness.session() as session:
        return {
            "deliveries": len(session.exec(select(WebhookDelivery)).all()),
            "apply_jobs": len(session.exec(select(Job).where(Job.kind == Kind.APPLY_WEBHOOK)).all()),
            "applied": len(session.exec(select(AppliedChangelog)).all()),
        }


def processor_of(harness: Harness):
    """The runtime's one changelog processor (the webhook job's)."""
    return harness.runtime.registry.handler(Kind.APPLY_WEBHOOK).processor


def reconciler_of(harness: Harness, **options: Any) -> Reconciler:
    """A reconciler over the runtime's changelog and comment processors, as the composition root builds
    it (both doors: histories and comments), with `options` (a page size, ...) of the test's own."""
    applier = harness.runtime.registry.handler(Kind.APPLY_WEBHOOK)
    comments = harness.runtime.registry.handler(Kind.APPLY_COMMENT).processor
    options.setdefault("comments", CommentFeed(applier.ctx, comments))
    return Reconciler(applier.ctx, applier.processor, **options)


@contextmanager
def other_harness(database_url: str, emulators, **settings: Any) -> Iterator[Harness]:
    """A harness whose runtime is built with other settings (e.g. no webhook secret)."""
    slack, jira, announcements = emulators
    runtime = build_runtime(harness_settings(database_url, slack, jira, announcements, **settings))
    try:
        yield Harness(runtime, slack, jira, announcements)
    finally:
        runtime.engine.dispose()

"""Jira comments → the incident channel: one processor behind both doors (webhook and reconciler).

Jira sends each comment twice (`comment_created` and the `jira:issue_updated` twin of type
`issue_commented`; `comment_updated` and `issue_comment_edited` for an edit), and the reconciler sees it
again. Each version of a comment (its id and its `updated`) is handled once: the version's row commits in
the same transaction as the channel message it causes, under the ticket's lock (the changelog processor's
lock, so the doors take turns per ticket). A version older than one already seen is not announced (Jira's
order wins over the deliveries'), nor one whose text did not change, nor one the bot's account wrote, nor
anything for an incident without a channel (P4–P5). A deletion is never announced.

Input is untrusted: ids, times and texts of the wrong type map to nothing; the body is converted by
`sync.jira_markup` (bounded, and unable to notify anyone).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.enums import DeliveryState
from bot.metrics import CHANGES_APPLIED
from bot.models import Incident, JiraCommentVersion, JiraTicket, Job, WebhookDelivery
from sync.changelog import _clean, _who, as_dict, changelog_key, lock_ticket
from sync.context import SyncContext
from sync.jira_markup import jira_to_slack
from sync.jira_people import person_ids
from sync.outbox import post_later
from views.conversation import jira_comment

logger = logging.getLogger(__name__)

COMMENT_EVENTS = ("comment_created", "comment_updated")
ISSUE_TWINS = ("issue_commented", "issue_comment_edited")
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z")
_MAX_ADF_NODES = 20_000


def announced_comment(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The comment a webhook delivery announces as written or edited; None for anything else (a deleted
    comment, an issue update without one, a comment without an id or a time)."""
    event = payload.get("webhookEvent")
    twin = event == "jira:issue_updated" and payload.get("issue_event_type_name") in ISSUE_TWINS
    if event not in COMMENT_EVENTS and not twin:
        return None
    comment = as_dict(payload.get("comment"))
    if changelog_key(comment.get("id")) is None or jira_time(comment.get("updated")) is None:
        return None
    return comment


def jira_time(value: Any) -> datetime | None:
    """Jira's `2025-01-01T10:02:03.456+0000` as an aware time; None for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    for layout in _TIME_FORMATS:
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            continue
    return None


def comment_text(body: Any) -> str:
    """The comment's text: wiki markup (REST v2, webhooks) as is, or the text of an ADF document (v3)."""
    if isinstance(body, str):
        return _clean(body) or ""
    texts: list[str] = []
    stack = [body]
    seen = 0
    while stack and seen < _MAX_ADF_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            if node.get("type") in ("paragraph", "heading", "hardBreak") and texts:
                texts.append("\n")
            if isinstance(node.get("content"), list):
                stack.extend(reversed(node["content"]))
    return _clean("".join(texts)) or ""


@dataclass(frozen=True)
class CommentOutcome:
    posted: bool = False
    duplicate: bool = False
    reason: str = ""


class CommentProcessor:
    """Announces each new version of a person's comment in the incident channel, once."""

    def __init__(self, ctx: SyncContext, *, bot_accounts: Callable[[], frozenset[str]]) -> None:
        self.ctx = ctx
        self.bot_accounts = bot_accounts
        self._known_bot: frozenset[str] = frozenset()  # the bot's ids once asked, for `known_own`

    def known_own(self, comment: dict[str, Any]) -> bool:
        """Whether the bot's account wrote this comment version, as far as is known without asking Jira:
        the webhook route skips recording the echo of every comment the bot makes (this check is repeated
        by `apply` for whatever gets through)."""
        return bool(self._known_bot & _accounts(comment))

    def apply(self, *, ticket_id: int, comment: dict[str, Any], door: str) -> CommentOutcome:
        comment_id = changelog_key(comment.get("id"))
        updated, updated_at = comment.get("updated"), jira_time(comment.get("updated"))
        if comment_id is None or updated_at is None or not isinstance(updated, str):
            return CommentOutcome(reason="no comment id or time")
        created_at = jira_time(comment.get("created"))
        text = comment_text(comment.get("body"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self.ctx.session() as session:
            lock_ticket(session, ticket_id)
            ticket = session.get(JiraTicket, ticket_id)
            if ticket is None or session.get(JiraCommentVersion, (comment_id, updated)) is not None:
                return CommentOutcome(duplicate=True)
            incident = session.get(Incident, ticket.incident_id)
            assert incident is not None
            newest = session.exec(
                select(JiraCommentVersion)
                .where(JiraCommentVersion.comment_id == comment_id)
                .order_by(col(JiraCommentVersion.updated_at).desc())
            ).first()
            edited = newest is not None or (created_at is not None and updated_at > created_at)
            writer = as_dict(comment.get("updateAuthor") if edited else comment.get("author"))
            reason = self._silence(comment, writer, text, newest, updated_at, digest, incident)
            session.add(
                JiraCommentVersion(
                    comment_id=comment_id,
                    updated=updated,
                    issue_key=ticket.key,
                    incident_id=incident.id,
                    updated_at=updated_at,
                    digest=digest,
                    posted=reason is None,
                )
            )
            if reason is None:
                converted = jira_to_slack(text)
                line = jira_comment(
                    ticket.key,
                    _who(writer),
                    converted.text,
                    edited=edited,
                    cut=converted.cut,
                    ticket_url=ticket.url,
                )
                post_later(session, incident, line)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return CommentOutcome(duplicate=True)
        if reason is not None:
            logger.info("Jira %s comment %s (%s): not announced, %s", ticket.key, comment_id, updated, reason)
            return CommentOutcome(reason=reason)
        CHANGES_APPLIED.labels(door=door, field="comment").inc()
        return CommentOutcome(posted=True)

    def _silence(
        self,
        comment: dict[str, Any],
        writer: dict[str, Any],
        text: str,
        newest: JiraCommentVersion | None,
        updated_at: datetime,
        digest: str,
        incident: Incident,
    ) -> str | None:
        """Why this version is not announced; None when it is."""
        bot = self._known_bot = self.bot_accounts()
        if bot & (_accounts(comment) | person_ids(writer)):
            return "written by the bot"
        if newest is not None and updated_at <= newest.updated_at:
            return "older than a version already seen"
        if newest is not None and newest.digest == digest:
            return "its text did not change"
        if not text.strip():
            return "no text"
        if incident.channel_id is None:
            return "the incident has no channel"
        return None


def _accounts(comment: dict[str, Any]) -> frozenset[str]:
    """The ids of who wrote and who last edited the comment."""
    return person_ids(comment.get("author")) | person_ids(comment.get("updateAuthor"))


class CommentApplier:
    """The job that announces the comment a recorded webhook delivery carries."""

    def __init__(self, ctx: SyncContext, processor: CommentProcessor) -> None:
        self.ctx = ctx
        self.processor = processor

    def __call__(self, job: Job) -> None:
        with self.ctx.session() as session:
            delivery = session.get(WebhookDelivery, job.payload["identifier"])
            if delivery is None:
                return
            payload = as_dict(json.loads(delivery.body))
        comment = announced_comment(payload)
        if comment is not None:
            self.processor.apply(ticket_id=job.payload["ticket_id"], comment=comment, door="webhook")
        with self.ctx.session() as session:
            delivery = session.get(WebhookDelivery, job.payload["identifier"])
            delivery.state = DeliveryState.PROCESSED
            session.add(delivery)
            session.commit()


class CommentFeed:
    """The reconciler's door: the comments of an issue it fetched, written or edited since `since`."""

    def __init__(self, ctx: SyncContext, processor: CommentProcessor) -> None:
        assert ctx.jira is not None
        self.jira = ctx.jira
        self.processor = processor

    def replay(self, issue: dict[str, Any], ticket_id: int, *, since: datetime) -> list[str]:
        """Announce what is new; returns a line per comment announced."""
        page = as_dict(as_dict(issue.get("fields")).get("comment"))
        comments = [c for c in page.get("comments") or [] if isinstance(c, dict)]
        total = page.get("total")
        if isinstance(total, int) and total > len(comments):
            comments = self._all(str(issue.get("key")))
        fresh = [c for c in comments if (at := jira_time(c.get("updated"))) is not None and at >= since]
        fresh.sort(key=lambda c: (jira_time(c.get("updated")), int(changelog_key(c.get("id")) or 0)))
        posted = []
        for comment in fresh:
            if self.processor.apply(ticket_id=ticket_id, comment=comment, door="reconciler").posted:
                posted.append(f"{issue.get('key')} comment {comment.get('id')}")
        return posted

    def _all(self, key: str) -> list[dict[str, Any]]:
        """Every comment of the issue, page by page (the search's field holds only the first ones)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.jira.comments(key, start=len(found))
            values = [c for c in page.get("comments") or [] if isinstance(c, dict)]
            found += values
            if not values or len(found) >= int(page.get("total") or 0):
                return found

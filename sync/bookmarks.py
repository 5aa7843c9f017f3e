"""The incident channel's bookmarks to its Jira ticket and post-mortem: one each, kept on the current key.

The link is read when the job runs, not when it is queued, so a job that waited (Slack down, a retry)
never puts back a key the ticket no longer has. The bot's bookmark is found by its title and the link
it was given: a person's bookmark with the same title and another link is left alone, and a retried job
finds the bookmark it made and adds none.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from bot import incidents
from bot.enums import Lane
from bot.jobs import enqueue
from bot.models import Incident, Job
from sync.context import SyncContext, load
from sync.outbox import Kind
from sync.slack_api import slack_call

logger = logging.getLogger(__name__)

TICKET = "Jira ticket"
POSTMORTEM = "Post-mortem"


def bookmark_later(session: Session, incident: Incident, title: str, *, replaces: str | None = None) -> None:
    """Queue the channel's bookmark `title` (TICKET or POSTMORTEM), re-pointing the bot's bookmark that
    links `replaces` (a moved ticket's old link), and a redraw of the announcement and topic."""
    if incident.channel_id:
        payload = {"title": title, **({"replaces": replaces} if replaces else {})}
        enqueue(session, Kind.BOOKMARK, lane=Lane.SLACK, incident_id=incident.id, payload=payload)
        enqueue(session, Kind.REFRESH_ANNOUNCEMENT, lane=Lane.SLACK, incident_id=incident.id)


def _link(session: Session, incident_id: int, title: str) -> str | None:
    """Where the bookmark points now: the ticket's or the post-mortem's current URL."""
    linked = (
        incidents.ticket(session, incident_id)
        if title == TICKET
        else incidents.postmortem(session, incident_id)
    )
    return linked.url if linked else None


def bookmark(ctx: SyncContext, job: Job) -> None:
    """Add the bookmark, or re-point the bot's one; nothing when it already points at the current link."""
    title = job.payload["title"]
    with ctx.session() as session:
        incident = load(session, job.incident_id)
        link = _link(session, incident.id, title)
    channel = incident.channel_id
    if channel is None or link is None:
        return
    with slack_call("bookmarks.list", tolerate={"is_archived", "missing_scope"}) as outcome:
        listed: Any = ctx.slack.bookmarks_list(channel_id=channel)
    if outcome.tolerated == "is_archived":
        return
    if outcome.tolerated == "missing_scope":  # installed before bookmarks:read: add, as it used to
        logger.warning("Slack app lacks bookmarks:read: reinstall it so moved tickets re-point bookmarks")
        listed = {}
    ours = [b for b in listed.get("bookmarks") or [] if b.get("title") == title]
    if any(b.get("link") == link for b in ours):
        return
    stale = next((b for b in ours if b.get("link") == job.payload.get("replaces")), None)
    if stale is not None:
        with slack_call("bookmarks.edit", tolerate={"is_archived", "not_found"}) as edited:
            ctx.slack.bookmarks_edit(channel_id=channel, bookmark_id=stale["id"], title=title, link=link)
        if edited.tolerated != "not_found":
            return
    with slack_call("bookmarks.add", tolerate={"is_archived"}):
        ctx.slack.bookmarks_add(channel_id=channel, title=title, type="link", link=link)

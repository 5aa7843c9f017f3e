"""Creating the incident's Jira ticket, exactly once, and what follows it (link, bookmark, DM, state).

A retried creation first looks for a ticket that an earlier attempt made but never heard back about
(its description carries an `Incident #<id>` marker), so a timeout after Jira saved the issue never
yields a second ticket. The ticket row and every follow-up job are committed together.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import incidents
from bot.enums import Lane, Status, is_critical
from bot.jobs import PermanentFailure, enqueue
from bot.models import Incident, JiraTicket, Job
from sync.context import SyncContext, load
from sync.create_once import create_once
from sync.directory import Directory
from sync.jira_fields import MARKER, prepare_jira_fields, project_key
from sync.jira_handlers import JiraHandlers
from sync.jira_mapping import JiraMapping
from sync.jira_values import incident_values, jira_value
from sync.outbox import Kind, link_later
from sync.slack_api import slack_call

logger = logging.getLogger(__name__)

#: The channel bookmark that links the incident's ticket.
BOOKMARK_TITLE = "Jira ticket"


class TicketCreation(JiraHandlers):
    """The incident's ticket: created exactly once, then linked back to the channel."""

    def __init__(self, ctx: SyncContext, directory: Directory, mapping: JiraMapping) -> None:
        super().__init__(ctx, directory)
        self.mapping = mapping

    def create(self, job: Job) -> None:
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incidents.ticket(session, incident.id) is not None:
                return
        since = self.jira.jql_time(job.created_at - timedelta(minutes=5))
        found = create_once(
            self.jira,
            owner_id=incident.id,
            retry=job.attempts > 1,
            what="ticket",
            search=f'project = {project_key(incident, self.ctx.settings)} AND created >= "{since}" '
            "ORDER BY created DESC",
            field="description",
            marker=MARKER,
            create=lambda: self._create(incident),
        )
        self._record(incident, *found)

    def _create(self, incident: Incident) -> tuple[str, str]:
        """Create the issue; if Jira refuses to let us set the reporter (no Modify Reporter permission,
        or no reporter on the create screen), create it without rather than never."""
        channel_url = self.ctx.channel_url(incident.channel_id) if incident.channel_id else None
        reporter = self.directory.jira_account(incident.reporter_id)
        fields = prepare_jira_fields(
            incident,
            settings=self.ctx.settings,
            channel_url=channel_url,
            reporter=self.jira.person(reporter) if reporter else None,
        )
        try:
            return self.jira.create_issue(fields)
        except PermanentFailure as exc:
            if "reporter" not in fields or "reporter" not in str(exc).lower():
                raise
            logger.warning(
                "incident %s: Jira refused the reporter (%s); creating without it", incident.id, exc
            )
            return self.jira.create_issue({k: v for k, v in fields.items() if k != "reporter"})

    def _record(self, incident: Incident, issue_id: str, key: str) -> None:
        with self.ctx.session() as session:
            incident = load(session, incident.id)
            statuses = self.mapping.statuses
            created_with = {  # a field synced neither way is never compared (`/incident status`)
                name: value
                for name, value in (
                    ("title", incident.title),
                    ("description", incident.description),
                    ("priority", incident.priority),
                )
                if self.mapping.directions.synced(name)
            }
            session.add(
                JiraTicket(
                    incident_id=incident.id,
                    key=key,
                    jira_id=issue_id,
                    url=self.jira.browse_url(key),
                    jira_values={
                        **incident_values(created_with, statuses),
                        # where a new ticket starts: the status an open incident is pushed to
                        "status": jira_value("status", statuses.target(Status.OPEN), statuses),
                    },
                )
            )
            current: dict[str, list[object]] = {"commander_id": [None, incident.commander_id]}
            if incident.status != Status.OPEN.value:
                current["status"] = [Status.OPEN.value, incident.status]
            enqueue(
                session,
                Kind.PUSH_CHANGES,
                lane=Lane.JIRA,
                incident_id=incident.id,
                payload={"changes": current},
            )
            if incident.channel_id:
                enqueue(session, Kind.REMOTE_LINK, lane=Lane.JIRA, incident_id=incident.id)
            link_later(session, incident, BOOKMARK_TITLE, self.jira.browse_url(key))
            if not is_critical(incident.priority):
                enqueue(session, Kind.NOTIFY_REPORTER, lane=Lane.SLACK, incident_id=incident.id)
            session.commit()

    def remote_link(self, job: Job) -> None:
        """The ticket's link back to the Slack channel (Jira shows it under "Web links")."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            ticket = incidents.ticket(session, incident.id)
        if ticket is None or incident.channel_id is None:
            return
        self.jira.add_remote_link(
            ticket.key,
            self.ctx.channel_url(incident.channel_id),
            f"Slack #{incident.channel_name or incident.channel_id}",
        )


def bookmark(ctx: SyncContext, job: Job) -> None:
    """The channel's bookmark `title` → `link`: added once, re-pointed when the link changed (a ticket
    moved to another project), left alone when it already points there (a retried job)."""
    with ctx.session() as session:
        incident = load(session, job.incident_id)
    if incident.channel_id is None:
        return
    title, link = job.payload["title"], job.payload["link"]
    with slack_call("bookmarks.list", tolerate={"is_archived"}) as outcome:
        listed = ctx.slack.bookmarks_list(channel_id=incident.channel_id)
    if outcome.tolerated:
        return
    existing = next((b for b in listed.get("bookmarks") or [] if b.get("title") == title), None)
    if existing is None:
        with slack_call("bookmarks.add", tolerate={"is_archived"}):
            ctx.slack.bookmarks_add(channel_id=incident.channel_id, title=title, type="link", link=link)
    elif existing.get("link") != link:
        with slack_call("bookmarks.edit", tolerate={"is_archived"}):
            ctx.slack.bookmarks_edit(
                channel_id=incident.channel_id, bookmark_id=existing["id"], title=title, link=link
            )

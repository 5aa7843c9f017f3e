"""Creating the incident's Jira ticket, exactly once, and what follows it (link, bookmark, DM, state).

A retried creation first looks for a ticket that an earlier attempt made but never heard back about
(its description carries an `Incident #<id>` marker), so a timeout after Jira saved the issue never
yields a second ticket. The ticket row and every follow-up job are committed together.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import incidents
from bot.enums import Status, is_critical
from bot.jobs import PermanentFailure, enqueue
from bot.models import Incident, JiraTicket, Job
from sync.context import SyncContext, load
from sync.directory import Directory
from sync.jira_fields import marked_incident, prepare_jira_fields, project_key
from sync.outbox import JIRA, SLACK, Kind
from sync.slack_api import slack_call

logger = logging.getLogger(__name__)


class TicketCreation:
    def __init__(self, ctx: SyncContext, directory: Directory) -> None:
        assert ctx.jira is not None
        self.ctx = ctx
        self.jira = ctx.jira
        self.directory = directory

    def create(self, job: Job) -> None:
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incidents.ticket(session, incident.id) is not None:
                return
        found = self._made_earlier(incident, job) if job.attempts > 1 else None
        if found is None:
            channel_url = self.ctx.channel_url(incident.channel_id) if incident.channel_id else None
            fields = prepare_jira_fields(
                incident,
                settings=self.ctx.settings,
                channel_url=channel_url,
                reporter_account=self.directory.jira_account(incident.reporter_id),
            )
            found = self._create(incident, fields)
            logger.info("incident %s: created Jira ticket %s", incident.id, found[1])
        self._record(incident, *found)

    def _create(self, incident: Incident, fields: dict) -> tuple[str, str]:
        """Create the issue; if Jira refuses to let us set the reporter (no Modify Reporter permission,
        or no reporter on the create screen), create it without rather than never."""
        try:
            return self.jira.create_issue(fields)
        except PermanentFailure as exc:
            if "reporter" not in fields or "reporter" not in str(exc).lower():
                raise
            logger.warning(
                "incident %s: Jira refused the reporter (%s); creating without it", incident.id, exc
            )
            return self.jira.create_issue({k: v for k, v in fields.items() if k != "reporter"})

    def _made_earlier(self, incident: Incident, job: Job) -> tuple[str, str] | None:
        since = self.jira.jql_time(job.created_at - timedelta(minutes=5))
        project = project_key(incident, self.ctx.settings)
        found = self.jira.find_issue(
            f'project = {project} AND created >= "{since}" ORDER BY created DESC',
            field="description",
            wanted=lambda text: marked_incident(text) == incident.id,
        )
        if found:
            logger.info("incident %s: found ticket %s made by an earlier attempt", incident.id, found[1])
        return found

    def _record(self, incident: Incident, issue_id: str, key: str) -> None:
        with self.ctx.session() as session:
            incident = load(session, incident.id)
            session.add(
                JiraTicket(incident_id=incident.id, key=key, jira_id=issue_id, url=self.jira.browse_url(key))
            )
            current: dict[str, list[object]] = {"commander_id": [None, incident.commander_id]}
            if incident.status != Status.OPEN.value:
                current["status"] = [Status.OPEN.value, incident.status]
            enqueue(
                session, Kind.PUSH_CHANGES, lane=JIRA, incident_id=incident.id, payload={"changes": current}
            )
            if incident.channel_id:
                enqueue(session, Kind.REMOTE_LINK, lane=JIRA, incident_id=incident.id)
                enqueue(
                    session,
                    Kind.BOOKMARK,
                    lane=SLACK,
                    incident_id=incident.id,
                    payload={"title": "Jira ticket", "link": self.jira.browse_url(key)},
                )
                enqueue(session, Kind.REFRESH_ANNOUNCEMENT, lane=SLACK, incident_id=incident.id)
            if not is_critical(incident.priority):
                enqueue(session, Kind.NOTIFY_REPORTER, lane=SLACK, incident_id=incident.id)
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
    """A channel bookmark (`Jira ticket`, `Post-mortem`); a refused emoji never fails it."""
    with ctx.session() as session:
        incident = load(session, job.incident_id)
    if incident.channel_id is None:
        return
    with slack_call("bookmarks.add", tolerate={"is_archived"}):
        ctx.slack.bookmarks_add(
            channel_id=incident.channel_id, title=job.payload["title"], type="link", link=job.payload["link"]
        )

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
from sync.bookmarks import TICKET, bookmark_later
from sync.context import SyncContext, load
from sync.create_once import create_once
from sync.directory import Directory
from sync.jira_fields import MARKER, prepare_jira_fields, project_key
from sync.jira_handlers import JiraHandlers
from sync.jira_mapping import JiraMapping
from sync.jira_values import incident_values, jira_value
from sync.outbox import Kind

logger = logging.getLogger(__name__)


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
            bookmark_later(session, incident, TICKET)
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

"""Follow-ups in Jira: created exactly once, linked to the ticket and the post-mortem, announced.

Creation is a `jira` lane job. A follow-up that already has its key is not created again; a retried job
first looks in Jira for an issue carrying the follow-up's marker (an earlier attempt may have made it
without hearing back). The key and the follow-up jobs commit together: linking is a job of its own
(best effort, like the post-mortem's), and the channel hears of the new issue through the Slack lane.
An assignee whose Jira account cannot be found leaves the issue unassigned, and the channel says so.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from bot import followups, incidents
from bot.enums import Lane
from bot.jobs import PermanentFailure, RetryLater, enqueue
from bot.models import FollowUp, Job
from bot.workers import HandlerRegistry
from sync.changelog import issue_ref
from sync.context import SyncContext, load
from sync.create_once import Marker, create_once
from sync.directory import Directory
from sync.issue_links import link_issues
from sync.jira_handlers import JiraHandlers
from sync.jira_lag import LagNotices
from sync.outbox import Kind, post_later
from sync.slack_api import slack_call
from views import followups as says

logger = logging.getLogger(__name__)

LABEL = "incident-followup"
MARKER = Marker(
    "_Follow-up {id}, created from Slack by the incident bot._",
    re.compile(r"Follow-up (\d+), created from Slack by the incident bot"),
)
#: how long to wait for the incident's ticket before creating a follow-up that must name it
TICKET_WAIT_SECONDS = 10.0


def register_followups(
    registry: HandlerRegistry, ctx: SyncContext, directory: Directory, lag: LagNotices
) -> None:
    service = FollowUps(ctx, directory)
    registry.register(Kind.CREATE_FOLLOWUP, lag.wrap(service.create))
    registry.register(Kind.FOLLOWUP_LINK, lag.wrap(service.link))
    registry.register(Kind.FOLLOWUP_REFRESH, lag.wrap(service.refresh))


def _followup(job: Job, session: Session) -> FollowUp:
    followup = session.get(FollowUp, job.payload.get("followup_id"))
    if followup is None:
        raise PermanentFailure(f"follow-up {job.payload.get('followup_id')} does not exist")
    return followup


class FollowUps(JiraHandlers):
    def create(self, job: Job) -> None:
        """Create the follow-up's Jira issue unless it has one (in the database or in Jira)."""
        with self.ctx.session() as session:
            followup = _followup(job, session)
            if followup.key is not None:
                return
            incident = load(session, followup.incident_id)
            ticket = incidents.ticket(session, incident.id)
        if ticket is None:  # the ticket's own job runs first in the lane; it may still be retrying
            raise RetryLater("the incident has no Jira ticket yet", retry_after=TICKET_WAIT_SECONDS)
        settings = self.ctx.settings
        project = settings.followup_jira_project_key or ticket.key.rsplit("-", 1)[0]
        account = self.directory.jira_account(followup.assignee_id) if followup.assignee_id else None
        channel_url = None
        if incident.channel_id:
            with slack_call("auth.test"):
                channel_url = self.ctx.channel_url(incident.channel_id)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": settings.followup_jira_issue_type},
            "summary": followup.summary,
            "description": says.jira_description(followup, ticket.key, channel_url, MARKER.text(followup.id)),
            "labels": [LABEL],
        }
        if followup.due_date:
            fields["duedate"] = followup.due_date.isoformat()
        if account:
            fields["assignee"] = self.jira.person(account)
        since = self.jira.jql_time(followup.requested_at - timedelta(days=1))
        issue_id, key = create_once(
            self.jira,
            owner_id=followup.id,
            retry=job.attempts > 1,
            what="follow-up",
            search=f'project = "{project}" AND labels = "{LABEL}" '
            f'AND created >= "{since}" ORDER BY created DESC',
            field="description",
            marker=MARKER,
            create=lambda: self.jira.create_issue(fields),
        )
        with self.ctx.session() as session:
            followup = _followup(job, session)
            incident = load(session, followup.incident_id)
            followup.key, followup.jira_id, followup.url = key, issue_id, self.jira.browse_url(key)
            session.add(followup)
            unassigned = bool(followup.assignee_id) and account is None
            post_later(session, incident, says.created(followup, unassigned=unassigned))
            enqueue(session, Kind.FOLLOWUP_LINK, lane=Lane.JIRA, incident_id=incident.id, payload=job.payload)
            enqueue(session, Kind.UPDATE_MITIGATION, lane=Lane.JIRA, incident_id=incident.id)
            session.commit()

    def link(self, job: Job) -> None:
        """Link the follow-up to the incident ticket and the post-mortem, and read its status."""
        with self.ctx.session() as session:
            followup = _followup(job, session)
            ticket = incidents.ticket(session, followup.incident_id)
            postmortem = incidents.postmortem(session, followup.incident_id)
        if followup.key is None:
            return
        for other in (ticket, postmortem):
            if other is not None:
                link_issues(self.jira, followup.key, other.key)
        self.refresh(job)

    def refresh(self, job: Job) -> None:
        """Keep what Jira says of the follow-up (summary, status, assignee); tell the channel once when
        its status enters the `done` category. Reads the issue as it is now, so a late, repeated or
        missed delivery all end the same way."""
        with self.ctx.session() as session:
            key = _followup(job, session).key
        if key is None:
            return
        fields = self.jira.issue(key, fields="summary,status,assignee")["fields"]
        status = fields.get("status") or {}
        account = self.jira.account_of(fields.get("assignee") or {})
        assignee = self.directory.slack_user(account) if account else None
        with self.ctx.session() as session:
            followup = _followup(job, session)
            shown = (followup.summary, followup.status)  # what the post-mortem lists of it
            followup.summary = fields.get("summary") or followup.summary
            followup.status = status.get("name") or followup.status
            if (followup.summary, followup.status) != shown:
                enqueue(session, Kind.UPDATE_MITIGATION, lane=Lane.JIRA, incident_id=followup.incident_id)
            followup.done = (status.get("statusCategory") or {}).get("key") == "done"
            if assignee is not None or account is None:  # an account with no Slack user keeps the last one
                followup.assignee_id = assignee
            if followup.done and not followup.done_told:
                followup.done_told = True
                post_later(session, load(session, followup.incident_id), says.done(followup))
            session.add(followup)
            session.commit()


def refresh_followup(ctx: SyncContext, issue_id: str | None, key: str | None) -> bool:
    """Queue a refresh of the follow-up that is this Jira issue; whether it is one (both doors, the
    webhook and the reconciler, come through here)."""
    issue_id, key = issue_ref(issue_id, key)
    if not issue_id and not key:
        return False
    with ctx.session() as session:
        followup = followups.by_issue(session, issue_id, key)
        if followup is None or followup.key is None:
            return False
        payload = {"followup_id": followup.id}
        enqueue(
            session, Kind.FOLLOWUP_REFRESH, lane=Lane.JIRA, incident_id=followup.incident_id, payload=payload
        )
        session.commit()
    return True

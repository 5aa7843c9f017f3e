"""The Jira post-mortem: created once per incident from its own history, then linked, assigned, announced.

Creation is a `jira` lane job. It does nothing when the incident already has its post-mortem row (a
double click, the button after the status change), and before creating it asks Jira for an issue an
earlier attempt made but never heard back about (the incident-summary field carries a marker), so a
lost reply never yields a second issue. The row and every follow-up job are committed together; each
follow-up is a job of its own, so one that fails (a missing link type, an unassignable commander,
Slack refusing a pin) never undoes the post-mortem nor holds up the others:

- `jira.postmortem_link`: link to the incident ticket with the first link type that works;
- `jira.postmortem_assign`: assign to the commander's Jira account;
- `slack.postmortem_notice`: post the link in the channel (a DM to the commander without one), then
  `slack.postmortem_pin` pins it, so a retried pin never posts the message twice;
- `slack.refresh_announcement` and `slack.bookmark` (`Post-mortem`), the existing Slack jobs.

Later changes of key events and timeline notes re-render the `timeline` field (`jira.update_timeline`);
a follow-up added or changing status re-renders `mitigation_actions` (`jira.update_mitigation`), and a
post-mortem made after follow-ups is linked to them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import followups, incidents, timeline
from bot.enums import Lane
from bot.jobs import PermanentFailure, enqueue
from bot.models import Incident, JiraPostMortem, Job
from bot.workers import HandlerRegistry
from sync.bookmarks import POSTMORTEM, bookmark_later
from sync.context import SyncContext, load
from sync.create_once import create_once
from sync.directory import Directory
from sync.issue_links import link_issues
from sync.jira_handlers import JiraHandlers
from sync.jira_lag import LagNotices
from sync.outbox import Kind
from sync.postmortem_render import MARKER, PostMortemInputs, issue_fields, render_part
from sync.slack_api import slack_call
from views import messages

logger = logging.getLogger(__name__)


def register_postmortem(
    registry: HandlerRegistry, ctx: SyncContext, directory: Directory, lag: LagNotices
) -> None:
    """Register the post-mortem job handlers; the Jira ones tell the channel when Jira lags."""
    service = PostMortems(ctx, directory)
    registry.register(Kind.CREATE_POSTMORTEM, lag.wrap(service.create))
    registry.register(Kind.UPDATE_TIMELINE, lag.wrap(service.update_timeline))
    registry.register(Kind.UPDATE_MITIGATION, lag.wrap(service.update_mitigation))
    registry.register(Kind.POSTMORTEM_LINK, lag.wrap(service.link))
    registry.register(Kind.POSTMORTEM_ASSIGN, lag.wrap(service.assign))
    registry.register(Kind.POSTMORTEM_NOTICE, service.notice)
    registry.register(Kind.POSTMORTEM_PIN, service.pin)


class PostMortems(JiraHandlers):
    # creation -----------------------------------------------------------------------------------
    def create(self, job: Job) -> None:
        """Create the incident's post-mortem issue unless it exists (in the database or in Jira)."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incidents.postmortem(session, incident.id) is not None:
                logger.info("incident %s: post-mortem already exists; nothing to create", incident.id)
                return
            inputs = self._inputs(session, incident, with_channel=True)
        settings = self.ctx.settings
        # A day of margin: Jira reads JQL dates in the searching user's time zone.
        since = self.jira.jql_time(incident.declared_at - timedelta(days=1))
        found = create_once(
            self.jira,
            owner_id=incident.id,
            retry=job.attempts > 1,
            what="post-mortem",
            search=f"project = {_quoted(settings.jira_postmortem_project_key)} "
            f"AND issuetype = {_quoted(settings.jira_postmortem_issue_type)} "
            f'AND created >= "{since}" ORDER BY created DESC',
            field=settings.jira_postmortem_fields["incident_summary"],
            marker=MARKER,
            create=lambda: self.jira.create_issue(issue_fields(inputs, settings)),
        )
        self._record(incident.id, *found)

    def _inputs(self, session: Session, incident: Incident, *, with_channel: bool) -> PostMortemInputs:
        channel_url = None
        if with_channel and incident.channel_id:
            with slack_call("auth.test"):
                channel_url = self.ctx.channel_url(incident.channel_id)
        return PostMortemInputs(
            incident=incident,
            updates=incidents.history(session, incident.id),
            key_events=incidents.key_events(session, incident.id),
            notes=timeline.notes(session, incident.id),
            followups=followups.of_incident(session, incident.id),
            channel_url=channel_url,
            ticket=incidents.ticket(session, incident.id),
        )

    def _record(self, incident_id: int, issue_id: str, key: str) -> None:
        """The post-mortem row and its follow-up jobs, in one commit."""
        url = self.jira.browse_url(key)
        with self.ctx.session() as session:
            incident = load(session, incident_id)
            session.add(JiraPostMortem(incident_id=incident.id, key=key, jira_id=issue_id, url=url))
            enqueue(session, Kind.POSTMORTEM_LINK, lane=Lane.JIRA, incident_id=incident.id)
            enqueue(session, Kind.POSTMORTEM_ASSIGN, lane=Lane.JIRA, incident_id=incident.id)
            enqueue(session, Kind.POSTMORTEM_NOTICE, lane=Lane.SLACK, incident_id=incident.id)
            for followup in followups.of_incident(session, incident.id):  # those made before it, linked now
                if followup.key:
                    payload = {"followup_id": followup.id}
                    enqueue(
                        session, Kind.FOLLOWUP_LINK, lane=Lane.JIRA, incident_id=incident.id, payload=payload
                    )
            bookmark_later(session, incident, POSTMORTEM)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                logger.warning("incident %s: post-mortem %s was recorded concurrently", incident_id, key)

    # follow-ups ---------------------------------------------------------------------------------
    def link(self, job: Job) -> None:
        """Link the post-mortem to the incident ticket: `Relates`, else `Blocks`, else `Relates to`."""
        with self.ctx.session() as session:
            postmortem = incidents.postmortem(session, job.incident_id)
            ticket = incidents.ticket(session, job.incident_id)
        if postmortem is None:
            return
        if ticket is None:
            logger.warning(
                "incident %s: no Jira ticket to link post-mortem %s to", job.incident_id, postmortem.key
            )
            return
        link_issues(self.jira, postmortem.key, ticket.key)

    def assign(self, job: Job) -> None:
        """Assign the post-mortem to the commander's Jira account, when there is one that Jira accepts."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            postmortem = incidents.postmortem(session, incident.id)
        if postmortem is None:
            return
        account = self.directory.jira_account(incident.commander_id)
        if account is None:
            logger.warning(
                "post-mortem %s left unassigned: commander %s has no Jira account",
                postmortem.key,
                incident.commander_id,
            )
            return
        try:
            self.jira.assign(postmortem.key, account)
        except PermanentFailure as exc:
            logger.warning("post-mortem %s left unassigned: %s", postmortem.key, exc)

    def notice(self, job: Job) -> None:
        """Post the post-mortem's link in the channel (a DM to the commander when there is no channel)."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            postmortem = incidents.postmortem(session, incident.id)
        if postmortem is None:
            return
        text = messages.postmortem_created(postmortem)
        if incident.channel_id is None:
            with slack_call("chat.postMessage"):
                self.ctx.slack.chat_postMessage(channel=incident.commander_id, text=text)
            return
        with slack_call("chat.postMessage", tolerate={"is_archived"}) as outcome:
            posted = self.ctx.slack.chat_postMessage(
                channel=incident.channel_id, text=text, unfurl_links=False
            )
        if outcome.tolerated:
            logger.info("post-mortem notice for incident %s not posted: channel archived", incident.id)
            return
        with self.ctx.session() as session:  # pinned by a job of its own: a retried pin never posts twice
            payload = {"ts": posted["ts"]}
            enqueue(session, Kind.POSTMORTEM_PIN, lane=Lane.SLACK, incident_id=incident.id, payload=payload)
            session.commit()

    def pin(self, job: Job) -> None:
        """Pin the post-mortem notice."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
        if incident.channel_id is None:
            return
        with slack_call("pins.add", tolerate={"already_pinned", "is_archived"}):
            self.ctx.slack.pins_add(channel=incident.channel_id, timestamp=job.payload["ts"])

    # keeping it current -------------------------------------------------------------------------
    def update_timeline(self, job: Job) -> None:
        """Re-render the `timeline` field after key events or notes changed (nothing to do without a
        post-mortem)."""
        self._rerender(job, "timeline")

    def update_mitigation(self, job: Job) -> None:
        """Re-render `mitigation_actions` after a follow-up was added or changed status."""
        self._rerender(job, "mitigation_actions")

    def _rerender(self, job: Job, part: str) -> None:
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            postmortem = incidents.postmortem(session, incident.id)
            if postmortem is None:
                return
            inputs = self._inputs(session, incident, with_channel=False)
        field = self.ctx.settings.jira_postmortem_fields.get(part)
        if field:
            self.jira.update_fields(postmortem.key, {field: render_part(part, inputs)})


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

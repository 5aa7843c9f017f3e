"""Slack → Jira: push the fields an incident update changed, in order, with the bounce guard set first.

Title, description and priority go in one edit; the commander becomes the assignee (Jira account
found by e-mail or JIRA_USER_MAP; none found leaves the ticket unassigned and the channel is told
once); the status is reached hop by hop along the shortest path of the issue's workflow. Before each
write the value Jira will report back is registered with the bounce guard, including each
intermediate status of a multi-hop path. Statuses, the priority field and its values, and which fields
go to Jira at all come from the site's `JiraMapping`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, col, select

from bot import incidents
from bot.enums import Source, Status, UpdateKind
from bot.logs import bind
from bot.models import Incident, IncidentUpdate, JiraTicket, Job
from sync.changelog import lock_ticket
from sync.context import SyncContext, load
from sync.directory import Directory
from sync.guards import BounceGuard
from sync.jira_fields import description
from sync.jira_handlers import JiraHandlers
from sync.jira_mapping import JiraMapping
from sync.jira_values import incident_values, jira_value
from sync.outbox import post_later
from sync.workflow import Transition, from_issue_transitions, next_hop, shortest_path
from views import messages

logger = logging.getLogger(__name__)


class ChangePusher(JiraHandlers):
    """The job that sends an incident's Slack-made changes to its ticket."""

    def __init__(
        self, ctx: SyncContext, directory: Directory, guard: BounceGuard, mapping: JiraMapping
    ) -> None:
        super().__init__(ctx, directory)
        self.guard = guard
        self.mapping = mapping
        self.statuses = mapping.statuses

    def __call__(self, job: Job) -> None:
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            ticket = incidents.ticket(session, incident.id)
            overtaken = _changed_in_jira_since(session, incident.id, job.payload.get("update_id") or 0)
        if ticket is None:
            return  # the ticket is created from the incident's current state, which includes this change
        bind(jira=ticket.key)
        changes: dict[str, list[Any]] = {
            name: change
            for name, change in self.mapping.directions.pushed(job.payload["changes"]).items()
            if name not in overtaken
        }
        if overtaken & set(job.payload["changes"]):
            logger.info("incident %s: not pushing %s: changed in Jira since", incident.id, sorted(overtaken))
        written = self._fields(incident, ticket, changes)
        if "commander_id" in changes:
            written["commander_id"] = self._assignee(incident, ticket, changes["commander_id"][1])
        values = incident_values(written, self.statuses)
        if "status" in changes:
            values["status"] = jira_value(
                "status", self._status(incident, ticket, Status(changes["status"][1])), self.statuses
            )
        self._remember(ticket, values)

    def _remember(self, ticket: JiraTicket, values: dict[str, Any]) -> None:
        """Keep what the ticket now holds, for the fields no changelog has been read for since the push
        began (a newer change, read meanwhile, is newer than this write)."""
        with self.ctx.session() as session:
            lock_ticket(session, ticket.id)
            current = session.get(JiraTicket, ticket.id)
            if current is None:
                return
            versions = current.field_versions
            fresh = {f: v for f, v in values.items() if versions.get(f, 0) == ticket.field_versions.get(f, 0)}
            current.jira_values = {**current.jira_values, **fresh}
            session.add(current)
            session.commit()

    def _fields(
        self, incident: Incident, ticket: JiraTicket, changes: dict[str, list[Any]]
    ) -> dict[str, Any]:
        """PUT the changed text and priority fields; returns them by incident field."""
        priority = self.mapping.priority
        fields: dict[str, Any] = {}
        expected: dict[str, Any] = {}  # what Jira will report back, per field
        if "title" in changes:
            fields["summary"] = expected["summary"] = changes["title"][1]
        if "description" in changes:
            channel_url = self.ctx.channel_url(incident.channel_id) if incident.channel_id else None
            text = description(incident, channel_url, text=changes["description"][1] or "")
            fields["description"] = expected["description"] = text
        if "priority" in changes:
            fields[priority.field] = priority.field_value(changes["priority"][1])
            expected[priority.field] = priority.value(changes["priority"][1])
        if not fields:
            return {}
        for field, value in expected.items():
            self.guard.expect(incident.id, field, value)
        self.jira.update_fields(ticket.key, fields)
        return {name: changes[name][1] for name in ("title", "description", "priority") if name in changes}

    def _assignee(self, incident: Incident, ticket: JiraTicket, commander: str | None) -> str | None:
        """Assign the commander's Jira account. A commander with none leaves the ticket unassigned (not
        on someone else) and the channel is told, once. Returns the commander the ticket now shows."""
        account = self.directory.jira_account(commander) if commander else None
        if commander and account is None:
            logger.info("incident %s: commander %s has no Jira account; unassigned", incident.id, commander)
            self.directory.report_unmatched(incident, commander, ticket.key)
        self.guard.expect(incident.id, "assignee", account)
        self.jira.assign(ticket.key, account)
        return commander if account else None

    def _status(self, incident: Incident, ticket: JiraTicket, status: Status) -> str:
        """Along the workflow's shortest path; where Jira hides the workflow, hop by hop on the issue's
        own transitions, each hop nearer the target. Either way, never through Closed. Returns the
        status the issue is left in."""
        target = self.statuses.target(status)
        fields = self.jira.issue(ticket.key, fields="status,issuetype,project")["fields"]
        current = fields["status"]["name"]
        workflow = self.jira.workflow_transitions(fields["project"]["key"], fields["issuetype"]["name"])
        path = shortest_path(workflow, current, target, statuses=self.statuses) if workflow else None
        if path is not None:
            for hop in path:
                self._take(incident, ticket, hop)
            current = target
        else:  # a hidden workflow, or one that shows no way there: the issue's own transitions decide
            current = self._walk(incident, ticket, current, target)
        if current.lower() != target.lower():
            self._report_unreachable(incident, ticket, target)
        return current

    def _walk(self, incident: Incident, ticket: JiraTicket, current: str, target: str) -> str:
        """Hop by hop towards the target; returns where the issue ends."""
        for _ in range(len(self.statuses.order)):
            if current.lower() == target.lower():
                return current
            available = from_issue_transitions(current, self.jira.transitions(ticket.key))
            hop = next_hop(available, current, target, statuses=self.statuses)
            if hop is None:
                return current
            self._take(incident, ticket, hop)
            current = hop.target
        return current

    def _take(self, incident: Incident, ticket: JiraTicket, hop: Transition) -> None:
        self.guard.expect(incident.id, "status", hop.target)
        self.jira.transition(ticket.key, hop.id)

    def _report_unreachable(self, incident: Incident, ticket: JiraTicket, target: str) -> None:
        logger.warning("incident %s: Jira %s has no path to status %s", incident.id, ticket.key, target)
        if incident.channel_id:
            with self.ctx.session() as session:
                post_later(session, incident, messages.jira_unreachable_status(ticket.key, target))
                session.commit()


def _changed_in_jira_since(session: Session, incident_id: int, update_id: int) -> set[str]:
    """Fields a Jira change updated after this Slack change was made: Jira already holds a newer value,
    which a late push (after an outage) must not overwrite."""
    query = select(IncidentUpdate.changes).where(
        IncidentUpdate.incident_id == incident_id,
        col(IncidentUpdate.id) > update_id,
        IncidentUpdate.source == Source.JIRA,
        IncidentUpdate.event_type != UpdateKind.CORRECTED,  # the bot's own write given back: no news
    )
    return {name for changes in session.exec(query) for name in changes}

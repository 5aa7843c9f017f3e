"""Slack → Jira: push the fields an incident update changed, in order, with the bounce guard set first.

Title, description and priority go in one edit; the commander becomes the assignee (Jira account
found by e-mail or JIRA_USER_MAP; none found leaves the ticket unassigned and the channel is told
once); the status is reached hop by hop along the shortest path of the issue's workflow. Before each
write the value Jira will report back is registered with the bounce guard, including each
intermediate status of a multi-hop path (taken back if the write fails). Statuses, the priority field
and its values, and which fields go to Jira at all come from the site's `JiraMapping`.

Pushes queued behind the running one are folded into it (after a Jira outage, the whole backlog of an
incident): the fewest requests that reach the same end state, one edit with each field's latest value,
the assignee once, the status straight to its final target.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session, col, select

from bot import incidents, jobs
from bot.enums import Source, Status, UpdateKind
from bot.jobs import PermanentFailure, RetryLater
from bot.logs import bind
from bot.models import Incident, IncidentUpdate, JiraTicket, Job
from sync.changelog import lock_ticket
from sync.context import SyncContext, load
from sync.directory import Directory
from sync.guards import BounceGuard
from sync.jira_client import Unanswered
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
        payload = self._coalesce(job)
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            ticket = incidents.ticket(session, incident.id)
            overtaken = _overtaken(session, incident.id, payload)
        if ticket is None:
            return  # the ticket is created from the incident's current state, which includes this change
        bind(jira=ticket.key)
        changes: dict[str, list[Any]] = {
            name: change
            for name, change in self.mapping.directions.pushed(payload["changes"]).items()
            if name not in overtaken
        }
        if overtaken:
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

    def _coalesce(self, job: Job) -> dict[str, Any]:
        """Fold the pushes queued right behind this one into it (after an outage, all of them), so they
        go as one: the latest value of each field, the status straight to its final target."""
        with self.ctx.session() as session:
            followers = jobs.absorb_followers(session, job)
            if not followers:
                return job.payload
            payload = merged([job.payload, *(follower.payload for follower in followers)])
            if not jobs.replace_payload(session, job, payload):
                return job.payload  # no longer ours: its new holder does the folding
            session.commit()
        logger.info(
            "incident %s: %d queued push(es) folded into job %s", job.incident_id, len(followers), job.id
        )
        job.payload = payload
        return payload

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
        keys = [self.guard.expect(incident.id, field, value) for field, value in expected.items()]
        with self._unless_applied(keys):
            self.jira.update_fields(ticket.key, fields)
        return {name: changes[name][1] for name in ("title", "description", "priority") if name in changes}

    def _assignee(self, incident: Incident, ticket: JiraTicket, commander: str | None) -> str | None:
        """Assign the commander's Jira account. A commander with none leaves the ticket unassigned (not
        on someone else) and the channel is told, once. Returns the commander the ticket now shows."""
        account = self.directory.jira_account(commander) if commander else None
        if commander and account is None:
            logger.info("incident %s: commander %s has no Jira account; unassigned", incident.id, commander)
            self.directory.report_unmatched(incident, commander, ticket.key)
        with self._unless_applied([self.guard.expect(incident.id, "assignee", account)]):
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
        with self._unless_applied([self.guard.expect(incident.id, "status", hop.target)]):
            self.jira.transition(ticket.key, hop.id)

    @contextmanager
    def _unless_applied(self, keys: list[str]) -> Iterator[None]:
        """Bounce keys stand only for what Jira applied: a write that failed (but one left unanswered,
        which Jira may have applied) takes its keys back."""
        try:
            yield
        except (RetryLater, PermanentFailure) as exc:
            if not isinstance(exc, Unanswered):
                self.guard.forget(keys)
            raise

    def _report_unreachable(self, incident: Incident, ticket: JiraTicket, target: str) -> None:
        logger.warning("incident %s: Jira %s has no path to status %s", incident.id, ticket.key, target)
        if incident.channel_id:
            with self.ctx.session() as session:
                post_later(session, incident, messages.jira_unreachable_status(ticket.key, target))
                session.commit()


def merged(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Several pushes as one: each field from its first old value to its last new one, remembering which
    Slack update set that last value (whether Jira changed the field since is judged from there)."""
    changes: dict[str, list[Any]] = {}
    sources: dict[str, int] = {}
    for payload in payloads:
        for name, (old, new) in payload["changes"].items():
            changes[name] = [changes[name][0] if name in changes else old, new]
            sources[name] = _source(payload, name)
    return {"changes": changes, "update_id": payloads[-1].get("update_id"), "sources": sources}


def _source(payload: dict[str, Any], name: str) -> int:
    """The Slack update that set this field's value in the payload."""
    return (payload.get("sources") or {}).get(name) or payload.get("update_id") or 0


def _overtaken(session: Session, incident_id: int, payload: dict[str, Any]) -> set[str]:
    """The payload's fields that Jira changed after the Slack update that set their value."""
    since: dict[int, set[str]] = {}
    overtaken = set()
    for name in payload["changes"]:
        source = _source(payload, name)
        if source not in since:
            since[source] = _changed_in_jira_since(session, incident_id, source)
        if name in since[source]:
            overtaken.add(name)
    return overtaken


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

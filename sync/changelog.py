"""Jira → incident: the one changelog processor behind both doors (webhook and reconciler).

Each Jira changelog history is applied once, keyed by its id: the `applied_changelog` row commits in
the same transaction as the incident update and the Slack messages it causes, so a replay (a webhook
retried, the same change seen by the reconciler) is harmless. Per field, a history older than the
newest one already applied is stale and skipped, so out-of-order deliveries end in Jira's state.

The guards of SPEC §4: the bot's own account is skipped; a value the bot just wrote is skipped once
(bounce keys); a move to Closed from a status outside the map is ignored; a close that breaks the
close rules is refused and explained; what is applied is recorded with source `jira` and never
pushed back (the outbox skips Jira-sourced updates).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import incidents
from bot.enums import Source, Status
from bot.errors import InvalidInput
from bot.forms import UpdateForm
from bot.jobs import enqueue
from bot.metrics import CHANGES_APPLIED
from bot.models import AppliedChangelog, JiraTicket
from sync.context import SyncContext
from sync.directory import Directory
from sync.guards import BounceGuard
from sync.jira_fields import strip_generated
from sync.outbox import SLACK, Kind
from sync.workflow import JIRA_TO_INCIDENT_STATUS
from views import messages

logger = logging.getLogger(__name__)


@dataclass
class Change:
    """One changelog item mapped onto the incident."""

    incident_field: str
    jira_field: str
    label: str
    value: Any
    shown_from: str | None
    shown_to: str | None
    echo_value: Any = None  # the value as the bot would have registered it with the bounce guard


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicate: bool = False


def linked_ticket(session: Session, *, issue_id: str | None, issue_key: str | None) -> JiraTicket | None:
    """The incident ticket for a Jira issue: one indexed lookup (by id, which survives a move, then key)."""
    if issue_id:
        ticket = session.exec(select(JiraTicket).where(JiraTicket.jira_id == str(issue_id))).first()
        if ticket is not None:
            return ticket
    if issue_key:
        return session.exec(select(JiraTicket).where(JiraTicket.key == issue_key)).first()
    return None


def history_id(history: dict[str, Any]) -> int:
    try:
        return int(history.get("id"))
    except (TypeError, ValueError):
        return 0


class ChangelogProcessor:
    def __init__(self, ctx: SyncContext, directory: Directory, guard: BounceGuard) -> None:
        self.ctx = ctx
        self.directory = directory
        self.guard = guard
        self._bot_account = ctx.settings.jira_bot_account_id

    @property
    def bot_account(self) -> str | None:
        """JIRA_BOT_ACCOUNT_ID, or the account of our credentials (asked once from /myself)."""
        if self._bot_account is None and self.ctx.jira is not None:
            self._bot_account = self.ctx.jira.myself().get("accountId")
        return self._bot_account

    def apply(self, *, ticket_id: int, history: dict[str, Any], door: str) -> Outcome:
        """Apply one changelog history to the ticket's incident, once."""
        outcome = Outcome()
        changelog_id = str(history.get("id") or "")
        if not changelog_id:
            outcome.skipped.append("no changelog id")
            return outcome
        with self.ctx.session() as session:
            ticket = session.get(JiraTicket, ticket_id)
            if ticket is None or session.get(AppliedChangelog, changelog_id) is not None:
                outcome.duplicate = True
                return outcome
            author = history.get("author") or {}
            changes = [] if self._own(author) else self._changes(ticket, history, outcome)
            session.add(
                AppliedChangelog(
                    changelog_id=changelog_id, issue_key=ticket.key, incident_id=ticket.incident_id
                )
            )
            try:
                self._apply(session, ticket, changes, author, history_id(history), outcome)
                session.commit()
            except IntegrityError:
                session.rollback()
                return Outcome(duplicate=True)
        for change in outcome.applied:
            CHANGES_APPLIED.labels(door=door, field=change).inc()
        return outcome

    def _own(self, author: dict[str, Any]) -> bool:
        return bool(self.bot_account) and author.get("accountId") == self.bot_account

    def _changes(self, ticket: JiraTicket, history: dict[str, Any], outcome: Outcome) -> list[Change]:
        newest = history_id(history)
        changes = []
        for item in history.get("items") or []:
            if not isinstance(item, dict):
                continue
            change = self._map(item)
            if change is None:
                continue
            if newest < int(ticket.field_versions.get(change.incident_field, 0)):
                outcome.skipped.append(f"{change.incident_field}: older than a change already applied")
                continue
            if self.guard.is_echo(ticket.incident_id, change.jira_field, change.echo_value):
                outcome.skipped.append(f"{change.incident_field}: echo of the bot's own write")
                continue
            changes.append(change)
        return changes

    def _map(self, item: dict[str, Any]) -> Change | None:
        """SPEC §4's mapping; anything else (Jira's own priority, Story Points, …) maps to nothing."""
        field_id = item.get("fieldId") or item.get("field")
        to_text, from_text = item.get("toString"), item.get("fromString")
        if field_id == "status":
            status = JIRA_TO_INCIDENT_STATUS.get((to_text or "").lower())
            if status is None:
                return None
            if status is Status.CLOSED and (from_text or "").lower() not in JIRA_TO_INCIDENT_STATUS:
                return None  # guard 3: closed from an unmapped status (e.g. Code Review)
            return Change("status", "status", "Status", status.value, from_text, to_text, to_text)
        if field_id == self.ctx.settings.jira_field_priority:
            try:
                priority = int(str(to_text).strip())
            except ValueError:
                return None
            if not 1 <= priority <= 5:
                return None
            return Change("priority", field_id, "Priority", priority, _p(from_text), f"P{priority}", to_text)
        if field_id == "summary":
            return Change("title", "summary", "Summary", (to_text or "").strip(), from_text, to_text, to_text)
        if field_id == "description":
            text = strip_generated(to_text)
            return Change(
                "description",
                "description",
                "Description",
                text,
                _short(strip_generated(from_text)),
                _short(text),
                to_text,
            )
        if field_id == "assignee":
            account = item.get("to") or item.get("tmpToAccountId")
            slack_id = self.directory.slack_user(account) if account else None
            if slack_id is None:
                return None  # unassigned, or a Jira account with no Slack user: the commander stays
            return Change("commander_id", "assignee", "Assignee", slack_id, from_text, to_text, account)
        return None

    def _apply(
        self,
        session: Session,
        ticket: JiraTicket,
        changes: list[Change],
        author: dict[str, Any],
        newest: int,
        outcome: Outcome,
    ) -> None:
        if not changes:
            return
        who = author.get("displayName") or author.get("accountId") or "someone"
        incident = incidents.get(session, ticket.incident_id)
        wanted_status = next((c.value for c in changes if c.incident_field == "status"), None)
        refused = self._close_refusal(session, incident, wanted_status)
        if refused is not None:
            changes = [c for c in changes if c.incident_field != "status"]
            self._post(session, incident, messages.jira_close_refused(ticket.key, who, refused))
            outcome.skipped.append("status: close refused by the close rules")
        changes = self._valid(session, incident, ticket, changes, outcome)
        if not changes:
            return
        values = {change.incident_field: change.value for change in changes}
        ticket.field_versions = {**ticket.field_versions, **{c.incident_field: newest for c in changes}}
        session.add(ticket)
        for change in changes:
            self._post(
                session,
                incident,
                messages.jira_change(ticket.key, change.label, change.shown_from, change.shown_to, who),
            )
            outcome.applied.append(change.incident_field)
        form = UpdateForm(**values, message=f"Changed from Jira by {who} ({ticket.key})")
        incidents.update(
            session=session,
            incident_id=incident.id,
            actor_id=None,
            form=form,
            policy=self.ctx.policy,
            source=Source.JIRA,
        )

    def _valid(
        self, session: Session, incident: Any, ticket: JiraTicket, changes: list[Change], outcome: Outcome
    ) -> list[Change]:
        """Drop (and explain) values the incident cannot take, e.g. a three-letter summary."""
        try:
            UpdateForm(**{c.incident_field: c.value for c in changes}).validate()
            return changes
        except InvalidInput as exc:
            kept = []
            for change in changes:
                if change.incident_field in exc.errors:
                    reason = exc.errors[change.incident_field]
                    self._post(
                        session, incident, f"Jira {ticket.key}: {change.label} change not applied: {reason}"
                    )
                    outcome.skipped.append(f"{change.incident_field}: {reason}")
                else:
                    kept.append(change)
            return kept

    def _close_refusal(self, session: Session, incident: Any, status: str | None) -> list[str] | None:
        if status != Status.CLOSED.value or incident.status == Status.CLOSED.value:
            return None
        return incidents.close_refusals(session, incident, self.ctx.policy) or None

    def _post(self, session: Session, incident: Any, text: str) -> None:
        if incident.channel_id:
            enqueue(session, Kind.POST, lane=SLACK, incident_id=incident.id, payload={"text": text})


def _p(value: str | None) -> str | None:
    return f"P{value}" if value and value.strip().isdigit() else value


def _short(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= 80 else value[:79] + "…"

"""Jira → incident: the one changelog processor behind both doors (webhook and reconciler).

Each Jira changelog history is applied once, keyed by its id: the `applied_changelog` row commits in
the same transaction as the incident update and the Slack messages it causes, so a replay (a webhook
retried, the same change seen by the reconciler) is harmless. Per field, a history older than the
newest one already seen is stale and skipped, so out-of-order deliveries end in Jira's state.

Histories the bot wrote itself (and echoes of its writes) count as seen: they move the field's version,
so a late, older change cannot undo them. They change nothing, with one exception: when the incident
differs from such a write because a Jira change was applied in between (one that is older in Jira, as
this history is newer: it arrived late, between the write and its echo), the write is given back to the
incident (an update of kind `corrected`). Jira's latest value wins on both sides, the bot's own writes
included; where the incident's value came from Slack instead, Slack is ahead and its push is on its way.

The loop guards: the bot's own account is skipped (and the bounce keys its writes set are taken
then, so they cannot swallow a person's identical change later); a value the bot just wrote is skipped
once (bounce keys); a move to Closed from a status outside the map is ignored; a close that breaks the
close rules is refused and explained; what is applied is recorded with source `jira` and never pushed
back (the outbox skips Jira-sourced updates).

What an item means comes from the site's `JiraMapping`: its statuses, its priority field and values,
and the fields applied from Jira at all (a field synced `to_jira` only is seen, never applied; one
synced `off` is ignored). An assignee with no Slack user leaves the commander as it is, and the channel
is told who it was.

Input is untrusted (any JSON a webhook may carry): ids, texts and accounts of the wrong type or shape
map to nothing rather than to an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot import incidents
from bot.enums import Source, Status, UpdateKind
from bot.errors import InvalidInput
from bot.forms import UpdateForm
from bot.metrics import CHANGES_APPLIED
from bot.models import AppliedChangelog, Incident, JiraTicket
from bot.rules import JIRA
from sync.bookmarks import TICKET, bookmark_later
from sync.context import SyncContext
from sync.directory import Directory
from sync.guards import BounceGuard
from sync.jira_fields import strip_generated
from sync.jira_mapping import JiraMapping
from sync.jira_people import person_ids
from sync.jira_values import jira_value
from sync.outbox import post_later
from sync.workflow import StatusMap
from views import messages

logger = logging.getLogger(__name__)

_NUMERIC_ID = re.compile(r"[0-9]{1,18}")
_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}-[0-9]{1,18}")
#: a person's id: an accountId, or a Data Center user key or name (older keys are the lower-cased name,
#: and directory names may hold spaces, apostrophes or `+`): any text but control characters (and lone
#: surrogates, which no database or URL takes)
_ACCOUNT = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,255}")


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


def changelog_key(value: Any) -> str | None:
    """A Jira changelog id in one canonical form, or None when the value is not one (Jira's are numeric)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 0 < value < 10**18 else None
    if isinstance(value, str) and _NUMERIC_ID.fullmatch(value.strip()) and int(value) > 0:
        return str(int(value))
    return None


def history_id(history: Any) -> int:
    """The numeric id of a changelog history (0 when it has none), for ordering and versions."""
    key = changelog_key(history.get("id")) if isinstance(history, dict) else None
    return int(key) if key else 0


class LinkedTicket(NamedTuple):
    id: int
    incident_id: int
    key: str


_LINKED = sa.text(
    "SELECT id, incident_id, key, jira_id FROM jira_ticket "
    "WHERE jira_id = :issue_id OR key = :issue_key LIMIT 2"
)


def issue_ref(issue_id: Any, issue_key: Any) -> tuple[str | None, str | None]:
    """An issue's id and key as a delivery gave them, each None unless it has the shape Jira gives
    (anything else, e.g. a NUL byte, never reaches a query)."""
    valid_id = issue_id if isinstance(issue_id, str) and _NUMERIC_ID.fullmatch(issue_id) else None
    valid_key = issue_key if isinstance(issue_key, str) and _ISSUE_KEY.fullmatch(issue_key) else None
    return valid_id, valid_key


def linked_ticket(engine: Engine, *, issue_id: Any, issue_key: Any) -> LinkedTicket | None:
    """The incident ticket for a Jira issue, by id (which survives a move) or key.

    One indexed query on a pooled connection, no ORM session: the webhook route runs this for
    every delivery, most of them about issues no incident is linked to.
    """
    issue_id, issue_key = issue_ref(issue_id, issue_key)
    if not issue_id and not issue_key:
        return None
    with engine.connect() as connection:
        rows = connection.execute(_LINKED, {"issue_id": issue_id or "", "issue_key": issue_key or ""}).all()
    row = next((r for r in rows if r.jira_id == issue_id), None) or (rows[0] if rows else None)
    return LinkedTicket(row.id, row.incident_id, row.key) if row else None


class ChangelogProcessor:
    def __init__(
        self, ctx: SyncContext, directory: Directory, guard: BounceGuard, mapping: JiraMapping
    ) -> None:
        self.ctx = ctx
        self.directory = directory
        self.guard = guard
        self.mapping = mapping
        self.statuses = mapping.statuses
        configured = ctx.settings.jira_bot_account_id
        self._bot_accounts = frozenset({configured}) if configured else None

    @property
    def bot_accounts(self) -> frozenset[str]:
        """JIRA_BOT_ACCOUNT_ID, or the ids of our credentials' account (asked once from /myself): its
        accountId on Cloud, its name and key on Server/Data Center."""
        if self._bot_accounts is None and self.ctx.jira is not None:
            self._bot_accounts = person_ids(self.ctx.jira.myself())
        return self._bot_accounts or frozenset()

    def apply(self, *, ticket_id: int, history: dict[str, Any], door: str, issue_key: Any = None) -> Outcome:
        """Apply one changelog history to the ticket's incident, once; `issue_key` is the issue's key
        as the delivery or search that brought the history shows it (a moved issue's new key)."""
        outcome = Outcome()
        changelog_id = changelog_key(history.get("id")) if isinstance(history, dict) else None
        if changelog_id is None:
            outcome.skipped.append("no changelog id")
            return outcome
        raw_items = history.get("items")
        items = [i for i in raw_items if isinstance(i, dict)] if isinstance(raw_items, list) else []
        author = as_dict(history.get("author"))
        own = self._own(author)
        synced = self.mapping.directions.synced
        mapped = _last_per_field(c for c in (self._map(i) for i in items) if c and synced(c.incident_field))
        with self.ctx.session() as session:
            lock_ticket(session, ticket_id)
            ticket = session.get(JiraTicket, ticket_id)
            if ticket is None or session.get(AppliedChangelog, changelog_id) is not None:
                outcome.duplicate = True
                return outcome
            run = _Applying(
                session,
                incidents.get(session, ticket.incident_id),
                ticket,
                int(changelog_id),
                _who(author),
                outcome,
            )
            self._follow_move(run, _moved_to(items) or issue_key)
            changes, corrections, seen = self._sort(run, mapped, own)
            changes, corrections = self._admissible(run, changes), self._admissible(run, corrections)
            touched = seen + [c.incident_field for c in (*changes, *corrections)]
            raw = _raw_status(items, ticket, run.newest, self.statuses) if synced("status") else {}
            known = {**raw, **_known_values(mapped, touched, self.statuses)}
            if touched:
                ticket.field_versions = {**ticket.field_versions, **dict.fromkeys(touched, run.newest)}
            if known:
                ticket.jira_values = {**ticket.jira_values, **known}
                session.add(ticket)
            session.add(
                AppliedChangelog(
                    changelog_id=changelog_id, issue_key=ticket.key, incident_id=ticket.incident_id
                )
            )
            try:
                self._record(run, changes, UpdateKind.UPDATED)
                self._record(run, corrections, UpdateKind.CORRECTED)
                session.commit()
            except IntegrityError:
                session.rollback()
                return Outcome(duplicate=True)
        for change in outcome.applied:
            CHANGES_APPLIED.labels(door=door, field=change).inc()
        return outcome

    def _follow_move(self, run: _Applying, key: Any) -> None:
        """An issue moved to another project keeps its id and gets a new key: the ticket row takes it
        (messages, the channel's bookmark, announcement and topic, and the reconciler's projects follow),
        unless a newer history was seen."""
        ticket = run.ticket
        if not isinstance(key, str) or not _ISSUE_KEY.fullmatch(key) or key == ticket.key:
            return
        if run.newest < int(ticket.field_versions.get("key", 0)):
            return
        old, old_url, ticket.key = ticket.key, ticket.url, key
        ticket.url = self.ctx.jira.browse_url(key) if self.ctx.jira else ticket.url.replace(old, key)
        ticket.field_versions = {**ticket.field_versions, "key": run.newest}
        run.session.add(ticket)
        post_later(run.session, run.incident, messages.jira_moved(old, key, run.who))
        bookmark_later(run.session, run.incident, TICKET, replaces=old_url)
        run.outcome.applied.append("key")

    def _own(self, author: dict[str, Any]) -> bool:
        return bool(self.bot_accounts & person_ids(author))

    def _sort(
        self, run: _Applying, mapped: list[Change], own: bool
    ) -> tuple[list[Change], list[Change], list[str]]:
        """Split the mapped items into changes to make, corrections (the bot's own writes to give back)
        and fields merely seen (own or echo writes the incident agrees with, values it already has)."""
        changes: list[Change] = []
        corrections: list[Change] = []
        seen: list[str] = []
        for change in mapped:
            name = change.incident_field
            if run.newest < int(run.ticket.field_versions.get(name, 0)):
                run.outcome.skipped.append(f"{name}: older than a change already applied")
                continue
            if not self.mapping.directions.applies(name):
                seen.append(name)
                run.outcome.skipped.append(f"{name}: synced to Jira only (JIRA_SYNC_FIELDS)")
                continue
            echo = self.guard.is_echo(run.ticket.incident_id, change.jira_field, change.echo_value)
            if (own or echo) and self._overtaken_write(run, change):
                corrections.append(change)
            elif own or echo:
                seen.append(name)
                run.outcome.skipped.append(f"{name}: {'made by the bot' if own else 'echo of the bot write'}")
            elif change.incident_field == "commander_id" and change.value is None:
                seen.append(name)  # Jira's assignee is newer than any older change still to arrive
                text = messages.jira_assignee_unmatched(
                    run.ticket.key, change.shown_from, change.shown_to, run.who, run.incident.commander_id
                )
                post_later(run.session, run.incident, text)
                run.outcome.skipped.append(f"{name}: the Jira assignee has no Slack user")
            elif _already(run.incident, change, self.statuses):
                seen.append(name)
                run.outcome.skipped.append(f"{name}: the incident already has it")
            else:
                changes.append(change)
        return changes, corrections, seen

    def _overtaken_write(self, run: _Applying, change: Change) -> bool:
        """Whether this write of the bot's, the newest Jira change of its field, must be given back.

        That is so when the incident differs from it because of a Jira change applied earlier (which, this
        history being newer, was older in Jira: it arrived late, between the write and its echo). When the
        incident's value came from Slack, Slack is ahead: its own push (and echo) is on its way.
        """
        if _already(run.incident, change, self.statuses):
            return False
        origin = incidents.last_change_source(run.session, run.incident.id, change.incident_field)
        if origin is None or origin[0] is not Source.JIRA:
            return False
        return change.value is not None  # an assignee with no Slack user cannot be given back

    def _map(self, item: dict[str, Any]) -> Change | None:
        """Jira item → incident field (status, the configured priority field, summary, description,
        assignee); anything else (Jira's own priority when it is not the configured one, Story Points,
        …) maps to nothing. An assignee with no Slack user maps to a commander of None."""
        field_id = self._field_id(item)
        to_text, from_text = _clean(item.get("toString")), _clean(item.get("fromString"))
        if field_id == "status":
            status = self.statuses.incident_status(to_text)
            if status is None:
                return None
            if status is Status.CLOSED and self.statuses.incident_status(from_text) is None:
                return None  # guard 3: closed from a status outside the map (e.g. Code Review)
            return Change("status", "status", "Status", status.value, from_text, to_text, to_text)
        priorities = self.mapping.priority
        if field_id == priorities.field:
            priority = priorities.priority(to_text)
            if priority is None:
                return None
            # the bounce key holds the value the bot writes for this priority, however Jira spells it
            echo = priorities.value(priority)
            return Change(
                "priority", field_id, "Priority", priority, priorities.shown(from_text), f"P{priority}", echo
            )
        if field_id == "summary":
            if to_text is None:
                return None
            return Change("title", "summary", "Summary", to_text.strip(), from_text, to_text, to_text)
        if field_id == "description":
            if item.get("toString") is not None and to_text is None:
                return None  # not text at all
            text = strip_generated(to_text)
            shown_from, shown_to = _short(strip_generated(from_text)), _short(text)
            return Change("description", "description", "Description", text, shown_from, shown_to, to_text)
        if field_id == "assignee":
            account = _account(item.get("to")) or _account(item.get("tmpToAccountId"))
            if account is None:
                return None  # unassigned: the commander stays
            slack_id = self.directory.slack_user(account)  # before the ticket's lock: it may write
            return Change("commander_id", "assignee", "Assignee", slack_id, from_text, to_text, account)
        return None

    def _field_id(self, item: dict[str, Any]) -> Any:
        """The item's field id: `fieldId` (Cloud), else `field`, which on Server/Data Center is the id
        of a system field but the display name of a custom one (matched through `GET field`)."""
        if item.get("fieldId"):
            return item["fieldId"]
        name = item.get("field")
        if item.get("fieldtype") == "custom" and isinstance(name, str) and self.ctx.jira is not None:
            return self.ctx.jira.field_id_named(name) or name
        return name

    def _admissible(self, run: _Applying, changes: list[Change]) -> list[Change]:
        """Drop (and explain in the channel) a refused close and values the incident cannot take."""
        status = next((c for c in changes if c.incident_field == "status"), None)
        refused = self._close_refusal(run.session, run.incident, status.value if status else None)
        if status is not None and refused is not None:
            changes = [c for c in changes if c.incident_field != "status"]
            text = messages.jira_close_refused(run.ticket.key, run.who, status.shown_to, refused)
            post_later(run.session, run.incident, text)
            run.outcome.skipped.append("status: close refused by the close rules")
        return self._valid(run, changes)

    def _valid(self, run: _Applying, changes: list[Change]) -> list[Change]:
        """Drop (and explain) values the incident cannot take, e.g. a three-letter summary."""
        try:
            UpdateForm(**{c.incident_field: c.value for c in changes}).validate()
            return changes
        except InvalidInput as exc:
            kept = []
            for change in changes:
                if change.incident_field in exc.errors:
                    reason = exc.errors[change.incident_field]
                    refusal = messages.jira_change_refused(run.ticket.key, change.label, reason)
                    post_later(run.session, run.incident, refusal)
                    run.outcome.skipped.append(f"{change.incident_field}: {reason}")
                else:
                    kept.append(change)
            return kept

    def _record(self, run: _Applying, changes: list[Change], kind: UpdateKind) -> None:
        """The channel messages and the Jira-sourced incident update, in the caller's transaction."""
        if not changes:
            return
        for change in changes:
            post_later(
                run.session,
                run.incident,
                messages.jira_change(
                    run.ticket.key, change.label, change.shown_from, change.shown_to, run.who
                ),
            )
            run.outcome.applied.append(change.incident_field)
        form = UpdateForm(
            **{c.incident_field: c.value for c in changes},
            message=f"Changed from Jira by {run.who} ({run.ticket.key})",
        )
        incidents.update(
            session=run.session,
            incident_id=run.incident.id,
            actor=JIRA,
            form=form,
            policy=self.ctx.policy,
            kind=kind,
        )

    def _close_refusal(self, session: Session, incident: Incident, status: str | None) -> list[str] | None:
        if status != Status.CLOSED or incident.status == Status.CLOSED:
            return None
        return incidents.close_refusals(session, incident, self.ctx.policy) or None


@dataclass
class _Applying:
    """One history being applied: where it goes and what became of it."""

    session: Session
    incident: Incident
    ticket: JiraTicket
    newest: int
    who: str
    outcome: Outcome


def _raw_status(
    items: list[dict[str, Any]], ticket: JiraTicket, newest: int, statuses: StatusMap
) -> dict[str, Any]:
    """The ticket's status as Jira now says, mapped or not (a ticket moved to `Code Review` does not
    move the incident, but the two sides do not agree either)."""
    names = [_clean(i.get("toString")) for i in items if (i.get("fieldId") or i.get("field")) == "status"]
    if not names or names[-1] is None or newest < int(ticket.field_versions.get("status", 0)):
        return {}
    return {"status": jira_value("status", names[-1], statuses)}


def _moved_to(items: list[dict[str, Any]]) -> str | None:
    """The new key a move gives the issue (its `Key` item: `issuekey` on Cloud), if it was moved."""
    keys = [i.get("toString") for i in items if (i.get("fieldId") or i.get("field")) in ("issuekey", "Key")]
    return keys[-1] if keys and isinstance(keys[-1], str) else None


def _known_values(mapped: list[Change], fields: list[str], statuses: StatusMap) -> dict[str, Any]:
    """What Jira now holds for these fields, in the terms `/incident status` compares (see
    `sync.jira_values`); an assignee the bot could not map to a Slack user is left unknown."""
    return {
        c.incident_field: jira_value(
            c.incident_field, c.shown_to if c.incident_field == "status" else c.value, statuses
        )
        for c in mapped
        if c.incident_field in fields and (c.incident_field != "commander_id" or c.value is not None)
    }


def lock_ticket(session: Session, ticket_id: int) -> None:
    """Hold the ticket row until commit, so the two doors (and the pusher's bookkeeping) touch one
    ticket one at a time.

    A write that changes nothing, rather than SELECT … FOR UPDATE: SQLite ignores FOR UPDATE (and reads
    outside a transaction), but a write makes it take its write lock; PostgreSQL locks the row.
    """
    session.execute(update(JiraTicket).where(col(JiraTicket.id) == ticket_id).values(url=JiraTicket.url))


def _already(incident: Incident, change: Change, statuses: StatusMap) -> bool:
    """The incident already says this; for a status, also when its own status maps to that Jira status
    (the many-to-one rule: an incident in Post-mortem is where the default Jira's `Reporter validation`
    leads, so no step back to Mitigated)."""
    if getattr(incident, change.incident_field) == change.value:
        return True
    if change.incident_field == "status":
        current = statuses.target(Status(incident.status)).lower()
        return current == (change.shown_to or "").strip().lower()
    return False


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clean(value: Any) -> str | None:
    """Text as the database can store it (no NUL, no lone surrogates); None for anything but text."""
    if not isinstance(value, str):
        return None
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _account(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() and _ACCOUNT.fullmatch(value) else None


def _who(author: dict[str, Any]) -> str:
    for key in ("displayName", "accountId", "name"):
        name = _clean(author.get(key))
        if name and name.strip():
            return name.strip()[:100]
    return "someone"


def _last_per_field(changes: Iterable[Change]) -> list[Change]:
    """One change per incident field: within a history Jira lists items in order, so the last wins.
    (Two status items in one history must not let the close rules see one value and apply another.)"""
    return list({change.incident_field: change for change in changes}.values())


def _short(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= 80 else value[:79] + "…"

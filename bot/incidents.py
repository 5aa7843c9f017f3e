"""The incident service: the use cases over the incident, its history and the events they cause.

Each use case checks who may do it (`bot.rules`), changes the incident row, writes exactly one
`IncidentUpdate` describing what really changed, and records a domain event so that `sync/` enqueues
the jobs that must follow. None of them commits: the caller owns the transaction and commits once
(`bot.uow`), so a listener, a job handler or the changelog processor can add its own rows to the same
commit. Nothing here talks to Slack or Jira.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import events
from bot.enums import Source, Status, UpdateKind
from bot.errors import BotError, CloseRefused, IncidentNotFound, InvalidInput
from bot.forms import CloseForm, DeclareForm, KeyEventInput, UpdateForm, validate_key_events
from bot.models import Change, Incident, IncidentUpdate, JiraPostMortem, JiraTicket, KeyEvent, utcnow
from bot.rules import LEAD_STATUSES, Actor, Policy, check_can_close, check_can_update, close_blockers

_REFERENCE = re.compile(r"^#?(\d+)$")
_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")


def get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"#{incident_id}")
    return incident


def find(session: Session, reference: str) -> Incident:
    """Resolve `#12`, `12` or a Jira key (incident ticket or post-mortem) to an incident."""
    reference = reference.strip()
    if match := _REFERENCE.match(reference):
        return get(session, int(match.group(1)))
    key = reference.upper()
    if _JIRA_KEY.match(key):
        for model in (JiraTicket, JiraPostMortem):
            link = session.exec(select(model).where(model.key == key)).first()
            if link is not None:
                return get(session, link.incident_id)
    raise IncidentNotFound(reference)


def for_channel(session: Session, channel_id: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.channel_id == channel_id)).first()


def open_incidents(session: Session) -> list[Incident]:
    """Incidents not closed, newest first."""
    query = select(Incident).where(Incident.status != Status.CLOSED).order_by(col(Incident.id).desc())
    return list(session.exec(query))


def ticket(session: Session, incident_id: int) -> JiraTicket | None:
    return session.exec(select(JiraTicket).where(JiraTicket.incident_id == incident_id)).first()


def postmortem(session: Session, incident_id: int) -> JiraPostMortem | None:
    return session.exec(select(JiraPostMortem).where(JiraPostMortem.incident_id == incident_id)).first()


def has_postmortem(session: Session, incident_id: int) -> bool:
    return (
        session.exec(select(JiraPostMortem.id).where(JiraPostMortem.incident_id == incident_id)).first()
        is not None
    )


def declare(
    *, session: Session, reporter_id: str, form: DeclareForm, policy: Policy, now: datetime | None = None
) -> Incident:
    """Create the incident and its `declared` update; sync reacts with channel and ticket jobs."""
    form.validate(teams=list(policy.teams), categories=list(policy.categories))
    now = now or utcnow()
    incident = Incident(
        title=form.title.strip(),
        description=(form.description or "").strip(),
        status=Status.OPEN,
        priority=form.priority,
        environments=list(dict.fromkeys(form.environments)),
        platform=form.platform,
        impacts={kind: level for kind, level in form.impacts.items() if level},
        zendesk_ticket_id=form.zendesk_ticket_id or None,
        seller_contract_id=form.seller_contract_id or None,
        zoho_desk_ticket_id=form.zoho_desk_ticket_id or None,
        is_key_account=form.is_key_account,
        is_seller_in_golden_list=form.is_seller_in_golden_list,
        suggested_team_routing=form.suggested_team_routing if form.priority >= 4 else None,
        category=form.category or None,
        reporter_id=reporter_id,
        commander_id=form.commander_id or reporter_id,
        declared_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    changes = {"status": Change(None, incident.status), "priority": Change(None, incident.priority)}
    update = _record(session, incident, Actor(reporter_id), UpdateKind.DECLARED, changes, None, now)
    events.record(session, events.IncidentDeclared(incident=incident, update=update))
    return incident


def update(
    *,
    session: Session,
    incident_id: int,
    actor: Actor,
    form: UpdateForm,
    policy: Policy,
    shown: dict[str, Any] | None = None,
    kind: UpdateKind = UpdateKind.UPDATED,
    now: datetime | None = None,
) -> IncidentUpdate | None:
    """Apply the fields that really changed; None when nothing did. A close obeys the close rules.

    `shown` holds what the person's form showed when it was opened: a field counts as changed only
    when the submitted value differs from it, so a form left open while the incident changed elsewhere
    (in Jira, in another form) never reverts that change. Without it, the incident's current values
    are the reference. `kind` is `CORRECTED` for a correction from Jira (see `UpdateKind`).
    """
    incident = get(session, incident_id)
    check_can_update(incident, actor)
    wanted = form.values()
    reference = {**_current(incident, wanted), **(shown or {})}
    edited = {name: value for name, value in wanted.items() if reference.get(name) != value}
    if (status := edited.get("status")) in LEAD_STATUSES and status != incident.status:
        check_can_close(incident, actor, policy=policy, action=LEAD_STATUSES[Status(status)])
    form.validate()
    changes = {
        name: Change(getattr(incident, name), value)
        for name, value in edited.items()
        if getattr(incident, name) != value
    }
    if not changes and not form.message:
        return None
    if "status" in changes and changes["status"].new == Status.CLOSED:
        _check_close(session, incident, policy)
    now = now or utcnow()
    for name, change in changes.items():
        setattr(incident, name, Status(change.new) if name == "status" else change.new)
    return _updated(session, incident, _record(session, incident, actor, kind, changes, form.message, now))


def close(
    *,
    session: Session,
    incident_id: int,
    actor: Actor,
    form: CloseForm,
    policy: Policy,
    now: datetime | None = None,
) -> IncidentUpdate:
    """Close with a reason, or raise CloseRefused listing what still blocks it."""
    incident = get(session, incident_id)
    check_can_close(incident, actor, policy=policy)
    form.validate()
    if incident.status == Status.CLOSED:
        raise InvalidInput({"reason": "This incident is already closed."})
    _check_close(session, incident, policy)
    now = now or utcnow()
    changes = {"status": Change(incident.status, Status.CLOSED), "closure_reason": Change(None, form.reason)}
    incident.status = Status.CLOSED
    incident.closure_reason = form.reason
    update = _record(session, incident, actor, UpdateKind.CLOSED, changes, form.message, now)
    return _updated(session, incident, update)


def _updated(session: Session, incident: Incident, update: IncidentUpdate) -> IncidentUpdate:
    """After the history row of a change of the incident's fields: its times, and the event that tells
    Slack and Jira."""
    status = update.change("status")
    if status is not None:
        if status.new == Status.CLOSED:
            incident.closed_at = update.created_at
        incident.mitigated_at = _mitigated_at(incident, status, update.created_at)
    incident.updated_at = update.created_at
    session.add(incident)
    events.record(session, events.IncidentUpdated(incident=incident, update=update, source=update.source))
    return update


def _mitigated_at(incident: Incident, status: Change, now: datetime) -> datetime | None:
    """When the incident was last mitigated: set as the status reaches Mitigated (or beyond) from below,
    kept while it stays there, cleared when it falls back below."""
    mitigated = Status.MITIGATED.rank
    if Status(status.new).rank < mitigated:
        return None
    if status.old is None or Status(status.old).rank < mitigated:
        return now
    return incident.mitigated_at


def _current(incident: Incident, values: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in values}


def close_refusals(session: Session, incident: Incident, policy: Policy) -> list[str]:
    """What blocks closing this incident now (shown in the close modal)."""
    return close_blockers(incident, has_postmortem=has_postmortem(session, incident.id), policy=policy)


def _check_close(session: Session, incident: Incident, policy: Policy) -> None:
    if reasons := close_refusals(session, incident, policy):
        raise CloseRefused(reasons)


def set_key_events(
    *,
    session: Session,
    incident_id: int,
    actor: Actor,
    events_in: dict[str, KeyEventInput],
    now: datetime | None = None,
) -> IncidentUpdate | None:
    """Save the key events that changed (set, moved, re-noted or cleared); None when none did."""
    incident = get(session, incident_id)
    check_can_update(incident, actor)
    validate_key_events(events_in)
    existing = {
        event.kind: event
        for event in session.exec(select(KeyEvent).where(KeyEvent.incident_id == incident_id))
    }
    changes: dict[str, Change] = {}
    for kind, wanted in events_in.items():
        current = existing.get(kind)
        message = (wanted.message or "").strip() or None
        before = [current.at.isoformat(), current.message] if current else None
        if wanted.at is None:
            if current is not None:
                session.delete(current)
                changes[kind] = Change(before, None)
            continue
        after = [wanted.at.isoformat(), message]
        if before != after:
            if current is None:
                current = KeyEvent(incident_id=incident_id, kind=kind, at=wanted.at)
            current.at, current.message = wanted.at, message
            session.add(current)
            changes[kind] = Change(before, after)
    if not changes:
        return None
    now = now or utcnow()
    incident.updated_at = now
    session.add(incident)
    update = _record(session, incident, actor, UpdateKind.KEY_EVENTS, changes, None, now)
    events.record(session, events.KeyEventsUpdated(incident=incident, update=update, source=actor.source))
    return update


class PostmortemsOff(BotError):
    def __init__(self) -> None:
        super().__init__("Post-mortems are written in Jira, and Jira sync is off (ENABLE_JIRA / JIRA_URL).")


def request_postmortem(
    *, session: Session, incident_id: int, actor: Actor, policy: Policy
) -> JiraPostMortem | None:
    """Ask for the post-mortem now (it is created once, by a job, whatever the number of requests);
    the existing one when there is one."""
    incident = get(session, incident_id)
    check_can_close(incident, actor, policy=policy, action=LEAD_STATUSES[Status.POST_MORTEM])
    if existing := postmortem(session, incident_id):
        return existing
    if not policy.postmortems_enabled:
        raise PostmortemsOff()
    _record(session, incident, actor, UpdateKind.POSTMORTEM_REQUESTED, {}, None, utcnow())
    events.record(session, events.PostmortemRequested(incident=incident, actor_id=actor.user_id))
    return None


def last_change_source(session: Session, incident_id: int, field: str) -> tuple[Source, UpdateKind] | None:
    """Where the incident's current value of `field` came from: the source and kind of the newest
    update that changed it (None when none did since it was declared)."""
    query = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(col(IncidentUpdate.id).desc())
    )
    for update in session.exec(query):
        if field in update.changes:
            return update.source, update.event_type
    return None


def history(session: Session, incident_id: int) -> list[IncidentUpdate]:
    query = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(col(IncidentUpdate.created_at), col(IncidentUpdate.id))
    )
    return list(session.exec(query))


def key_events(session: Session, incident_id: int) -> list[KeyEvent]:
    query = select(KeyEvent).where(KeyEvent.incident_id == incident_id).order_by(col(KeyEvent.at))
    return list(session.exec(query))


def _record(
    session: Session,
    incident: Incident,
    actor: Actor,
    kind: UpdateKind,
    changes: dict[str, Change],
    message: str | None,
    now: datetime,
) -> IncidentUpdate:
    """The history row of one use case; Jira's changes have no author (the message names who)."""
    update = IncidentUpdate(
        incident_id=incident.id,
        created_at=now,
        author_id=actor.user_id,
        source=actor.source,
        event_type=kind,
        changes={name: list(change) for name, change in changes.items()},
        message=message,
    )
    session.add(update)
    session.flush()
    return update

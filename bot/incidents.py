"""The incident service: every use case is one transaction over the incident, its history and its jobs.

Each function changes the incident row, writes exactly one `IncidentUpdate` describing what really
changed, and sends a domain event so that `sync/` records the jobs that must follow, all before the
single commit. Nothing here talks to Slack or Jira.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import events
from bot.enums import Source, Status
from bot.errors import CloseRefused, IncidentNotFound, InvalidInput
from bot.forms import CloseForm, DeclareForm, KeyEventInput, UpdateForm, validate_key_events
from bot.models import Incident, IncidentUpdate, JiraPostMortem, JiraTicket, KeyEvent, utcnow
from bot.rules import Policy, close_blockers

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
    query = select(Incident).where(Incident.status != Status.CLOSED.value).order_by(col(Incident.id).desc())
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
        status=Status.OPEN.value,
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
    update = _record(
        session,
        incident,
        author_id=reporter_id,
        source=Source.SLACK,
        event_type="declared",
        changes={"status": [None, incident.status], "priority": [None, incident.priority]},
        message=None,
        now=now,
    )
    events.incident_declared.send(session, incident=incident, update=update)
    session.commit()
    return incident


def update(
    *,
    session: Session,
    incident_id: int,
    actor_id: str | None,
    form: UpdateForm,
    policy: Policy,
    source: Source = Source.SLACK,
    now: datetime | None = None,
) -> IncidentUpdate | None:
    """Apply the fields that really changed; None when nothing did. A close obeys the close rules."""
    form.validate()
    incident = get(session, incident_id)
    changes = {
        name: [getattr(incident, name), value]
        for name, value in form.values().items()
        if getattr(incident, name) != value
    }
    if not changes and not form.message:
        return None
    if changes.get("status", [None, None])[1] == Status.CLOSED.value:
        _check_close(session, incident, policy)
    now = now or utcnow()
    for name, (_old, new) in changes.items():
        setattr(incident, name, new)
    if "status" in changes and incident.status == Status.CLOSED.value:
        incident.closed_at = now
    incident.updated_at = now
    session.add(incident)
    update = _record(
        session,
        incident,
        author_id=actor_id,
        source=source,
        event_type="updated",
        changes=changes,
        message=form.message,
        now=now,
    )
    events.incident_updated.send(session, incident=incident, update=update, source=source)
    session.commit()
    return update


def close(
    *,
    session: Session,
    incident_id: int,
    actor_id: str | None,
    form: CloseForm,
    policy: Policy,
    source: Source = Source.SLACK,
    now: datetime | None = None,
) -> IncidentUpdate:
    """Close with a reason, or raise CloseRefused listing what still blocks it."""
    form.validate()
    incident = get(session, incident_id)
    if incident.status == Status.CLOSED.value:
        raise InvalidInput({"reason": "This incident is already closed."})
    _check_close(session, incident, policy)
    now = now or utcnow()
    changes: dict[str, Any] = {"status": [incident.status, Status.CLOSED.value]}
    incident.status = Status.CLOSED.value
    incident.closure_reason = form.reason
    incident.closed_at = incident.updated_at = now
    session.add(incident)
    update = _record(
        session,
        incident,
        author_id=actor_id,
        source=source,
        event_type="closed",
        changes={**changes, "closure_reason": [None, form.reason]},
        message=form.message,
        now=now,
    )
    events.incident_updated.send(session, incident=incident, update=update, source=source)
    session.commit()
    return update


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
    actor_id: str | None,
    events_in: dict[str, KeyEventInput],
    now: datetime | None = None,
) -> IncidentUpdate | None:
    """Save the key events that changed (set, moved, re-noted or cleared); None when none did."""
    validate_key_events(events_in)
    incident = get(session, incident_id)
    existing = {
        event.kind: event
        for event in session.exec(select(KeyEvent).where(KeyEvent.incident_id == incident_id))
    }
    changes: dict[str, Any] = {}
    for kind, wanted in events_in.items():
        current = existing.get(kind)
        message = (wanted.message or "").strip() or None
        before = [current.at.isoformat(), current.message] if current else None
        if wanted.at is None:
            if current is not None:
                session.delete(current)
                changes[kind] = [before, None]
            continue
        after = [wanted.at.isoformat(), message]
        if before != after:
            if current is None:
                current = KeyEvent(incident_id=incident_id, kind=kind, at=wanted.at)
            current.at, current.message = wanted.at, message
            session.add(current)
            changes[kind] = [before, after]
    if not changes:
        return None
    now = now or utcnow()
    incident.updated_at = now
    session.add(incident)
    update = _record(
        session,
        incident,
        author_id=actor_id,
        source=Source.SLACK,
        event_type="key_events",
        changes=changes,
        message=None,
        now=now,
    )
    events.key_events_updated.send(session, incident=incident, update=update, source=Source.SLACK)
    session.commit()
    return update


def request_postmortem(*, session: Session, incident_id: int, actor_id: str | None) -> Incident:
    """Ask for the post-mortem now (it is created once, by a job, whatever the number of requests)."""
    incident = get(session, incident_id)
    _record(
        session,
        incident,
        author_id=actor_id,
        source=Source.SLACK,
        event_type="postmortem_requested",
        changes={},
        message=None,
        now=utcnow(),
    )
    events.postmortem_requested.send(session, incident=incident, actor_id=actor_id)
    session.commit()
    return incident


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
    *,
    author_id: str | None,
    source: Source,
    event_type: str,
    changes: dict[str, Any],
    message: str | None,
    now: datetime,
) -> IncidentUpdate:
    update = IncidentUpdate(
        incident_id=incident.id,
        created_at=now,
        author_id=author_id,
        source=source.value,
        event_type=event_type,
        changes=changes,
        message=message,
    )
    session.add(update)
    session.flush()
    return update

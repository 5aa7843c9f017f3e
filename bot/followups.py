"""Follow-ups: an incident's action items, each created once as a Jira issue and followed until done.

The row is written at once (the request); the Jira issue is made by a durable job, so a Slack user
never waits on Jira and a refused creation stays visible and retriable. Whoever may update the
incident may add follow-ups, to a closed incident too: the work after an incident outlives it.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import events, incidents
from bot.forms import FollowUpForm
from bot.models import FollowUp
from bot.rules import Actor, check_can_update


def request(*, session: Session, incident_id: int, actor: Actor, form: FollowUpForm) -> FollowUp:
    """Record a follow-up to create in Jira (InvalidInput keyed by field on bad input)."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    form.validate()
    followup = FollowUp(
        incident_id=incident.id,
        summary=form.summary.strip(),
        description=(form.description or "").strip(),
        assignee_id=form.assignee_id,
        due_date=form.due_date,
        requested_by=actor.user_id or "",
    )
    session.add(followup)
    session.flush()
    events.record(session, events.FollowUpRequested(incident=incident, followup=followup))
    return followup


def of_incident(session: Session, incident_id: int) -> list[FollowUp]:
    """The incident's follow-ups, oldest first."""
    query = select(FollowUp).where(FollowUp.incident_id == incident_id).order_by(col(FollowUp.id))
    return list(session.exec(query).all())


def open_for(session: Session, user_id: str, *, limit: int) -> list[FollowUp]:
    """Follow-ups assigned to this user, created in Jira and not done: the first `limit`, soonest due
    first (those without a due date last)."""
    query = (
        select(FollowUp)
        .where(FollowUp.assignee_id == user_id, col(FollowUp.key).is_not(None), col(FollowUp.done).is_(False))
        .order_by(col(FollowUp.due_date).is_(None), col(FollowUp.due_date), col(FollowUp.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def by_issue(session: Session, issue_id: str | None, key: str | None) -> FollowUp | None:
    """The follow-up that is this Jira issue (by id, or by key), if any."""
    if issue_id:
        found = session.exec(select(FollowUp).where(FollowUp.jira_id == issue_id)).first()
        if found is not None:
            return found
    return session.exec(select(FollowUp).where(FollowUp.key == key)).first() if key else None

"""Replies shared by the slash command and the announcement's buttons: the recap and post-mortem requests."""

from __future__ import annotations

from sqlmodel import Session

from bot import incidents
from bot.enums import JobState
from bot.jobs import incident_backlog
from bot.models import Incident
from bot.rules import Actor, Policy
from bot.sync_state import disagreements
from views import messages


def sync_state(session: Session, incident: Incident) -> str:
    """`in step` only when nothing is on its way and the ticket's last known values agree."""
    backlog = incident_backlog(session, incident.id)
    waiting = backlog.get(JobState.PENDING, 0) + backlog.get(JobState.RUNNING, 0)
    parts = []
    if incident.jira_lagging:
        parts.append("Jira is lagging, changes are queued")
    if waiting:
        parts.append(f"{waiting} change(s) on their way")
    if failed := backlog.get(JobState.FAILED):
        parts.append(f"{failed} failed (see `python -m bot jobs`)")
    ticket = incidents.ticket(session, incident.id)
    if not parts and ticket is not None and (differs := disagreements(incident, ticket.jira_values)):
        parts.append("differs from Jira: " + ", ".join(differs))
    return "; ".join(parts) or "in step"


def recap(session: Session, incident: Incident) -> str:
    return messages.status_recap(
        incident,
        ticket=incidents.ticket(session, incident.id),
        postmortem=incidents.postmortem(session, incident.id),
        sync_state=sync_state(session, incident),
    )


def request_postmortem(session: Session, incident: Incident, actor: Actor, policy: Policy) -> str:
    """Ask for the post-mortem (once), or say why not; commits the request."""
    existing = incidents.request_postmortem(
        session=session, incident_id=incident.id, actor=actor, policy=policy
    )
    if existing is not None:
        return f"The post-mortem already exists: <{existing.url}|{existing.key}>."
    session.commit()
    return "Creating the post-mortem in Jira; its link will be posted and pinned here."

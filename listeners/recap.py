"""Replies shared by the slash command and the announcement's buttons: the recap and post-mortem requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from bot import incidents
from bot.jobs import incident_backlog
from bot.models import Incident
from bot.rules import check_can_close
from views import messages

if TYPE_CHECKING:
    from bot.app import Runtime


def sync_state(session: Session, incident: Incident) -> str:
    backlog = incident_backlog(session, incident.id)
    waiting = backlog.get("pending", 0) + backlog.get("running", 0)
    parts = []
    if incident.jira_lagging:
        parts.append("Jira is lagging, changes are queued")
    if waiting:
        parts.append(f"{waiting} change(s) on their way")
    if backlog.get("failed"):
        parts.append(f"{backlog['failed']} failed (see `python -m bot jobs`)")
    return "; ".join(parts) or "in step"


def recap(session: Session, incident: Incident) -> str:
    return messages.status_recap(
        incident,
        ticket=incidents.ticket(session, incident.id),
        postmortem=incidents.postmortem(session, incident.id),
        sync_state=sync_state(session, incident),
    )


def request_postmortem(runtime: Runtime, session: Session, incident: Incident, user_id: str) -> str:
    """Ask for the post-mortem (once), or say why not."""
    check_can_close(incident, user_id, policy=runtime.policy, action="create the post-mortem of")
    if existing := incidents.postmortem(session, incident.id):
        return f"The post-mortem already exists: <{existing.url}|{existing.key}>."
    if not runtime.settings.jira_enabled:
        return "Post-mortems are written in Jira, and Jira sync is off (ENABLE_JIRA / JIRA_URL)."
    incidents.request_postmortem(session=session, incident_id=incident.id, actor_id=user_id)
    return "Creating the post-mortem in Jira; its link will be posted and pinned here."

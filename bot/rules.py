"""The incident rules of SPEC §2–§3: who may do what, and when an incident may be closed."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.enums import Status
from bot.errors import NotAllowed
from bot.models import Incident


@dataclass(frozen=True)
class Policy:
    """The configurable parts of the rules."""

    postmortem_required_for: frozenset[int] = frozenset({1, 2})
    responders: frozenset[str] = field(default_factory=frozenset)
    teams: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def close_blockers(incident: Incident, *, has_postmortem: bool, policy: Policy) -> list[str]:
    """Why the incident cannot be closed now; empty when it can."""
    reasons = []
    if Status(incident.status).rank < Status.MITIGATED.rank:
        reasons.append(f"it is {Status(incident.status).label}; it must be at least Mitigated")
    if incident.priority in policy.postmortem_required_for and not has_postmortem:
        reasons.append(f"a P{incident.priority} incident needs its post-mortem created first")
    return reasons


def _leads(incident: Incident) -> str:
    """ "the commander <@B> or the reporter <@A>", or one mention when one person is both."""
    if incident.commander_id == incident.reporter_id:
        return f"the commander and reporter <@{incident.commander_id}>"
    return f"the commander <@{incident.commander_id}> or the reporter <@{incident.reporter_id}>"


def check_can_update(incident: Incident, actor_id: str, *, is_channel_member: bool) -> None:
    """Updating is open to the channel's members, the reporter and the commander."""
    if is_channel_member or actor_id in (incident.reporter_id, incident.commander_id):
        return
    members = f"members of <#{incident.channel_id}>, " if incident.channel_id else ""
    raise NotAllowed(f"Only {members}{_leads(incident)} may update this incident.")


def check_can_close(incident: Incident, actor_id: str, *, policy: Policy, action: str = "close") -> None:
    """Closing and creating the post-mortem belong to the commander, the reporter and the responders."""
    if actor_id in (incident.reporter_id, incident.commander_id) or actor_id in policy.responders:
        return
    group = " or a member of the responders group" if policy.responders else ""
    raise NotAllowed(f"Only {_leads(incident)}{group} may {action} this incident.")

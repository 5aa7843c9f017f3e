"""The incident rules: who may do what, and when an incident may be closed.

The use cases of `bot.incidents` check them for every door (a modal, a button, a change from Jira);
listeners may ask the same questions before opening a modal, so that a refusal comes before the form.

- Anyone may declare.
- Updating is open to the incident channel's members, its reporter and its commander.
- Closing it, moving it to Post-mortem and creating its post-mortem belong to its commander, its
  reporter and the configured responders group.
- Jira's changes meet no people rule (Jira checked its own permissions) but do meet the close rules:
  an incident closes once it is at least Mitigated and, at the configured priorities, once its
  post-mortem exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.enums import Source, Status
from bot.errors import NotAllowed
from bot.models import Incident


def _not_asked(_incident: Incident) -> bool:
    return False


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: a Slack user, or Jira (`user_id` None).

    Whether a person is in the incident's channel takes a Slack call, which the domain cannot make:
    the listener passes `in_channel`, asked only when being the reporter or commander does not settle it.
    """

    user_id: str | None
    source: Source = Source.SLACK
    in_channel: Callable[[Incident], bool] = _not_asked

    @property
    def is_person(self) -> bool:
        return self.source is Source.SLACK


#: Changes applied from Jira.
JIRA = Actor(None, Source.JIRA)

#: Statuses that only the incident's leads may set.
LEAD_STATUSES = {Status.CLOSED: "close", Status.POST_MORTEM: "create the post-mortem of"}


@dataclass(frozen=True)
class Policy:
    """The configurable parts of the rules."""

    postmortem_required_for: frozenset[int] = frozenset({1, 2})
    responders: frozenset[str] = field(default_factory=frozenset)
    teams: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    #: post-mortems are written in Jira: without Jira sync there are none
    postmortems_enabled: bool = True


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


def check_can_update(incident: Incident, actor: Actor) -> None:
    """Updating is open to the channel's members, the reporter and the commander."""
    if not actor.is_person or actor.user_id in (incident.reporter_id, incident.commander_id):
        return
    if actor.in_channel(incident):
        return
    members = f"members of <#{incident.channel_id}>, " if incident.channel_id else ""
    raise NotAllowed(f"Only {members}{_leads(incident)} may update this incident.")


def check_can_close(incident: Incident, actor: Actor, *, policy: Policy, action: str = "close") -> None:
    """Closing and creating the post-mortem belong to the commander, the reporter and the responders."""
    if not actor.is_person:
        return
    if actor.user_id in (incident.reporter_id, incident.commander_id) or actor.user_id in policy.responders:
        return
    group = " or a member of the responders group" if policy.responders else ""
    raise NotAllowed(f"Only {_leads(incident)}{group} may {action} this incident.")

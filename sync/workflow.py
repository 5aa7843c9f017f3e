"""Finding the way through a Jira workflow: the shortest chain of transitions to a target status.

As in real Jira, transition names are not status names (`Start work` leads to `in progress`), so a
path is found over the transitions' *target* statuses. `Closed` is never crossed on the way to
another status. Statuses compare case-insensitively.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bot.enums import Status

CLOSED = "closed"

#: Slack → Jira: the Jira status each incident status is pushed to.
INCIDENT_TO_JIRA_STATUS: dict[Status, str] = {
    Status.OPEN: "Incoming",
    Status.INVESTIGATING: "in progress",
    Status.MITIGATING: "in progress",
    Status.MITIGATED: "Reporter validation",
    Status.POST_MORTEM: "Reporter validation",
    Status.CLOSED: "Closed",
}

#: Jira → incident: the incident status each Jira status means; other statuses are ignored.
JIRA_TO_INCIDENT_STATUS: dict[str, Status] = {
    "incoming": Status.OPEN,
    "pending resolution": Status.OPEN,
    "in progress": Status.MITIGATING,
    "reporter validation": Status.MITIGATED,
    "closed": Status.CLOSED,
}


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    sources: frozenset[str] | None  # lower-case status names; None = from any status (global)
    target: str  # the target status name as Jira spells it


def shortest_path(transitions: Iterable[Transition], current: str, target: str) -> list[Transition] | None:
    """Breadth-first over statuses; [] when already there, None when the target cannot be reached."""
    current_key, target_key = current.lower(), target.lower()
    if current_key == target_key:
        return []
    edges = list(transitions)
    previous: dict[str, tuple[str, Transition]] = {}
    queue = deque([current_key])
    seen = {current_key}
    while queue:
        status = queue.popleft()
        for transition in edges:
            if transition.sources is not None and status not in transition.sources:
                continue
            reached = transition.target.lower()
            if reached in seen:
                continue
            seen.add(reached)
            previous[reached] = (status, transition)
            if reached == target_key:
                return _walk_back(previous, current_key, target_key)
            if reached != CLOSED:
                queue.append(reached)
    return None


def _walk_back(previous: dict[str, tuple[str, Transition]], start: str, end: str) -> list[Transition]:
    path = []
    node = end
    while node != start:
        node, transition = previous[node]
        path.append(transition)
    return list(reversed(path))


def from_workflow_search(workflow: dict) -> list[Transition]:
    """Transitions of one workflow as Jira's `workflow/search?expand=transitions,statuses` returns it."""
    names = {str(status["id"]): status["name"] for status in workflow.get("statuses", [])}
    result = []
    for item in workflow.get("transitions", []):
        if item.get("type") == "initial" or str(item.get("to")) not in names:
            continue
        sources = item.get("from") or []
        result.append(
            Transition(
                id=str(item["id"]),
                name=item.get("name", ""),
                sources=frozenset(names[str(s)].lower() for s in sources if str(s) in names)
                if sources
                else None,
                target=names[str(item["to"])],
            )
        )
    return result


def from_issue_transitions(current: str, available: list[dict]) -> list[Transition]:
    """The one-hop transitions `GET issue/{key}/transitions` lists (fallback when the workflow is hidden)."""
    return [
        Transition(
            id=str(t["id"]),
            name=t.get("name", ""),
            sources=frozenset({current.lower()}),
            target=t["to"]["name"],
        )
        for t in available
    ]


#: The default workflow's statuses in lifecycle order, for walking a workflow the bot may not read.
LIFECYCLE = ("incoming", "pending resolution", "in progress", "reporter validation", "closed")


def _distance(status: str, target: str) -> float:
    """Steps along the lifecycle between two statuses; unknown statuses are infinitely far."""
    names = (status.lower(), target.lower())
    if any(name not in LIFECYCLE for name in names):
        return float("inf")
    return abs(LIFECYCLE.index(names[0]) - LIFECYCLE.index(names[1]))


def next_hop(available: Iterable[Transition], current: str, target: str) -> Transition | None:
    """Without the workflow: the transition to the target if there is one, else the one that brings the
    issue strictly nearer along the lifecycle (never Closed on the way), else None."""
    options = list(available)
    direct = [t for t in options if t.target.lower() == target.lower()]
    if direct:
        return direct[0]
    here = _distance(current, target)
    nearer = [t for t in options if t.target.lower() != CLOSED and _distance(t.target, target) < here]
    return min(nearer, key=lambda t: _distance(t.target, target)) if nearer else None

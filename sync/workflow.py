"""Finding the way through a Jira workflow, and what its statuses mean for the incident.

As in real Jira, transition names are not status names (`Start work` leads to `in progress`), so a
path is found over the transitions' *target* statuses. The status meaning Closed is never crossed on
the way to another status. Statuses compare case-insensitively. Which Jira status each incident status
goes to, and what each Jira status means, is the site's configuration (`StatusMap`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from bot.enums import Status
from bot.settings import DEFAULT_STATUS_FROM_JIRA, DEFAULT_STATUS_TO_JIRA, Settings


@dataclass(frozen=True)
class StatusMap:
    """Incident statuses ↔ Jira statuses (`JIRA_STATUS_TO_JIRA`, `JIRA_STATUS_FROM_JIRA`).

    The map is many-to-one both ways (`in progress` is where Investigating and Mitigating both go).
    `order` is the Jira statuses as configured, lower-cased: the lifecycle a walk follows when the
    workflow cannot be read.
    """

    to_jira: Mapping[Status, str]
    from_jira: Mapping[str, Status]  # keys lower-cased, in the configured order

    @classmethod
    def build(cls, to_jira: Mapping[str, str], from_jira: Mapping[str, str]) -> StatusMap:
        return cls(
            to_jira={Status(status): name for status, name in to_jira.items()},
            from_jira={name.lower(): Status(status) for name, status in from_jira.items()},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> StatusMap:
        return cls.build(settings.jira_status_to_jira, settings.jira_status_from_jira)

    @cached_property
    def order(self) -> tuple[str, ...]:
        return tuple(self.from_jira)

    @cached_property
    def closed(self) -> frozenset[str]:
        """The Jira statuses (lower-cased) that mean Closed: never walked through."""
        return frozenset(name for name, status in self.from_jira.items() if status is Status.CLOSED)

    def target(self, status: Status) -> str:
        """The Jira status an incident status is pushed to."""
        return self.to_jira[status]

    def incident_status(self, name: str | None) -> Status | None:
        """What a Jira status means for the incident; None for a status outside the map."""
        return self.from_jira.get((name or "").strip().lower())

    def means(self, name: str) -> set[Status]:
        """Every incident status a Jira status agrees with: the one it maps to and those pushed to it."""
        lowered = name.strip().lower()
        found = {status for status, target in self.to_jira.items() if target.lower() == lowered}
        if (mapped := self.from_jira.get(lowered)) is not None:
            found.add(mapped)
        return found

    def distance(self, status: str, target: str) -> float:
        """Steps along the configured order between two statuses; unknown statuses are infinitely far."""
        names = (status.lower(), target.lower())
        if any(name not in self.from_jira for name in names):
            return float("inf")
        return abs(self.order.index(names[0]) - self.order.index(names[1]))


#: The default Jira's map (the settings' defaults), for callers that name no site.
DEFAULT_STATUS_MAP = StatusMap.build(DEFAULT_STATUS_TO_JIRA, DEFAULT_STATUS_FROM_JIRA)


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    sources: frozenset[str] | None  # lower-case status names; None = from any status (global)
    target: str  # the target status name as Jira spells it


def shortest_path(
    transitions: Iterable[Transition], current: str, target: str, *, statuses: StatusMap = DEFAULT_STATUS_MAP
) -> list[Transition] | None:
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
            if reached not in statuses.closed:
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


def next_hop(
    available: Iterable[Transition], current: str, target: str, *, statuses: StatusMap = DEFAULT_STATUS_MAP
) -> Transition | None:
    """Without the workflow: the transition to the target if there is one, else the one that brings the
    issue strictly nearer along the configured order (never through Closed), else None."""
    options = list(available)
    direct = [t for t in options if t.target.lower() == target.lower()]
    if direct:
        return direct[0]
    here = statuses.distance(current, target)
    nearer = [
        t
        for t in options
        if t.target.lower() not in statuses.closed and statuses.distance(t.target, target) < here
    ]
    return min(nearer, key=lambda t: statuses.distance(t.target, target)) if nearer else None

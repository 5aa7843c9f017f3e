"""Workflows: statuses, named transitions between them, and their REST shapes.

As in real Jira, transition names are not status names, one transition may start from several
statuses (a "common" transition, one id) and `"*"` makes it global. The bot must find paths by the
transitions' target statuses; this module gives it something realistic to walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_STATUSES = [
    "Incoming",
    "Pending resolution",
    "in progress",
    "Reporter validation",
    "Closed",
    "Code Review",
]
DEFAULT_TRANSITIONS = [
    ("Triage", "Incoming", "Pending resolution"),
    ("Start work", "Incoming", "in progress"),
    ("Start work", "Pending resolution", "in progress"),
    ("Send to code review", "in progress", "Code Review"),
    ("Back to work", "Code Review", "in progress"),
    ("Ask validation", "in progress", "Reporter validation"),
    ("Reopen", "Reporter validation", "in progress"),
    ("Close", "Reporter validation", "Closed"),
    ("Close from review", "Code Review", "Closed"),
    ("Cancel", "Incoming", "Closed"),
]
POSTMORTEM_STATUSES = ["To Do", "In Progress", "Done"]
POSTMORTEM_TRANSITIONS = [(name, "*", name) for name in POSTMORTEM_STATUSES]

_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
_DONE = {"closed", "done", "resolved", "cancelled", "canceled"}
_NEW = {"incoming", "to do", "open", "backlog", "new"}


def category_of(status: str) -> str:
    """Status category key (`new`, `indeterminate`, `done`), guessed from the name like an admin would."""
    lowered = status.lower()
    return "done" if lowered in _DONE else "new" if lowered in _NEW else "indeterminate"


class StatusCatalog:
    """Global status ids: Jira's statuses are site-wide objects shared by workflows."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def id_for(self, name: str) -> str:
        """The stable id of a status name (registered on first use)."""
        return self._ids.setdefault(name, str(10000 + len(self._ids)))

    def rest(self, name: str, base_url: str) -> dict[str, Any]:
        """A status as it appears in issue fields and transitions."""
        status_id = self.id_for(name)
        category = _CATEGORIES[category_of(name)]
        return {
            "self": f"{base_url}/rest/api/2/status/{status_id}",
            "description": "",
            "iconUrl": f"{base_url}/images/icons/statuses/generic.png",
            "name": name,
            "id": status_id,
            "statusCategory": {"self": f"{base_url}/rest/api/2/statuscategory/{category['id']}", **category},
        }


@dataclass(frozen=True)
class Transition:
    """A named move to `to`, available from `sources` (empty: from any status, a global transition)."""

    id: str
    name: str
    sources: tuple[str, ...]
    to: str

    def available_from(self, status: str) -> bool:
        """Whether an issue in `status` is offered this transition."""
        if not self.sources:
            return self.to.lower() != status.lower()
        return any(s.lower() == status.lower() for s in self.sources)


@dataclass
class Workflow:
    """A named workflow: statuses (the first is where new issues start) and transitions."""

    name: str
    statuses: list[str]
    transitions: list[Transition] = field(default_factory=list)

    @property
    def initial(self) -> str:
        """The status of a newly created issue."""
        return self.statuses[0]

    def available(self, status: str) -> list[Transition]:
        """Transitions offered to an issue in `status`, in definition order."""
        return [t for t in self.transitions if t.available_from(status)]

    def rest(self, catalog: StatusCatalog, expand: set[str]) -> dict[str, Any]:
        """One item of GET /workflow/search, following Jira Cloud's shape (`expand` picks sections)."""
        out: dict[str, Any] = {
            "id": {"name": self.name, "entityId": f"sandbox-{self.name.lower().replace(' ', '-')}"},
            "description": f"{self.name} (sandbox)",
            "isDefault": False,
        }
        if "transitions" in expand:
            initial = {
                "id": "1",
                "name": "Create",
                "description": "",
                "from": [],
                "to": catalog.id_for(self.initial),
                "type": "initial",
            }
            out["transitions"] = [initial] + [
                {
                    "id": t.id,
                    "name": t.name,
                    "description": "",
                    "from": [catalog.id_for(s) for s in t.sources],
                    "to": catalog.id_for(t.to),
                    "type": "directed" if t.sources else "global",
                    "screen": {},
                    "rules": {"conditions": [], "validators": [], "postFunctions": []},
                    "properties": {},
                }
                for t in self.transitions
            ]
        if "statuses" in expand:
            out["statuses"] = [{"id": catalog.id_for(s), "name": s, "properties": {}} for s in self.statuses]
        return out


def build_workflow(name: str, statuses: list[str], transitions: list[tuple[str, str, str]]) -> Workflow:
    """Build a workflow from `(transition name, from status or "*", to status)` triples.

    Triples sharing a name and target become one transition with several sources and one id, as a
    common transition in Jira; ids follow Jira's 11, 21, 31, ... numbering.
    """
    if not statuses:
        raise ValueError("a workflow needs at least one status")
    known = {s.lower(): s for s in statuses}
    grouped: dict[tuple[str, str], list[str]] = {}
    for transition_name, source, target in transitions:
        if target.lower() not in known or (source != "*" and source.lower() not in known):
            raise ValueError(f"transition {transition_name!r} uses a status not in {statuses}")
        sources = grouped.setdefault((transition_name, known[target.lower()]), [])
        if source == "*" or "*" in sources:
            sources[:] = ["*"]
        else:
            sources.append(known[source.lower()])
    built = [
        Transition(str(11 + 10 * i), t_name, tuple(s for s in srcs if s != "*"), target)
        for i, ((t_name, target), srcs) in enumerate(grouped.items())
    ]
    return Workflow(name, list(statuses), built)


def default_workflows() -> dict[str | None, Workflow]:
    """The incident workflow (default for every issue type) and the simple post-mortem one."""
    return {
        None: build_workflow("Incident workflow", DEFAULT_STATUSES, DEFAULT_TRANSITIONS),
        "Post-mortem": build_workflow("Post-mortem workflow", POSTMORTEM_STATUSES, POSTMORTEM_TRANSITIONS),
    }

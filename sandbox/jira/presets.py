"""Whole Jira site shapes the emulator can take: a workflow, a priority scheme and a create screen.

`default` is the seed's Jira (statuses `Incoming` … `Closed`, the incident priority in the select field
`customfield_11064`). `simple` is a team's plain Jira: `To Do → In Progress → In Review → Done`, and
priority in Jira's own `priority` field (`Highest` … `Lowest`); `customfield_11064` is not on its
create screen, so a bot still writing it is refused as a real site would.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state import PRIORITIES
from .workflow import DEFAULT_STATUSES, DEFAULT_TRANSITIONS


@dataclass(frozen=True)
class Preset:
    statuses: tuple[str, ...]
    transitions: tuple[tuple[str, str, str], ...]  # (transition name, from status or "*", to status)
    priorities: tuple[str, ...]
    off_create_screen: tuple[str, ...] = ()


SIMPLE_STATUSES = ("To Do", "In Progress", "In Review", "Done")
SIMPLE_TRANSITIONS = (
    ("Start progress", "To Do", "In Progress"),
    ("Stop progress", "In Progress", "To Do"),
    ("Request review", "In Progress", "In Review"),
    ("Back to progress", "In Review", "In Progress"),
    ("Approve", "In Review", "Done"),
    ("Reopen", "Done", "To Do"),
)

PRESETS: dict[str, Preset] = {
    "default": Preset(
        tuple(DEFAULT_STATUSES), tuple(DEFAULT_TRANSITIONS), tuple(name for _, name in PRIORITIES)
    ),
    "simple": Preset(
        SIMPLE_STATUSES,
        SIMPLE_TRANSITIONS,
        ("Highest", "High", "Medium", "Low", "Lowest"),
        off_create_screen=("customfield_11064",),
    ),
}

"""Workflow paths: the shortest path over target statuses, and the walk used when the workflow is hidden."""

from __future__ import annotations

from bot.enums import Status
from sandbox.shapes import SIMPLE_STATUS_FROM_JIRA, SIMPLE_STATUS_TO_JIRA
from sync.workflow import StatusMap, Transition, next_hop, shortest_path


def t(tid: str, target: str, *sources: str) -> Transition:
    return Transition(
        id=tid, name=f"to {target}", sources=frozenset(s.lower() for s in sources) or None, target=target
    )


WORKFLOW = [
    t("11", "Pending resolution", "Incoming"),
    t("21", "in progress", "Incoming", "Pending resolution"),
    t("51", "Reporter validation", "in progress"),
    t("91", "Closed", "Incoming"),
    t("92", "in progress", "Closed"),
    t("71", "Closed", "Reporter validation"),
]


def test_shortest_path_follows_target_statuses_case_insensitively() -> None:
    assert [h.id for h in shortest_path(WORKFLOW, "INCOMING", "reporter VALIDATION")] == ["21", "51"]
    assert shortest_path(WORKFLOW, "in progress", "In Progress") == []


def test_shortest_path_never_crosses_closed_but_may_end_there() -> None:
    only_via_closed = [t("91", "Closed", "Incoming"), t("92", "in progress", "Closed")]
    assert shortest_path(only_via_closed, "Incoming", "in progress") is None
    assert [h.id for h in shortest_path(WORKFLOW, "Reporter validation", "Closed")] == ["71"]


def test_global_transitions_apply_from_any_status() -> None:
    assert [h.id for h in shortest_path([t("1", "Closed")], "Code Review", "Closed")] == ["1"]


def test_next_hop_prefers_the_target_then_a_strictly_nearer_status() -> None:
    here = [
        t("11", "Pending resolution", "Incoming"),
        t("21", "in progress", "Incoming"),
        t("91", "Closed", "Incoming"),
    ]
    assert next_hop(here, "Incoming", "Reporter validation").id == "21"
    assert next_hop(here, "Incoming", "Closed").id == "91"
    assert next_hop([t("5", "Code Review", "in progress")], "in progress", "Reporter validation") is None
    assert next_hop([t("6", "in progress", "Code Review")], "Code Review", "Reporter validation").id == "6"


SIMPLE = StatusMap.build(SIMPLE_STATUS_TO_JIRA, SIMPLE_STATUS_FROM_JIRA)


def test_a_configured_map_decides_meaning_order_and_the_status_never_crossed() -> None:
    assert SIMPLE.target(Status.POST_MORTEM) == "In Review"
    assert SIMPLE.incident_status(" in review ") is Status.MITIGATED
    assert SIMPLE.incident_status("Closed") is None, "the seed's names mean nothing here"
    assert SIMPLE.means("In Progress") == {Status.INVESTIGATING, Status.MITIGATING}
    assert SIMPLE.closed == {"done"}
    via_done = [t("1", "Done", "To Do"), t("2", "In Review", "Done")]
    assert shortest_path(via_done, "To Do", "In Review", statuses=SIMPLE) is None
    assert shortest_path(via_done, "To Do", "In Review") == [via_done[0], via_done[1]], (
        "under the seed's map Done is an ordinary status"
    )
    here = [t("11", "In Progress", "To Do"), t("12", "Done", "To Do")]
    assert next_hop(here, "To Do", "In Review", statuses=SIMPLE).id == "11"
    assert next_hop([t("12", "Done", "To Do")], "To Do", "In Review", statuses=SIMPLE) is None

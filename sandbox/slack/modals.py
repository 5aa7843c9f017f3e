"""Modal lifecycle as Slack runs it: open, push (stack of 3), update with hash check, close, clear.

Shared by the `views.*` Web API methods and by `SlackUser` (a submission's `response_action` changes the
stack exactly like the API calls do). Callers hold `state.lock`.
"""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.slack.api_base import ApiError
from sandbox.slack.blockkit import normalise_view
from sandbox.slack.state import SlackState, ViewEvent

MAX_STACK = 3
VIEW_FIELDS = (
    "type",
    "title",
    "submit",
    "close",
    "blocks",
    "private_metadata",
    "callback_id",
    "external_id",
    "clear_on_close",
    "notify_on_close",
)


def new_hash(state: SlackState) -> str:
    return f"{state.now()}.{secrets.token_urlsafe(6)}"


def _record_event(state: SlackState, user_id: str, view_id: str, kind: str) -> None:
    state.view_events.append(ViewEvent(len(state.view_events) + 1, user_id, view_id, kind))


def _apply(view: dict[str, Any], spec: dict[str, Any]) -> None:
    for key in VIEW_FIELDS:
        view[key] = spec.get(key)
    view["private_metadata"] = spec.get("private_metadata") or ""
    view["callback_id"] = spec.get("callback_id") or ""
    view["external_id"] = spec.get("external_id") or ""
    view["clear_on_close"] = bool(spec.get("clear_on_close", False))
    view["notify_on_close"] = bool(spec.get("notify_on_close", False))


def _check_external_id(state: SlackState, spec: dict[str, Any], view_id: str | None) -> None:
    external_id = spec.get("external_id")
    if external_id and any(
        v["external_id"] == external_id and v["id"] != view_id for v in state.views.values()
    ):
        raise ApiError("duplicate_external_id")


def open_view(
    state: SlackState, raw_spec: Any, *, user_id: str, push_onto: str | None = None
) -> dict[str, Any]:
    """A new view on the user's screen: a fresh stack, or pushed on top of `push_onto`'s stack."""
    spec = normalise_view(raw_spec)
    _check_external_id(state, spec, None)
    stack = state.view_stacks.setdefault(user_id, [])
    if push_onto is None:
        stack.clear()
    elif len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    view_id = state.next_id("V")
    root = stack[0] if stack else view_id
    view: dict[str, Any] = {
        "id": view_id,
        "team_id": state.team_id,
        "state": {"values": {}},
        "hash": new_hash(state),
        "previous_view_id": stack[-1] if stack else None,
        "root_view_id": root,
        "app_id": state.app_id,
        "app_installed_team_id": state.team_id,
        "bot_id": state.bot_id,
    }
    _apply(view, spec)
    stack.append(view_id)
    state.views[view_id] = view
    state.view_owner[view_id] = user_id
    state.views_opened.setdefault(user_id, []).append(view_id)
    _record_event(state, user_id, view_id, "push" if push_onto else "open")
    return view


def find_view(state: SlackState, *, view_id: str = "", external_id: str = "") -> dict[str, Any]:
    if view_id:
        view = state.views.get(view_id)
    else:
        view = next(
            (v for v in state.views.values() if external_id and v["external_id"] == external_id), None
        )
    if view is None:
        raise ApiError("not_found")
    return view


def update_view(
    state: SlackState, view: dict[str, Any], raw_spec: Any, *, expected_hash: str = ""
) -> dict[str, Any]:
    """Replace a view's content in place; user input survives where block_id and action_id are unchanged."""
    if expected_hash and expected_hash != view["hash"]:
        raise ApiError("hash_conflict")
    spec = normalise_view(raw_spec)
    _check_external_id(state, spec, view["id"])
    _apply(view, spec)
    still_there = {
        (b["block_id"], e.get("action_id"), e.get("type"))
        for b in view["blocks"]
        for e in (
            [b["element"]] if b.get("type") == "input" else [*b.get("elements", []), b.get("accessory") or {}]
        )
    }
    view["state"] = {
        "values": {
            block_id: kept
            for block_id, actions in view["state"]["values"].items()
            if (kept := {a: v for a, v in actions.items() if (block_id, a, v.get("type")) in still_there})
        }
    }
    view["hash"] = new_hash(state)
    _record_event(state, state.view_owner[view["id"]], view["id"], "update")
    return view


def close_view(state: SlackState, view_id: str, *, clear: bool = False) -> None:
    """Take a view (or with `clear`, its whole stack) off the owner's screen."""
    stack = state.view_stacks.get(state.view_owner.get(view_id, ""), [])
    if clear:
        stack.clear()
    elif view_id in stack:
        del stack[stack.index(view_id) :]


def is_open(state: SlackState, view_id: str) -> bool:
    return view_id in state.view_stacks.get(state.view_owner.get(view_id, ""), [])

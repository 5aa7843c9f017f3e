"""Web API `views.open`, `views.push`, `views.update`: trigger ids that expire, hashes that go stale; and
`views.publish`, the Home tab of one user (one view per user, replaced by each publish)."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.slack import modals
from sandbox.slack.api_base import ApiError, Params, Registry
from sandbox.slack.blockkit import normalise_view
from sandbox.slack.state import SlackState

METHODS = Registry()


def _view_spec(params: Params) -> Any:
    spec = params.structured("view")
    if spec is None:
        raise ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
        )
    return spec


@METHODS("views.open")
def views_open(state: SlackState, params: Params) -> dict[str, Any]:
    spec = _view_spec(params)
    trigger = state.use_trigger(params.text("trigger_id") or params.text("interactivity_pointer"))
    return {"view": copy.deepcopy(modals.open_view(state, spec, user_id=trigger.user_id))}


@METHODS("views.push")
def views_push(state: SlackState, params: Params) -> dict[str, Any]:
    spec = _view_spec(params)
    trigger = state.use_trigger(params.text("trigger_id") or params.text("interactivity_pointer"))
    if trigger.view_id is None or not modals.is_open(state, trigger.view_id):
        raise ApiError("not_found")
    view = modals.open_view(state, spec, user_id=trigger.user_id, push_onto=trigger.view_id)
    return {"view": copy.deepcopy(view)}


@METHODS("views.update")
def views_update(state: SlackState, params: Params) -> dict[str, Any]:
    spec = _view_spec(params)
    view_id, external_id = params.text("view_id"), params.text("external_id")
    if not view_id and not external_id:
        raise ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view_id or external_id"]}
        )
    view = modals.find_view(state, view_id=view_id, external_id=external_id)
    updated = modals.update_view(state, view, spec, expected_hash=params.text("hash"))
    return {"view": copy.deepcopy(updated)}


@METHODS("views.publish")
def views_publish(state: SlackState, params: Params) -> dict[str, Any]:
    """Replace the user's Home tab; `hash`, when given, must be the one of the view it replaces."""
    user_id = params.required("user_id")
    state.user(user_id)
    spec = normalise_view(_view_spec(params), kind="home")
    current = state.views.get(state.home_views.get(user_id, ""))
    if params.has("hash") and (current is None or params.text("hash") != current["hash"]):
        raise ApiError("hash_conflict")
    view_id = current["id"] if current else state.next_id("V")
    view = {
        "id": view_id,
        "team_id": state.team_id,
        "type": "home",
        "blocks": spec["blocks"],
        "private_metadata": spec.get("private_metadata") or "",
        "callback_id": spec.get("callback_id") or "",
        "external_id": spec.get("external_id") or "",
        "state": {"values": {}},
        "hash": modals.new_hash(state),
        "title": {"type": "plain_text", "text": "View Title", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": state.app_id,
        "app_installed_team_id": state.team_id,
        "bot_id": state.bot_id,
    }
    state.views[view_id] = view
    state.view_owner[view_id] = user_id
    state.home_views[user_id] = view_id
    state.home_publishes[user_id] = state.home_publishes.get(user_id, 0) + 1
    return {"view": copy.deepcopy(view)}

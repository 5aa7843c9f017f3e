"""Web API `views.open`, `views.push`, `views.update`: trigger ids that expire, hashes that go stale."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.slack import modals
from sandbox.slack.api_base import ApiError, Params, Registry
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

"""Web API methods about who is who: auth.test, apps.connections.open, users.*, team.info."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.slack.api_base import ApiError, Params, Registry, paginate
from sandbox.slack.state import SlackState

METHODS = Registry()


@METHODS("auth.test")
def auth_test(state: SlackState, params: Params) -> dict[str, Any]:
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_name,
        "user": state.users[state.bot_user_id]["name"],
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


@METHODS("apps.connections.open")
def apps_connections_open(state: SlackState, params: Params) -> dict[str, Any]:
    if not state.ws_url:
        raise ApiError("internal_error")
    return {"url": state.ws_url}


@METHODS("users.info")
def users_info(state: SlackState, params: Params) -> dict[str, Any]:
    user = state.user(params.required("user", "user_not_found"))
    return {"user": copy.deepcopy(user)}


@METHODS("users.lookupByEmail")
def users_lookup_by_email(state: SlackState, params: Params) -> dict[str, Any]:
    email = params.required("email", "users_not_found").lower()
    for user in state.users.values():
        if user["profile"]["email"].lower() == email and not user["deleted"]:
            return {"user": copy.deepcopy(user)}
    raise ApiError("users_not_found")


@METHODS("users.list")
def users_list(state: SlackState, params: Params) -> dict[str, Any]:
    members, meta = paginate([copy.deepcopy(u) for u in state.users.values()], params, default_limit=0)
    return {"members": members, "cache_ts": state.now(), "response_metadata": meta}


@METHODS("team.info")
def team_info(state: SlackState, params: Params) -> dict[str, Any]:
    return {
        "team": {
            "id": state.team_id,
            "name": state.team_name,
            "url": f"https://{state.team_domain}.slack.com/",
            "domain": state.team_domain,
            "email_domain": "example.com",
            "icon": {"image_default": True},
        }
    }

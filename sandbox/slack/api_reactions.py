"""Web API `reactions.*`: emoji reactions on messages, kept on the message as Slack shows them.

A message's `reactions` is `[{"name", "users", "count"}]` (what `conversations.history` and
`reactions.get` return). People react through `SlackUser.react`, which also sends the `reaction_added`
event; the bot's own `reactions.add` sends none here (Bolt ignores an app's own events anyway).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.slack.api_base import ApiError, Params, Registry
from sandbox.slack.api_chat import message_json
from sandbox.slack.state import SlackState

METHODS = Registry()
NAME = re.compile(r"[a-z0-9_+'\-]{1,100}")


def add_reaction(state: SlackState, channel: str, ts: str, name: str, user: str) -> dict[str, Any]:
    """Put `user`'s `name` reaction on a message; `already_reacted` when it is there."""
    if not NAME.fullmatch(name):
        raise ApiError("invalid_name")
    message = state.find_message(state.conversation(channel).id, ts)
    reactions = message.setdefault("reactions", [])
    found = next((r for r in reactions if r["name"] == name), None)
    if found is None:
        found = {"name": name, "users": [], "count": 0}
        reactions.append(found)
    if user in found["users"]:
        raise ApiError("already_reacted")
    found["users"].append(user)
    found["count"] = len(found["users"])
    return message


def remove_reaction(state: SlackState, channel: str, ts: str, name: str, user: str) -> dict[str, Any]:
    """Take `user`'s `name` reaction off; `no_reaction` when there is none."""
    message = state.find_message(state.conversation(channel).id, ts)
    reactions = message.get("reactions") or []
    found = next((r for r in reactions if r["name"] == name and user in r["users"]), None)
    if found is None:
        raise ApiError("no_reaction")
    found["users"].remove(user)
    found["count"] = len(found["users"])
    message["reactions"] = [r for r in reactions if r["count"]]
    if not message["reactions"]:
        del message["reactions"]
    return message


@METHODS("reactions.add")
def reactions_add(state: SlackState, params: Params) -> dict[str, Any]:
    channel = params.required("channel", "channel_not_found")
    ts = params.required("timestamp", "no_item_specified")
    add_reaction(state, channel, ts, params.required("name", "invalid_name"), state.bot_user_id)
    return {}


@METHODS("reactions.remove")
def reactions_remove(state: SlackState, params: Params) -> dict[str, Any]:
    channel = params.required("channel", "channel_not_found")
    ts = params.required("timestamp", "no_item_specified")
    remove_reaction(state, channel, ts, params.required("name", "invalid_name"), state.bot_user_id)
    return {}


@METHODS("reactions.get")
def reactions_get(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    message = state.find_message(conv.id, params.required("timestamp", "no_item_specified"))
    return {"type": "message", "channel": conv.id, "message": message_json(state, message)}

"""Web API `conversations.*`: channel creation with Slack's naming rules, membership, topic, archive, IMs."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.slack.api_base import ApiError, Params, Registry, paginate
from sandbox.slack.api_chat import message_json
from sandbox.slack.state import Conversation, SlackState

METHODS = Registry()
NAME_CHARS = re.compile(r"[a-z0-9_\-]+")
MAX_NAME = 80
MAX_TOPIC = 250


def conversation_json(state: SlackState, conv: Conversation) -> dict[str, Any]:
    """The conversation object Slack returns (channel or IM shape)."""
    if conv.is_im:
        return {
            "id": conv.id,
            "created": conv.created,
            "is_im": True,
            "is_org_shared": False,
            "user": conv.user,
            "is_user_deleted": False,
            "priority": 0,
            "is_archived": False,
        }
    return {
        "id": conv.id,
        "name": conv.name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": conv.is_private,
        "created": conv.created,
        "creator": conv.creator,
        "is_archived": conv.archived,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": conv.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "is_ext_shared": False,
        "context_team_id": state.team_id,
        "is_member": state.bot_user_id in conv.members,
        "num_members": len(conv.members),
        "topic": {"value": conv.topic, "creator": conv.topic_creator, "last_set": conv.topic_last_set},
        "purpose": {
            "value": conv.purpose,
            "creator": conv.purpose_creator,
            "last_set": conv.purpose_last_set,
        },
    }


def check_name(state: SlackState, name: str) -> None:
    """Slack's channel-name rules, in the order Slack reports them."""
    if not name:
        raise ApiError("invalid_name_required")
    if len(name) > MAX_NAME:
        raise ApiError("invalid_name_maxlength")
    if not NAME_CHARS.fullmatch(name):
        raise ApiError("invalid_name_specials")
    if not re.search(r"[a-z0-9]", name):
        raise ApiError("invalid_name_punctuation")
    if any(c.name == name and not c.is_im for c in state.conversations.values()):
        raise ApiError("name_taken")


def _channel(
    state: SlackState,
    params: Params,
    *,
    member: bool = False,
    unarchived: bool = False,
    allow_im: bool = False,
) -> Conversation:
    """The `channel` parameter resolved, with the checks a method needs, in Slack's order."""
    conv = state.conversation(params.required("channel", "channel_not_found"))
    if conv.is_im and not allow_im:
        raise ApiError("method_not_supported_for_channel_type")
    if unarchived and conv.archived:
        raise ApiError("is_archived")
    if member and state.bot_user_id not in conv.members:
        raise ApiError("not_in_channel")
    return conv


@METHODS("conversations.create")
def create(state: SlackState, params: Params) -> dict[str, Any]:
    name = params.text("name").strip()
    check_name(state, name)
    conv = Conversation(
        id=state.next_id("C"),
        name=name,
        created=state.now(),
        creator=state.bot_user_id,
        members={state.bot_user_id},
        is_private=params.flag("is_private"),
    )
    state.add_conversation(conv)
    return {"channel": conversation_json(state, conv)}


@METHODS("conversations.invite")
def invite(state: SlackState, params: Params) -> dict[str, Any]:
    conv = _channel(state, params, unarchived=True, member=True)
    users = params.ids("users")
    if not users:
        raise ApiError("no_user")
    for user_id in users:
        if user_id == state.bot_user_id:
            raise ApiError("cant_invite_self")
        if user_id not in state.users or state.users[user_id]["deleted"]:
            raise ApiError("user_not_found")
        if user_id in conv.members:
            raise ApiError("already_in_channel")
    conv.members.update(users)
    return {"channel": conversation_json(state, conv)}


def _set_text(state: SlackState, params: Params, field: str) -> dict[str, Any]:
    conv = _channel(state, params, member=True, unarchived=True)
    value = params.text(field)
    if len(value) > MAX_TOPIC:
        raise ApiError("too_long")
    setattr(conv, field, value)
    setattr(conv, f"{field}_creator", state.bot_user_id)
    setattr(conv, f"{field}_last_set", state.now())
    return {"channel": conversation_json(state, conv)}


@METHODS("conversations.setTopic")
def set_topic(state: SlackState, params: Params) -> dict[str, Any]:
    return _set_text(state, params, "topic")


@METHODS("conversations.setPurpose")
def set_purpose(state: SlackState, params: Params) -> dict[str, Any]:
    return _set_text(state, params, "purpose")


@METHODS("conversations.archive")
def archive(state: SlackState, params: Params) -> dict[str, Any]:
    conv = _channel(state, params)
    if conv.archived:
        raise ApiError("already_archived")
    conv.archived = True
    return {}


@METHODS("conversations.unarchive")
def unarchive(state: SlackState, params: Params) -> dict[str, Any]:
    conv = _channel(state, params)
    if not conv.archived:
        raise ApiError("not_archived")
    conv.archived = False
    return {}


@METHODS("conversations.info")
def info(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    return {"channel": conversation_json(state, conv)}


@METHODS("conversations.members")
def members(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    page, meta = paginate(sorted(conv.members), params)
    return {"members": page, "response_metadata": meta}


@METHODS("conversations.join")
def join(state: SlackState, params: Params) -> dict[str, Any]:
    conv = _channel(state, params, unarchived=True)
    already = state.bot_user_id in conv.members
    conv.members.add(state.bot_user_id)
    result: dict[str, Any] = {"channel": conversation_json(state, conv)}
    if already:
        result["warning"] = "already_in_channel"
        result["response_metadata"] = {"warnings": ["already_in_channel"]}
    return result


@METHODS("conversations.open")
def open_(state: SlackState, params: Params) -> dict[str, Any]:
    if params.has("channel"):
        return {"channel": {"id": state.conversation(params.text("channel")).id}}
    users = [u for u in params.ids("users") if u != state.bot_user_id]
    if len(users) != 1:
        raise ApiError("users_list_not_supplied" if not users else "not_supported")
    conv = state.dm(users[0])
    if params.flag("return_im"):
        return {"channel": conversation_json(state, conv), "already_open": True}
    return {"channel": {"id": conv.id}}


@METHODS("conversations.list")
def list_(state: SlackState, params: Params) -> dict[str, Any]:
    chosen = _of_types(state, params, state.conversations.values())
    page, meta = paginate([conversation_json(state, c) for c in chosen], params)
    return {"channels": page, "response_metadata": meta}


@METHODS("users.conversations")
def users_conversations(state: SlackState, params: Params) -> dict[str, Any]:
    """The conversations a user (by default the caller, here the bot) is a member of."""
    user = params.text("user") or state.bot_user_id
    mine = [c for c in state.conversations.values() if user in c.members or (c.is_im and c.user == user)]
    page, meta = paginate([conversation_json(state, c) for c in _of_types(state, params, mine)], params)
    return {"channels": page, "response_metadata": meta}


def _of_types(state: SlackState, params: Params, conversations: Any) -> list[Conversation]:
    types = set(params.ids("types") or ["public_channel"])
    return [
        conv
        for conv in conversations
        if (
            "im" in types
            if conv.is_im
            else ("private_channel" if conv.is_private else "public_channel") in types
        )
        and not (params.flag("exclude_archived") and conv.archived)
    ]


def _in_window(params: Params, ts: str) -> bool:
    """Slack's `oldest`/`latest` bounds (exclusive unless `inclusive`), compared exactly."""
    inclusive = params.flag("inclusive")
    value = Decimal(ts)
    if params.has("oldest"):
        oldest = _ts(params, "oldest")
        if value < oldest or (value == oldest and not inclusive):
            return False
    if params.has("latest"):
        latest = _ts(params, "latest")
        if value > latest or (value == latest and not inclusive):
            return False
    return True


def _ts(params: Params, name: str) -> Decimal:
    try:
        return Decimal(params.text(name))
    except InvalidOperation:
        raise ApiError(f"invalid_ts_{name}") from None


@METHODS("conversations.history")
def history(state: SlackState, params: Params) -> dict[str, Any]:
    """Top-level messages, newest first, within `oldest`/`latest` (thread replies are not listed)."""
    conv = state.conversation(params.required("channel", "channel_not_found"))
    if state.bot_user_id not in conv.members:
        raise ApiError("channel_not_found" if conv.is_private else "not_in_channel")
    top_level = [
        message_json(state, m)
        for m in reversed(state.messages[conv.id])
        if m.get("thread_ts") in (None, m["ts"]) and _in_window(params, m["ts"])
    ]
    page, meta = paginate(top_level, params)
    return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}


@METHODS("conversations.replies")
def replies(state: SlackState, params: Params) -> dict[str, Any]:
    """A thread, oldest first: its parent (always first), then the replies within `oldest`/`latest`.
    `ts` may be the parent's or any reply's; a message with no replies comes back alone."""
    conv = state.conversation(params.required("channel", "channel_not_found"))
    if state.bot_user_id not in conv.members:
        raise ApiError("channel_not_found" if conv.is_private else "not_in_channel")
    ts = params.required("ts", "thread_not_found")
    found = next((m for m in state.messages[conv.id] if m["ts"] == ts), None)
    if found is None:
        raise ApiError("thread_not_found")
    root = found.get("thread_ts") or found["ts"]
    parent = next((m for m in state.messages[conv.id] if m["ts"] == root), None)
    thread = [
        m
        for m in state.messages[conv.id]
        if m.get("thread_ts") == root and m["ts"] != root and _in_window(params, m["ts"])
    ]
    listed = ([parent] if parent is not None else []) + thread
    page, meta = paginate([message_json(state, m) for m in listed], params)
    return {"messages": page, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}

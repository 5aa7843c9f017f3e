"""Web API `chat.*`: messages posted, edited in place (with an edit counter), deleted, ephemerals, links.

`post` is also used for messages that do not come from the API (in-channel slash replies, response_url),
so every message in a channel has the same record shape.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.slack.api_base import ApiError, Params, Registry
from sandbox.slack.blockkit import check_message_blocks, with_ids
from sandbox.slack.state import Conversation, SlackState

METHODS = Registry()
MAX_TEXT = 40000
INTERNAL = ("channel", "edited", "edited_ts")


def message_json(state: SlackState, record: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the API shows it: `edited` becomes Slack's `{user, ts}` object."""
    message = {k: copy.deepcopy(v) for k, v in record.items() if k not in INTERNAL and v is not None}
    if record.get("edited"):
        message["edited"] = {"user": record["user"], "ts": record["edited_ts"]}
    return message


def _content(params: Params) -> dict[str, Any]:
    blocks = check_message_blocks(params.structured("blocks"))
    attachments = params.structured("attachments")
    text = params.text("text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    content: dict[str, Any] = {"text": text, "blocks": with_ids(blocks) if blocks else []}
    if attachments:
        content["attachments"] = attachments
    if params.has("metadata"):
        content["metadata"] = params.structured("metadata")
    return content


def post(
    state: SlackState, conv: Conversation, content: dict[str, Any], *, user: str, thread_ts: str | None
) -> dict[str, Any]:
    """Append a message to a conversation and return its record."""
    if conv.archived:
        raise ApiError("is_archived")
    if not (content.get("text") or content.get("blocks") or content.get("attachments")):
        raise ApiError("no_text")
    record: dict[str, Any] = {"type": "message", "ts": state.next_ts(), "user": user, "team": state.team_id}
    if user == state.bot_user_id:
        record.update(bot_id=state.bot_id, app_id=state.app_id)
    record.update(content, thread_ts=thread_ts, channel=conv.id, edited=0, edited_ts=None)
    if thread_ts:
        parent = next((m for m in state.messages[conv.id] if m["ts"] == thread_ts), None)
        if parent is not None:
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
    state.messages[conv.id].append(record)
    return record


@METHODS("chat.postMessage")
def post_message(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.post_target(params.required("channel", "channel_not_found"))
    thread_ts = params.text("thread_ts") or None
    record = post(state, conv, _content(params), user=state.bot_user_id, thread_ts=thread_ts)
    return {"channel": conv.id, "ts": record["ts"], "message": message_json(state, record)}


@METHODS("chat.update")
def update(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    record = state.find_message(conv.id, params.required("ts", "message_not_found"))
    if record["user"] != state.bot_user_id:
        raise ApiError("cant_update_message")
    if conv.archived:
        raise ApiError("is_archived")
    content = _content(params)
    if not any(params.has(key) for key in ("text", "blocks", "attachments")):
        raise ApiError("no_text")
    for key in ("text", "blocks", "attachments", "metadata"):
        if params.raw.get(key) is not None:
            record[key] = content.get(key, [] if key == "blocks" else None)
    record["edited"] += 1
    record["edited_ts"] = state.next_ts()
    message = message_json(state, record)
    return {"channel": conv.id, "ts": record["ts"], "text": record["text"], "message": message}


@METHODS("chat.delete")
def delete(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    record = state.find_message(conv.id, params.required("ts", "message_not_found"))
    if record["user"] != state.bot_user_id:
        raise ApiError("cant_delete_message")
    state.messages[conv.id].remove(record)
    state.pins[conv.id] = [p for p in state.pins.get(conv.id, []) if p["ts"] != record["ts"]]
    return {"channel": conv.id, "ts": record["ts"]}


@METHODS("chat.postEphemeral")
def post_ephemeral(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.post_target(params.required("channel", "channel_not_found"))
    user_id = params.required("user", "user_not_found")
    state.user(user_id)
    content = _content(params)
    if not (content["text"] or content["blocks"] or content.get("attachments")):
        raise ApiError("no_text")
    if conv.archived:
        raise ApiError("is_archived")
    ts = state.next_ts()
    entry = {"ts": ts, "channel": conv.id, "user": user_id, "thread_ts": params.text("thread_ts") or None}
    entry.update(content, source="chat.postEphemeral")
    state.ephemerals.setdefault(user_id, []).append(entry)
    return {"message_ts": ts}


@METHODS("chat.getPermalink")
def get_permalink(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    message = state.find_message(conv.id, params.required("message_ts", "message_not_found"))
    ts, thread_ts = message["ts"], message.get("thread_ts")
    link = f"https://{state.team_domain}.slack.com/archives/{conv.id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:  # a reply's link opens its thread
        link += f"?thread_ts={thread_ts}&cid={conv.id}"
    return {"channel": conv.id, "permalink": link}


def deliver_response(
    state: SlackState,
    *,
    user_id: str,
    channel_id: str,
    message_ts: str | None,
    body: dict[str, Any],
    source: str,
) -> None:
    """A slash-command ack payload or a response_url POST, applied the way Slack shows it.

    `delete_original`/`replace_original` act on the message the action came from; `response_type:
    in_channel` posts for everyone; anything else is an ephemeral for the user who acted.
    """
    content = {
        "text": str(body.get("text") or ""),
        "blocks": with_ids(check_message_blocks(body.get("blocks"))),
    }
    if body.get("attachments"):
        content["attachments"] = body["attachments"]
    conv = state.conversations.get(channel_id)
    if message_ts and conv is not None and (body.get("delete_original") or body.get("replace_original")):
        record = state.find_message(conv.id, message_ts)
        if body.get("delete_original"):
            state.messages[conv.id].remove(record)
        else:
            record.update(content)
            record["edited"] += 1
            record["edited_ts"] = state.next_ts()
        return
    if body.get("response_type") == "in_channel" and conv is not None:
        post(state, conv, content, user=state.bot_user_id, thread_ts=body.get("thread_ts"))
        return
    if content["text"] or content["blocks"] or content.get("attachments"):
        entry = {"ts": state.next_ts(), "channel": channel_id, "user": user_id, "thread_ts": None}
        entry.update(content, source=source)
        state.ephemerals.setdefault(user_id, []).append(entry)

"""Web API `pins.*` and `bookmarks.*`: the things pinned and bookmarked in a channel."""

from __future__ import annotations

import re
from typing import Any

from sandbox.slack.api_base import ApiError, Params, Registry
from sandbox.slack.api_chat import message_json
from sandbox.slack.state import SlackState

METHODS = Registry()
EMOJI = re.compile(r":[a-z0-9_+'\-]+:")


@METHODS("pins.add")
def pins_add(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    ts = state.find_message(conv.id, params.required("timestamp", "no_item_specified"))["ts"]
    pins = state.pins.setdefault(conv.id, [])
    if any(pin["ts"] == ts for pin in pins):
        raise ApiError("already_pinned")
    pins.append({"ts": ts, "created": state.now(), "created_by": state.bot_user_id})
    return {}


@METHODS("pins.remove")
def pins_remove(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    ts = params.required("timestamp", "no_item_specified")
    pins = state.pins.get(conv.id, [])
    if not any(pin["ts"] == ts for pin in pins):
        raise ApiError("no_pin")
    state.pins[conv.id] = [pin for pin in pins if pin["ts"] != ts]
    return {}


@METHODS("pins.list")
def pins_list(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel", "channel_not_found"))
    items = [
        {
            "type": "message",
            "created": pin["created"],
            "created_by": pin["created_by"],
            "channel": conv.id,
            "message": message_json(state, state.find_message(conv.id, pin["ts"])),
        }
        for pin in state.pins.get(conv.id, [])
    ]
    return {"items": items}


def _bookmark_fields(params: Params, bookmark: dict[str, Any]) -> None:
    for key in ("title", "link", "emoji"):
        if params.raw.get(key) is not None:
            bookmark[key] = params.text(key)
    if bookmark["emoji"] and not EMOJI.fullmatch(bookmark["emoji"]):
        raise ApiError("invalid_emoji")
    if not bookmark["title"]:
        raise ApiError("invalid_title")
    if not re.match(r"https?://", bookmark["link"] or ""):
        raise ApiError("invalid_link")


@METHODS("bookmarks.add")
def bookmarks_add(state: SlackState, params: Params, user: str | None = None) -> dict[str, Any]:
    """Add a link bookmark, as the bot (a Web API call) or as a person (`user`, from Slack's UI)."""
    conv = state.conversation(params.required("channel_id", "channel_not_found"))
    if params.text("type") != "link":
        raise ApiError("invalid_bookmark_type")
    bookmark: dict[str, Any] = {
        "id": state.next_id("Bk"),
        "channel_id": conv.id,
        "title": "",
        "link": "",
        "emoji": "",
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": state.now(),
        "date_updated": 0,
        "rank": chr(ord("U") + len(state.bookmarks.get(conv.id, []))),
        "last_updated_by_user_id": user or state.bot_user_id,
        "last_updated_by_team_id": state.team_id,
        "shortcut_id": None,
        "app_id": None,
    }
    _bookmark_fields(params, bookmark)
    state.bookmarks.setdefault(conv.id, []).append(bookmark)
    return {"bookmark": dict(bookmark)}


def _find_bookmark(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel_id", "channel_not_found"))
    bookmark_id = params.required("bookmark_id", "invalid_bookmark")
    for bookmark in state.bookmarks.get(conv.id, []):
        if bookmark["id"] == bookmark_id:
            return bookmark
    raise ApiError("not_found")


@METHODS("bookmarks.edit")
def bookmarks_edit(state: SlackState, params: Params) -> dict[str, Any]:
    bookmark = _find_bookmark(state, params)
    edited = dict(bookmark)
    _bookmark_fields(params, edited)
    edited["date_updated"] = state.now()
    bookmark.update(edited)
    return {"bookmark": dict(bookmark)}


@METHODS("bookmarks.remove")
def bookmarks_remove(state: SlackState, params: Params) -> dict[str, Any]:
    bookmark = _find_bookmark(state, params)
    state.bookmarks[bookmark["channel_id"]].remove(bookmark)
    return {}


@METHODS("bookmarks.list")
def bookmarks_list(state: SlackState, params: Params) -> dict[str, Any]:
    conv = state.conversation(params.required("channel_id", "channel_not_found"))
    return {"bookmarks": [dict(b) for b in state.bookmarks.get(conv.id, [])]}

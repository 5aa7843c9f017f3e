"""The Block Kit checks Slack applies to views and messages, and walks over blocks used by SlackUser.

Slack rejects malformed views with `invalid_arguments` and a readable `response_metadata.messages`; doing
the same here makes a bot bug fail in tests the way it would fail in Slack, instead of silently passing.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from typing import Any

from sandbox.slack.api_base import ApiError

INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "static_select",
        "multi_static_select",
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
        "checkboxes",
        "radio_buttons",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "rich_text_input",
        "file_input",
    }
)
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50


def _invalid(message: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def _check_plain_text(obj: Any, where: str, max_len: int) -> None:
    if not isinstance(obj, dict) or obj.get("type") != "plain_text" or not isinstance(obj.get("text"), str):
        raise _invalid(f"{where} must be a plain_text object [json-pointer:/view/{where}]")
    if not obj["text"] or len(obj["text"]) > max_len:
        raise _invalid(f"{where} text must be 1 to {max_len} characters [json-pointer:/view/{where}/text]")


def normalise_view(spec: Any, *, kind: str = "modal") -> dict[str, Any]:
    """Validate a view of the given type (a `modal`, or a `home` tab) like Slack does, and give blocks and
    elements without ids random ones, as Slack does."""
    if not isinstance(spec, dict):
        raise _invalid("view must be a JSON object")
    view = copy.deepcopy(spec)
    if view.get("type") != kind:
        raise _invalid(f"the view's type must be {kind!r} here [json-pointer:/view/type]")
    if kind == "modal":
        _check_plain_text(view.get("title"), "title", 24)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _check_plain_text(view[key], key, 24)
    elif any(view.get(key) is not None for key in ("title", "submit", "close")):
        raise _invalid("a home view has no title, submit or close [json-pointer:/view]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        raise _invalid(
            f"blocks must be a list of at most {MAX_VIEW_BLOCKS} blocks [json-pointer:/view/blocks]"
        )
    if len(str(view.get("private_metadata") or "")) > 3000:
        raise _invalid(
            "private_metadata must be at most 3000 characters [json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("callback_id") or "")) > 255:
        raise _invalid("callback_id must be at most 255 characters [json-pointer:/view/callback_id]")
    seen: set[str] = set()
    has_input = False
    for index, block in enumerate(blocks):
        pointer = f"/view/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _invalid(f"block must be an object with a type [json-pointer:{pointer}]")
        block_id = block.setdefault("block_id", secrets.token_urlsafe(4))
        if block_id in seen or len(block_id) > 255:
            raise _invalid(
                f"block_id {block_id!r} is duplicated or too long [json-pointer:{pointer}/block_id]"
            )
        seen.add(block_id)
        if block["type"] == "input":
            has_input = True
            _check_plain_text(block.get("label"), f"blocks/{index}/label", 2000)
            element = block.get("element")
            if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
                raise _invalid(f"input block needs a supported element [json-pointer:{pointer}/element]")
            element.setdefault("action_id", secrets.token_urlsafe(4))
        for element in block_elements(block):
            element.setdefault("action_id", secrets.token_urlsafe(4))
    if has_input and kind == "modal" and view.get("submit") is None:
        raise _invalid("submit is required when a view has input blocks [json-pointer:/view/submit]")
    return view


def check_message_blocks(blocks: Any) -> list[dict[str, Any]] | None:
    """chat.postMessage / chat.update `blocks`: a list of typed objects, at most 50."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ApiError("invalid_blocks")
    if not all(isinstance(block, dict) and isinstance(block.get("type"), str) for block in blocks):
        raise ApiError("invalid_blocks")
    return blocks


def block_elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Interactive elements outside input blocks: `actions` elements and a section's accessory."""
    if block.get("type") == "actions":
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))
    accessory = block.get("accessory")
    if block.get("type") == "section" and isinstance(accessory, dict) and accessory.get("type") != "image":
        yield accessory


def buttons(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, button element) pairs, in display order."""
    for block in blocks or []:
        for element in block_elements(block):
            if element.get("type") == "button":
                yield block, element


def button_text(element: dict[str, Any]) -> str:
    return str((element.get("text") or {}).get("text", ""))


def input_blocks(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for block in view.get("blocks") or []:
        if block.get("type") == "input":
            yield block


def label_of(block: dict[str, Any]) -> str:
    return str((block.get("label") or {}).get("text", ""))


def with_ids(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A copy of message blocks where missing block_id/action_id are filled in, as Slack stores them."""
    result = copy.deepcopy(blocks or [])
    for block in result:
        block.setdefault("block_id", secrets.token_urlsafe(4))
        for element in block_elements(block):
            element.setdefault("action_id", secrets.token_urlsafe(4))
    return result

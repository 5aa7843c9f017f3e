"""Small Block Kit constructors shared by the modals and messages (pure functions, dicts out)."""

from __future__ import annotations

from typing import Any

from views.ids import Action

Block = dict[str, Any]


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value[:150] if value else " ", "emoji": True}


def mrkdwn(value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": value}


def option(label: str, value: str | None = None) -> dict[str, Any]:
    return {"text": text(label), "value": value if value is not None else label}


def section(value: str) -> Block:
    return {"type": "section", "text": mrkdwn(value[:3000])}


def header(value: str) -> Block:
    return {"type": "header", "text": text(value)}


def divider() -> Block:
    return {"type": "divider"}


def context(value: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(value[:3000])]}


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": text(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = text(hint)
    return block


def text_input(
    *,
    initial: str | None = None,
    multiline: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": Action.INPUT, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = text(placeholder)
    return element


def static_select(
    options: list[dict[str, Any]],
    *,
    initial: str | None = None,
    placeholder: str = "Choose…",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": Action.INPUT,
        "options": options,
        "placeholder": text(placeholder),
    }
    chosen = [o for o in options if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def multi_select(options: list[dict[str, Any]], *, initial: list[str] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": Action.INPUT,
        "options": options,
        "placeholder": text("Choose…"),
    }
    chosen = [o for o in options if o["value"] in (initial or [])]
    if chosen:
        element["initial_options"] = chosen
    return element


def checkboxes(options: list[dict[str, Any]], *, initial: list[str] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "checkboxes", "action_id": Action.INPUT, "options": options}
    chosen = [o for o in options if o["value"] in (initial or [])]
    if chosen:
        element["initial_options"] = chosen
    return element


def users_select(*, initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": Action.INPUT,
        "placeholder": text("Choose…"),
    }
    if initial:
        element["initial_user"] = initial
    return element


def datetime_picker(*, initial: int | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datetimepicker", "action_id": Action.INPUT}
    if initial is not None:
        element["initial_date_time"] = initial
    return element


def date_picker() -> dict[str, Any]:
    return {"type": "datepicker", "action_id": Action.INPUT}


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": text(label), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = "Submit",
    private_metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": text(title[:24]),
        "close": text("Cancel"),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = text(submit)
    return view

"""Filling a modal the way a person does: by label text, everything else left as Slack shows it.

Builds `view.state.values` with the exact per-element shapes Slack sends in `view_submission`, as
real Slack does: untouched inputs keep what the user typed before, else their `initial_*` value, and Slack's
client-side rules (required inputs, min/max length, known options) are enforced before anything is sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.slack.blockkit import block_elements, input_blocks, label_of


class InputRejected(ValueError):
    """Slack's client would refuse to submit (required input empty, text too long, ...)."""


# element type -> (state key, initial key, kind)
ELEMENTS: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "number"),
    "static_select": ("selected_option", "initial_option", "option"),
    "external_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "multi_external_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "users_select": ("selected_user", "initial_user", "user"),
    "multi_users_select": ("selected_users", "initial_users", "users"),
    "conversations_select": ("selected_conversation", "initial_conversation", "conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations", "conversations"),
    "channels_select": ("selected_channel", "initial_channel", "conversation"),
    "multi_channels_select": ("selected_channels", "initial_channels", "conversations"),
    "datepicker": ("selected_date", "initial_date", "date"),
    "timepicker": ("selected_time", "initial_time", "time"),
    "datetimepicker": ("selected_date_time", "initial_date_time", "datetime"),
}
MULTI_KINDS = frozenset({"options", "users", "conversations"})
Resolver = Callable[[str], str]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _as_sent(option: dict[str, Any]) -> dict[str, Any]:
    """An option as Slack echoes it in state: a copy whose plain_text objects carry `emoji: true`."""
    option = copy.deepcopy(option)
    for key in ("text", "description"):
        obj = option.get(key)
        if isinstance(obj, dict) and obj.get("type") == "plain_text":
            obj.setdefault("emoji", True)
    return option


def _pick_option(element: dict[str, Any], wanted: Any, label: str) -> dict[str, Any]:
    if isinstance(wanted, dict):
        wanted = wanted.get("value")
    options = _options(element)
    if element["type"].endswith("external_select"):
        return {"text": {"type": "plain_text", "text": str(wanted), "emoji": True}, "value": str(wanted)}
    for option in options:
        if str(wanted) in (option.get("value"), (option.get("text") or {}).get("text")):
            return _as_sent(option)
    shown = [(o.get("text") or {}).get("text") for o in options]
    raise KeyError(f"{label!r}: no option {wanted!r}; options are {shown}")


def _date_text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
        raise InputRejected(f"datepicker value must be YYYY-MM-DD, got {value!r}")
    return str(value)


def _time_text(value: Any) -> str:
    if isinstance(value, dt.time | dt.datetime):
        return value.strftime("%H:%M")
    if not re.fullmatch(r"\d{2}:\d{2}", str(value)):
        raise InputRejected(f"timepicker value must be HH:MM, got {value!r}")
    return str(value)


def _epoch(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return int(value)


def _convert(
    element: dict[str, Any], kind: str, value: Any, label: str, users: Resolver, convs: Resolver
) -> Any:
    """A value given by a test -> the value Slack would put in state for this element."""
    if value is None or (kind in MULTI_KINDS and not value):
        return [] if kind in MULTI_KINDS else None
    many = list(value) if isinstance(value, list | tuple | set) else [value]
    converters: dict[str, Callable[[], Any]] = {
        "text": lambda: str(value),
        "number": lambda: str(value),
        "option": lambda: _pick_option(element, value, label),
        "options": lambda: [_pick_option(element, v, label) for v in many],
        "user": lambda: users(str(value)),
        "users": lambda: [users(str(v)) for v in many],
        "conversation": lambda: convs(str(value)),
        "conversations": lambda: [convs(str(v)) for v in many],
        "date": lambda: _date_text(value),
        "time": lambda: _time_text(value),
        "datetime": lambda: _epoch(value),
    }
    return converters[kind]()


def _initial(element: dict[str, Any], kind: str, initial_key: str) -> Any:
    initial = element.get(initial_key)
    if kind == "option" and initial is not None:
        return _as_sent(initial)
    if kind == "options":
        return [_as_sent(o) for o in initial or []]
    if kind in MULTI_KINDS:
        return list(initial or [])
    if kind == "number" and initial is not None:
        return str(initial)
    return initial


def _entry(element: dict[str, Any], state_value: Any) -> dict[str, Any]:
    state_key = ELEMENTS[element["type"]][0]
    entry: dict[str, Any] = {"type": element["type"], state_key: state_value}
    if element["type"] == "timepicker" and element.get("timezone"):
        entry["timezone"] = element["timezone"]
    return entry


def _check(element: dict[str, Any], block: dict[str, Any], kind: str, state_value: Any) -> None:
    label = label_of(block)
    if state_value in (None, "", []) and not block.get("optional", False):
        raise InputRejected(f"{label!r} is required: Slack would not let the user submit the form")
    if kind == "text" and isinstance(state_value, str):
        low, high = element.get("min_length", 0), element.get("max_length", 3000)
        if not low <= len(state_value) <= high:
            raise InputRejected(f"{label!r} must be {low} to {high} characters, got {len(state_value)}")
    if kind == "number" and state_value is not None:
        pattern = r"-?\d+(\.\d+)?" if element.get("is_decimal_allowed") else r"-?\d+"
        if not re.fullmatch(pattern, state_value):
            raise InputRejected(f"{label!r} is not a valid number: {state_value!r}")


def labels(view: dict[str, Any]) -> list[str]:
    return [label_of(block) for block in input_blocks(view)]


def build_state(
    view: dict[str, Any],
    values: Mapping[str, Any],
    *,
    users: Resolver,
    convs: Resolver,
    submitting: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """`state.values` of `view` with `values` (label or block_id -> value) applied.

    `submitting` applies Slack's client-side checks; a button click inside a modal sends the state as is.
    """
    by_label = {}
    for block in input_blocks(view):
        by_label.setdefault(label_of(block), block)
        by_label.setdefault(block["block_id"], block)
    unknown = [key for key in values if key not in by_label]
    if unknown:
        raise KeyError(
            f"no input labelled {unknown} in view {view.get('callback_id')!r}; labels: {labels(view)}"
        )
    given = {by_label[key]["block_id"]: value for key, value in values.items()}
    previous = (view.get("state") or {}).get("values") or {}
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        is_input = block.get("type") == "input"
        elements = [block["element"]] if is_input else list(block_elements(block))
        for element in elements:
            if element.get("type") not in ELEMENTS:
                if is_input and block["block_id"] in given:
                    raise NotImplementedError(
                        f"filling a {element.get('type')} is not supported by the emulator"
                    )
                continue
            _, initial_key, kind = ELEMENTS[element["type"]]
            kept = previous.get(block["block_id"], {}).get(element["action_id"])
            if is_input and block["block_id"] in given:
                value = _convert(element, kind, given[block["block_id"]], label_of(block), users, convs)
            elif kept is not None and kept.get("type") == element["type"]:
                value = kept[ELEMENTS[element["type"]][0]]
            else:
                value = _initial(element, kind, initial_key)
            if is_input and submitting:
                _check(element, block, kind, value)
            result.setdefault(block["block_id"], {})[element["action_id"]] = _entry(element, value)
    return result

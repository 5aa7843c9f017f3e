"""Reading submitted modal state back into the domain's forms (the inverse of `views.modals`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from bot.enums import KeyEventKind
from bot.forms import CloseForm, DeclareForm, FollowUpForm, KeyEventInput, UpdateForm
from views.ids import (
    SELLER_FLAG_GOLDEN_LIST,
    SELLER_FLAG_KEY_ACCOUNT,
    Action,
    Block,
    key_event_at,
    key_event_note,
)
from views.modals import IMPACT_BLOCKS, text_digest


class State:
    """Typed access to `view.state.values` whatever the element type."""

    def __init__(self, view: dict[str, Any]) -> None:
        self.values: dict[str, dict[str, Any]] = view.get("state", {}).get("values", {})
        self.metadata: dict[str, Any] = _metadata(view.get("private_metadata"))

    def _element(self, block_id: str) -> dict[str, Any]:
        return self.values.get(block_id, {}).get(Action.INPUT, {})

    def text(self, block_id: str) -> str | None:
        value = self._element(block_id).get("value")
        return value.strip() or None if isinstance(value, str) else None

    def choice(self, block_id: str) -> str | None:
        selected = self._element(block_id).get("selected_option")
        return selected.get("value") if selected else None

    def choices(self, block_id: str) -> list[str]:
        return [item["value"] for item in self._element(block_id).get("selected_options") or []]

    def user(self, block_id: str) -> str | None:
        return self._element(block_id).get("selected_user")

    def date(self, block_id: str) -> date | None:
        value = self._element(block_id).get("selected_date")
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def datetime(self, block_id: str) -> datetime | None:
        value = self._element(block_id).get("selected_date_time")
        return datetime.fromtimestamp(int(value), tz=UTC) if value is not None else None


def _metadata(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def declare_form(view: dict[str, Any]) -> DeclareForm:
    state = State(view)
    flags = state.choices(Block.SELLER_FLAGS)
    return DeclareForm(
        title=state.text(Block.TITLE) or "",
        description=state.text(Block.DESCRIPTION) or "",
        priority=_int(state.choice(Block.PRIORITY)) or 0,
        environments=state.choices(Block.ENVIRONMENTS),
        platform=state.choice(Block.PLATFORM) or "",
        impacts={
            kind.value: level for kind, block in IMPACT_BLOCKS.items() if (level := state.choice(block))
        },
        zendesk_ticket_id=state.text(Block.ZENDESK),
        seller_contract_id=state.text(Block.SELLER_CONTRACT),
        zoho_desk_ticket_id=state.text(Block.ZOHO_DESK),
        is_key_account=SELLER_FLAG_KEY_ACCOUNT in flags,
        is_seller_in_golden_list=SELLER_FLAG_GOLDEN_LIST in flags,
        suggested_team_routing=state.choice(Block.TEAM),
        category=state.choice(Block.CATEGORY),
    )


def update_form(view: dict[str, Any]) -> UpdateForm:
    state = State(view)
    return UpdateForm(
        status=state.choice(Block.STATUS),
        priority=_int(state.choice(Block.PRIORITY)),
        title=state.text(Block.TITLE) or "",
        description=state.text(Block.DESCRIPTION) or "",
        commander_id=state.user(Block.COMMANDER),
        message=state.text(Block.MESSAGE),
    )


def update_shown(view: dict[str, Any], form: UpdateForm) -> dict[str, Any]:
    """What the Update modal showed when it was opened (see `modals.shown_values`), in the form's terms.

    The description is known by its digest: when the submitted text has the same digest it was left as
    shown; otherwise it was edited, and what was shown is some other text.
    """
    shown = State(view).metadata.get("shown")
    if not isinstance(shown, dict):
        return {}
    values = {name: shown[name] for name in ("status", "priority", "title", "commander_id") if name in shown}
    digest = shown.get("description_digest")
    if isinstance(digest, str) and form.description is not None:
        values["description"] = form.description if text_digest(form.description) == digest else _EDITED
    return values


#: Stands for a shown value that differs from anything submitted.
_EDITED = object()


def key_events_form(view: dict[str, Any]) -> dict[str, KeyEventInput]:
    state = State(view)
    return {
        kind.value: KeyEventInput(
            at=state.datetime(key_event_at(kind.value)), message=state.text(key_event_note(kind.value))
        )
        for kind in KeyEventKind
    }


def close_form(view: dict[str, Any]) -> CloseForm:
    state = State(view)
    return CloseForm(reason=state.choice(Block.REASON) or "", message=state.text(Block.MESSAGE))


def followup_form(view: dict[str, Any]) -> FollowUpForm:
    state = State(view)
    return FollowUpForm(
        summary=state.text(Block.SUMMARY) or "",
        description=state.text(Block.DESCRIPTION) or "",
        assignee_id=state.user(Block.ASSIGNEE),
        due_date=state.date(Block.DUE_DATE),
    )


def incident_id(view: dict[str, Any]) -> int | None:
    value = State(view).metadata.get("incident_id")
    return value if isinstance(value, int) else None

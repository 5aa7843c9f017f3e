"""The four modals as pure builders: contractual labels, options, prefills, valid Block Kit."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.forms import DeclareForm
from bot.models import Incident, KeyEvent
from sandbox.slack.blockkit import normalise_view
from views import modals
from views.ids import Block, Callback

TEAMS = ["Payments", "Checkout"]
CATEGORIES = ["Availability", "Security"]


def incident(**overrides: Any) -> Incident:
    values: dict[str, Any] = {
        "id": 12,
        "title": "Checkout is down for everyone",
        "description": "Card payments fail",
        "status": "INVESTIGATING",
        "priority": 2,
        "environments": ["PRD"],
        "reporter_id": "U1",
        "commander_id": "U2",
    }
    return Incident(**{**values, **overrides})


def labels(view: dict) -> list[str]:
    return [block["label"]["text"] for block in view["blocks"] if block["type"] == "input"]


def element(view: dict, label: str) -> dict:
    return next(b["element"] for b in view["blocks"] if b["type"] == "input" and b["label"]["text"] == label)


def option_texts(view: dict, label: str) -> list[str]:
    return [option["text"]["text"] for option in element(view, label)["options"]]


def valid(view: dict) -> dict:
    """What Slack would accept: slack_sdk's own model checks and the emulator's views.open checks."""
    View(**view).validate_json()
    normalise_view(view)
    return view


def test_declare_modal_labels_and_options_are_the_contract() -> None:
    view = valid(modals.declare_modal(title="Checkout down", teams=TEAMS, categories=CATEGORIES))
    assert view["callback_id"] == Callback.DECLARE
    assert view["title"]["text"] == "Declare an incident"
    assert labels(view) == [
        "Title",
        "Description",
        "Priority",
        "Environments",
        "Platform",
        "Customers impact",
        "Sellers impact",
        "Business impact",
        "Employees impact",
        "Zendesk ticket ID",
        "Seller contract ID",
        "Zoho Desk ticket ID",
        "Seller flags",
        "Suggested team",
        "Category",
    ]
    assert option_texts(view, "Priority") == ["P1", "P2", "P3", "P4", "P5"]
    assert element(view, "Environments")["type"] == "multi_static_select"
    assert option_texts(view, "Environments") == ["PRD", "STG", "INT"]
    assert [o["value"] for o in element(view, "Environments")["initial_options"]] == ["PRD"]
    assert option_texts(view, "Platform") == [
        "platform-FR",
        "platform-DE",
        "platform-ES",
        "platform-IT",
        "platform-UK",
        "platform-All",
    ]
    assert element(view, "Platform")["initial_option"]["value"] == "platform-All"
    for kind in ("Customers", "Sellers", "Business", "Employees"):
        assert option_texts(view, f"{kind} impact") == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert element(view, "Seller flags")["type"] == "checkboxes"
    assert option_texts(view, "Seller flags") == ["Key account", "Seller in golden list"]
    assert option_texts(view, "Suggested team") == TEAMS
    assert option_texts(view, "Category") == CATEGORIES
    assert element(view, "Title")["initial_value"] == "Checkout down"
    required = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input" and not b["optional"]]
    assert required == ["Title", "Priority", "Environments", "Platform"], "P4–P5 team rule is server-side"


def test_declare_modal_leaves_title_length_to_the_server_and_remembers_the_channel() -> None:
    view = valid(modals.declare_modal(teams=TEAMS, categories=[], channel_id="C42"))
    assert "Category" not in labels(view), "no categories configured, no Category input"
    title = element(view, "Title")
    assert "initial_value" not in title
    assert "max_length" not in title and "min_length" not in title, "too long or short: an inline error"
    assert json.loads(view["private_metadata"]) == {"channel_id": "C42"}


def test_update_modal_is_prefilled_with_the_incident() -> None:
    view = valid(modals.update_modal(incident(), channel_id="C9"))
    assert view["callback_id"] == Callback.UPDATE
    assert view["title"]["text"] == "Update incident"
    assert labels(view) == ["Status", "Priority", "Title", "Description", "Commander", "Message"]
    assert option_texts(view, "Status") == [
        "Open",
        "Investigating",
        "Mitigating",
        "Mitigated",
        "Post-mortem",
        "Closed",
    ]
    assert element(view, "Status")["initial_option"]["value"] == "INVESTIGATING"
    assert element(view, "Priority")["initial_option"]["text"]["text"] == "P2"
    assert element(view, "Title")["initial_value"] == "Checkout is down for everyone"
    assert element(view, "Description")["initial_value"] == "Card payments fail"
    assert element(view, "Commander") == {
        "type": "users_select",
        "action_id": "value",
        "placeholder": {"type": "plain_text", "text": "Choose…", "emoji": True},
        "initial_user": "U2",
    }
    assert "initial_value" not in element(view, "Message")
    metadata = json.loads(view["private_metadata"])
    assert {k: metadata[k] for k in ("incident_id", "channel_id")} == {"incident_id": 12, "channel_id": "C9"}
    shown = metadata["shown"]
    assert (shown["status"], shown["priority"], shown["title"], shown["commander_id"]) == (
        "INVESTIGATING",
        2,
        "Checkout is down for everyone",
        "U2",
    )
    assert shown["description_digest"] == modals.text_digest("Card payments fail")


def test_key_events_modal_has_a_time_and_a_note_per_event_prefilled_when_set() -> None:
    detected = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    events = [KeyEvent(incident_id=12, kind="detected", at=detected, message="Alert fired")]
    view = valid(modals.key_events_modal(incident(), events))
    assert view["callback_id"] == Callback.KEY_EVENTS
    assert view["title"]["text"] == "Key events"
    assert labels(view) == [
        "Detected at",
        "Detected note",
        "Started at",
        "Started note",
        "Recovered at",
        "Recovered note",
        "Mitigated at",
        "Mitigated note",
        "Resolved at",
        "Resolved note",
    ]
    assert element(view, "Detected at")["type"] == "datetimepicker"
    assert element(view, "Detected at")["initial_date_time"] == int(detected.timestamp())
    assert element(view, "Detected note")["initial_value"] == "Alert fired"
    assert "initial_date_time" not in element(view, "Started at")
    assert all(b["optional"] for b in view["blocks"] if b["type"] == "input")


@pytest.mark.parametrize(
    ("blockers", "shown"),
    [
        ([], None),
        (
            [
                "it is Open; it must be at least Mitigated",
                "a P1 incident needs its post-mortem created first",
            ],
            ":no_entry: *This incident cannot be closed yet:*\n"
            "• it is Open; it must be at least Mitigated\n"
            "• a P1 incident needs its post-mortem created first",
        ),
    ],
)
def test_close_modal_lists_what_blocks_the_close(blockers: list[str], shown: str | None) -> None:
    view = valid(modals.close_modal(incident(), blockers))
    assert view["callback_id"] == Callback.CLOSE
    assert view["title"]["text"] == "Close incident"
    assert labels(view) == ["Closure reason", "Message"]
    assert option_texts(view, "Closure reason") == ["Resolved", "Duplicate", "False positive", "Cancelled"]
    assert [o["value"] for o in element(view, "Closure reason")["options"]] == [
        "resolved",
        "duplicate",
        "false positive",
        "cancelled",
    ]
    sections = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert sections == ([shown] if shown else [])


def test_input_block_ids_are_the_form_fields_errors_are_keyed_by() -> None:
    view = modals.declare_modal(teams=TEAMS, categories=CATEGORIES)
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == [
        Block.TITLE,
        Block.DESCRIPTION,
        Block.PRIORITY,
        Block.ENVIRONMENTS,
        Block.PLATFORM,
        Block.IMPACT_CUSTOMERS,
        Block.IMPACT_SELLERS,
        Block.IMPACT_BUSINESS,
        Block.IMPACT_EMPLOYEES,
        Block.ZENDESK,
        Block.SELLER_CONTRACT,
        Block.ZOHO_DESK,
        Block.SELLER_FLAGS,
        Block.TEAM,
        Block.CATEGORY,
    ]
    impact_errors = {"impact_customers", "impact_sellers", "impact_business", "impact_employees"}
    names = {f.name for f in fields(DeclareForm)} | impact_errors | {"seller_flags"}
    assert set(ids) <= names, "a validation error keyed by field lands on the block of that name"

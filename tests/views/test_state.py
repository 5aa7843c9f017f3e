"""Submitted modal state back into the domain's forms: every modal, filled the way Slack fills it.

The state is built by the Slack emulator's form filler (by label, with Slack's per-element shapes), so a
round trip here is the same one a real submission makes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.forms import CloseForm, DeclareForm, KeyEventInput, UpdateForm
from bot.models import Incident, KeyEvent
from sandbox.slack.forms import build_state
from views import modals, state

USERS = {"alice": "U1", "bob": "U2"}


def submitted(view: dict, values: dict[str, Any]) -> dict:
    """`view` as a view_submission carries it: with `state.values` after the user filled `values`."""
    filled = build_state(view, values, users=lambda ref: USERS.get(ref, ref), convs=lambda ref: ref)
    return {**view, "state": {"values": filled}}


def incident() -> Incident:
    return Incident(
        id=12,
        title="Checkout is down for everyone",
        description="Card payments fail",
        status="INVESTIGATING",
        priority=2,
        environments=["PRD"],
        reporter_id="U1",
        commander_id="U1",
    )


def test_declare_round_trip_with_every_field() -> None:
    view = modals.declare_modal(title="ignored", teams=["Payments", "Checkout"], categories=["Security"])
    form = state.declare_form(
        submitted(
            view,
            {
                "Title": "  Refund export is slow  ",
                "Description": "Since 9:00",
                "Priority": "P4",
                "Environments": ["STG", "INT"],
                "Platform": "platform-DE",
                "Customers impact": "High",
                "Sellers impact": "Lowest",
                "Zendesk ticket ID": "ZD-1",
                "Seller contract ID": "SC-2",
                "Zoho Desk ticket ID": "ZO-3",
                "Seller flags": ["Key account"],
                "Suggested team": "Checkout",
                "Category": "Security",
            },
        )
    )
    assert form == DeclareForm(
        title="Refund export is slow",
        description="Since 9:00",
        priority=4,
        environments=["STG", "INT"],
        platform="platform-DE",
        impacts={"Customers": "High", "Sellers": "Lowest"},
        zendesk_ticket_id="ZD-1",
        seller_contract_id="SC-2",
        zoho_desk_ticket_id="ZO-3",
        is_key_account=True,
        is_seller_in_golden_list=False,
        suggested_team_routing="Checkout",
        category="Security",
    )
    form.validate(teams=["Payments", "Checkout"], categories=["Security"])


def test_declare_defaults_are_what_the_modal_shows() -> None:
    view = modals.declare_modal(teams=["Payments"], categories=[])
    form = state.declare_form(submitted(view, {"Title": "Checkout is down", "Priority": "P1"}))
    assert form == DeclareForm(title="Checkout is down", priority=1)
    assert form.environments == ["PRD"] and form.platform == "platform-All"


def test_update_round_trip_unchanged_then_changed() -> None:
    view = modals.update_modal(incident())
    untouched = state.update_form(submitted(view, {}))
    assert untouched == UpdateForm(
        status="INVESTIGATING",
        priority=2,
        title="Checkout is down for everyone",
        description="Card payments fail",
        commander_id="U1",
        message=None,
    )
    assert {k: v for k, v in untouched.values().items() if getattr(incident(), k) != v} == {}
    changed = state.update_form(
        submitted(
            view,
            {
                "Status": "Post-mortem",
                "Priority": "P1",
                "Title": "Checkout fails",
                "Description": "",
                "Commander": "bob",
                "Message": "  handing over ",
            },
        )
    )
    assert changed == UpdateForm(
        status="POST_MORTEM",
        priority=1,
        title="Checkout fails",
        description="",
        commander_id="U2",
        message="handing over",
    )
    assert state.incident_id(submitted(view, {})) == 12


def test_key_events_round_trip_including_prefilled_ones() -> None:
    detected = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    started = datetime(2024, 5, 1, 9, 12, tzinfo=UTC)
    view = modals.key_events_modal(
        incident(), [KeyEvent(incident_id=12, kind="detected", at=detected, message="Alert")]
    )
    form = state.key_events_form(submitted(view, {"Started at": started, "Started note": "Deploy 42"}))
    assert form == {
        "detected": KeyEventInput(at=detected, message="Alert"),
        "started": KeyEventInput(at=started, message="Deploy 42"),
        "recovered": KeyEventInput(at=None, message=None),
        "mitigated": KeyEventInput(at=None, message=None),
        "resolved": KeyEventInput(at=None, message=None),
    }
    assert all(value.at is None or value.at.tzinfo is UTC for value in form.values())


def test_close_round_trip() -> None:
    view = modals.close_modal(incident(), [])
    assert state.close_form(submitted(view, {})) == CloseForm(reason="resolved", message=None)
    form = state.close_form(submitted(view, {"Closure reason": "False positive", "Message": "cache"}))
    assert form == CloseForm(reason="false positive", message="cache")
    form.validate()


def test_metadata_survives_only_as_the_builders_wrote_it() -> None:
    assert state.incident_id({"private_metadata": "not json"}) is None
    assert state.incident_id({"private_metadata": '{"incident_id": "12"}'}) is None
    assert state.incident_id({"private_metadata": '{"incident_id": 12}'}) == 12
    assert state.State({"private_metadata": '{"channel_id": "C1"}'}).metadata == {"channel_id": "C1"}

"""The four modals (Declare, Update, Key events, Close) as pure builders, with the labels users rely on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from bot.enums import ClosureReason, Environment, ImpactLevel, ImpactType, KeyEventKind, Platform, Status
from bot.forms import DESCRIPTION_MAX, TITLE_MAX, TITLE_MIN
from bot.models import Incident, KeyEvent
from views.blocks import (
    Block,
    checkboxes,
    context,
    datetime_picker,
    input_block,
    modal,
    multi_select,
    option,
    section,
    static_select,
    text_input,
    users_select,
)
from views.ids import SELLER_FLAG_GOLDEN_LIST, SELLER_FLAG_KEY_ACCOUNT, Callback, key_event_at, key_event_note
from views.ids import Block as B

IMPACT_BLOCKS = {
    ImpactType.CUSTOMERS: B.IMPACT_CUSTOMERS,
    ImpactType.SELLERS: B.IMPACT_SELLERS,
    ImpactType.BUSINESS: B.IMPACT_BUSINESS,
    ImpactType.EMPLOYEES: B.IMPACT_EMPLOYEES,
}


def metadata(**values: object) -> str:
    return json.dumps(values, separators=(",", ":"))


def priority_options() -> list[dict]:
    return [option(f"P{n}", str(n)) for n in range(1, 6)]


def declare_modal(
    *, title: str = "", teams: Sequence[str], categories: Sequence[str], channel_id: str | None = None
) -> dict:
    """Declare an incident: title prefilled from `/incident open <title>`."""
    blocks: list[Block] = [
        input_block(
            B.TITLE,
            "Title",
            text_input(initial=title[:TITLE_MAX] or None, placeholder=f"{TITLE_MIN}–{TITLE_MAX} characters"),
        ),
        input_block(
            B.DESCRIPTION,
            "Description",
            text_input(multiline=True, max_length=DESCRIPTION_MAX),
            optional=True,
        ),
        input_block(
            B.PRIORITY,
            "Priority",
            static_select(priority_options(), initial="3"),
            hint="P1–P3 are critical: they get a channel. P4–P5 get a Jira ticket only.",
        ),
        input_block(
            B.ENVIRONMENTS,
            "Environments",
            multi_select([option(e.value) for e in Environment], initial=[Environment.PRD.value]),
        ),
        input_block(
            B.PLATFORM,
            "Platform",
            static_select([option(p.value) for p in Platform], initial=Platform.ALL.value),
        ),
    ]
    levels = [option(level.value) for level in ImpactLevel]
    blocks += [
        input_block(
            block_id, f"{kind.value} impact", static_select(levels, placeholder="None"), optional=True
        )
        for kind, block_id in IMPACT_BLOCKS.items()
    ]
    blocks += [
        input_block(
            B.ZENDESK,
            "Zendesk ticket ID",
            text_input(max_length=64),
            optional=True,
            hint="With a Customers impact.",
        ),
        input_block(
            B.SELLER_CONTRACT,
            "Seller contract ID",
            text_input(max_length=64),
            optional=True,
            hint="With a Sellers impact.",
        ),
        input_block(
            B.ZOHO_DESK,
            "Zoho Desk ticket ID",
            text_input(max_length=64),
            optional=True,
            hint="With a Sellers impact.",
        ),
        input_block(
            B.SELLER_FLAGS,
            "Seller flags",
            checkboxes(
                [
                    option("Key account", SELLER_FLAG_KEY_ACCOUNT),
                    option("Seller in golden list", SELLER_FLAG_GOLDEN_LIST),
                ]
            ),
            optional=True,
        ),
        input_block(
            B.TEAM,
            "Suggested team",
            static_select([option(t) for t in teams]),
            optional=True,
            hint="Required for P4–P5.",
        ),
    ]
    if categories:
        blocks.append(
            input_block(B.CATEGORY, "Category", static_select([option(c) for c in categories]), optional=True)
        )
    return modal(
        Callback.DECLARE,
        "Declare an incident",
        blocks,
        submit="Declare",
        private_metadata=metadata(channel_id=channel_id),
    )


def update_modal(incident: Incident, *, channel_id: str | None = None) -> dict:
    """Update incident, prefilled with the current values (only changed ones count on submit)."""
    statuses = [option(status.label, status.value) for status in Status]
    blocks: list[Block] = [
        context(f"Incident #{incident.id}: {incident.title}"),
        input_block(B.STATUS, "Status", static_select(statuses, initial=incident.status)),
        input_block(
            B.PRIORITY, "Priority", static_select(priority_options(), initial=str(incident.priority))
        ),
        input_block(B.TITLE, "Title", text_input(initial=incident.title)),
        input_block(
            B.DESCRIPTION,
            "Description",
            text_input(initial=incident.description or None, multiline=True, max_length=DESCRIPTION_MAX),
            optional=True,
        ),
        input_block(B.COMMANDER, "Commander", users_select(initial=incident.commander_id)),
        input_block(B.MESSAGE, "Message", text_input(multiline=True, max_length=2000), optional=True),
    ]
    return modal(
        Callback.UPDATE,
        "Update incident",
        blocks,
        submit="Update",
        private_metadata=metadata(
            incident_id=incident.id, channel_id=channel_id, shown=shown_values(incident)
        ),
    )


def shown_values(incident: Incident) -> dict[str, object]:
    """What the Update modal shows, kept in its metadata: on submit only the fields the user changed
    from these count. The description travels as a digest (the metadata holds 3,000 characters)."""
    return {
        "status": str(incident.status),
        "priority": incident.priority,
        "title": incident.title,
        "commander_id": incident.commander_id,
        "description_digest": text_digest(incident.description or ""),
    }


def text_digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8", "replace")).hexdigest()[:20]


def key_events_modal(
    incident: Incident, events: Sequence[KeyEvent], *, channel_id: str | None = None
) -> dict:
    """Key events: a date-time picker and a note per user-editable event, prefilled when set."""
    current = {event.kind: event for event in events}
    blocks: list[Block] = [
        context(f"Incident #{incident.id}: {incident.title}. Times are shown in your time zone.")
    ]
    for kind in KeyEventKind:
        event = current.get(kind.value)
        blocks.append(
            input_block(
                key_event_at(kind.value),
                f"{kind.label} at",
                datetime_picker(initial=int(event.at.timestamp()) if event else None),
                optional=True,
            )
        )
        blocks.append(
            input_block(
                key_event_note(kind.value),
                f"{kind.label} note",
                text_input(initial=event.message if event else None, max_length=500),
                optional=True,
            )
        )
    return modal(
        Callback.KEY_EVENTS,
        "Key events",
        blocks,
        submit="Save",
        private_metadata=metadata(incident_id=incident.id, channel_id=channel_id),
    )


def close_modal(incident: Incident, blockers: Sequence[str], *, channel_id: str | None = None) -> dict:
    """Close incident; lists what still blocks the close so nobody submits in vain."""
    blocks: list[Block] = [context(f"Incident #{incident.id}: {incident.title}")]
    if blockers:
        blocks.append(
            section(
                ":no_entry: *This incident cannot be closed yet:*\n"
                + "\n".join(f"• {reason}" for reason in blockers)
            )
        )
    reasons = [option(reason.value.capitalize(), reason.value) for reason in ClosureReason]
    blocks += [
        input_block(B.REASON, "Closure reason", static_select(reasons, initial=ClosureReason.RESOLVED.value)),
        input_block(B.MESSAGE, "Message", text_input(multiline=True, max_length=2000), optional=True),
    ]
    return modal(
        Callback.CLOSE,
        "Close incident",
        blocks,
        submit="Close",
        private_metadata=metadata(incident_id=incident.id, channel_id=channel_id),
    )

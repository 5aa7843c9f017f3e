"""What a person does in Slack, as steps the Slack end-to-end tests share (no tests in this module).

Everything here acts through the Slack emulator only (slash commands, modals filled by label, button
clicks) and reads back what Slack holds: channels, members, messages, pins, ephemerals, DMs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sandbox.rig import Rig, person
from sandbox.slack import Ack
from sandbox.slack.blockkit import button_text, buttons
from views.ids import Callback

COMMAND = "/incident"
WAIT = 10.0
#: The declare modal's impact fields, filled as a reporter of a customer-facing outage would.
IMPACT = {"Customers impact": "High", "Category": "Availability"}


@dataclass(frozen=True)
class Declared:
    """An incident as the reporter learns of it: its number and, for P1–P3, its channel."""

    id: int
    channel: str | None = None
    name: str | None = None


def today() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


def last_ephemeral(rig: Rig, who: str, *, after: int = 0) -> str:
    """The newest ephemeral text the person got, waiting for one beyond the first `after`."""
    slack_id = person(who).slack_id
    found = rig.slack.wait_for(lambda: rig.slack.ephemerals(slack_id)[after:], timeout=WAIT)
    return found[-1]["text"]


def ephemeral_count(rig: Rig, who: str) -> int:
    return len(rig.slack.ephemerals(person(who).slack_id))


def command(rig: Rig, who: str, text: str, channel: str | None = None) -> str:
    """Run `/incident <text>` and return the ephemeral answer it produced."""
    before = ephemeral_count(rig, who)
    rig.slack_user(who).command(COMMAND, text, channel_id=channel or rig.general)
    return last_ephemeral(rig, who, after=before)


def open_view(rig: Rig, who: str, text: str, callback: Callback, channel: str | None = None) -> dict:
    user = rig.slack_user(who)
    ack = user.command(COMMAND, text, channel_id=channel or rig.general)
    assert not ack.text, f"expected a modal, got: {ack.text}"
    return user.wait_for_view(callback_id=callback, timeout=WAIT)


def declare(
    rig: Rig,
    who: str = "alice",
    title: str = "Checkout is down for everyone",
    priority: str = "P1",
    channel: str | None = None,
    **values: Any,
) -> Declared:
    """Declare through the modal; for P1–P3 wait until the channel is set up and announced."""
    before = ephemeral_count(rig, who)
    view = open_view(rig, who, f"open {title}", Callback.DECLARE, channel=channel)
    ack = rig.slack_user(who).submit(view, {"Priority": priority, **values})
    assert ack.errors is None, ack.errors
    feedback = last_ephemeral(rig, who, after=before)
    match = re.search(r"Incident #(\d+)", feedback)
    assert match, feedback
    incident_id = int(match.group(1))
    if priority not in ("P1", "P2", "P3"):
        return Declared(incident_id)
    prefix = f"inc-{today()}-{incident_id}-"
    found = rig.slack.wait_for(
        lambda: [
            c
            for c in rig.slack.channels.values()
            if c["name"].startswith(prefix) and c["creator"] == rig.slack.bot_user_id
        ],
        timeout=WAIT,
    )
    channel_id = found[0]["id"]
    rig.slack.wait_for(lambda: rig.slack.pins(channel_id), timeout=WAIT)
    return Declared(incident_id, channel_id, found[0]["name"])


def wait_for_jira_link(rig: Rig, incident: Declared) -> dict:
    """The announcement once it shows its Jira ticket (the last step of the channel set-up)."""
    return rig.slack.wait_for(
        lambda: (m := announcement(rig, incident)) and "/browse/" in message_text(m) and m, timeout=WAIT
    )


def announcement(rig: Rig, incident: Declared) -> dict:
    """The pinned announcement of the incident channel (LookupError while there is none)."""
    assert incident.channel
    pinned = rig.slack.pins(incident.channel)[0]
    found = [m for m in rig.slack.messages(incident.channel) if m["ts"] == pinned]
    return found[0]


def message_text(message: dict) -> str:
    """Everything a reader sees in a message: its blocks' texts (fields, context), else its text."""
    parts: list[str] = []
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields") or []]
        if block.get("type") == "context":
            parts += [element.get("text", "") for element in block.get("elements") or []]
    return "\n".join(parts) or message.get("text", "")


def button_labels(message: dict) -> list[str]:
    return [button_text(element) for _, element in buttons(message.get("blocks"))]


def texts(rig: Rig, channel: str) -> list[str]:
    """Plain messages (not the announcement) of a channel, oldest first."""
    return [m["text"] for m in rig.slack.messages(channel) if not m.get("blocks")]


def wait_for_text(rig: Rig, channel: str, fragment: str, *, after: int = 0) -> str:
    """The first plain message beyond the first `after` that contains `fragment`."""
    return rig.slack.wait_for(
        lambda: next((t for t in texts(rig, channel)[after:] if fragment in t), None),
        timeout=WAIT,
        message=f"a message containing {fragment!r} in {channel}",
    )


def update(rig: Rig, who: str, incident: Declared, values: dict[str, Any], ref: str = "") -> Ack:
    """Open the Update modal (in the incident channel, or with a ref) and submit `values` by label."""
    where = incident.channel if not ref else rig.general
    view = open_view(rig, who, f"update {ref}".strip(), Callback.UPDATE, channel=where)
    return rig.slack_user(who).submit(view, values)


def input_labels(view: dict) -> list[str]:
    return [block["label"]["text"] for block in view["blocks"] if block["type"] == "input"]


def section_texts(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")


def wait_for_no_jobs(rig: Rig) -> None:
    """Until the bot has done every job it has: whatever an acknowledged event or a delivered webhook
    was going to make it post, it has posted (the listeners commit their jobs before they ack)."""
    engine = sa.create_engine(rig.env["DATABASE_URL"])

    def no_jobs() -> bool:
        with engine.connect() as connection:
            return (
                connection.execute(
                    sa.text("SELECT count(*) FROM job WHERE state IN ('pending', 'running')")
                ).scalar()
                == 0
            )

    try:
        rig.slack.wait_for(no_jobs, timeout=WAIT, message="the bot's queue to empty")
    finally:
        engine.dispose()

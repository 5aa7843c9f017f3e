"""Reminder messages: the nudge in a quiet incident's channel, its snoozed form, and the post-mortem DM."""

from __future__ import annotations

from datetime import datetime

from bot.models import Incident
from views.announcement import escape
from views.blocks import Block, button, section
from views.durations import clock, duration
from views.ids import Action
from views.ids import Block as B

#: The snooze buttons: action, label, and how long each silences the incident's update reminders.
SNOOZES = (
    (Action.SNOOZE_30_MIN, "Snooze 30 min", 1800),
    (Action.SNOOZE_1_H, "Snooze 1 h", 3600),
    (Action.SNOOZE_2_H, "Snooze 2 h", 7200),
)


def update_reminder(incident: Incident, *, reminder_id: int, quiet_seconds: float) -> tuple[str, list[Block]]:
    """Mentions the commander, says how long the incident has gone without an update, offers Update and
    the snoozes."""
    text = (
        f":alarm_clock: <@{incident.commander_id}> no update on incident #{incident.id} for "
        f"{duration(quiet_seconds)}. Tell the channel where things stand with *Update*, "
        "or snooze this reminder."
    )
    elements = [button("Update", Action.UPDATE, str(incident.id), style="primary")]
    elements += [button(label, action, str(reminder_id)) for action, label, _seconds in SNOOZES]
    return text, [section(text), {"type": "actions", "block_id": B.REMINDER_ACTIONS, "elements": elements}]


def snoozed(until: datetime, user_id: str) -> tuple[str, list[Block]]:
    """What a reminder becomes once snoozed (its buttons gone)."""
    text = f"Snoozed until {clock(until)} by <@{user_id}>"
    return text, [section(text)]


def postmortem_reminder(incident: Incident, *, mitigated_seconds: float) -> tuple[str, list[Block]]:
    """The commander's DM about a post-mortem still missing, with the button that creates it."""
    where = f" (<#{incident.channel_id}>)" if incident.channel_id else ""
    text = (
        f":memo: Incident #{incident.id} *{escape(incident.title)}*{where} has been Mitigated for "
        f"{duration(mitigated_seconds)} and has no post-mortem yet."
    )
    actions = {
        "type": "actions",
        "block_id": B.REMINDER_ACTIONS,
        "elements": [button("Create post-mortem", Action.POSTMORTEM, str(incident.id), style="primary")],
    }
    return text, [section(text), actions]

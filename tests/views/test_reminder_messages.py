"""Reminder messages: the channel's nudge, its snoozed form, and the commander's post-mortem DM."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import Incident
from sandbox.slack.blockkit import button_text, buttons
from views.ids import Action
from views.reminders import postmortem_reminder, snoozed, update_reminder

INCIDENT = Incident(
    id=12, title="Checkout <down>", priority=1, reporter_id="UREP", commander_id="UCOM", channel_id="C12"
)


def test_the_update_reminder_mentions_the_commander_says_how_long_and_offers_update_and_snoozes() -> None:
    text, blocks = update_reminder(INCIDENT, reminder_id=5, quiet_seconds=1830)
    assert text.startswith(":alarm_clock: <@UCOM> no update on incident #12 for 30 min.")
    assert blocks[0]["text"]["text"] == text
    pressed = [(button_text(e), e["action_id"], e["value"]) for _, e in buttons(blocks)]
    assert pressed == [
        ("Update", Action.UPDATE, "12"),
        ("Snooze 30 min", Action.SNOOZE_30_MIN, "5"),
        ("Snooze 1 h", Action.SNOOZE_1_H, "5"),
        ("Snooze 2 h", Action.SNOOZE_2_H, "5"),
    ]


def test_a_snoozed_reminder_says_until_when_in_utc_and_by_whom_and_has_no_buttons() -> None:
    text, blocks = snoozed(datetime(2026, 3, 2, 14, 5, 59, tzinfo=UTC), "UBOB")
    assert text == "Snoozed until 14:05 UTC by <@UBOB>"
    assert list(buttons(blocks)) == []


def test_the_postmortem_dm_names_the_incident_and_creates_the_postmortem() -> None:
    text, blocks = postmortem_reminder(INCIDENT, mitigated_seconds=2 * 86400)
    assert text == (
        ":memo: Incident #12 *Checkout &lt;down&gt;* (<#C12>) has been Mitigated for 2 d "
        "and has no post-mortem yet."
    )
    assert [(button_text(e), e["action_id"], e["value"]) for _, e in buttons(blocks)] == [
        ("Create post-mortem", Action.POSTMORTEM, "12")
    ]

"""Reminder jobs against the Slack emulator: posted once in the channel or by DM, asked again before
posting, retried through a Slack outage, edited when snoozed. Short real intervals, waited for by
condition."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot import incidents, reminders
from bot.app import build_runtime
from bot.enums import ReminderKind
from bot.forms import CloseForm
from bot.models import Reminder, utcnow
from bot.rules import Actor
from sandbox.rig import person
from sandbox.slack.blockkit import button_text, buttons
from tests.sync.conftest import Harness, harness_settings

QUIET = 0.3  # seconds without news before a P1 or P3 is reminded, here


@pytest.fixture
def harness(database_url: str, emulators) -> Iterator[Harness]:
    slack, jira, announcements = emulators
    settings = harness_settings(
        database_url,
        slack,
        jira,
        announcements,
        reminder_update_seconds={1: QUIET, 3: QUIET},
        reminder_postmortem_seconds=QUIET,
    )
    runtime = build_runtime(settings)
    yield Harness(runtime, slack, jira, announcements)
    runtime.engine.dispose()


def check(harness: Harness) -> int:
    return next(task for task in harness.runtime.periodic if task.name == "reminders").run()


def checked_until_due(harness: Harness) -> int:
    """Run the periodic check until it decides something (the quiet interval is real time)."""
    return harness.slack.wait_for(lambda: check(harness), timeout=5, message="a reminder to be due")


def reminder_messages(harness: Harness, channel: str) -> list[dict]:
    return [m for m in harness.slack.messages(channel) if "no update on incident" in m["text"]]


def ready(harness: Harness, priority: int = 1):
    """A declared incident whose channel is set up (its own Slack jobs done)."""
    incident = harness.declare(priority)
    harness.drain_all()
    return harness.incident(incident.id)


def test_a_quiet_incident_gets_one_reminder_in_its_channel_mentioning_the_commander(harness) -> None:
    incident = ready(harness)
    assert checked_until_due(harness) == 1
    assert check(harness) == 0, "decided once"
    harness.drain()
    [message] = reminder_messages(harness, incident.channel_id)
    assert f"<@{incident.commander_id}>" in message["text"]
    assert re.search(rf"no update on incident #{incident.id} for \d s\.", message["text"])
    assert [button_text(e) for _, e in buttons(message["blocks"])] == [
        "Update",
        "Snooze 30 min",
        "Snooze 1 h",
        "Snooze 2 h",
    ]
    with harness.session() as session:
        [row] = reminders.of_incident(session, incident.id)
    assert (row.channel_id, row.message_ts) == (incident.channel_id, message["ts"])


def test_a_reminder_for_an_incident_closed_in_the_meantime_is_not_sent(harness) -> None:
    incident = ready(harness, priority=3)
    assert checked_until_due(harness) == 1  # the reminder's job is queued, not run yet
    harness.update(incident, status="MITIGATED")
    with harness.session() as session:
        incidents.close(
            session=session,
            incident_id=incident.id,
            actor=Actor(person("alice").slack_id),
            form=CloseForm(reason="resolved"),
            policy=harness.runtime.policy,
        )
        session.commit()
    harness.drain_all()
    assert reminder_messages(harness, incident.channel_id) == []
    assert any("is closed" in m["text"] for m in harness.slack.messages(incident.channel_id))


def test_a_reminder_waits_out_a_slack_outage_and_is_posted_once(harness) -> None:
    incident = ready(harness)
    checked_until_due(harness)
    harness.slack.fail("chat.postMessage", "service_unavailable", times=2)
    harness.drain_all()
    assert len(reminder_messages(harness, incident.channel_id)) == 1


def test_a_snooze_edits_the_reminder_to_say_until_when_and_by_whom(harness) -> None:
    incident = ready(harness)
    checked_until_due(harness)
    harness.drain()
    with harness.session() as session:
        [row] = reminders.of_incident(session, incident.id)
        _, snoozed = reminders.snooze(
            session=session, reminder_id=row.id, actor=Actor("U0ALICE"), seconds=3600, now=utcnow()
        )
        session.commit()
    harness.drain()
    [message] = [m for m in harness.slack.messages(incident.channel_id) if m["ts"] == row.message_ts]
    assert message["text"] == f"Snoozed until {snoozed.snoozed_until:%H:%M} UTC by <@U0ALICE>"
    assert list(buttons(message["blocks"])) == []
    assert check(harness) == 0, "snoozed for an hour"


def test_a_p1_mitigated_long_enough_without_a_postmortem_dms_its_commander(harness) -> None:
    incident = ready(harness)
    harness.update(incident, status="MITIGATED", commander_id=person("bob").slack_id)
    harness.drain_all()
    found = harness.slack.wait_for(
        lambda: check(harness) and [r for r in _decided(harness) if r.kind == ReminderKind.POSTMORTEM],
        timeout=5,
    )
    assert len(found) == 1
    harness.drain_all()
    [dm] = harness.slack.dms(person("bob").slack_id)
    assert f"Incident #{incident.id}" in dm["text"] and "no post-mortem yet" in dm["text"]
    assert [button_text(e) for _, e in buttons(dm["blocks"])] == ["Create post-mortem"]
    check(harness)
    harness.drain_all()
    assert len(harness.slack.dms(person("bob").slack_id)) == 1, "one DM"


def _decided(harness: Harness) -> list[Reminder]:
    with harness.session() as session:
        return list(session.exec(select(Reminder)))

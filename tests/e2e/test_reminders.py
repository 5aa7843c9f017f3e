"""Reminders end to end, with intervals of seconds: the real bot reminds quiet incidents in their channel,
holds back while there is news (from Slack or from Jira), snoozes for whoever may update and refuses
anyone else, sends nothing for an incident closed meanwhile, and DMs the commander a missing post-mortem.

Waiting for nothing to happen is done against a positive signal: another incident's reminders keep
coming, which proves the checks ran while the quiet one stayed quiet.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.rig import Rig, person
from tests.e2e.slack_steps import (
    WAIT,
    Declared,
    button_labels,
    declare,
    last_ephemeral,
    open_view,
    texts,
    wait_for_jira_link,
    wait_for_text,
)
from views.ids import Callback

QUIET = 3  # seconds without news before a P1 or P3 is reminded, here
FAST = pytest.mark.rig_env(
    REMINDER_UPDATE_SECONDS=f'{{"1": {QUIET}, "3": {QUIET}}}',
    REMINDER_CHECK_SECONDS="0.2",
    REMINDER_POSTMORTEM_SECONDS=str(QUIET),
)
ALICE, CAROL, DAVE = (person(name).slack_id for name in ("alice", "carol", "dave"))
SNOOZED = re.compile(r"^Snoozed until (\d\d):(\d\d) UTC by <@(\w+)>$")


def reminders(rig: Rig, channel: str) -> list[dict]:
    return [m for m in rig.slack.messages(channel) if "no update on incident" in m["text"]]


def wait_for_reminders(rig: Rig, channel: str, count: int, timeout: float = 4 * QUIET + WAIT) -> list[dict]:
    return rig.slack.wait_for(
        lambda: found if len(found := reminders(rig, channel)) >= count else None,
        timeout=timeout,
        message=f"{count} reminder(s) in {channel}",
    )


def ready(
    rig: Rig, who: str = "alice", priority: str = "P1", title: str = "Checkout is down for all"
) -> Declared:
    incident = declare(rig, who, title, priority)
    wait_for_jira_link(rig, incident)
    return incident


@FAST
def test_a_quiet_incident_is_reminded_in_its_channel_once_per_quiet_interval(rig: Rig) -> None:
    normal = declare(rig, "alice", "Search is slow for some", "P4", **{"Suggested team": "Payments"})
    incident = ready(rig)
    assert incident.channel
    first, second = wait_for_reminders(rig, incident.channel, 2)
    assert first["text"].startswith(f":alarm_clock: <@{ALICE}> no update on incident #{incident.id} for ")
    assert quiet_for(first) >= QUIET
    assert button_labels(first) == ["Update", "Snooze 30 min", "Snooze 1 h", "Snooze 2 h"]
    assert float(second["ts"]) - float(first["ts"]) >= QUIET - 0.3, "another full quiet interval"
    assert quiet_for(second) >= 2 * QUIET, "a reminder is no update: the quiet goes on"
    assert not any("no update" in m["text"] for m in rig.slack.dms(ALICE)), f"P4 #{normal.id}: none"


@FAST
def test_news_from_slack_or_from_jira_holds_the_reminder_back(rig: Rig) -> None:
    incident = ready(rig)
    assert incident.channel
    alice = rig.slack_user("alice")
    for step in range(3):
        if step:
            time.sleep(QUIET / 2)  # news every half interval: this paces the person, it waits for no result
        last_news = time.time()
        if step == 1:
            rig.jira_user("carol").update("INC-1", summary=f"Checkout is down for all, step {step}")
            wait_for_text(rig, incident.channel, "Jira INC-1: ")
        else:
            alice.click(incident.channel, "Update")
            alice.submit(alice.wait_for_view(Callback.UPDATE), {"Message": f"Still digging ({step})"})
            wait_for_text(rig, incident.channel, f"Still digging ({step})")
    [first] = wait_for_reminders(rig, incident.channel, 1)
    assert float(first["ts"]) >= last_news + QUIET - 0.3, "the quiet period started at the last news"


@FAST
def test_update_on_a_reminder_opens_the_update_modal(rig: Rig) -> None:
    incident = ready(rig)
    assert incident.channel
    reminder = wait_for_reminders(rig, incident.channel, 1)[0]
    alice = rig.slack_user("alice")
    alice.click(incident.channel, "Update", message_ts=reminder["ts"])
    view = alice.wait_for_view(Callback.UPDATE)
    assert alice.submit(view, {"Status": "Investigating"}).errors is None
    wait_for_text(rig, incident.channel, "Status Open → Investigating")


@FAST
def test_a_member_snoozes_the_reminders_and_the_message_says_until_when_and_by_whom(rig: Rig) -> None:
    snoozed = ready(rig)
    witness = ready(rig, title="Search is down for everyone")
    assert snoozed.channel and witness.channel
    reminder = wait_for_reminders(rig, snoozed.channel, 1)[-1]
    clicked = datetime.now(UTC)
    rig.slack_user("carol").click(snoozed.channel, "Snooze 30 min", message_ts=reminder["ts"])
    edited = rig.slack.wait_for(
        lambda: next(
            (m for m in rig.slack.messages(snoozed.channel) if m["ts"] == reminder["ts"] and m["edited"]),
            None,
        ),
        timeout=WAIT,
    )
    match = SNOOZED.match(edited["text"])
    assert match and match.group(3) == CAROL, edited["text"]
    until = clicked + timedelta(minutes=30)
    assert f"{match.group(1)}:{match.group(2)}" in {
        f"{t:%H:%M}" for t in (until, until + timedelta(minutes=1))
    }
    assert button_labels(edited) == []
    count = len(reminders(rig, snoozed.channel))
    seen = len(reminders(rig, witness.channel))
    wait_for_reminders(rig, witness.channel, seen + 2)
    assert len(reminders(rig, snoozed.channel)) == count, (
        "snoozed: nothing while the other was reminded twice"
    )


@FAST
def test_a_snooze_from_someone_outside_the_channel_is_refused_privately(rig: Rig) -> None:
    incident = ready(rig)
    assert incident.channel
    assert DAVE not in rig.slack.channels[incident.channel]["members"]
    reminder = wait_for_reminders(rig, incident.channel, 1)[-1]
    rig.slack_user("dave").click(incident.channel, "Snooze 1 h", message_ts=reminder["ts"])
    refusal = last_ephemeral(rig, "dave")
    assert (
        refusal.startswith(f"Only members of <#{incident.channel}>") and "may update this incident" in refusal
    )
    after = len(reminders(rig, incident.channel))
    wait_for_reminders(rig, incident.channel, after + 1)
    unchanged = next(m for m in rig.slack.messages(incident.channel) if m["ts"] == reminder["ts"])
    assert unchanged["edited"] == 0 and button_labels(unchanged)[1:] == [
        "Snooze 30 min",
        "Snooze 1 h",
        "Snooze 2 h",
    ]


@FAST
def test_a_reminder_for_an_incident_closed_meanwhile_is_not_sent(rig: Rig) -> None:
    """The incident's Slack jobs are held up behind a slow topic change while its reminder is decided;
    by the time the reminder's turn comes, the incident is closed: nothing is posted."""
    incident = ready(rig, priority="P3")
    assert incident.channel
    held = rig.slack.hold("conversations.setTopic")
    alice = rig.slack_user("alice")
    alice.click(incident.channel, "Update")
    alice.submit(alice.wait_for_view(Callback.UPDATE), {"Title": "Checkout is down for everyone"})
    assert held.wait_until_held(WAIT)
    rig.slack.wait_for(lambda: decided_reminders(rig, incident.id), timeout=QUIET + WAIT)
    alice.click(incident.channel, "Update")
    assert alice.submit(alice.wait_for_view(Callback.UPDATE), {"Status": "Mitigated"}).errors is None
    view = open_view(rig, "alice", "close", Callback.CLOSE, channel=incident.channel)
    assert rig.slack_user("alice").submit(view, {"Closure reason": "Resolved"}).errors is None
    held.release()
    rig.slack.wait_for(lambda: rig.slack.channels[incident.channel]["archived"], timeout=WAIT)
    assert reminders(rig, incident.channel) == []
    assert any("is closed" in text for text in texts(rig, incident.channel))


@FAST
def test_a_p1_mitigated_too_long_without_postmortem_gets_one_dm_with_create_postmortem(rig: Rig) -> None:
    incident = ready(rig)
    assert incident.channel
    alice = rig.slack_user("alice")
    alice.click(incident.channel, "Update")
    alice.submit(alice.wait_for_view(Callback.UPDATE), {"Status": "Mitigated"})
    dm = rig.slack.wait_for(
        lambda: next((m for m in rig.slack.dms(ALICE) if "no post-mortem yet" in m["text"]), None),
        timeout=QUIET + WAIT,
    )
    assert f"Incident #{incident.id}" in dm["text"] and f"<#{incident.channel}>" in dm["text"]
    assert button_labels(dm) == ["Create post-mortem"]
    alice.click(dm["channel"], "Create post-mortem")
    rig.jira.wait_for(lambda: rig.jira.issues.get("PM-1"), timeout=WAIT)
    wait_for_text(rig, incident.channel, "post-mortem is ready")
    assert sum("no post-mortem yet" in m["text"] for m in rig.slack.dms(ALICE)) == 1


def quiet_for(reminder: dict) -> int:
    """The seconds a reminder says the incident has gone without an update."""
    match = re.search(r" for (\d+) s\.", reminder["text"])
    assert match, reminder["text"]
    return int(match.group(1))


def decided_reminders(rig: Rig, incident_id: int) -> int:
    """Reminders the bot has decided for the incident, read from its database (sent or not)."""
    with sqlite3.connect(rig.workdir / "bot.sqlite") as connection:
        return connection.execute(
            "SELECT count(*) FROM reminder WHERE incident_id = ?", (incident_id,)
        ).fetchone()[0]

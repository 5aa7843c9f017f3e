"""End to end, the timeline: 📌 and the Add to timeline shortcut on the real bot process, the thread
answers, `/incident timeline`, and the post-mortem's timeline field listing (and re-rendering) the notes."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.rig import person
from tests.e2e.slack_steps import (
    WAIT,
    command,
    declare,
    last_ephemeral,
    update,
    wait_for_jira_link,
    wait_for_no_jobs,
)

ADDED, REMOVED = "Added to the timeline.", "Removed from the timeline."


def thread(rig, channel: str, ts: str) -> list[str]:
    return [m["text"] for m in rig.slack.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts]


def test_a_pin_adds_one_note_more_pins_add_nothing_and_the_last_pin_removes_it(rig) -> None:
    incident = declare(rig, "alice")
    channel = incident.channel
    carol, alice = rig.slack_user("carol"), rig.slack_user("alice")
    ts = carol.say(channel, "Error rate back under 1% after the rollback")
    alice.react(channel, ts, "pushpin")
    rig.slack.wait_for(lambda: thread(rig, channel, ts) == [ADDED], timeout=WAIT)
    reads = rig.slack.calls_to("conversations.history")
    assert reads[-1]["params"]["latest"] == ts and reads[-1]["params"]["limit"] in (1, "1")
    carol.react(channel, ts, "pushpin")
    alice.react(channel, ts, "eyes")
    wait_for_no_jobs(rig)
    assert thread(rig, channel, ts) == [ADDED], "more pins add nothing"
    listing = command(rig, "alice", "timeline", channel=channel)
    at = datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M")
    assert f"• {at} Note: carol: Error rate back under 1% after the rollback" in listing

    alice.unreact(channel, ts, "pushpin")
    wait_for_no_jobs(rig)
    assert thread(rig, channel, ts) == [ADDED], "a pin is left"
    carol.unreact(channel, ts, "pushpin")
    rig.slack.wait_for(lambda: thread(rig, channel, ts) == [ADDED, REMOVED], timeout=WAIT)
    assert "Note:" not in command(rig, "alice", "timeline", channel=channel)


def test_the_shortcut_adds_a_thread_reply_and_refuses_what_it_cannot_take(rig) -> None:
    incident = declare(rig, "alice")
    channel = incident.channel
    carol, alice = rig.slack_user("carol"), rig.slack_user("alice")
    parent = carol.say(channel, "Starting the failover")
    reply = carol.say(channel, "Failover done, replicas healthy " + "and more words " * 40, thread_ts=parent)
    alice.shortcut(channel, reply, "add_to_timeline")
    rig.slack.wait_for(lambda: thread(rig, channel, parent) == [reply_text(rig, channel, reply), ADDED])
    listing = command(rig, "alice", "timeline", channel=channel)
    note = next(line for line in listing.splitlines() if "Note:" in line)
    assert len(note.split("Note: carol: ")[1].split(" (<")[0]) <= 300
    assert f"?thread_ts={parent}" in note, "the note keeps the reply's permalink"
    before = len(rig.slack.ephemerals(person("alice").slack_id))
    alice.shortcut(channel, reply, "add_to_timeline")
    assert "already on the timeline" in last_ephemeral(rig, "alice", after=before)

    announcement = rig.slack.messages(channel)[0]["ts"]
    alice.shortcut(channel, announcement, "add_to_timeline")
    assert "posted by an app" in last_ephemeral(rig, "alice", after=before + 1)
    alice.shortcut(rig.general, alice.say(rig.general, "hello"), "add_to_timeline")
    assert "incident channel" in last_ephemeral(rig, "alice", after=before + 2)


def reply_text(rig, channel: str, ts: str) -> str:
    return next(m["text"] for m in rig.slack.messages(channel) if m["ts"] == ts)


def test_a_pin_on_a_message_the_bot_cannot_read_is_explained(rig) -> None:
    incident = declare(rig, "alice")
    channel = incident.channel
    carol = rig.slack_user("carol")
    ts = carol.say(channel, "soon gone")
    rig.slack.fail("conversations.history", "message_not_found")
    rig.slack.fail("conversations.replies", "thread_not_found")
    before = len(rig.slack.ephemerals(person("carol").slack_id))
    carol.react(channel, ts, "pushpin")
    assert "could not read it" in last_ephemeral(rig, "carol", after=before)
    wait_for_no_jobs(rig)
    assert thread(rig, channel, ts) == []


def test_the_timeline_lists_key_events_status_changes_and_notes_in_order(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    channel = incident.channel
    update(rig, "alice", incident, {"Status": "Investigating"})
    ts = rig.slack_user("carol").say(channel, "Cause found: the cache TTL")
    rig.slack_user("alice").react(channel, ts, "pushpin")
    rig.slack.wait_for(lambda: thread(rig, channel, ts) == [ADDED], timeout=WAIT)
    listing = command(rig, "alice", f"timeline #{incident.id}", channel=rig.general)
    lines = [line for line in listing.splitlines() if line.startswith("• ")]
    assert [line[8:] for line in lines] == [
        "Incident created (P1)",
        "Status changed to: Investigating",
        f"Note: carol: Cause found: the cache TTL (<{permalink(rig, channel, ts)}|message>)",
    ]
    assert all(line[2:7].replace(":", "").isdigit() for line in lines), "HH:MM"


def permalink(rig, channel: str, ts: str) -> str:
    return f"https://sandbox.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def test_the_postmortem_timeline_lists_the_notes_and_follows_them(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    channel = incident.channel
    ts = rig.slack_user("carol").say(channel, "Rolled back | all green")
    rig.slack_user("alice").react(channel, ts, "pushpin")
    rig.slack.wait_for(lambda: thread(rig, channel, ts) == [ADDED], timeout=WAIT)
    command(rig, "alice", "postmortem", channel=channel)
    key = rig.jira.wait_for(
        lambda: next((k for k in rig.jira.issues if k.startswith("PM-")), None), timeout=20
    )
    field = "customfield_12700"
    when = datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert f"| {when} | Note: carol: Rolled back &#124; all green |" in rig.jira.issue(key)["fields"][field]
    later = rig.slack_user("carol").say(channel, "Monitoring for an hour")
    rig.slack_user("carol").react(channel, later, "pushpin")
    rig.jira.wait_for(lambda: "Monitoring for an hour" in rig.jira.issue(key)["fields"][field], timeout=WAIT)
    rig.slack_user("alice").unreact(channel, ts, "pushpin")
    rig.jira.wait_for(lambda: "Rolled back" not in rig.jira.issue(key)["fields"][field], timeout=WAIT)

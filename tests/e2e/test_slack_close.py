"""Closing from Slack (the close rules): refused with its reasons, then allowed, with
the final message and the archive (configurable)."""

from __future__ import annotations

import pytest

from sandbox.rig import Rig, person
from tests.e2e.slack_steps import (
    WAIT,
    Declared,
    announcement,
    button_labels,
    command,
    declare,
    ephemeral_count,
    last_ephemeral,
    message_text,
    open_view,
    section_texts,
    texts,
    update,
    wait_for_text,
)
from views.ids import Callback

CAROL, DAVE = person("carol").slack_id, person("dave").slack_id


def close(rig: Rig, who: str, incident: Declared, values: dict, ref: str = "") -> dict | None:
    """Open the close modal and submit it; the errors Slack shows, if any."""
    where = rig.general if ref else incident.channel
    view = open_view(rig, who, f"close {ref}".strip(), Callback.CLOSE, channel=where)
    return rig.slack_user(who).submit(view, values).errors


@pytest.mark.both_jiras
def test_close_is_refused_with_reasons_then_allowed_and_archives(rig: Rig) -> None:
    critical = declare(rig, "alice", "Checkout is down for everyone", "P1")
    assert close(rig, "alice", critical, {"Message": "done?"}) == {
        "reason": "The incident cannot be closed yet:\n"
        "• it is Open; it must be at least Mitigated\n"
        "• a P1 incident needs its post-mortem created first"
    }
    assert update(rig, "alice", critical, {"Status": "Closed"}).errors == {
        "status": "The incident cannot be closed yet:\n"
        "• it is Open; it must be at least Mitigated\n"
        "• a P1 incident needs its post-mortem created first"
    }, "a close through the Update modal obeys the same rules"
    assert update(rig, "alice", critical, {"Status": "Mitigated"}).errors is None
    view = open_view(rig, "alice", "close", Callback.CLOSE, channel=critical.channel)
    assert section_texts(view) == (
        ":no_entry: *This incident cannot be closed yet:*\n"
        "• a P1 incident needs its post-mortem created first"
    )
    assert rig.slack_user("alice").submit(view, {}).errors == {
        "reason": "The incident cannot be closed yet:\n• a P1 incident needs its post-mortem created first"
    }
    rig.slack_user("alice").click(critical.channel, "Post-mortem")
    linked = rig.slack.wait_for(
        lambda: "*Post-mortem:* <" in (text := message_text(announcement(rig, critical))) and text,
        timeout=WAIT,
    )
    assert f"*Post-mortem:* <{rig.jira.url}/browse/PM-1|PM-1>" in linked, "the announcement links it"
    view = open_view(rig, "alice", "close", Callback.CLOSE, channel=critical.channel)
    assert section_texts(view) == "", "nothing blocks the close any more"
    assert rig.slack_user("alice").submit(view, {"Closure reason": "Resolved"}).errors is None
    rig.slack.wait_for(lambda: rig.slack.channels[critical.channel]["archived"], timeout=WAIT)
    assert texts(rig, critical.channel)[-1] == ":white_check_mark: Incident #1 is closed (resolved)."

    incident = declare(rig, "bob", "Search returns no results", "P3")
    assert incident.channel
    assert CAROL not in rig.slack.channels[incident.channel]["members"], "P3 has no responders configured"
    assert command(rig, "dave", "close #2") == (
        "Only the commander and reporter <@U0BOB> or a member of the responders group "
        "may close this incident."
    )
    assert update(rig, "bob", incident, {"Status": "Mitigated"}).errors is None
    wait_for_text(rig, incident.channel, "→ Mitigated")
    view = open_view(rig, "carol", "close #2", Callback.CLOSE)
    assert section_texts(view) == "", "nothing blocks it any more"
    reason = next(b for b in view["blocks"] if b.get("block_id") == "reason")
    options = [o["text"]["text"] for o in reason["element"]["options"]]
    assert options == ["Resolved", "Duplicate", "False positive", "Cancelled"]
    seen = len(texts(rig, incident.channel))
    ack = rig.slack_user("carol").submit(
        view, {"Closure reason": "False positive", "Message": "Cache <flush>"}
    )
    assert ack.errors is None, "the responders group may close without being in the channel"

    final = wait_for_text(rig, incident.channel, "is closed", after=seen)
    assert final == ":white_check_mark: Incident #2 is closed (false positive). Cache &lt;flush&gt;"
    rig.slack.wait_for(lambda: rig.slack.channels[incident.channel]["archived"], timeout=WAIT)
    assert texts(rig, incident.channel)[seen:] == [final], "no summary line besides the final message"
    message = announcement(rig, incident)
    assert "*Status:* Closed" in message_text(message)
    assert button_labels(message) == [], "a closed incident offers no buttons"
    assert rig.slack.channels[incident.channel]["topic"].startswith("P3 | Closed")
    wait_for_text(rig, rig.announcements, f"<#{incident.channel}>: Mitigated → Closed")
    assert "Search returns no results" not in command(rig, "alice", "list")

    assert close(rig, "bob", incident, {}, ref="#2") == {"reason": "This incident is already closed."}
    closed = rig.shape.jira_status("CLOSED")
    rig.jira.wait_for(
        lambda: [rig.jira.issues.get(k, {}).get("status") for k in ("INC-1", "INC-2")] == [closed] * 2,
        timeout=WAIT,
    )


@pytest.mark.rig_env(ARCHIVE_CHANNEL_ON_CLOSE="false", ENABLE_JIRA="false")
def test_close_without_archive_and_without_jira(rig: Rig) -> None:
    incident = declare(rig, "alice", "Search returns no results", "P3")
    assert incident.channel
    assert not rig.slack.bookmarks(incident.channel)
    assert "Jira" not in message_text(announcement(rig, incident)), "no Jira line when Jira is off"
    assert command(rig, "alice", "postmortem", channel=incident.channel) == (
        "Post-mortems are written in Jira, and Jira sync is off (ENABLE_JIRA / JIRA_URL)."
    )
    assert update(rig, "alice", incident, {"Status": "Mitigated"}).errors is None
    assert close(rig, "alice", incident, {"Message": "All good"}) is None
    final = wait_for_text(rig, incident.channel, "is closed")
    assert final == ":white_check_mark: Incident #1 is closed (resolved). All good"
    rig.slack.wait_for(lambda: "Closed" in rig.slack.channels[incident.channel]["topic"], timeout=WAIT)
    assert not rig.slack.channels[incident.channel]["archived"], "ARCHIVE_CHANNEL_ON_CLOSE=false"
    assert not rig.slack.calls_to("conversations.archive")

    before = ephemeral_count(rig, "bob")
    normal = declare(rig, "bob", "Refund export is slow today", "P5", **{"Suggested team": "Checkout"})
    assert "update it with `/incident update #2`" in last_ephemeral(rig, "bob", after=before)
    dm = rig.slack.wait_for(lambda: rig.slack.dms(person("bob").slack_id), timeout=WAIT)
    assert [m["text"] for m in dm] == [f"Your P5 incident #{normal.id} is recorded (Jira sync is off)."]

"""Updating an incident from Slack: each field, the summary line, the announcement
edited in place, the topic, the announcements channel, and the key events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.rig import Rig, person
from tests.e2e.jira_steps import person_id, wait_until_idle
from tests.e2e.slack_steps import (
    WAIT,
    announcement,
    button_labels,
    declare,
    input_labels,
    message_text,
    open_view,
    texts,
    update,
    wait_for_jira_link,
    wait_for_text,
)
from views.ids import Callback

ALICE, BOB, DAVE = (person(name).slack_id for name in ("alice", "bob", "dave"))


@pytest.mark.both_jiras
def test_each_field_updates_summary_announcement_topic_and_notice(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P1", Description="Started at noon")
    original = wait_for_jira_link(rig, incident)
    assert incident.channel
    edits = original["edited"]
    view = open_view(rig, "alice", "update", Callback.UPDATE, channel=incident.channel)
    assert view["title"]["text"] == "Update incident"
    assert input_labels(view) == ["Status", "Priority", "Title", "Description", "Commander", "Message"]

    def step(values: dict, summary: str, *, topic: str | None = None, shown: str | None = None) -> None:
        nonlocal edits
        seen = len(texts(rig, incident.channel))
        ack = update(rig, "alice", incident, values)
        assert ack.errors is None, ack.errors
        line = wait_for_text(rig, incident.channel, summary, after=seen)
        assert line == summary, "exactly one line, as summarised"
        if shown is not None:
            message = rig.slack.wait_for(
                lambda: (m := announcement(rig, incident))["edited"] > edits and m, timeout=WAIT
            )
            assert message["ts"] == original["ts"], "edited in place, never re-posted"
            assert shown in message_text(message), (shown, message_text(message))
            edits = message["edited"]
        if topic is not None:
            rig.slack.wait_for(lambda: rig.slack.channels[incident.channel]["topic"] == topic, timeout=WAIT)
        if "Status" in values:
            wait_for_text(rig, rig.announcements, f"→ {values['Status']}")

    step(
        {"Status": "Investigating"},
        ":pencil2: <@U0ALICE> changed Status Open → Investigating",
        topic="P1 | Investigating | INC-1 | Checkout is down for everyone",
        shown="*Status:* Investigating",
    )
    step(
        {"Priority": "P2"},
        ":pencil2: <@U0ALICE> changed Priority P1 → P2",
        topic="P2 | Investigating | INC-1 | Checkout is down for everyone",
        shown="*Priority:* P2",
    )
    step(
        {"Title": "Checkout fails <for> some users"},
        ":pencil2: <@U0ALICE> changed Title Checkout is down for everyone → "
        "Checkout fails &lt;for&gt; some users",
        topic="P2 | Investigating | INC-1 | Checkout fails <for> some users",
        shown="Incident #1: Checkout fails &lt;for&gt; some users",
    )
    step(
        {"Description": "Only card payments"},
        ":pencil2: <@U0ALICE> changed Description “Started at noon” → “Only card payments”",
        shown="Only card payments",
    )
    step(
        {"Commander": "bob", "Message": "Bob takes over"},
        ":pencil2: <@U0ALICE> changed Commander <@U0ALICE> → <@U0BOB>: Bob takes over",
        shown="*Commander:* <@U0BOB>",
    )
    rig.slack.wait_for(lambda: BOB in rig.slack.channels[incident.channel]["members"], timeout=WAIT)
    step({"Message": "Rolling back the deploy"}, ":speech_balloon: <@U0ALICE>: Rolling back the deploy")
    step(
        {"Status": "Mitigating", "Priority": "P3"},
        ":pencil2: <@U0ALICE> changed Status Investigating → Mitigating, Priority P2 → P3",
        topic="P3 | Mitigating | INC-1 | Checkout fails <for> some users",
        shown="*Status:* Mitigating",
    )

    def the_ticket_holds_the_updates() -> bool:
        issue = rig.jira.issue("INC-1")
        fields = issue["fields"]
        return (
            issue["status"] == rig.shape.jira_status("MITIGATING")
            and fields["customfield_11064"]["value"] == "3"
            and fields["summary"] == "Checkout fails <for> some users"
            and fields["description"].startswith("Only card payments\n")
            and person_id(rig, fields["assignee"]) == person("bob").jira_account
        )

    rig.jira.wait_for(the_ticket_holds_the_updates, timeout=WAIT)
    wait_until_idle(rig, "INC-1")  # the echoes of the bot's writes have come back and been handled
    assert not [t for t in texts(rig, incident.channel) if t.startswith("Jira ")], "no echo of its writes"

    final = announcement(rig, incident)
    assert [m["ts"] for m in rig.slack.messages(incident.channel) if m.get("blocks")] == [final["ts"]]
    assert button_labels(final) == ["Update", "Key events", "Post-mortem", "Follow-up", "Close"]
    assert final["edited"] == edits, "a message-only update leaves the announcement alone"

    notices = [m["text"] for m in rig.slack.messages(rig.announcements)][1:]
    assert notices == [
        f":arrows_counterclockwise: P1 incident #1 *Checkout is down for everyone* <#{incident.channel}>: "
        "Open → Investigating",
        f":arrows_counterclockwise: P3 incident #1 *Checkout fails &lt;for&gt; some users* "
        f"<#{incident.channel}>: Investigating → Mitigating",
    ], "status changes only, each once"

    view = open_view(rig, "alice", "update", Callback.UPDATE, channel=incident.channel)
    ack = rig.slack_user("alice").submit(view, {})
    assert ack.errors == {"message": "Nothing changed: change a field or write a message."}
    ack = rig.slack_user("alice").submit(view, {"Title": "Too short"})
    assert ack.errors == {"title": "The title needs 10 to 128 characters (it has 9)."}


def test_key_events_are_saved_summarised_and_shown_again(rig: Rig) -> None:
    incident = declare(rig, "alice", "Search returns no results", "P3")
    assert incident.channel
    rig.slack_user("alice").click(incident.channel, "Key events")
    alice = rig.slack_user("alice")
    view = alice.wait_for_view(callback_id=Callback.KEY_EVENTS, timeout=WAIT)
    assert view["title"]["text"] == "Key events"
    assert input_labels(view) == [
        f"{kind} {part}"
        for kind in ("Detected", "Started", "Recovered", "Mitigated", "Resolved")
        for part in ("at", "note")
    ]

    ack = alice.submit(view, {"Started note": "a note without a time"})
    assert ack.errors == {"started_at": "Give the time this note belongs to."}

    detected = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    started = datetime(2024, 5, 1, 9, 12, tzinfo=UTC)
    ack = alice.submit(
        view,
        {
            "Detected at": detected,
            "Detected note": "Alert <fired>",
            "Started at": started,
            "Started note": "",
        },
    )
    assert ack.errors is None
    line = wait_for_text(rig, incident.channel, "key events")
    assert line == (
        ":clock3: <@U0ALICE> updated key events: Detected 2024-05-01 09:30 UTC (Alert &lt;fired&gt;); "
        "Started 2024-05-01 09:12 UTC"
    )

    view = open_view(rig, "alice", "keyevents", Callback.KEY_EVENTS, channel=incident.channel)
    initial = {b["label"]["text"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial["Detected at"]["initial_date_time"] == int(detected.timestamp())
    assert initial["Detected note"]["initial_value"] == "Alert <fired>"
    assert initial["Started at"]["initial_date_time"] == int(started.timestamp())
    assert "initial_date_time" not in initial["Resolved at"]

    ack = alice.submit(view, {"Started at": None})
    assert ack.errors is None
    wait_for_text(rig, incident.channel, "Started cleared")
    assert len([t for t in texts(rig, incident.channel) if "key events" in t]) == 2

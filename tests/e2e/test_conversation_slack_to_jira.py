"""End to end, Slack → Jira: the Send to Jira message shortcut on the real bot process.

A person posts in the incident channel and runs the shortcut on a message; the ticket gets one comment
(author, channel, the message's own time, its text, its permalink), the message gets ✅, a second run
makes no second comment, and what cannot be sent is refused privately.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sandbox.rig import JIRA_BOT, person
from tests.e2e.jira_steps import person_id
from tests.e2e.slack_steps import WAIT, declare, last_ephemeral, wait_for_jira_link, wait_for_no_jobs

SEND = "send_to_jira"


def ticket_key(rig) -> str:
    return next(k for k in rig.jira.issues if not k.startswith("PM-"))


def comments(rig, key: str) -> list[dict]:
    return list(rig.jira.issue(key)["comments"])


@pytest.mark.both_jiras
def test_a_message_sent_to_jira_becomes_one_comment_and_gets_a_check_mark(rig) -> None:
    incident = declare(rig, "alice", title="Checkout is down for everyone")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    carol = rig.slack_user("carol")  # a P1 responder, invited to the channel
    ts = carol.say(
        incident.channel, "*Rolled back* payments to v41, see <https://grafana.example.com/d/1|the graph>"
    )
    rig.slack_user("alice").shortcut(incident.channel, ts, SEND)
    [comment] = rig.jira.wait_for(lambda: comments(rig, key), timeout=WAIT)
    when = datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")
    permalink = rig.slack.calls_to("chat.getPermalink")[-1]
    link = f"https://sandbox.slack.com/archives/{incident.channel}/p{ts.replace('.', '')}"
    assert person_id(rig, comment["author"]) == JIRA_BOT
    assert comment["body"] == (
        f"carol in \\#{incident.name} at {when}:\n"
        "*Rolled back* payments to v41, see [the graph|https://grafana.example.com/d/1]\n\n"
        f"[Slack message|{link}]"
    )
    assert permalink["params"]["message_ts"] == ts
    rig.slack.wait_for(lambda: rig.slack.reactions(incident.channel, ts) == {"white_check_mark": ["U0BOT"]})
    assert "Sending this message to Jira " + key in last_ephemeral(rig, "alice")
    assert rig.jira.issue(key)["comments"][0]["jsdPublic"] is True, "a software project's comment is public"

    before = len(rig.slack.ephemerals(person("carol").slack_id))
    rig.slack_user("carol").shortcut(incident.channel, ts, SEND)
    answer = last_ephemeral(rig, "carol", after=before)
    assert "already in Jira" in answer and f"focusedCommentId={comment['id']}" in answer
    wait_for_no_jobs(rig)
    assert len(comments(rig, key)) == 1, "the same message twice makes no second comment"
    rig.jira.wait_for(
        lambda: [
            d
            for d in rig.jira.webhook_deliveries
            if d["status"] == 202 and json.loads(d["body"]).get("webhookEvent") == "comment_created"
        ],
        timeout=WAIT,
    )
    wait_for_no_jobs(rig)  # what the bot would post, it has posted by now
    assert not any(" comment by " in m["text"] for m in rig.slack.messages(incident.channel)), (
        "the bot's own comment is never posted back"
    )


def test_refusals_outside_an_incident_channel_on_a_bot_message_and_on_a_deleted_message(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    alice = rig.slack_user("alice")
    elsewhere = alice.say(rig.general, "lunch?")
    alice.shortcut(rig.general, elsewhere, SEND)
    assert "incident channel" in last_ephemeral(rig, "alice")

    bot_line = rig.slack.messages(incident.channel)[0]["ts"]  # the announcement
    before = len(rig.slack.ephemerals("U0ALICE"))
    alice.shortcut(incident.channel, bot_line, SEND)
    assert "posted by an app" in last_ephemeral(rig, "alice", after=before)

    gone = alice.say(incident.channel, "a message about to be deleted")
    held = rig.slack.hold("chat.getPermalink")  # the job reads the message: it is deleted meanwhile
    before = len(rig.slack.ephemerals("U0ALICE"))
    alice.shortcut(incident.channel, gone, SEND)
    held.wait_until_held(timeout=WAIT)
    alice.delete(incident.channel, gone)
    held.release()
    rig.slack.wait_for(
        lambda: any(
            "deleted before it reached Jira" in e["text"] for e in rig.slack.ephemerals("U0ALICE")[before:]
        ),
        timeout=WAIT,
    )
    assert comments(rig, ticket_key(rig)) == []


def test_while_jira_is_down_the_comment_waits_in_the_queue(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    rig.jira.fail_with(503, seconds=None)
    ts = rig.slack_user("carol").say(incident.channel, "DB failover done")
    rig.slack_user("alice").shortcut(incident.channel, ts, SEND)
    rig.slack.wait_for(
        lambda: any("Jira is not answering" in m["text"] for m in rig.slack.messages(incident.channel)),
        timeout=WAIT,
    )
    assert comments(rig, key) == []
    rig.jira.clear_faults()
    [comment] = rig.jira.wait_for(lambda: comments(rig, key), timeout=20)
    assert "DB failover done" in comment["body"]
    rig.slack.wait_for(lambda: rig.slack.reactions(incident.channel, ts), timeout=WAIT)


@pytest.mark.rig_env(RAID_JIRA_PROJECT_KEY="DESK")
def test_on_a_service_management_project_the_comment_is_internal(rig) -> None:
    rig.jira.add_project("DESK", service_desk=True)
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    assert key.startswith("DESK-")
    ts = rig.slack_user("carol").say(incident.channel, "Customers are told on the status page")
    rig.slack_user("carol").shortcut(incident.channel, ts, SEND)
    rig.jira.wait_for(lambda: comments(rig, key), timeout=WAIT)
    [request] = rig.jira.requests_to("POST", f"/rest/api/2/issue/{key}/comment")
    assert request["json"]["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    assert comments(rig, key)[0]["jsdPublic"] is False

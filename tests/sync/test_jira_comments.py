"""Jira comments reach the incident channel: through both doors, each version once and in Jira's order,
never the bot's own, never for an incident without a channel, and never as a mention."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from bot.models import JiraCommentVersion
from sandbox.jira import JiraUser
from sandbox.rig import JIRA_BOT
from tests.sync.conftest import HARNESS_WEBHOOK_MAX_BYTES as MAX_BODY
from tests.sync.webhook_support import declared, post, settle

SLACK_TEXT_MAX = 3000


def comment_lines(harness, incident) -> list[str]:
    return [t for t in harness.channel_texts(incident) if " comment by " in t]


def comment_deliveries(harness) -> list[dict]:
    """Deliveries of comment events and of their `jira:issue_updated` twins."""
    found = []
    for delivery in harness.jira.webhook_deliveries:
        body = json.loads(delivery["body"])
        kind = str(body.get("issue_event_type_name") or body.get("webhookEvent"))
        if kind.startswith(("comment_", "issue_comment")):
            found.append(delivery)
    return found


def settled(harness, events: int) -> None:
    """Run jobs until the route has answered `events` comment deliveries (either kind), then once more."""
    deadline = time.monotonic() + 10
    while True:
        harness.drain()
        answered = [d for d in comment_deliveries(harness) if d["status"] is not None]
        if len(answered) >= events:
            harness.drain()
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(answered)} comment deliveries answered, {events} expected")
        time.sleep(0.02)


def test_a_comment_and_its_twin_make_one_channel_message(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    JiraUser(harness.jira, "acc-bob").comment(
        ticket.key, "*Rolled back* the deploy, see [graph|https://g.example.com]"
    )
    settled(harness, 2)
    assert comment_lines(harness, incident) == [
        f"Jira {ticket.key}: comment by Bob: *Rolled back* the deploy, see <https://g.example.com|graph>"
    ]
    statuses = [d["status"] for d in comment_deliveries(harness)]
    assert statuses == [202, 202], "both doors of Jira's pair are recorded; the version is posted once"


def test_an_edit_is_announced_with_its_editor_and_an_unchanged_edit_or_a_deletion_is_not(
    harness, webhook_url
) -> None:
    incident, ticket = declared(harness)
    comment = JiraUser(harness.jira, "acc-bob").comment(ticket.key, "db-1 is down")
    settled(harness, 2)
    JiraUser(harness.jira, "acc-carol").edit_comment(ticket.key, comment["id"], "db-1 and db-2 are down")
    settled(harness, 4)
    JiraUser(harness.jira, "acc-carol").edit_comment(ticket.key, comment["id"], "db-1 and db-2 are down")
    settled(harness, 6)
    JiraUser(harness.jira, "acc-carol").delete_comment(ticket.key, comment["id"])
    time.sleep(0.3)
    harness.drain()
    assert comment_lines(harness, incident) == [
        f"Jira {ticket.key}: comment by Bob: db-1 is down",
        f"Jira {ticket.key}: comment by Carol edited: db-1 and db-2 are down",
    ]


def test_the_bots_own_comments_are_never_posted(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    JiraUser(harness.jira, JIRA_BOT).comment(ticket.key, "Sent from Slack")
    settled(harness, 2)
    assert comment_lines(harness, incident) == []
    with harness.session() as session:
        [version] = session.exec(select(JiraCommentVersion)).all()
        assert version.posted is False
    JiraUser(harness.jira, JIRA_BOT).comment(ticket.key, "Sent from Slack, again")
    settled(harness, 4)
    assert [d["status"] for d in comment_deliveries(harness)][2:] == [200, 200], (
        "once the bot's account is known, the echoes of its comments are not even recorded"
    )
    assert comment_lines(harness, incident) == []


def test_a_p4_incident_posts_nothing(harness, webhook_url) -> None:
    _incident, ticket = declared(harness, priority=4)
    JiraUser(harness.jira, "acc-bob").comment(ticket.key, "Looking into it")
    settled(harness, 2)
    assert not harness.jobs(state="failed")
    assert [j for j in harness.jobs() if j.kind == "slack.post" and "comment by" in str(j.payload)] == []


def test_the_reconciler_posts_what_a_lost_webhook_carried_and_the_late_webhook_adds_nothing(
    harness, webhook_url
) -> None:
    incident, ticket = declared(harness)
    harness.jira.hold_webhooks()
    JiraUser(harness.jira, "acc-bob").comment(ticket.key, "Found it: a bad config push")
    report = harness.runtime.reconcile()
    harness.drain()
    assert f"{ticket.key} comment" in report
    assert comment_lines(harness, incident) == [
        f"Jira {ticket.key}: comment by Bob: Found it: a bad config push"
    ]
    assert f"{ticket.key} comment" not in harness.runtime.reconcile(), "a second run finds nothing new"
    harness.jira.release_all_webhooks()
    settled(harness, 2)
    assert len(comment_lines(harness, incident)) == 1


def test_an_older_version_arriving_after_a_newer_one_is_not_announced(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira.hold_webhooks()
    comment = JiraUser(harness.jira, "acc-bob").comment(ticket.key, "first words")
    JiraUser(harness.jira, "acc-bob").edit_comment(ticket.key, comment["id"], "better words")
    held = harness.jira.held_webhooks()
    assert len(held) == 4
    harness.jira.release_all_webhooks(order=[2, 3, 0, 1])
    settled(harness, 4)
    assert comment_lines(harness, incident) == [f"Jira {ticket.key}: comment by Bob edited: better words"]


def test_text_from_jira_notifies_nobody(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    JiraUser(harness.jira, "acc-dave").comment(
        ticket.key, "<!channel> @here <@U0ALICE> <!subteam^S1|@oncall> [~accountid:acc-bob] {{<!everyone>}}"
    )
    settled(harness, 2)
    [line] = comment_lines(harness, incident)
    assert "<!" not in line and "<@" not in line
    assert "@here" not in line and "\u2060here" in line
    posted = harness.slack.calls_to("chat.postMessage")[-1]["params"]
    assert posted.get("link_names") in (None, False, "0", 0)


def test_a_huge_comment_is_cut_with_the_ticket_link_through_the_reconciler(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    body = ("word " * 220_000)[:1_100_000]
    JiraUser(harness.jira, "acc-bob").comment(ticket.key, body)
    harness.jira.wait_for(
        lambda: [d for d in harness.jira.webhook_deliveries if d["status"] == 413], timeout=10
    )
    assert len(body.encode()) > MAX_BODY
    harness.runtime.reconcile()
    harness.drain()
    [line] = comment_lines(harness, incident)
    head = f"Jira {ticket.key}: comment by Bob: "
    assert line.startswith(head) and line.endswith(f"… <{ticket.url}|{ticket.key}>")
    assert len(line) - len(head) - len(f"… <{ticket.url}|{ticket.key}>") <= SLACK_TEXT_MAX


def test_an_empty_comment_and_a_comment_on_another_issue_are_ignored(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    other = JiraUser(harness.jira, "acc-bob").create("TEAM", "Not an incident ticket", issuetype="Task")
    JiraUser(harness.jira, "acc-bob").comment(other, "nothing to do with incidents")
    empty = {
        "webhookEvent": "comment_created",
        "comment": {
            "id": "99999",
            "body": "",
            "author": {"accountId": "acc-bob", "displayName": "Bob"},
            "created": "2025-01-01T10:00:00.000+0000",
            "updated": "2025-01-01T10:00:00.000+0000",
        },
        "issue": {"id": ticket.jira_id, "key": ticket.key, "fields": {}},
    }
    assert post(webhook_url, empty).status_code == 202
    settle(harness)
    settled(harness, 2)
    answers = [
        json.loads(d["body"]).get("issue", {}).get("key")
        for d in harness.jira.webhook_deliveries
        if d["status"] == 200
    ]
    assert other in answers, "a comment on an issue that is no incident's ticket is answered and ignored"
    assert comment_lines(harness, incident) == []
    assert not harness.jobs(state="failed")


def test_comment_deliveries_meet_the_same_signature_and_size_rules(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    body = {
        "webhookEvent": "comment_created",
        "comment": {
            "id": "77777",
            "body": "forged",
            "author": {"accountId": "acc-bob", "displayName": "Bob"},
            "created": "2025-01-01T10:00:00.000+0000",
            "updated": "2025-01-01T10:00:00.000+0000",
        },
        "issue": {"id": ticket.jira_id, "key": ticket.key, "fields": {}},
    }
    assert post(webhook_url, body, signature="sha256=" + "0" * 64).status_code == 401
    assert post(webhook_url, body, signature=None).status_code == 401
    body["comment"]["body"] = "x" * MAX_BODY
    assert post(webhook_url, body).status_code == 413
    harness.drain()
    assert comment_lines(harness, incident) == []

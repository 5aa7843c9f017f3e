"""End to end, Jira → Slack: people's comments on the incident ticket reach the channel of the real bot
process, through the signed webhook and through `python -m bot reconcile --once`."""

from __future__ import annotations

import json

import pytest

from tests.e2e.jira_steps import wait_until_idle
from tests.e2e.slack_steps import WAIT, declare, wait_for_jira_link, wait_for_no_jobs


def ticket_key(rig) -> str:
    return next(k for k in rig.jira.issues if not k.startswith("PM-"))


def comment_lines(rig, channel: str) -> list[str]:
    return [m["text"] for m in rig.slack.messages(channel) if " comment by " in m["text"]]


def comment_answers(rig) -> int:
    """Comment deliveries (events and their issue twins) the bot has answered."""
    count = 0
    for delivery in rig.jira.webhook_deliveries:
        body = json.loads(delivery["body"])
        kind = str(body.get("issue_event_type_name") or body.get("webhookEvent"))
        count += delivery["status"] is not None and kind.startswith(("comment_", "issue_comment"))
    return count


@pytest.mark.both_jiras
def test_comments_and_edits_reach_the_channel_once_and_deletions_do_not(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    bob = rig.jira_user("bob")
    comment = bob.comment(
        key, "h3. Cause\n*Bad config* pushed at 10:02, see [the diff|https://git.example.com/c/1]"
    )
    expected = [
        f"Jira {key}: comment by Bob: *Cause*\n"
        "*Bad config* pushed at 10:02, see <https://git.example.com/c/1|the diff>"
    ]
    rig.slack.wait_for(lambda: comment_lines(rig, incident.channel) == expected, timeout=WAIT)
    rig.jira_user("carol").edit_comment(key, comment["id"], "Bad config pushed at 10:02 by the deploy bot")
    expected.append(f"Jira {key}: comment by Carol edited: Bad config pushed at 10:02 by the deploy bot")
    rig.slack.wait_for(lambda: comment_lines(rig, incident.channel) == expected, timeout=WAIT)
    rig.jira_user("carol").edit_comment(key, comment["id"], "Bad config pushed at 10:02 by the deploy bot")
    rig.jira_user("carol").delete_comment(key, comment["id"])
    rig.jira.wait_for(lambda: comment_answers(rig) == 8, timeout=WAIT)
    wait_for_no_jobs(rig)  # what the bot would post, it has posted by now
    assert comment_lines(rig, incident.channel) == expected, (
        "each version once; no unchanged edit, no deletion"
    )


def test_a_long_comment_is_cut_with_the_ticket_link_and_mentions_stay_text(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    rig.jira_user("bob").comment(key, "<!channel> @here look " + "x" * 5000)
    [line] = rig.slack.wait_for(lambda: comment_lines(rig, incident.channel), timeout=WAIT)
    assert line.startswith(f"Jira {key}: comment by Bob: &lt;!channel&gt; @\u2060here look xxx")
    assert line.endswith(f"… <{rig.jira.url}/browse/{key}|{key}>")
    assert len(line) <= len(f"Jira {key}: comment by Bob: ") + 3000 + len(
        f"… <{rig.jira.url}/browse/{key}|{key}>"
    )


def test_a_p4_incident_posts_nothing(rig) -> None:
    declare(rig, "alice", title="Small glitch in reports", priority="P4", **{"Suggested team": "Payments"})
    key = rig.jira.wait_for(lambda: next(iter(rig.jira.issues), None), timeout=WAIT)
    rig.jira_user("bob").comment(key, "Looking into it")
    rig.jira.wait_for(lambda: comment_answers(rig) == 2, timeout=WAIT)
    wait_for_no_jobs(rig)
    assert not any(" comment by " in m["text"] for c in rig.slack.channels for m in rig.slack.messages(c))
    assert "Traceback" not in rig.bot_log()


@pytest.mark.both_jiras
def test_the_reconciler_brings_a_comment_whose_webhook_was_lost(rig) -> None:
    incident = declare(rig, "alice")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    wait_until_idle(rig, key)
    rig.jira.pause_webhooks()
    rig.jira_user("bob").comment(key, "Found it: the cache TTL")
    rig.jira.resume_webhooks(drop=True)
    run = rig.reconcile_once()
    assert run.returncode == 0, run.stderr
    assert f"{key} comment" in run.stdout
    expected = [f"Jira {key}: comment by Bob: Found it: the cache TTL"]
    rig.slack.wait_for(lambda: comment_lines(rig, incident.channel) == expected, timeout=20)

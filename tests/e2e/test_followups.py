"""End to end: follow-ups from Slack to Jira, created once, linked, announced and listed.

The bot runs as `python -m bot run` between the Slack and Jira emulators; alice acts in Slack only.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from sandbox.rig import Rig, person
from tests.e2e.jira_steps import person_id, search_path
from tests.e2e.slack_steps import IMPACT, declare, texts, wait_for_jira_link, wait_for_text

TIMEOUT = 20.0


def _declare_p1(rig: Rig) -> str:
    """A P1 declared in Slack, once its ticket is assigned to the commander and linked to the channel."""
    incident = declare(rig, "alice", "Checkout returns 500 errors", "P1", **IMPACT)
    assert incident.channel
    wait_for_jira_link(rig, incident)
    rig.jira.wait_for(
        lambda: rig.jira.issue("INC-1")["fields"]["assignee"] and rig.jira.issue("INC-1")["remote_links"],
        timeout=TIMEOUT,
    )
    return incident.channel


def _followups(rig: Rig) -> list[dict]:
    return [
        issue for key, issue in rig.jira.issues.items() if "incident-followup" in issue["fields"]["labels"]
    ]


@pytest.mark.both_jiras
def test_a_followup_is_created_once_linked_and_announced(rig: Rig) -> None:
    channel = _declare_p1(rig)
    alice = rig.slack_user("alice")
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    labels = [b["label"]["text"] for b in modal["blocks"] if b["type"] == "input"]
    assert labels == ["Summary", "Description", "Assignee", "Due date"]

    short = alice.submit(modal, {"Summary": "Fix"})
    assert short.errors and "5 to 255" in short.errors["summary"]
    ack = alice.submit(
        modal,
        {
            "Summary": "Add a retry to the payment call",
            "Description": "The gateway times out under load",
            "Assignee": "alice",
            "Due date": "2026-12-24",
        },
    )
    assert ack.errors is None

    text = wait_for_text(rig, channel, "Follow-up ")
    [issue] = _followups(rig)
    key = issue["key"]
    fields = issue["fields"]
    assert f"Follow-up <{rig.jira.url}/browse/{key}|{key}> created: Add a retry to the payment call" in text
    assert "<@" in text and "assigned to" in text
    assert fields["summary"] == "Add a retry to the payment call"
    assert fields["issuetype"]["name"] == "Task"
    assert issue["project"]["key"] == "INC"
    assert fields["duedate"] == "2026-12-24"
    assert "The gateway times out under load" in fields["description"]
    assert "Follow-up of INC-1" in fields["description"]
    assert f"/archives/{channel}" in fields["description"]
    assert person_id(rig, fields["assignee"]) == person("alice").jira_account
    link = rig.jira.wait_for(lambda: rig.jira.issue(key)["links"], timeout=TIMEOUT)[0]
    assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] == "INC-1"

    alice.command("/incident", "followups", channel_id=channel)
    listing = rig.slack.wait_for(
        lambda: next((t for t in _ephemerals(rig, "alice") if "Follow-ups of incident" in t), None),
        timeout=TIMEOUT,
    )
    assert key in listing and "Add a retry to the payment call" in listing and "due 2026-12-24" in listing


@pytest.mark.rig_env(JIRA_TIMEOUT_SECONDS="1")
@pytest.mark.both_jiras
def test_a_lost_creation_reply_makes_no_second_issue(rig: Rig) -> None:
    channel = _declare_p1(rig)
    alice = rig.slack_user("alice")
    posts_before = len(_creations(rig))
    rig.jira.add_latency(seconds=1.2, duration=None)  # Jira answers after the bot stopped listening
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    assert alice.submit(modal, {"Summary": "Write the runbook for the gateway"}).errors is None
    rig.jira.wait_for(lambda: len(_creations(rig)) > posts_before, timeout=TIMEOUT)
    rig.jira.clear_faults()  # the creation in flight still answers too late; its retry is answered

    wait_for_text(rig, channel, "created: Write the runbook for the gateway")
    assert len(_followups(rig)) == 1
    assert len(_creations(rig)) == posts_before + 1, "the retry found the issue instead of creating one"
    searches = rig.jira.requests_to("GET", search_path(rig))
    assert any("incident-followup" in str(r) for r in searches), "the retry looked for the lost issue"


def _creations(rig: Rig) -> list[dict]:
    return [
        r
        for r in rig.jira.requests_to("POST", "/rest/api/2/issue")
        if r["path"].rstrip("/").endswith("/issue")
    ]


@pytest.mark.rig_env(FOLLOWUP_JIRA_ISSUE_TYPE="Chore")
def test_jira_refusing_the_issue_type_is_said_in_the_channel(rig: Rig) -> None:
    channel = _declare_p1(rig)
    alice = rig.slack_user("alice")
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    assert alice.submit(modal, {"Summary": "Write the runbook for the gateway"}).errors is None
    text = wait_for_text(rig, channel, "Jira refused")
    assert "Specify a valid issue type" in text and "jobs --retry" in text
    assert _followups(rig) == []

    rig.stop_bot()  # the fix: a type the project has, then the parked creation retried
    rig.env["FOLLOWUP_JIRA_ISSUE_TYPE"] = "Task"
    rig.start_bot()
    retried = subprocess.run(
        [sys.executable, "-m", "bot", "jobs", "--retry"],
        env=rig.env,
        cwd=rig.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert retried.returncode == 0 and "1 failed job(s) put back" in retried.stdout, retried.stderr
    wait_for_text(rig, channel, "created: Write the runbook for the gateway")
    [issue] = _followups(rig)
    assert issue["fields"]["issuetype"]["name"] == "Task"


def test_an_assignee_without_a_jira_account_leaves_it_unassigned_and_says_so(rig: Rig) -> None:
    channel = _declare_p1(rig)
    rig.slack.add_user("U0NEWBIE", name="newbie", email="newbie@example.com")
    alice = rig.slack_user("alice")
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    assert (
        alice.submit(modal, {"Summary": "Add a retry to the payment call", "Assignee": "U0NEWBIE"}).errors
        is None
    )
    text = wait_for_text(rig, channel, "created: Add a retry to the payment call")
    assert "unassigned: <@U0NEWBIE> has no Jira account" in text
    [issue] = _followups(rig)
    assert issue["fields"].get("assignee") is None


def _ephemerals(rig: Rig, who: str) -> list[str]:
    return [m["text"] for m in rig.slack.ephemerals(person(who).slack_id)]


def _add_followup(rig: Rig, channel: str, summary: str, **values: str) -> str:
    alice = rig.slack_user("alice")
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    assert alice.submit(modal, {"Summary": summary, **values}).errors is None
    wait_for_text(rig, channel, f"created: {summary}")
    [issue] = [i for i in _followups(rig) if i["fields"]["summary"] == summary]
    return issue["key"]


def _listing_with(rig: Rig, channel: str, fragment: str) -> str:
    """`/incident followups`, asked until its answer shows `fragment` (the bot applies Jira's news)."""

    def ask() -> str | None:
        before = len(_ephemerals(rig, "alice"))
        rig.slack_user("alice").command("/incident", "followups", channel_id=channel)
        answer = rig.slack.wait_for(lambda: _ephemerals(rig, "alice")[before:], timeout=TIMEOUT)[-1]
        return answer if fragment in answer else None

    return rig.slack.wait_for(ask, timeout=TIMEOUT, interval=0.3)


def _done_lines(rig: Rig, channel: str) -> list[str]:
    return [t for t in texts(rig, channel) if "done:" in t and "Follow-up" in t]


@pytest.mark.both_jiras
def test_a_followup_done_in_jira_is_announced_once_and_its_changes_kept(rig: Rig) -> None:
    channel = _declare_p1(rig)
    key = _add_followup(rig, channel, "Add a retry to the payment call")
    bob = rig.jira_user("bob")
    bob.update(key, summary="Add a retry with backoff to the payment call")
    bob.assign(key, "acc-bob")
    bob.transition(key, "Closed")

    rig.slack.wait_for(lambda: _done_lines(rig, channel), timeout=TIMEOUT)
    [line] = _done_lines(rig, channel)
    assert f"|{key}> done: Add a retry with backoff to the payment call" in line

    listing = _listing_with(rig, channel, "Add a retry with backoff to the payment call — Closed")
    assert f"<@{person('bob').slack_id}>" in listing
    bob.update(key, summary="Add a retry with backoff to the payment calls")  # after done: not re-announced
    _listing_with(rig, channel, "payment calls — Closed")
    assert len(_done_lines(rig, channel)) == 1


@pytest.mark.both_jiras
def test_a_followup_done_while_the_webhook_is_missed_is_caught_by_the_reconciler(rig: Rig) -> None:
    channel = _declare_p1(rig)
    key = _add_followup(rig, channel, "Write the runbook for the gateway")
    rig.jira.pause_webhooks()
    rig.jira_user("bob").transition(key, "Closed")
    rig.jira.resume_webhooks(drop=True)
    assert _done_lines(rig, channel) == []
    run = rig.reconcile_once()
    assert run.returncode == 0, run.stderr
    assert f"{key}: follow-up refreshed" in run.stdout
    rig.slack.wait_for(lambda: _done_lines(rig, channel), timeout=TIMEOUT)
    assert f"|{key}> done: Write the runbook for the gateway" in _done_lines(rig, channel)[0]


def test_the_shortcut_prefills_the_message_and_the_button_opens_the_modal(rig: Rig) -> None:
    channel = _declare_p1(rig)
    alice = rig.slack_user("alice")
    ts = alice.say(channel, "We should alert on gateway timeouts above 2%")
    alice.shortcut(channel, ts, "create_followup")
    modal = alice.wait_for_view(callback_id="incident_followup")
    [description] = [b for b in modal["blocks"] if b.get("label", {}).get("text") == "Description"]
    assert description["element"]["initial_value"] == "We should alert on gateway timeouts above 2%"
    assert alice.submit(modal, {"Summary": "Alert on gateway timeouts"}).errors is None
    key = rig.jira.wait_for(
        lambda: next(
            (i["key"] for i in _followups(rig) if i["fields"]["summary"] == "Alert on gateway timeouts"), None
        ),
        timeout=TIMEOUT,
    )
    assert "We should alert on gateway timeouts above 2%" in rig.jira.issue(key)["fields"]["description"]

    alice.click(channel, "Follow-up")
    modal = alice.wait_for_view(callback_id="incident_followup")
    ack = alice.submit(
        modal, {"Summary": "Review the gateway timeouts", "Assignee": "carol", "Due date": "2020-01-31"}
    )
    assert ack.errors is None
    assert "2020-01-31 is already past" in rig.slack.wait_for(
        lambda: next((t for t in _ephemerals(rig, "alice") if "already past" in t), None), timeout=TIMEOUT
    )
    wait_for_text(rig, channel, "created: Review the gateway timeouts")


def _linked(rig: Rig, key: str, other: str) -> bool:
    return any(
        other in (link.get("inwardIssue", {}).get("key"), link.get("outwardIssue", {}).get("key"))
        for link in rig.jira.issue(key)["links"]
    )


def test_the_post_mortem_lists_and_links_the_followups(rig: Rig) -> None:
    channel = _declare_p1(rig)
    before = _add_followup(rig, channel, "Add a retry to the payment call")
    alice = rig.slack_user("alice")
    alice.command("/incident", "update", channel_id=channel)
    assert (
        alice.submit(alice.wait_for_view(callback_id="incident_update"), {"Status": "Post-mortem"}).errors
        is None
    )
    postmortem = rig.jira.wait_for(lambda: rig.jira.issues.get("PM-1"), timeout=TIMEOUT)
    mitigation = "customfield_12703"
    assert f"* [{before}] Add a retry to the payment call — Incoming" in postmortem["fields"][mitigation]
    rig.jira.wait_for(lambda: _linked(rig, before, "PM-1"), timeout=TIMEOUT)

    after = _add_followup(rig, channel, "Write the runbook for the gateway")
    rig.jira.wait_for(lambda: _linked(rig, after, "PM-1") and _linked(rig, after, "INC-1"), timeout=TIMEOUT)
    rig.jira.wait_for(
        lambda: (
            f"* [{after}] Write the runbook for the gateway" in rig.jira.issue("PM-1")["fields"][mitigation]
        ),
        timeout=TIMEOUT,
    )
    rig.jira_user("bob").transition(before, "Closed")
    rig.jira.wait_for(
        lambda: (
            f"* [{before}] Add a retry to the payment call — Closed"
            in rig.jira.issue("PM-1")["fields"][mitigation]
        ),
        timeout=TIMEOUT,
    )


def test_the_home_tab_shows_your_open_followups(rig: Rig) -> None:
    channel = _declare_p1(rig)
    key = _add_followup(
        rig, channel, "Add a retry to the payment call", Assignee="bob", **{"Due date": "2026-12-24"}
    )
    other = _add_followup(rig, channel, "Write the runbook for the gateway", Assignee="bob")
    bob = rig.slack_user("bob")

    def followups_section() -> str:
        blocks = bob.open_home()["blocks"]
        at = next(
            i
            for i, b in enumerate(blocks)
            if b["type"] == "header" and b["text"]["text"] == "Your follow-ups"
        )
        return blocks[at + 1]["text"]["text"]

    shown = rig.slack.wait_for(
        lambda: (text := followups_section()) and other in text and text, timeout=TIMEOUT
    )
    assert f"<{rig.jira.url}/browse/{key}|{key}> Add a retry to the payment call" in shown
    assert "due 2026-12-24" in shown and "no due date" in shown
    rig.jira_user("bob").transition(key, "Closed")
    rig.slack.wait_for(lambda: key not in followups_section(), timeout=TIMEOUT, interval=0.2)
    assert other in followups_section()
    assert key not in rig.slack_user("alice").open_home()["blocks"].__str__()


def test_bad_input_gets_inline_errors_and_creates_nothing(rig: Rig) -> None:
    channel = _declare_p1(rig)
    rig.slack.add_user("U0GONE", name="gone", email="gone@example.com", deleted=True)
    alice = rig.slack_user("alice")
    alice.command("/incident", "followup", channel_id=channel)
    modal = alice.wait_for_view(callback_id="incident_followup")
    too_long = alice.submit(modal, {"Summary": "x" * 256})
    assert too_long.errors == {"summary": "The summary needs 5 to 255 characters (it has 256)."}
    bot = alice.submit(modal, {"Summary": "Add a retry to the payment call", "Assignee": "incident-bot"})
    assert "is a bot" in bot.errors["assignee_id"]
    gone = alice.submit(modal, {"Summary": "Add a retry to the payment call", "Assignee": "U0GONE"})
    assert "deactivated" in gone.errors["assignee_id"]
    assert (
        alice.submit(modal, {"Summary": "Add a retry to the payment call", "Assignee": None}).errors is None
    )
    wait_for_text(rig, channel, "created: Add a retry to the payment call")
    assert len(_followups(rig)) == 1

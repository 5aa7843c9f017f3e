"""`python -m bot sandbox`: the real bot between local Slack and Jira, walking one P1 incident through.

Each step acts as a person would (a slash command, a modal filled by its labels, a button, a change
made in Jira, a comment made in Jira, a message shortcut, a 📌, opening the app's Home tab), waits for
its visible effect, then prints what Slack and Jira each received. A step whose effect does not appear
fails the walk with the bot's log tail, and the command exits non-zero. Reminders are given intervals of
seconds here (`WALK_ENV`), so that the walk shows one, and its snooze, without waiting half an hour.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.rig import Rig, start_rig

#: Settings of the walk's bot beyond the rig's: a P1 quiet for 5 s is reminded, checked twice a second.
WALK_ENV = {"REMINDER_UPDATE_SECONDS": '{"1": 5, "2": 5, "3": 5}', "REMINDER_CHECK_SECONDS": "0.5"}
REMINDER_WAIT = 20.0

QUIET_SLACK = {
    "auth.test",
    "apps.connections.open",
    "users.info",
    "users.lookupByEmail",
    "conversations.members",
}


class Transcript:
    """Prints, after each step, the Slack Web API calls and Jira requests it caused."""

    def __init__(self, rig: Rig, out: Callable[[str], None] = print) -> None:
        self.rig = rig
        self.out = out
        self._slack_seen = 0
        self._jira_seen = 0

    def step(self, title: str) -> None:
        self.flush()
        self.out(f"\n▶ {title}")

    def flush(self) -> None:
        calls = self.rig.slack.calls
        for call in calls[self._slack_seen :]:
            if call["method"] not in QUIET_SLACK:
                self.out(f"    Slack ← {call['method']}: {_slack_detail(call['params'])}")
        self._slack_seen = len(calls)
        requests = self.rig.jira.requests
        for request in requests[self._jira_seen :]:
            if request["method"] != "GET" or "transitions" in request["path"]:
                self.out(
                    f"    Jira  ← {request['method']} {request['path']} {_jira_detail(request.get('json'))}"
                )
        self._jira_seen = len(requests)


def _slack_detail(params: dict[str, Any]) -> str:
    view = params.get("view")
    if isinstance(view, dict) and view.get("type") == "home":
        return f"Home tab of {params.get('user_id')} ({len(view.get('blocks', []))} blocks)"
    for key in ("name", "topic", "text", "title", "users", "timestamp"):
        if params.get(key):
            text = str(params[key]).replace("\n", " ")
            return f"{key}={text[:110]!r}"
    if isinstance(view, dict):
        return f"view {view.get('callback_id')!r} ({len(view.get('blocks', []))} blocks)"
    return ""


def _jira_detail(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    if body.get("fields"):
        return "fields=" + ", ".join(sorted(body["fields"]))[:120]
    if "transition" in body:
        return f"transition={body['transition'].get('id')}"
    if "accountId" in body or "name" in body:
        return f"assignee={body.get('accountId', body.get('name'))}"
    return ", ".join(sorted(body))[:80]


def _person(user: Any) -> str | None:
    """A Jira user's id on either deployment (Cloud: accountId; Data Center: name)."""
    return (user.get("accountId") or user.get("name")) if isinstance(user, dict) else None


def walk(rig: Rig, out: Callable[[str], None] = print) -> None:
    """One P1 incident from declaration to close, as people would run it, on the rig's Jira shape."""
    t = Transcript(rig, out)
    slack, jira, shape = rig.slack, rig.jira, rig.shape
    alice, bob = rig.slack_user("alice"), rig.slack_user("bob")

    t.step("alice runs `/incident open Checkout fails for EU customers` in #general and fills the modal")
    alice.command("/incident", "open Checkout fails for EU customers", channel_id=rig.general)
    ack = alice.submit(
        alice.wait_for_view(),
        {
            "Priority": "P1",
            "Environments": ["PRD"],
            "Platform": "platform-FR",
            "Customers impact": "High",
            "Zendesk ticket ID": "ZD-1042",
            "Description": "Card payments time out at the last step.",
        },
    )
    _expect(ack.errors is None, f"the declare modal was refused: {ack.errors}")
    channel = slack.wait_for(
        lambda: next((c["id"] for c in slack.channels.values() if c["name"].startswith("inc-")), None),
        timeout=15,
    )
    slack.wait_for(lambda: slack.bookmarks(channel), timeout=15)
    key = next(iter(jira.issues))
    out(f"  → channel #{slack.channels[channel]['name']}, Jira ticket {key}, announcement pinned")

    t.step("alice clicks Update on the announcement: Investigating, commander bob")
    alice.click(channel, "Update")
    alice.submit(
        alice.wait_for_view(),
        {"Status": "Investigating", "Commander": "U0BOB", "Message": "Payment provider latency is up"},
    )
    investigating = shape.jira_status("INVESTIGATING")
    jira.wait_for(
        lambda: (
            jira.issue(key)["status"] == investigating
            and _person(jira.issue(key)["fields"].get("assignee")) == "acc-bob"
        ),
        timeout=15,
    )
    out(f"  → Jira {key} is {investigating!r}, assigned to Bob")

    t.step("bob sets key events: detected at, with a note")
    bob.click(channel, "Key events")
    detected = int(time.time()) - 1800
    bob.submit(
        bob.wait_for_view(), {"Detected at": detected, "Detected note": "Alert on checkout error rate"}
    )
    slack.wait_for(lambda: any("key events" in m["text"] for m in slack.messages(channel)), timeout=15)

    _conversation(rig, t, channel, key, out)

    t.step("carol, in Jira, renames the ticket and raises it to priority 2")
    rig.jira_user("carol").update(
        key, summary="Checkout fails for EU card payments", **shape.priority_input(2)
    )
    slack.wait_for(
        lambda: sum(m["text"].startswith(f"Jira {key}:") for m in slack.messages(channel)) >= 2, timeout=15
    )
    out(
        "  → "
        + "\n  → ".join(m["text"] for m in slack.messages(channel) if m["text"].startswith(f"Jira {key}:"))
    )

    t.step("nobody gives news for a while: the bot reminds the commander, and bob snoozes it for 30 min")
    reminder = slack.wait_for(
        lambda: next(
            (m for m in reversed(slack.messages(channel)) if "no update on incident" in m["text"]), None
        ),
        timeout=REMINDER_WAIT,
    )
    out(f"  → {reminder['text']}")
    bob.click(channel, "Snooze 30 min", message_ts=reminder["ts"])
    snoozed = slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(channel)
                if m["ts"] == reminder["ts"] and m["text"].startswith("Snoozed")
            ),
            None,
        ),
        timeout=15,
    )
    out(f"  → the reminder now reads: {snoozed['text']}")

    t.step("alice opens the app's Home tab")
    out("\n".join(f"  │ {line}" for line in home_lines(alice.open_home(timeout=15))))

    t.step("bob moves the incident to Mitigated, then to Post-mortem")
    for status in ("Mitigated", "Post-mortem"):
        bob.click(channel, "Update")
        bob.submit(bob.wait_for_view(), {"Status": status})
    jira.wait_for(lambda: jira.issue(key)["status"] == shape.jira_status("POST_MORTEM"), timeout=15)
    postmortem = jira.wait_for(
        lambda: next((k for k in jira.issues if k.startswith("PM-")), None), timeout=20
    )
    slack.wait_for(lambda: any(b["title"] == "Post-mortem" for b in slack.bookmarks(channel)), timeout=15)
    out(f"  → post-mortem {postmortem} created, linked to {key}, pinned and bookmarked")

    followup = _followup(rig, t, channel, shape.jira_status("CLOSED"), out)

    t.step("bob closes the incident: reason resolved")
    bob.click(channel, "Close")
    ack = bob.submit(
        bob.wait_for_view(), {"Closure reason": "Resolved", "Message": "Provider fixed; all good"}
    )
    _expect(ack.errors is None, f"the close modal was refused: {ack.errors}")
    jira.wait_for(lambda: jira.issue(key)["status"] == shape.jira_status("CLOSED"), timeout=15)
    slack.wait_for(lambda: slack.channels[channel]["archived"], timeout=15)
    t.flush()
    _summary(rig, channel, key, postmortem, followup, out)


def _followup(rig: Rig, t: Transcript, channel: str, done: str, out: Callable[[str], None]) -> str:
    """alice adds a follow-up for bob with the announcement's Follow-up button; carol closes it in Jira."""
    slack, jira = rig.slack, rig.jira
    t.step("alice clicks Follow-up on the announcement: a follow-up for bob, due in a month")
    alice = rig.slack_user("alice")
    alice.click(channel, "Follow-up")
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    ack = alice.submit(
        alice.wait_for_view(),
        {"Summary": "Alert on payment provider errors", "Assignee": "bob", "Due date": due},
    )
    _expect(ack.errors is None, f"the follow-up modal was refused: {ack.errors}")
    created = slack.wait_for(
        lambda: next(
            (m["text"] for m in slack.messages(channel) if "created: Alert on payment" in m["text"]), None
        ),
        timeout=15,
    )
    out(f"  → {created}")
    key = jira.wait_for(
        lambda: next(
            (k for k, i in jira.issues.items() if "incident-followup" in i["fields"]["labels"]), None
        ),
        timeout=15,
    )
    t.step(f"carol closes the follow-up {key} in Jira")
    _walk_to(rig, key, done)
    told = slack.wait_for(
        lambda: next((m["text"] for m in slack.messages(channel) if f"{key}> done:" in m["text"]), None),
        timeout=15,
    )
    out(f"  → {told}")
    return key


def _walk_to(rig: Rig, key: str, status: str) -> None:
    """Move an issue to `status` one transition at a time, along the shortest path its workflow offers."""
    workflow = rig.jira.state.workflow_for(rig.jira.issue(key))
    start = rig.jira.issue(key)["status"]
    paths: dict[str, list[str]] = {start: []}
    queue = [start]
    while queue and status not in paths:
        here = queue.pop(0)
        for transition in workflow.available(here):
            if transition.to not in paths:
                paths[transition.to] = [*paths[here], transition.to]
                queue.append(transition.to)
    _expect(status in paths, f"no path from {start} to {status} in the workflow of {key}")
    user = rig.jira_user("carol")
    for step in paths[status]:
        user.transition(key, step)


def home_lines(view: dict[str, Any]) -> list[str]:
    """The Home view as a person reads it: headers, texts, and the buttons in brackets."""
    lines = []
    for block in view["blocks"]:
        if block["type"] == "header":
            lines.append(f"── {block['text']['text']} ──")
        elif block["type"] == "divider":
            continue
        texts = (
            [block["text"]["text"]]
            if isinstance(block.get("text"), dict) and block["type"] != "header"
            else []
        )
        texts += [e["text"] for e in block.get("elements", []) if block["type"] == "context"]
        buttons = [
            e for e in [*block.get("elements", []), block.get("accessory") or {}] if e.get("type") == "button"
        ]
        shown = " ".join(texts).replace("\n", " · ")
        if buttons:
            shown += " " + " ".join(f"[{b['text']['text']}]" for b in buttons)
        if shown.strip():
            lines.append(shown.strip())
    return lines


def _conversation(rig: Rig, t: Transcript, channel: str, key: str, out: Callable[[str], None]) -> None:
    """One comment each way and one pinned note."""
    slack, jira = rig.slack, rig.jira
    t.step("dave comments on the ticket in Jira; the channel shows it")
    rig.jira_user("dave").comment(key, "*Payment provider* confirms a partial outage on their side")
    line = slack.wait_for(
        lambda: next((m["text"] for m in slack.messages(channel) if " comment by " in m["text"]), None),
        timeout=15,
    )
    out(f"  → {line}")

    t.step("carol posts in the channel; alice sends it to Jira with the Send to Jira shortcut")
    ts = rig.slack_user("carol").say(channel, "Switched card payments to the backup provider")
    rig.slack_user("alice").shortcut(channel, ts, "send_to_jira")
    comment = jira.wait_for(
        lambda: next((c for c in jira.issue(key)["comments"] if "backup provider" in str(c["body"])), None),
        timeout=15,
    )
    slack.wait_for(lambda: slack.reactions(channel, ts).get("white_check_mark"), timeout=15)
    out(f"  → Jira {key} comment: {str(comment['body']).splitlines()[0]} … (✅ on the message)")

    t.step("bob pins carol's message with 📌: a timeline note")
    rig.slack_user("bob").react(channel, ts, "pushpin")
    slack.wait_for(
        lambda: any(
            m.get("thread_ts") == ts and m["text"] == "Added to the timeline."
            for m in slack.messages(channel)
        ),
        timeout=15,
    )
    out("  → thread: Added to the timeline.")


def _summary(
    rig: Rig, channel: str, key: str, postmortem: str, followup: str, out: Callable[[str], None]
) -> None:
    slack, jira = rig.slack, rig.jira
    info = slack.channels[channel]
    out("\n══ What Slack saw ══")
    out(f"#{info['name']} (archived: {info['archived']}), topic: {info['topic']!r}")
    out(
        f"members: {', '.join(sorted(info['members']))}; pins: {len(slack.pins(channel))}; "
        f"bookmarks: {', '.join(b['title'] for b in slack.bookmarks(channel))}"
    )
    for message in slack.messages(channel):
        out(f"  #{info['name']}: {message['text'][:150]}")
    for message in slack.messages(rig.announcements):
        out(f"  #incidents: {message['text'][:150]}")
    out("\n══ What Jira saw ══")
    for issue_key in (key, postmortem, followup):
        issue = jira.issue(issue_key)
        fields = issue["fields"]
        out(
            f"{issue_key} [{issue['status']}] {fields.get('summary')!r}, assignee "
            f"{(fields.get('assignee') or {}).get('displayName')}, "
            f"{len(issue['changelog'])} changelog entries, "
            f"links: {len(issue.get('links', []))}, web links: {len(issue.get('remote_links', []))}"
        )
    out(f"requests: {len(jira.requests)} in all; webhooks sent to the bot: {len(jira.webhook_deliveries)}")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def run_sandbox(
    out: Callable[[str], None] = print, *, jira_workflow: str = "default", jira: str = "cloud"
) -> int:
    """Start everything on loopback, walk the incident, print the transcript; 0 when every step worked.

    `jira_workflow` picks the Jira site's shape (`default`, or `simple`: To Do → In Progress → In Review
    → Done with Jira's own priority field); the bot is configured to match. `jira` is the deployment:
    `cloud` or `datacenter`."""
    logging.getLogger("sandbox").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="incident-bot-sandbox-"))
    out(
        f"Starting the Slack and {'Jira Data Center' if jira == 'datacenter' else 'Jira'} "
        f"({jira_workflow} workflow) emulators and the bot "
        f"(`python -m bot run`), data in {workdir}"
    )
    try:
        rig = start_rig(workdir=workdir, jira_workflow=jira_workflow, jira=jira, env=WALK_ENV)
    except Exception as exc:
        out(f"sandbox: the bot did not start: {exc}")
        return 1
    try:
        walk(rig, out)
    except Exception as exc:
        out(
            f"\nsandbox: a step failed: {type(exc).__name__}: {exc}\n"
            f"--- bot log (tail) ---\n{rig.bot_log()[-4000:]}"
        )
        return 1
    finally:
        rig.stop()
    out("\nsandbox: the incident went through its whole life; everything above was seen by the emulators.")
    return 0


if __name__ == "__main__":
    sys.exit(run_sandbox())

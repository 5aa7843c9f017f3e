"""The conversation's messages: Jira comments in the channel, Send to Jira and timeline answers, and
`/incident timeline`. Pure functions from data to text.

Everything that came from outside (a Jira user's name, a comment, a Slack message quoted back) goes
through `slack_text`, which can neither link nor notify anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from bot.models import Incident
from bot.timeline import Entry

JOINER = "\u2060"  # WORD JOINER: `@\u2060channel` reads as @channel and notifies no one
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)

ADDED_TO_TIMELINE = "Added to the timeline."
REMOVED_FROM_TIMELINE = "Removed from the timeline."
NOT_AN_INCIDENT_CHANNEL = "{what} works on messages in an incident channel; this channel is not one."
JIRA_OFF = "Send to Jira needs Jira sync, which is off here (ENABLE_JIRA / JIRA_URL)."


def disarm(text: str) -> str:
    """The broadcast words (`@channel`, `@here`, `@everyone`) with a word joiner after the `@`."""
    return _BROADCAST.sub("@" + JOINER, text)


def slack_text(text: str) -> str:
    """Outside text as Slack shows it literally: `&`, `<`, `>` escaped (no link, no `<!channel>`, no
    `<@U…>`) and the broadcast words disarmed."""
    return disarm(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def jira_comment(key: str, who: str, text: str, *, edited: bool, cut: bool, ticket_url: str) -> str:
    """`Jira <KEY>: comment by <Jira user>: <text>` (`… edited: …` for an edit), with `…` and the
    ticket's link when the text was cut. `text` is mrkdwn already made safe."""
    head = f"Jira {key}: comment by {slack_text(who)}{' edited' if edited else ''}: "
    tail = f"… <{ticket_url}|{key}>" if cut else ""
    return head + text + tail


def sending_to_jira(key: str | None) -> str:
    where = f"Jira {key}" if key else "the incident's Jira ticket (once it exists)"
    return f"Sending this message to {where}; a :white_check_mark: appears on it once the comment exists."


def already_sent(comment_url: str | None) -> str:
    if comment_url:
        return f"This message is already in Jira: <{comment_url}|its comment>."
    return "This message is already on its way to Jira; a :white_check_mark: appears on it once it is there."


def message_gone(what: str) -> str:
    return f"That message was deleted before it reached {what}; nothing was added."


def already_on_timeline(permalink: str | None) -> str:
    if permalink:
        return f"That <{permalink}|message> is already on the timeline."
    return "That message is already on the timeline."


def unreadable(reason: str) -> str:
    return f"That message is not on the timeline: {reason}"


def timeline(incident: Incident, rows: Sequence[Entry]) -> str:
    """`/incident timeline`: every entry in time order, `HH:MM` UTC, under a line for each day."""
    lines = [f"*Timeline of incident #{incident.id}: {slack_text(incident.title)}* (times in UTC)"]
    day: date | None = None
    for row in rows:
        if row.at.date() != day:
            day = row.at.date()
            lines.append(f"_{day.isoformat()}_")
        lines.append(f"• {row.at:%H:%M} {_entry(row)}")
    return "\n".join(lines)


def _entry(row: Entry) -> str:
    if row.kind == "created":
        return f"Incident created (P{row.priority})"
    if row.kind == "status":
        return f"Status changed to: {row.label}"
    if row.kind == "note":
        text = f"Note: {slack_text(row.label)}: {slack_text(row.message or '')}"
        return f"{text} (<{row.link}|message>)" if row.link else text
    note = f" - {slack_text(row.message)}" if row.message else ""
    return f"Key event: {row.label}{note}"

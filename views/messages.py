"""Every message the bot posts, apart from the announcement: pure functions returning text or blocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.enums import Status, is_critical
from bot.models import Incident
from views.announcement import Link, escape
from views.ids import COMMAND

FIELD_LABELS = {
    "status": "Status",
    "priority": "Priority",
    "title": "Title",
    "description": "Description",
    "commander_id": "Commander",
}

HELP = f"""*{COMMAND}* — declare and run incidents
• `{COMMAND} open [title]` — declare an incident
• `{COMMAND} update [ref]` — update status, priority, title, description, commander
• `{COMMAND} keyevents [ref]` — set detected/started/recovered/mitigated/resolved times
• `{COMMAND} status [ref]` — recap: status, priority, commander, Jira, post-mortem, sync state
• `{COMMAND} postmortem [ref]` — create the Jira post-mortem now
• `{COMMAND} close [ref]` — close the incident
• `{COMMAND} timeline [ref]` — key events, status changes and notes (📌 a message to add one), in time order
• `{COMMAND} followup [ref]` — add a follow-up (a Jira issue linked to the incident)
• `{COMMAND} followups [ref]` — the incident's follow-ups, their Jira status, assignee and due date
• `{COMMAND} list` — open incidents, newest first
• `{COMMAND} help` — this help
`ref` is `#12` or a Jira key such as `INC-42`; inside an incident channel it can be left out."""


def unknown_command(text: str) -> str:
    return f"Unknown command `{escape(text)}`.\n\n{HELP}"


def show(field: str, value: Any) -> str:
    """A field value as people read it."""
    if value is None or value == "":
        return "(none)"
    if field == "status":
        return Status(value).label
    if field == "priority":
        return f"P{value}"
    if field == "commander_id":
        return f"<@{value}>"
    if field == "description":
        text = str(value)
        return f"“{escape(text[:60])}{'…' if len(text) > 60 else ''}”"
    return escape(str(value))


def change_summary(actor_id: str | None, changes: dict[str, list[Any]], message: str | None) -> str:
    """One line: who changed what, from what to what, and their message."""
    parts = [
        f"{FIELD_LABELS[name]} {show(name, old)} → {show(name, new)}"
        for name, (old, new) in changes.items()
        if name in FIELD_LABELS
    ]
    who = f"<@{actor_id}>" if actor_id else "Someone"
    line = f":pencil2: {who} changed " + ", ".join(parts) if parts else f":speech_balloon: {who}"
    return f"{line}: {escape(message)}" if message else line


def jira_change(key: str, field: str, old: str | None, new: str | None, who: str) -> str:
    """The channel's line for a change applied from Jira (values escaped):
    `Jira <KEY>: <Field> changed from <old> to <new> by <Jira user>`."""
    return (
        f"Jira {key}: {field} changed from {escape(old or '(none)')} to {escape(new or '(none)')} "
        f"by {escape(who)}"
    )


def jira_moved(old: str, new: str, who: str) -> str:
    """The channel's line for a ticket moved to another project in Jira (it is `new` from now on)."""
    return f"Jira {old} was moved to {new} by {escape(who)}: the incident's ticket is {new} now"


def jira_change_refused(key: str, field: str, reason: str) -> str:
    """A change made in Jira that the incident cannot take, explained where people will see it."""
    return f"Jira {key}: {field} change not applied: {escape(reason)}"


def jira_close_refused(key: str, who: str, status: str | None, reasons: Sequence[str]) -> str:
    return (
        f"Jira {key}: {escape(who)} moved the ticket to {escape(status or 'Closed')}, but the incident "
        "cannot be closed yet: " + "; ".join(reasons) + ". The incident stays open."
    )


def key_events_summary(actor_id: str | None, changes: dict[str, Any]) -> str:
    """One line: each changed key event with its new time (UTC) and note, or that it was cleared."""
    parts = [f"{kind.capitalize()} {_key_event(after)}" for kind, (_before, after) in changes.items()]
    who = f"<@{actor_id}> updated key events" if actor_id else "Key events updated"
    return f":clock3: {who}: " + "; ".join(parts)


def _key_event(value: list[Any] | None) -> str:
    """A key event's `[iso time, note]` as `2024-05-01 09:30 UTC (note)`; None means cleared."""
    if not value:
        return "cleared"
    at, note = value
    when = datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when} ({escape(note)})" if note else when


def declared_ack(incident: Incident, *, jira_enabled: bool) -> str:
    """The reporter's immediate feedback, before any channel or ticket exists."""
    head = (
        f":white_check_mark: Incident #{incident.id} *{escape(incident.title)}* "
        f"(P{incident.priority}) declared."
    )
    if is_critical(incident.priority):
        return f"{head} Its channel is being created; you will be invited to it."
    if jira_enabled:
        return f"{head} Its Jira ticket is being created; I will send you its link."
    return (
        f"{head} P{incident.priority} incidents get no channel; "
        f"update it with `{COMMAND} update #{incident.id}`."
    )


def announcements_declared(incident: Incident) -> str:
    return (
        f":rotating_light: New P{incident.priority} incident #{incident.id}: *{escape(incident.title)}* "
        f"in <#{incident.channel_id}> (commander <@{incident.commander_id}>)"
    )


def announcements_status(incident: Incident, old: str, new: str) -> str:
    return (
        f":arrows_counterclockwise: P{incident.priority} incident #{incident.id} *{escape(incident.title)}* "
        f"<#{incident.channel_id}>: {Status(old).label} → {Status(new).label}"
    )


def normal_incident_dm(incident: Incident, ticket: Link) -> str:
    return (
        f"Your P{incident.priority} incident #{incident.id} *{escape(incident.title)}* is tracked in Jira: "
        f"<{ticket.url}|{ticket.key}>. Update it with `{COMMAND} update {ticket.key}`."
    )


def closed_message(incident: Incident, reason: str | None, message: str | None) -> str:
    line = f":white_check_mark: Incident #{incident.id} is closed ({reason or 'closed'})."
    return f"{line} {escape(message)}" if message else line


def jira_lagging(error: str) -> str:
    return (
        ":warning: Jira is not answering, so changes to the ticket are queued and will be sent in order "
        f"once it is back. Last error: {escape(error[:200])}"
    )


def jira_refused(what: str, error: str) -> str:
    return (
        f":x: Jira refused a change ({what}): {escape(error[:300])}. "
        "It is parked; `python -m bot jobs` lists it, and `python -m bot jobs --retry` runs it again "
        "once the cause is fixed."
    )


def jira_caught_up() -> str:
    return ":white_check_mark: Jira has caught up: every queued change has been sent."


def jira_user_not_found(slack_id: str, key: str) -> str:
    """A commander the bot cannot match to a Jira account: the ticket is left unassigned, and why."""
    return (
        f":bust_in_silhouette: Could not find <@{slack_id}> in Jira (no Jira account with their e-mail, "
        f"and none in JIRA_USER_MAP), so {key} is left unassigned."
    )


def jira_assignee_unmatched(key: str, old: str | None, new: str | None, who: str, commander_id: str) -> str:
    """A Jira assignee with no Slack user: the change line, naming them, and the commander that stays."""
    named = escape(new or "an account")
    return (
        f"{jira_change(key, 'Assignee', old, new, who)}; {named} has no Slack user the bot can find "
        f"(add them to JIRA_USER_MAP), so the commander stays <@{commander_id}>"
    )


def credentials_fix(refusal: str) -> str:
    """What an operator does about refused Jira credentials: a Data Center CAPTCHA (after failed
    password logins) is cleared by one login in a browser; anything else needs a new token."""
    if "CAPTCHA" in refusal.upper():
        return "log in to Jira once in a browser as JIRA_USER to clear the CAPTCHA, and check JIRA_PASSWORD"
    return "renew JIRA_API_TOKEN / JIRA_PAT"


def jira_credentials_refused(what: str, refusal: str, check_seconds: float) -> str:
    """For the announcements channel, once, when Jira starts refusing the login (`refusal`: how)."""
    return (
        f":rotating_light: Jira refused the bot's credentials ({escape(refusal)} on {escape(what)}): "
        f"{credentials_fix(refusal)}. Changes for Jira stay queued, in order, and are sent once Jira "
        f"accepts the credentials again (checked every {check_seconds:g} s)."
    )


def jira_credentials_accepted(waiting: int) -> str:
    """For the announcements channel, once, when the credentials work again."""
    queued = f"the {waiting} queued Jira changes are" if waiting != 1 else "the queued Jira change is"
    return f":white_check_mark: Jira accepts the bot's credentials again: {queued} being sent, in order."


def jira_unreachable_status(key: str, status: str) -> str:
    return (
        f":warning: Jira {key} could not be moved to *{escape(status)}*: its workflow has no path there. "
        "Move it by hand in Jira."
    )


def status_recap(incident: Incident, *, ticket: Link | None, postmortem: Link | None, sync_state: str) -> str:
    lines = [
        f"*Incident #{incident.id}: {escape(incident.title)}*",
        f"Status: {Status(incident.status).label} · Priority: P{incident.priority} · "
        f"Commander: <@{incident.commander_id}>",
        f"Jira: <{ticket.url}|{ticket.key}>" if ticket else "Jira: not created yet",
        f"Post-mortem: <{postmortem.url}|{postmortem.key}>" if postmortem else "Post-mortem: none",
        f"Sync: {sync_state}",
    ]
    if incident.channel_id:
        lines.insert(1, f"Channel: <#{incident.channel_id}>")
    return "\n".join(lines)


def incident_list(rows: Sequence[tuple[Incident, Link | None]]) -> str:
    if not rows:
        return "No open incidents. :tada:"
    lines = ["*Open incidents, newest first:*"]
    for incident, ticket in rows:
        where = f" <#{incident.channel_id}>" if incident.channel_id else ""
        jira = f" <{ticket.url}|{ticket.key}>" if ticket else ""
        lines.append(
            f"• #{incident.id} P{incident.priority} {Status(incident.status).label}: "
            f"{escape(incident.title)}{where}{jira}"
        )
    return "\n".join(lines)


def postmortem_created(link: Link) -> str:
    return f":memo: The post-mortem is ready in Jira: <{link.url}|{link.key}>. Please complete it."

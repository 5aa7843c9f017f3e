"""Follow-ups in Slack and in Jira: the Add a follow-up modal, the channel's lines, the list, the
issue's description. Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.forms import DESCRIPTION_MAX
from bot.models import FollowUp, Incident
from views.announcement import escape
from views.blocks import Block, context, date_picker, input_block, modal, text_input, users_select
from views.ids import Block as B
from views.ids import Callback
from views.modals import metadata

NO_FOLLOWUPS = "No follow-ups yet: `/incident followup` adds one."


def followup_modal(incident: Incident, *, description: str = "", channel_id: str | None = None) -> dict:
    """Add a follow-up; `description` prefilled from a message (the Create follow-up shortcut)."""
    blocks: list[Block] = [
        context(f"Incident #{incident.id}: {escape(incident.title)}"),
        input_block(B.SUMMARY, "Summary", text_input()),
        input_block(
            B.DESCRIPTION,
            "Description",
            text_input(
                initial=description[:DESCRIPTION_MAX] or None, multiline=True, max_length=DESCRIPTION_MAX
            ),
            optional=True,
        ),
        input_block(B.ASSIGNEE, "Assignee", users_select(), optional=True),
        input_block(B.DUE_DATE, "Due date", date_picker(), optional=True),
    ]
    return modal(
        Callback.FOLLOWUP,
        "Add a follow-up",
        blocks,
        submit="Create",
        private_metadata=metadata(incident_id=incident.id, channel_id=channel_id),
    )


def jira_description(followup: FollowUp, ticket_key: str, channel_url: str | None, marker: str) -> str:
    """The issue's description: the user's text, what it follows up, the channel, the marker."""
    parts = [followup.description] if followup.description else []
    parts.append(f"Follow-up of {ticket_key}")
    if channel_url:
        parts.append(f"Slack channel: {channel_url}")
    parts.append(marker)
    return "\n\n".join(parts)


def _link(followup: FollowUp) -> str:
    return f"<{followup.url}|{followup.key}>" if followup.url else str(followup.key)


def created(followup: FollowUp, *, unassigned: bool) -> str:
    """`Follow-up <KEY> created: <summary>`, with the assignee (or why there is none) and the due date."""
    text = f"Follow-up {_link(followup)} created: {escape(followup.summary)}"
    if followup.assignee_id and not unassigned:
        text += f" (assigned to <@{followup.assignee_id}>)"
    if followup.due_date:
        text += f", due {followup.due_date.isoformat()}"
    if unassigned:
        text += (
            f"\n:warning: It is unassigned: <@{followup.assignee_id}> has no Jira account the bot can find "
            "(add them to `JIRA_USER_MAP` or assign it in Jira)."
        )
    return text


def done(followup: FollowUp) -> str:
    return f":white_check_mark: Follow-up {_link(followup)} done: {escape(followup.summary)}"


def requested(followup: FollowUp, *, today: date) -> str:
    """What the person who submitted the modal hears at once."""
    text = f"Creating follow-up in Jira: {escape(followup.summary)}."
    if followup.due_date and followup.due_date < today:
        text += f" Note: its due date {followup.due_date.isoformat()} is already past."
    return text


def listing(incident: Incident, rows: Sequence[FollowUp]) -> str:
    """`/incident followups`: key with link, summary, Jira status, assignee, due date."""
    if not rows:
        return f"Incident #{incident.id}: {NO_FOLLOWUPS}"
    lines = [f"*Follow-ups of incident #{incident.id}*"]
    for row in rows:
        key = _link(row) if row.key else "(being created)"
        assignee = f"<@{row.assignee_id}>" if row.assignee_id else "unassigned"
        due = f"due {row.due_date.isoformat()}" if row.due_date else "no due date"
        lines.append(f"• {key} {escape(row.summary)} — {row.status or 'unknown status'} — {assignee} — {due}")
    return "\n".join(lines)

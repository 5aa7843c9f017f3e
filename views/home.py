"""The Home tab: where everything stands, for the person looking.

One view, rebuilt whenever the person opens the tab: a Declare button, their own open incidents, every
open incident (most urgent first, a bounded number of rows, saying how many more there are), the last
30 days per priority, and one line on Jira's sync. Every list is cut to a fixed number of rows, so the
view stays far below Slack's 100 blocks however many incidents are open.
"""

from __future__ import annotations

from typing import Any

from bot.enums import Status
from bot.models import FollowUp
from bot.overview import Listing, Overview, PriorityFigures, Row, SyncHealth
from views.announcement import escape
from views.blocks import Block, button, context, divider, header, section
from views.durations import duration
from views.ids import COMMAND, Action
from views.ids import Block as B

RETRY_COMMAND = "python -m bot jobs --retry"


def home_view(data: Overview) -> dict[str, Any]:
    """The Home view built from the overview of one person."""
    blocks: list[Block] = [
        {
            "type": "actions",
            "block_id": B.HOME_ACTIONS,
            "elements": [button("Declare an incident", Action.DECLARE, "home", style="primary")],
        },
        header("Your incidents"),
        *_listing(
            data.yours,
            empty="You are not running any open incident. :sunny: Those you declare or command show up here.",
            more="of yours",
        ),
        divider(),
        header("Open incidents"),
        *_listing(data.open, empty="No open incidents. :tada:", more="open incidents"),
        divider(),
        header("Your follow-ups"),
        section(_followups(data.followups)),
        divider(),
        header("Last 30 days"),
        section("\n".join(_figures(figures) for figures in data.last_30_days)),
        context(sync_line(data.sync)),
    ]
    return {"type": "home", "blocks": blocks}


def _listing(listing: Listing, *, empty: str, more: str) -> list[Block]:
    if not listing.rows:
        return [section(empty)]
    blocks = [_row(row) for row in listing.rows]
    if (hidden := listing.total - len(listing.rows)) > 0:
        blocks.append(
            context(f"{hidden} more {more} not shown here; `{COMMAND} list` lists the open incidents.")
        )
    return blocks


def _row(row: Row) -> Block:
    """One incident on its own row: priority, number, title, status, Jira key, channel; and Update."""
    incident = row.incident
    details = [Status(incident.status).label]
    if row.ticket is not None:
        details.append(f"<{row.ticket.url}|{row.ticket.key}>")
    if incident.channel_id:
        details.append(f"<#{incident.channel_id}>")
    line = f"*P{incident.priority}* · #{incident.id} · *{escape(incident.title)}*\n" + " · ".join(details)
    return {**section(line), "accessory": button("Update", Action.UPDATE, str(incident.id))}


def _followups(rows: list[FollowUp]) -> str:
    """Each follow-up assigned to the person and not done: Jira link, summary, status, due date."""
    if not rows:
        return "No follow-up of yours is open. Those assigned to you show up here."
    lines = []
    for row in rows:
        due = f"due {row.due_date.isoformat()}" if row.due_date else "no due date"
        lines.append(f"• <{row.url}|{row.key}> {escape(row.summary)} · {row.status or 'To Do'} · {due}")
    return "\n".join(lines)


def _figures(figures: PriorityFigures) -> str:
    head = f"*P{figures.priority}*: {_count(figures.declared, 'incident')} declared"
    if figures.median_to_mitigate is not None:
        return f"{head}, median time to mitigate {duration(figures.median_to_mitigate)}"
    return f"{head}, none mitigated yet" if figures.declared else head


def sync_line(health: SyncHealth | None) -> str:
    """One line, starting `Jira:`, naming no issue: in sync, what waits (and since when), what failed."""
    if health is None:
        return "Jira: sync is off"
    parts = []
    if health.waiting:
        parts.append(
            f"{_count(health.waiting, 'change')} waiting, the oldest for "
            f"{duration(health.oldest_waiting_seconds)}"
        )
    if health.failed:
        parts.append(f"{_count(health.failed, 'failed change')}: retry with `{RETRY_COMMAND}`")
    return "Jira: " + ("; ".join(parts) if parts else "in sync")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"

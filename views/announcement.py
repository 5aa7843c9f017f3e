"""The pinned announcement of an incident channel, and the channel topic, built from the incident."""

from __future__ import annotations

from typing import Protocol

from bot.enums import Status
from bot.models import Incident
from views.blocks import Block, button, context, section
from views.ids import Action
from views.ids import Block as B


class Link(Protocol):
    """A Jira issue as shown in Slack (a ticket or a post-mortem row)."""

    key: str
    url: str


def announcement(
    incident: Incident, *, ticket: Link | None, postmortem: Link | None, jira_enabled: bool = True
) -> tuple[str, list[Block]]:
    """Text fallback and blocks; edited in place whenever anything shown here changes.

    The Jira line says the ticket is on its way until it exists, and is left out when Jira is off.
    """
    status = Status(incident.status).label
    fallback = f"P{incident.priority} incident #{incident.id}: {escape(incident.title)} ({status})"
    fields = [
        f"*Priority:* P{incident.priority}",
        f"*Status:* {status}",
        f"*Environments:* {', '.join(incident.environments) or '-'}",
        f"*Commander:* <@{incident.commander_id}>",
    ]
    if ticket:
        fields.append(f"*Jira:* <{ticket.url}|{ticket.key}>")
    elif jira_enabled:
        fields.append("*Jira:* _creating…_")
    if postmortem:
        fields.append(f"*Post-mortem:* <{postmortem.url}|{postmortem.key}>")
    blocks: list[Block] = [
        section(f":rotating_light: *Incident #{incident.id}: {escape(incident.title)}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": value} for value in fields]},
    ]
    if incident.description:
        blocks.append(section(escape(incident.description)))
    blocks.append(context(f"Declared by <@{incident.reporter_id}>"))
    if incident.status != Status.CLOSED.value:
        value = str(incident.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": B.ANNOUNCEMENT_ACTIONS,
                "elements": [
                    button("Update", Action.UPDATE, value, style="primary"),
                    button("Key events", Action.KEY_EVENTS, value),
                    button("Post-mortem", Action.POSTMORTEM, value),
                    button("Follow-up", Action.FOLLOWUP, value),
                    button("Close", Action.CLOSE, value, style="danger"),
                ],
            }
        )
    return fallback, blocks


def topic(incident: Incident, *, ticket: Link | None) -> str:
    parts = [f"P{incident.priority}", Status(incident.status).label]
    if ticket:
        parts.append(ticket.key)
    parts.append(incident.title)
    return " | ".join(parts)[:250]


def escape(value: str) -> str:
    """Slack mrkdwn control characters, so user text cannot fake links or mentions."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

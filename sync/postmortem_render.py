"""The post-mortem's Jira fields, rendered from the incident's own history with Jinja2 (Jira wiki markup).

Pure functions: no database, no Slack, no Jira. The templates live in `sync/templates/jira/postmortem/`
and ship as package data. Every piece of user text goes through `wiki` (or `cell` inside a table row),
which neutralises Jira's markup so a title or a note can neither break a table nor fake a link or a macro.
The incident summary carries a marker line naming the incident, by which a retried creation finds an
issue that an earlier attempt made but never heard back about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.enums import ImpactType, Source, Status, highest_impact
from bot.models import FollowUp, Incident, IncidentUpdate, KeyEvent, TimelineNote
from bot.settings import Settings
from bot.timeline import Entry, entries
from sync.create_once import Marker
from views.announcement import Link

PARTS = ("incident_summary", "timeline", "impact", "mitigation_actions", "root_causes")
#: The post-mortem's marker, the last line of its incident-summary field.
MARKER = Marker(
    "_Post-mortem of incident #{id}, generated from Slack by the incident bot._",
    re.compile(r"Post-mortem of incident #(\d+), generated from Slack by the incident bot"),
)
SUMMARY_MAX = 255
TEXT_FIELD_MAX = 32_000  # Jira's text fields hold 32,767 characters

# Structural characters (tables, links, macros) become numeric entities, which Jira's wiki renderer
# shows as the character itself even inside a table cell; text-effect characters get a backslash.
_ENTITIES = {"\\": "&#92;", "|": "&#124;", "[": "&#91;", "]": "&#93;", "{": "&#123;", "}": "&#125;"}
_ALWAYS_ESCAPED = "*^~+!#"
_UNLESS_INSIDE_WORD = "-_"  # `checkout-service` and `snake_case` cannot start an effect
_SPECIAL = re.compile(r"[\\|\[\]{}*^~+!#\-_?]")
_BLOCK_START = re.compile(r"^(\s*)(h[1-6]|bq)\.", re.MULTILINE)


def wiki(value: object) -> str:
    """User text as literal Jira wiki text (line breaks kept)."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")

    def escape(match: re.Match[str]) -> str:
        char, start, end = match.group(), match.start(), match.end()
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if char in _ENTITIES:
            return _ENTITIES[char]
        if char in _ALWAYS_ESCAPED:
            return "\\" + char
        if char in _UNLESS_INSIDE_WORD:
            return char if before.isalnum() and after.isalnum() else "\\" + char
        return "\\?" if "?" in (before, after) else "?"  # only `??citation??` is markup

    escaped = _SPECIAL.sub(escape, text)
    return _BLOCK_START.sub(r"\1\2&#46;", escaped)


def cell(value: object) -> str:
    """User text for one table cell or list item: escaped, its line breaks as Jira's `\\\\`."""
    lines = [line.strip() for line in wiki(value).split("\n")]
    return " \\\\ ".join(line for line in lines if line)


def link_text(value: object) -> str:
    """Text inside `[alias|url]`: the characters that would end the alias or the link are dropped."""
    return re.sub(r"[\[\]|{}\n\r]", "", str(value))


def jira_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


#: One row of the timeline table: the domain's timeline entry (`created`, `status`, `key_event`, `note`).
TimelineRow = Entry


@dataclass(frozen=True)
class Action:
    """One thing done during the incident, from an update's message."""

    at: datetime
    message: str
    status: str | None = None


@dataclass(frozen=True)
class Party:
    name: str
    level: str | None
    details: list[tuple[str, str | None]]


@dataclass(frozen=True)
class PostMortemInputs:
    """Everything the templates read: the incident, its history and key events, and where it lives."""

    incident: Incident
    updates: Sequence[IncidentUpdate]
    key_events: Sequence[KeyEvent]
    channel_url: str | None = None
    ticket: Link | None = None
    notes: Sequence[TimelineNote] = ()
    #: the incident's follow-ups; those created in Jira are listed in `mitigation_actions`
    followups: Sequence[FollowUp] = ()


def timeline(
    incident: Incident,
    updates: Sequence[IncidentUpdate],
    key_events: Sequence[KeyEvent],
    notes: Sequence[TimelineNote] = (),
) -> list[TimelineRow]:
    """Creation, every status change, every key event and every note, ascending by time."""
    return entries(incident, updates, key_events, notes)


def actions(updates: Sequence[IncidentUpdate]) -> list[Action]:
    """What people reported doing: the messages of updates made in Slack (Jira echoes are left out)."""
    found = []
    for update in updates:
        if not (update.message or "").strip() or update.source == Source.JIRA.value:
            continue
        status = update.changes.get("status")
        label = f"status: {Status(status[1]).label}" if status and status[1] else None
        found.append(Action(update.created_at, update.message.strip(), label))
    return found


def parties(incident: Incident) -> list[Party]:
    """Each impact type with a level or details, with the ids the reporter gave."""
    details: dict[str, list[tuple[str, str | None]]] = {
        ImpactType.CUSTOMERS: [("Zendesk ticket", incident.zendesk_ticket_id)],
        ImpactType.SELLERS: [
            ("Seller contract", incident.seller_contract_id),
            ("Zoho Desk ticket", incident.zoho_desk_ticket_id),
        ],
    }
    flags = [
        ("Key account", incident.is_key_account),
        ("Seller in golden list", incident.is_seller_in_golden_list),
    ]
    found = []
    for kind in ImpactType:
        shown = [(label, value) for label, value in details.get(kind, []) if value]
        if kind is ImpactType.SELLERS:
            shown += [(label, None) for label, flag in flags if flag]
        level = incident.impacts.get(kind.value) or None
        if level or shown:
            found.append(Party(kind.value, level, shown))
    return found


def render_part(part: str, inputs: PostMortemInputs) -> str:
    """One post-mortem field as Jira wiki markup."""
    incident = inputs.incident
    level = highest_impact(incident.impacts)
    context: dict[str, Any] = {
        "incident": incident,
        "channel_url": inputs.channel_url,
        "channel_name": incident.channel_name or incident.channel_id or "",
        "ticket": inputs.ticket,
        "timeline": timeline(incident, inputs.updates, inputs.key_events, inputs.notes),
        "actions": actions(inputs.updates),
        "followups": [followup for followup in inputs.followups if followup.key],
        "parties": parties(incident),
        "business_impact": level.value if level else None,
        "marker": MARKER.text(incident.id),
    }
    text = _environment().get_template(f"{part}.txt").render(context).strip() + "\n"
    return _fit(text, keep_tail=MARKER.text(incident.id) if part == "incident_summary" else "")


def summary(incident: Incident) -> str:
    """The issue's title (plain text, one line, at most 255 characters)."""
    text = f"Post-mortem #{incident.id}: {' '.join(incident.title.split())}"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def issue_fields(inputs: PostMortemInputs, settings: Settings) -> dict[str, Any]:
    """The `fields` of the create-issue request: project and type from settings, one field per part."""
    incident = inputs.incident
    ids = settings.jira_postmortem_fields
    fields: dict[str, Any] = {
        "project": {"key": settings.jira_postmortem_project_key},
        "issuetype": {"name": settings.jira_postmortem_issue_type},
        "summary": summary(incident),
    }
    for part in PARTS:
        if ids.get(part):
            fields[ids[part]] = render_part(part, inputs)
    if incident.category and ids.get("incident_category"):
        fields[ids["incident_category"]] = {"value": incident.category}
    return fields


def marked_incident(text: object) -> int | None:
    """The incident a post-mortem's summary field was generated for, from its marker line."""
    return MARKER.incident_of(text)


def _fit(text: str, *, keep_tail: str) -> str:
    if len(text) <= TEXT_FIELD_MAX:
        return text
    note = "\n\n_(cut: too long for one Jira field)_\n\n"
    room = TEXT_FIELD_MAX - len(note) - len(keep_tail) - 1
    return text[:room] + note + keep_tail + "\n"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sync", "templates/jira/postmortem"),
        autoescape=False,  # the output is Jira wiki markup: user text is escaped by `wiki`/`cell`
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(wiki=wiki, cell=cell, link_text=link_text, jira_time=jira_time)
    return env

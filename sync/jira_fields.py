"""`prepare_jira_fields`: the one place that turns an incident into Jira ticket fields, for P1–P5 alike.

Every field id, and the priority's value, comes from the settings. The ticket starts from the incident
whatever the sync directions say: they govern the changes that follow. Optional fields are left out
when empty rather than sent blank, so Jira's own defaults and validation stay in charge of them.
"""

from __future__ import annotations

import re
from typing import Any

from bot.enums import highest_impact, is_critical
from bot.models import Incident
from bot.settings import Settings
from sync.create_once import Marker
from sync.jira_mapping import PriorityMap

#: The ticket's marker, its own paragraph of the description.
MARKER = Marker("Incident #{id}, declared from Slack.", re.compile(r"Incident #(\d+), declared from Slack\."))


def prepare_jira_fields(
    incident: Incident, *, settings: Settings, reporter: dict[str, Any] | None, channel_url: str | None
) -> dict[str, Any]:
    """The `fields` of the create-issue request, for P1–P5 alike: every field id from the settings."""
    fields: dict[str, Any] = {
        "project": {"key": project_key(incident, settings)},
        "issuetype": {"name": settings.jira_incident_issue_type},
        "summary": incident.title,
        "description": description(incident, channel_url),
        settings.jira_field_priority: PriorityMap.from_settings(settings).field_value(incident.priority),
        settings.jira_field_environments: [{"value": env} for env in environments(incident)],
        settings.jira_field_platform: {"value": incident.platform.removeprefix("platform-")},
    }
    if level := highest_impact(incident.impacts):
        fields[settings.jira_field_business_impact] = {"value": level.value}
    for field_id, value in (
        (settings.jira_field_zendesk_ticket, incident.zendesk_ticket_id),
        (settings.jira_field_seller_contract, incident.seller_contract_id),
        (settings.jira_field_zoho_desk_ticket, incident.zoho_desk_ticket_id),
    ):
        if value:
            fields[field_id] = str(value)
    labels = [
        label
        for label, flag in (
            ("keyAccount", incident.is_key_account),
            ("goldenList", incident.is_seller_in_golden_list),
        )
        if flag
    ]
    if labels:
        fields["labels"] = labels
    if settings.raid_jira_incident_category_field and incident.category:
        fields[settings.raid_jira_incident_category_field] = {"value": incident.category}
    if reporter:
        fields["reporter"] = reporter
    return fields


def project_key(incident: Incident, settings: Settings) -> str:
    """P4–P5 go to their team's project when the team maps to one; everything else to the RAID project."""
    if not is_critical(incident.priority) and incident.suggested_team_routing:
        team_project = settings.teams.get(incident.suggested_team_routing)
        if team_project:
            return team_project
    return settings.raid_jira_project_key


def environments(incident: Incident) -> list[str]:
    """P1–P3 send the first environment only, P4–P5 all of them."""
    return incident.environments[:1] if is_critical(incident.priority) else list(incident.environments)


def description(incident: Incident, channel_url: str | None, text: str | None = None) -> str:
    """The ticket description: the incident's text (or `text`), the channel link, the team, the marker."""
    parts = [incident.description if text is None else text]
    if channel_url:
        parts.append(f"Slack channel: [#{incident.channel_name or incident.channel_id}|{channel_url}]")
    if not is_critical(incident.priority) and incident.suggested_team_routing:
        parts.append(f"Suggested team to be routed: *{incident.suggested_team_routing}*")
    parts.append(MARKER.text(incident.id))
    return "\n\n".join(part for part in parts if part)


def one_line_ending(text: str) -> str:
    """Text with `\n` line endings: Jira Server/Data Center gives edited text back with CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_generated(text: str | None) -> str:
    """The incident's own description inside a ticket description (the generated lines removed),
    line-ending-blind."""
    kept = [
        part
        for part in one_line_ending(text or "").split("\n\n")
        if not part.startswith(("Slack channel: ", "Suggested team to be routed: "))
        and not MARKER.pattern.fullmatch(part.strip())
    ]
    return "\n\n".join(kept).strip()

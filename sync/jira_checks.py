"""What `doctor` checks on the live Jira: that the site is shaped the way the settings say.

A wrong status name, a priority value the field does not offer or a field missing from the create
screen would otherwise show up one incident at a time ("no transition to the desired status", "field
cannot be set"). Each function returns the problems it finds, each naming the variable at fault and
the fix; none raises for a problem (only for a Jira it cannot reach).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.settings import Settings
from sync.issue_links import LINK_TYPES
from sync.jira_client import JiraGateway
from sync.jira_mapping import SYSTEM_PRIORITY, JiraMapping


def incident_projects(jira: JiraGateway, settings: Settings) -> list[str]:
    """Where incident tickets are created: the RAID project and the teams' projects (P4–P5); a project
    Jira does not show is left to the projects check, so it cannot hide the problems of the others."""
    keys = dict.fromkeys([settings.raid_jira_project_key, *(k for k in settings.teams.values() if k)])
    return [key for key in keys if jira.has_project(key)]


def status_problems(jira: JiraGateway, settings: Settings) -> list[str]:
    """Every mapped status exists in the incident issue type's workflow of each incident project."""
    issue_type = settings.jira_incident_issue_type
    pushed: dict[str, list[str]] = {}
    for status, name in settings.jira_status_to_jira.items():
        pushed.setdefault(name, []).append(status)
    problems = []
    for project in incident_projects(jira, settings):
        workflows = jira.workflow_statuses(project)
        names = next((s for name, s in workflows.items() if name.lower() == issue_type.lower()), None)
        if names is None:
            problems.append(_no_issue_type(project, issue_type, workflows, "JIRA_INCIDENT_ISSUE_TYPE"))
            continue
        known, shown = {n.lower() for n in names}, _listing(names)
        where = f"the {issue_type} workflow of {project}"
        problems += [
            f"JIRA_STATUS_TO_JIRA sends {', '.join(statuses)} to {name!r}, a status {where} does not have "
            f"(it has {shown}) → set it to one of those"
            for name, statuses in pushed.items()
            if name.lower() not in known
        ]
        problems += [
            f"JIRA_STATUS_FROM_JIRA lists {name!r}, a status {where} does not have (it has {shown}) "
            "→ spell it as Jira does, or remove it"
            for name in settings.jira_status_from_jira
            if name.lower() not in known and name not in pushed
        ]
    return problems


def screen_problems(jira: JiraGateway, settings: Settings) -> list[str]:
    """The issue types exist where the bot creates them (incident tickets, post-mortems, follow-ups), and
    every configured field is on their create screen (a field the screen lacks makes Jira refuse the
    whole creation)."""
    incident_type, fields = settings.jira_incident_issue_type, settings.jira_incident_fields()
    wanted = [
        (p, incident_type, "JIRA_INCIDENT_ISSUE_TYPE", fields) for p in incident_projects(jira, settings)
    ]
    if jira.has_project(settings.jira_postmortem_project_key):
        wanted.append(
            (
                settings.jira_postmortem_project_key,
                settings.jira_postmortem_issue_type,
                "JIRA_POSTMORTEM_ISSUE_TYPE",
                settings.jira_postmortem_field_ids(),
            )
        )
    followup_projects = (
        [settings.followup_jira_project_key]
        if settings.followup_jira_project_key
        else incident_projects(jira, settings)
    )  # without a follow-up project, follow-ups go to the incident ticket's project
    wanted += [
        (p, settings.followup_jira_issue_type, "FOLLOWUP_JIRA_ISSUE_TYPE", {})
        for p in followup_projects
        if jira.has_project(p)
    ]
    problems = []
    for project, issue_type, type_variable, fields in wanted:
        types = jira.creatable_types(project)
        type_id = _type_id(types, issue_type)
        if type_id is None:
            problems.append(_no_issue_type(project, issue_type, types, type_variable))
            continue
        screen = jira.create_screen(project, type_id)
        problems += [
            f"{variable}={field_id} is not on the create screen of {issue_type} in {project} → add the "
            f"field to that screen in Jira, or set {variable} to a field that is on it"
            for variable, field_id in fields.items()
            if field_id not in screen
        ]
    return problems


def priority_problems(jira: JiraGateway, settings: Settings, mapping: JiraMapping) -> list[str]:
    """The priority field takes each mapped value, in every project incident tickets are created in."""
    priority = mapping.priority
    problems = []
    for project in incident_projects(jira, settings):
        type_id = _type_id(jira.creatable_types(project), settings.jira_incident_issue_type)
        if type_id is None:
            continue  # named by the create screen check
        meta = jira.create_screen(project, type_id).get(priority.field)
        where = f"the create screen of {settings.jira_incident_issue_type} in {project}"
        if meta is None:
            problems.append(
                f"JIRA_FIELD_PRIORITY={priority.field} is not on {where}, so no priority can be set → add "
                "it to the screen, or set JIRA_FIELD_PRIORITY to the priority field the screen has"
            )
            continue
        offered = _offered(meta, "name" if priority.field == SYSTEM_PRIORITY else "value")
        if offered is None:
            problems.append(
                f"JIRA_FIELD_PRIORITY={priority.field} offers no values on {where} (it is not a select "
                "field) → use a single-select custom field, or priority for Jira's own"
            )
            continue
        problems += [
            f"JIRA_PRIORITY_VALUES gives P{p} the value {value!r}, which {priority.field} does not offer in "
            f"{project} (it offers {_listing(offered)}) → use one of those, or add the value in Jira"
            for p, value in priority.values.items()
            if value.lower() not in {o.lower() for o in offered}
        ]
    return problems


def link_type_problems(jira: JiraGateway) -> list[str]:
    """The post-mortem is linked to the incident ticket with the first of these link types the site has."""
    names = {name.lower() for name in jira.link_type_names()}
    if any(name.lower() in names for name in LINK_TYPES):
        return []
    return [
        f"none of the issue link types {', '.join(LINK_TYPES)} exists, so post-mortems stay unlinked → "
        "create one in Jira (Settings > Issues > Issue linking)"
    ]


def _type_id(types: dict[str, str], name: str) -> str | None:
    return next((type_id for type_name, type_id in types.items() if type_name.lower() == name.lower()), None)


def _offered(meta: dict[str, Any], key: str) -> list[str] | None:
    allowed = meta.get("allowedValues")
    if not isinstance(allowed, list):
        return None
    return [str(item.get(key)) for item in allowed if isinstance(item, dict) and item.get(key) is not None]


def _no_issue_type(project: str, issue_type: str, offered: Iterable[str], variable: str) -> str:
    return (
        f"{variable}={issue_type!r} is not an issue type of project {project} (it has "
        f"{_listing(offered)}) → set {variable} to one of those, or add the type to the project"
    )


def _listing(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"

"""REST shapes of issues and projects, exactly as clients read them (field filters, expands, dates).

Kept apart from the store so the webhook builder and every route render an issue the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .fields import FieldDef
from .state import ISSUE_TYPES, JiraState


def jira_time(moment: datetime | None) -> str | None:
    """Jira's timestamp format: `2025-01-01T10:02:03.456+0000` (UTC)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def split_list(values: list[str] | str | None) -> list[str]:
    """Comma lists that may also come as repeated query parameters or JSON lists."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def select_fields(state: JiraState, requested: list[str] | None) -> set[str] | None:
    """The field ids a `fields=` parameter selects (None: all of them)."""
    if not requested:
        return None
    include: set[str] = set()
    exclude: set[str] = set()
    everything = False
    for name in requested:
        if name in ("*all", "*navigable"):
            everything = True
        elif name.startswith("-"):
            exclude.add(name[1:])
        else:
            field = state.field_for(name)
            include.add(field.id if field else name)
    chosen = set(state.fields) if everything else include
    return chosen - exclude


def issue_fields(state: JiraState, record: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    """The `fields` object of an issue: every known field (null when unset), filtered by `wanted`."""
    stored = record["fields"]
    base = state.base_url
    derived: dict[str, Any] = {
        "created": jira_time(record["created"]),
        "updated": jira_time(record["updated"]),
        "resolutiondate": jira_time(record.get("resolutiondate")),
        "comment": {
            "comments": [comment_json(c) for c in record["comments"]],
            "self": f"{base}/rest/api/2/issue/{record['id']}/comment",
            "maxResults": len(record["comments"]),
            "total": len(record["comments"]),
            "startAt": 0,
        },
        "issuelinks": [dict(link) for link in record["links"]],
    }
    out: dict[str, Any] = {}
    for field_id in state.fields:
        if wanted is not None and field_id not in wanted:
            continue
        out[field_id] = derived[field_id] if field_id in derived else stored.get(field_id)
    if out.get("labels") is None and "labels" in out:
        out["labels"] = []
    return out


def comment_json(comment: dict[str, Any], *, properties: bool = False) -> dict[str, Any]:
    """A comment as REST returns it; its entity properties only when asked for (`expand=properties`)."""
    out = {k: v for k, v in comment.items() if k != "properties"}
    if properties:
        out["properties"] = [dict(p) for p in comment.get("properties", [])]
    return out


def changelog_page(record: dict[str, Any]) -> dict[str, Any]:
    """The `changelog` expand of an issue: all histories, oldest first."""
    histories = [dict(h) for h in record["changelog"]]
    return {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}


def issue_json(
    state: JiraState,
    record: dict[str, Any],
    wanted: set[str] | None = None,
    expand: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """An issue as GET /issue/{key} returns it (`self` is required by the `jira` client)."""
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": record["id"],
        "self": f"{state.base_url}/rest/api/2/issue/{record['id']}",
        "key": record["key"],
        "fields": issue_fields(state, record, wanted),
    }
    if "changelog" in expand:
        out["changelog"] = changelog_page(record)
    if "names" in expand:
        out["names"] = {fid: f.name for fid, f in state.fields.items()}
    if "renderedfields" in expand:
        out["renderedFields"] = {}
    return out


def link_ref(state: JiraState, record: dict[str, Any]) -> dict[str, Any]:
    """The short issue reference used inside issue links."""
    fields = record["fields"]
    return {
        "id": record["id"],
        "key": record["key"],
        "self": f"{state.base_url}/rest/api/2/issue/{record['id']}",
        "fields": {k: fields.get(k) for k in ("summary", "status", "priority", "issuetype")},
    }


def project_json(state: JiraState, project: dict[str, str]) -> dict[str, Any]:
    """A project as GET /project/{key} returns it, with its issue types."""
    base = state.base_url
    return {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{base}/rest/api/2/project/{project['id']}",
        "id": project["id"],
        "key": project["key"],
        "name": project["name"],
        "description": "",
        "lead": state.user_ref(next(iter(state.users))) if state.users else None,
        "issueTypes": [state.issuetype_ref({"id": ident}) for ident, _ in ISSUE_TYPES],
        "assigneeType": "UNASSIGNED",
        "projectTypeKey": project.get("projectTypeKey", "software"),
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "avatarUrls": {"48x48": f"{base}/avatar/project/{project['id']}"},
    }


def project_ref(state: JiraState, project: dict[str, str]) -> dict[str, Any]:
    """The short project reference stored in an issue's `project` field."""
    return {
        "self": f"{state.base_url}/rest/api/2/project/{project['id']}",
        "id": project["id"],
        "key": project["key"],
        "name": project["name"],
        "projectTypeKey": project.get("projectTypeKey", "software"),
        "simplified": False,
    }


def create_meta_field(state: JiraState, field: FieldDef) -> dict[str, Any]:
    """One field of a create screen, as `issue/createmeta/{project}/issuetypes/{id}` lists it (Cloud)."""
    out: dict[str, Any] = {
        "required": field.id in ("summary", "project", "issuetype"),
        "schema": field.rest()["schema"],
        "name": field.name,
        "fieldId": field.id,
        "key": field.id,
        "hasDefaultValue": field.id == "priority",
        "operations": ["set", "add", "remove"] if field.kind in ("options", "labels") else ["set"],
    }
    base = state.base_url
    if field.kind in ("option", "options"):
        out["allowedValues"] = [
            {"self": f"{base}/rest/api/2/customFieldOption/{o['id']}", **o}
            for o in state.options.get(field.id, [])
        ]
    elif field.kind == "priority":
        out["allowedValues"] = [state.priority_ref({"id": ident}) for ident, _ in state.priorities]
    return out

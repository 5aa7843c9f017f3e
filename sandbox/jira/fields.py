"""Jira's field catalogue as the emulator knows it: definitions, input coercion, changelog items.

Jira validates what a client writes per field type, stores a canonical value, and describes a change
with a changelog item whose shape depends on the type (ids in `from`/`to`, human strings in
`fromString`/`toString`). The bot's sync code reads those items, so they are built here in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

CUSTOM_TYPES = {
    "string": ("com.atlassian.jira.plugin.system.customfieldtypes:textfield", {"type": "string"}),
    "text": ("com.atlassian.jira.plugin.system.customfieldtypes:textarea", {"type": "string"}),
    "option": ("com.atlassian.jira.plugin.system.customfieldtypes:select", {"type": "option"}),
    "options": (
        "com.atlassian.jira.plugin.system.customfieldtypes:multiselect",
        {"type": "array", "items": "option"},
    ),
    "number": ("com.atlassian.jira.plugin.system.customfieldtypes:float", {"type": "number"}),
}

# id -> (display name, kind, schema type); kind "readonly" cannot be written by REST edits.
SYSTEM_FIELDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "summary": ("Summary", "string", {"type": "string"}),
    "description": ("Description", "text", {"type": "string"}),
    "status": ("Status", "readonly", {"type": "status"}),
    "assignee": ("Assignee", "user", {"type": "user"}),
    "reporter": ("Reporter", "user", {"type": "user"}),
    "creator": ("Creator", "readonly", {"type": "user"}),
    "priority": ("Priority", "priority", {"type": "priority"}),
    "labels": ("Labels", "labels", {"type": "array", "items": "string"}),
    "duedate": ("Due date", "date", {"type": "date"}),
    "issuetype": ("Issue Type", "issuetype", {"type": "issuetype"}),
    "project": ("Project", "readonly", {"type": "project"}),
    "created": ("Created", "readonly", {"type": "datetime"}),
    "updated": ("Updated", "readonly", {"type": "datetime"}),
    "resolution": ("Resolution", "readonly", {"type": "resolution"}),
    "resolutiondate": ("Resolved", "readonly", {"type": "datetime"}),
    "comment": ("Comment", "readonly", {"type": "comments-page"}),
    "issuelinks": ("Linked Issues", "readonly", {"type": "array", "items": "issuelinks"}),
}

DEFAULT_CUSTOM_FIELDS: list[tuple[str, str, str, list[str] | None]] = [
    ("customfield_11064", "Priority (incident)", "option", ["1", "2", "3", "4", "5"]),
    ("customfield_11049", "Environments", "options", None),
    ("customfield_10201", "Platform", "option", None),
    ("customfield_10936", "Business impact", "option", None),
    ("customfield_10895", "Zendesk ticket ID", "string", None),
    ("customfield_10908", "Seller contract ID", "string", None),
    ("customfield_10896", "Zoho Desk ticket ID", "string", None),
    ("customfield_12369", "Incident category", "option", None),
    ("customfield_12699", "Incident summary", "text", None),
    ("customfield_12700", "Timeline", "text", None),
    ("customfield_12701", "Root causes", "text", None),
    ("customfield_12702", "Impact", "text", None),
    ("customfield_12703", "Mitigation actions", "text", None),
    ("customfield_10016", "Story Points", "number", None),
]


class FieldError(ValueError):
    """A value Jira refuses for one field; the message goes into `errors[field_id]`."""


@dataclass
class FieldDef:
    """One field: its id, display name, value kind and (for select fields) allowed values."""

    id: str
    name: str
    kind: str
    custom: bool = False
    options: list[str] | None = None  # None: any option value is accepted (and gets a stable id)
    schema_type: dict[str, str] | None = None

    @property
    def changelog_name(self) -> str:
        """`field` in a changelog item: the display name for custom fields, the id for system ones."""
        return self.name if self.custom else self.id

    def rest(self) -> dict[str, Any]:
        """The item served by GET /field."""
        if self.custom:
            plugin, schema = CUSTOM_TYPES[self.kind]
            number = int(self.id.rsplit("_", 1)[1])
            schema = {**schema, "custom": plugin, "customId": number}
            clauses = [f"cf[{number}]", self.name]
        else:
            schema = {**(self.schema_type or {"type": "string"}), "system": self.id}
            clauses = [self.id]
        return {
            "id": self.id,
            "key": self.id,
            "name": self.name,
            "untranslatedName": self.name,
            "custom": self.custom,
            "orderable": self.kind != "readonly",
            "navigable": True,
            "searchable": True,
            "clauseNames": clauses,
            "schema": schema,
        }


def default_fields() -> dict[str, FieldDef]:
    """Jira's system fields plus the custom fields the incident ticket and the post-mortem use."""
    fields = {
        fid: FieldDef(fid, name, kind, schema_type=st) for fid, (name, kind, st) in SYSTEM_FIELDS.items()
    }
    for fid, name, kind, options in DEFAULT_CUSTOM_FIELDS:
        fields[fid] = FieldDef(fid, name, kind, custom=True, options=options)
    return fields


class Lookups(Protocol):
    """What coercion needs from the store: resolve references to users, options, priorities, types."""

    def user_ref(self, account_id: str) -> dict[str, Any] | None: ...
    def option_ref(
        self, field: FieldDef, value: str | None, option_id: str | None
    ) -> dict[str, Any] | None: ...
    def priority_ref(self, ref: dict[str, Any]) -> dict[str, Any] | None: ...
    def issuetype_ref(self, ref: dict[str, Any]) -> dict[str, Any] | None: ...


def text_of(value: Any) -> str | None:
    """A human string for a text value; Atlassian Document Format (API v3) is flattened to its text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("type") == "text":
            return str(value.get("text", ""))
        parts = [text_of(child) or "" for child in value.get("content", [])]
        return ("\n" if value.get("type") == "doc" else "").join(parts)
    return str(value)


def coerce(field: FieldDef, raw: Any, lookups: Lookups) -> Any:
    """Validate `raw` as Jira would for `field` and return the stored (REST-shaped) value."""
    kind = field.kind
    if kind in ("string", "text"):
        if raw is None or raw == "":
            return None
        if isinstance(raw, str) or (kind == "text" and isinstance(raw, dict)):
            return raw
        raise FieldError("Operation value must be a string")
    if kind == "number":
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FieldError("Operation value must be a number")
        return raw
    if kind == "option":
        return None if raw is None else _option(field, raw, lookups)
    if kind == "options":
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise FieldError("data was not an array")
        return [_option(field, item, lookups) for item in raw] or None
    if kind == "labels":
        return _labels(raw)
    if kind == "date":
        return _date(raw)
    if kind == "user":
        return _user(field, raw, lookups)
    if kind in ("priority", "issuetype"):
        if not isinstance(raw, dict):
            raise FieldError(f"Specify a valid 'id' or 'name' for {field.name}")
        found = lookups.priority_ref(raw) if kind == "priority" else lookups.issuetype_ref(raw)
        if found is None:
            raise FieldError(f"Specify a valid 'id' or 'name' for {field.name}")
        return found
    raise FieldError(f"Field '{field.id}' cannot be set. It is not on the appropriate screen, or unknown.")


def _option(field: FieldDef, raw: Any, lookups: Lookups) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"value": raw}
    if not isinstance(raw, dict) or not ({"value", "id"} & raw.keys()):
        raise FieldError("Specify the value for the option as an object with 'value' or 'id'")
    value, option_id = raw.get("value"), raw.get("id")
    found = lookups.option_ref(
        field, None if value is None else str(value), None if option_id is None else str(option_id)
    )
    if found is None:
        shown = f"Option value '{value}'" if value is not None else f"Option id '{option_id}'"
        raise FieldError(f"{shown} is not valid")
    return found


def _date(raw: Any) -> str | None:
    """Jira takes a due date as `YYYY-MM-DD` and refuses anything else."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and len(raw) == 10:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise FieldError(f"Error parsing date string: {raw}")


def _labels(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise FieldError("data was not an array of strings")
    for label in raw:
        if not label or any(ch.isspace() for ch in label):
            raise FieldError(f"The label '{label}' contains spaces which is invalid.")
    return sorted(set(raw))


def _user(field: FieldDef, raw: Any, lookups: Lookups) -> dict[str, Any] | None:
    if raw is None:
        return None
    account_id = raw.get("accountId", raw.get("name", raw.get("id"))) if isinstance(raw, dict) else None
    if account_id is None and isinstance(raw, dict) and raw.keys() & {"accountId", "name"}:
        return None  # `{"accountId": null}` / `{"name": null}` clears the field, as Jira does
    if account_id is None:
        raise FieldError(f"Specify a valid value for {field.id}: an 'accountId' (Cloud) or 'name'")
    if account_id == "-1" and field.id == "assignee":
        return None
    found = lookups.user_ref(str(account_id))
    if found is None:
        raise FieldError(f"User '{account_id}' cannot be assigned issues.")
    return found


def apply_ops(field: FieldDef, current: Any, ops: Any, lookups: Lookups) -> Any:
    """Apply an `update` verb list (`set`/`add`/`remove`) to a field and return the new stored value."""
    if not isinstance(ops, list):
        raise FieldError("Operations must be given as a list")
    value = current
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1:
            raise FieldError("Each operation must be an object with one verb")
        verb, arg = next(iter(op.items()))
        if verb == "set":
            value = coerce(field, arg, lookups)
        elif verb in ("add", "remove") and field.kind == "labels":
            labels = set(value or [])
            (labels.add if verb == "add" else labels.discard)(str(arg))
            value = _labels(sorted(labels))
        elif verb in ("add", "remove") and field.kind == "options":
            item = _option(field, arg, lookups)
            kept = [o for o in (value or []) if o["id"] != item["id"]]
            value = ([*kept, item] if verb == "add" else kept) or None
        else:
            raise FieldError(f"Field {field.id} does not support operation '{verb}'")
    return value


def _describe(field: FieldDef, value: Any) -> tuple[str | None, str | None]:
    """(`from`/`to` id, `fromString`/`toString` text) of a stored value in a changelog item."""
    if value is None or value == []:
        return None, None
    kind = field.kind
    if kind == "user":
        return value.get("accountId") or value.get("key"), value["displayName"]
    if kind == "option":
        return value["id"], value["value"]
    if kind == "options":
        return None, ",".join(o["value"] for o in value)
    if kind in ("priority", "issuetype", "readonly") and isinstance(value, dict):
        return value.get("id"), value.get("name")
    if kind == "labels":
        return None, " ".join(value)
    if kind == "number":
        return None, str(int(value)) if float(value).is_integer() else str(value)
    return None, text_of(value)


def change_item(field: FieldDef, old: Any, new: Any) -> dict[str, Any]:
    """One changelog item for `field` going from `old` to `new` (stored values)."""
    from_id, from_string = _describe(field, old)
    to_id, to_string = _describe(field, new)
    item: dict[str, Any] = {
        "field": field.changelog_name,
        "fieldtype": "custom" if field.custom else "jira",
        "fieldId": field.id,
        "from": from_id,
        "fromString": from_string,
        "to": to_id,
        "toString": to_string,
    }
    if field.kind == "user":
        item["tmpFromAccountId"] = from_id
        item["tmpToAccountId"] = to_id
    return item

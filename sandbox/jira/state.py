"""The emulator's store: users, projects, fields, options, workflows, issues, and id counters.

One re-entrant lock guards everything, so the threaded HTTP server, `JiraUser` and test assertions
see consistent state. Change listeners (the webhook builder) are called under that lock, right after
the change, so each webhook carries a snapshot taken at the moment of its change and in order.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .fields import FieldDef, default_fields
from .workflow import StatusCatalog, Workflow, default_workflows

ISSUE_TYPES = [("10001", "Task"), ("10002", "Incident"), ("10003", "Post-mortem"), ("10004", "Bug")]
PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]
LINK_TEXTS = {
    "blocks": ("is blocked by", "blocks"),
    "relates": ("relates to", "relates to"),
    "duplicate": ("is duplicated by", "duplicates"),
    "cloners": ("is cloned by", "clones"),
}


@dataclass
class Change:
    """One recorded change, as a webhook would report it."""

    webhook_event: str  # "jira:issue_created", "jira:issue_updated" or "comment_created|updated|deleted"
    event_type: str  # issue_created, issue_updated, issue_generic (transition), issue_assigned, issue_comm…
    record: dict[str, Any]
    author: str
    history: dict[str, Any] | None
    comment: dict[str, Any] | None = None  # the comment a comment event (or its issue twin) is about


class JiraState:
    """Everything the emulated Jira site knows; mutate only while holding `lock`."""

    def __init__(self, *, base_url: str = "", clock: Callable[[], datetime] | None = None) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        #: Jira Server/Data Center instead of Cloud: people by name/key, no `fieldId` in changelogs
        self.datacenter = False
        self.clock = clock or (lambda: datetime.now(UTC))
        self.fields: dict[str, FieldDef] = default_fields()
        self.options: dict[str, list[dict[str, str]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, str]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.issues_by_id: dict[str, dict[str, Any]] = {}
        self.moved_keys: dict[str, str] = {}  # an old key → the key its issue has now
        self.statuses = StatusCatalog()
        self.workflow_api_visible = True  # real sites show workflows to administrators only
        self.search_changelog_limit: int | None = None  # histories a search's changelog expand shows
        self.priorities: list[tuple[str, str]] = list(PRIORITIES)  # the site's priority scheme
        self.off_create_screen: set[str] = set()  # fields the create screen does not show
        self.reporter_settable = True  # needs the Modify Reporter permission and the field on the screen
        self.workflows: dict[str | None, Workflow] = default_workflows()
        self.link_types: list[dict[str, str]] = []
        self.listeners: list[Callable[[Change], None]] = []
        self._history_ids = itertools.count(10000)
        self._issue_ids = itertools.count(10001)
        self._project_ids = itertools.count(10000)
        self._other_ids = itertools.count(10000)
        self._option_ids = itertools.count(10100)
        self._issue_numbers: dict[str, itertools.count[int]] = {}
        for fid, field in self.fields.items():
            for value in field.options or []:
                self._new_option(fid, value)
        self.set_link_types(["Blocks", "Relates", "Duplicate", "Cloners"])
        for workflow in self.workflows.values():
            for status in workflow.statuses:
                self.statuses.id_for(status)

    # ids ---------------------------------------------------------------------------------------
    def next_history_id(self) -> str:
        """Changelog history ids are global and increasing, as Jira's are."""
        return str(next(self._history_ids))

    def next_id(self) -> str:
        """An id for comments, links and remote links."""
        return str(next(self._other_ids))

    def next_issue_id_and_key(self, project_key: str) -> tuple[str, str]:
        """A new global issue id and the next key in the project (INC-1, INC-2, ...)."""
        return str(next(self._issue_ids)), self.next_key(project_key)

    def next_key(self, project_key: str) -> str:
        """The project's next issue key (a new issue's, or a moved one's)."""
        return f"{project_key}-{next(self._issue_numbers.setdefault(project_key, itertools.count(1)))}"

    # users and projects -------------------------------------------------------------------------
    def add_user(
        self,
        account_id: str,
        email: str,
        display_name: str,
        token: str | None = None,
        *,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Register a person; they authenticate with `email` and `token` (default `<account_id>-token`).
        Their Data Center user key is `key`, by default one of the `JIRAUSER…` keys newer sites give."""
        with self.lock:
            self.users[account_id] = {
                "accountId": account_id,
                "emailAddress": email,
                "displayName": display_name,
                "token": token or f"{account_id}-token",
                "key": key or f"JIRAUSER{10000 + len(self.users)}",  # Data Center's stable user key
            }
            return self.user_ref(account_id) or {}

    def user_ref(self, account_id: str) -> dict[str, Any] | None:
        """A user as Jira renders one (issue fields, changelog authors, user search): by accountId on
        Cloud, by name (the emulator's account id) and key on Data Center."""
        user = self.users.get(account_id)
        if user is None:
            return None
        base = self.base_url
        if self.datacenter:
            ids = {
                "self": f"{base}/rest/api/2/user?username={account_id}",
                "name": account_id,
                "key": user["key"],
            }
        else:
            ids = {
                "self": f"{base}/rest/api/2/user?accountId={account_id}",
                "accountId": account_id,
                "accountType": "atlassian",
            }
        return {
            **ids,
            "emailAddress": user["emailAddress"],
            "avatarUrls": {size: f"{base}/avatar/{account_id}?s={size}" for size in ("48x48", "24x24")},
            "displayName": user["displayName"],
            "active": True,
            "timeZone": "UTC",
            "locale": "en_US",
        }

    def account_by_key(self, key: str) -> str | None:
        """The account whose Data Center user key this is."""
        return next((acc for acc, user in self.users.items() if user["key"] == key), None)

    def authenticate(self, email: str, token: str) -> str | None:
        """The account id whose e-mail and token match, if any."""
        for account_id, user in self.users.items():
            if user["emailAddress"].lower() == email.lower() and user["token"] == token:
                return account_id
        return None

    def add_project(self, key: str, name: str | None = None, *, service_desk: bool = False) -> dict[str, str]:
        """Create a project (idempotent by key); `service_desk` makes it a Jira Service Management one."""
        with self.lock:
            if key not in self.projects:
                self.projects[key] = {
                    "id": str(next(self._project_ids)),
                    "key": key,
                    "name": name or key,
                    "projectTypeKey": "service_desk" if service_desk else "software",
                }
            return dict(self.projects[key])

    def find_project(self, ref: str) -> dict[str, str] | None:
        """A project by key (case-insensitive), id or name."""
        for project in self.projects.values():
            if ref.lower() in (project["key"].lower(), project["name"].lower()) or ref == project["id"]:
                return project
        return None

    # reference lookups used by field coercion ---------------------------------------------------
    def _new_option(self, field_id: str, value: str) -> dict[str, str]:
        option = {"id": str(next(self._option_ids)), "value": value}
        self.options.setdefault(field_id, []).append(option)
        return option

    def option_ref(self, field: FieldDef, value: str | None, option_id: str | None) -> dict[str, Any] | None:
        """An option of a select field by value or id; free fields create unknown values on first use."""
        known = self.options.get(field.id, [])
        found = next(
            (o for o in known if o["id"] == option_id or (value is not None and o["value"] == value)), None
        )
        if found is None and value is not None and field.options is None:
            found = self._new_option(field.id, value)
        if found is None:
            return None
        return {"self": f"{self.base_url}/rest/api/2/customFieldOption/{found['id']}", **found}

    def set_field_options(self, field_id: str, values: list[str] | None) -> None:
        """Restrict a select field to `values` (None: accept any value again)."""
        with self.lock:
            field = self.fields[field_id]
            field.options = list(values) if values is not None else None
            for value in values or []:
                if not any(o["value"] == value for o in self.options.get(field_id, [])):
                    self._new_option(field_id, value)

    def _named_ref(
        self, table: list[tuple[str, str]], ref: dict[str, Any], kind: str
    ) -> dict[str, Any] | None:
        for ident, name in table:
            if str(ref.get("id", "")) == ident or str(ref.get("name", "")).lower() == name.lower():
                base = self.base_url
                out = {"self": f"{base}/rest/api/2/{kind}/{ident}", "id": ident, "name": name}
                if kind == "issuetype":
                    out |= {"description": "", "subtask": False, "hierarchyLevel": 0}
                return out | {"iconUrl": f"{base}/images/icons/{kind}/{ident}.svg"}
        return None

    def priority_ref(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        """Jira's own priority (by default Highest..Lowest) by id or name."""
        return self._named_ref(self.priorities, ref, "priority")

    def default_priority(self) -> dict[str, Any] | None:
        """The priority a new issue gets when none is given: the middle of the scheme (Medium)."""
        ident, _ = self.priorities[len(self.priorities) // 2]
        return self.priority_ref({"id": ident})

    def set_priorities(self, names: list[str]) -> None:
        """Replace the priority scheme (ids 1, 2, … in order, highest first)."""
        if not names:
            raise ValueError("a priority scheme needs at least one priority")
        with self.lock:
            self.priorities = [(str(i), name) for i, name in enumerate(names, start=1)]

    def on_create_screen(self, field: FieldDef) -> bool:
        """Whether a create request may set this field (and create metadata lists it)."""
        return field.kind != "readonly" and field.id not in self.off_create_screen

    def issuetype_ref(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        """An issue type by id or name."""
        return self._named_ref(ISSUE_TYPES, ref, "issuetype")

    def field_for(self, name: str) -> FieldDef | None:
        """A field by id, `cf[N]` clause name, or display name (case-insensitive)."""
        lowered = name.lower()
        if lowered.startswith("cf[") and lowered.endswith("]"):
            lowered = f"customfield_{lowered[3:-1]}"
        return self.fields.get(lowered) or next(
            (f for f in self.fields.values() if f.name.lower() == lowered), None
        )

    # workflows and link types ---------------------------------------------------------------------
    def workflow_for(self, record: dict[str, Any]) -> Workflow:
        """The workflow of an issue: its type's own, else the default."""
        return self.workflows.get(record["fields"]["issuetype"]["name"]) or self.workflows[None]

    def set_link_types(self, names: list[str]) -> None:
        """Replace the issue link types (inward/outward texts are Jira's for known names)."""
        with self.lock:
            self.link_types = []
            for i, name in enumerate(names):
                inward, outward = LINK_TEXTS.get(name.lower(), (name.lower(), name.lower()))
                self.link_types.append(
                    {"id": str(10000 + i), "name": name, "inward": inward, "outward": outward}
                )

    # issues ---------------------------------------------------------------------------------------
    def get_issue(self, id_or_key: str) -> dict[str, Any] | None:
        """An issue record by key (case-insensitive; a moved issue's old key too) or numeric id."""
        key = id_or_key.upper()
        while key in self.moved_keys:
            key = self.moved_keys[key]
        return self.issues.get(key) or self.issues_by_id.get(id_or_key)

    def emit(self, change: Change) -> None:
        """Tell listeners about a change (called with the lock held)."""
        for listener in list(self.listeners):
            listener(change)

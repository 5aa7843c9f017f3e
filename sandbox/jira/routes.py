"""The REST endpoints the `jira` client (and the bot) call, answering with Jira Cloud's shapes.

Paths are relative to `/rest/api/{2,3,latest}/`. Each handler returns `(status, json body or None)`
or raises `JiraEmulatorError`; together they serve the Jira REST v2 calls the `jira` client makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import issues
from .errors import JiraEmulatorError, not_found_issue
from .render import (
    comment_json,
    create_meta_field,
    issue_json,
    jira_time,
    project_json,
    select_fields,
    split_list,
)
from .search import search_jql, search_legacy
from .state import ISSUE_TYPES, JiraState

Result = tuple[int, Any]


@dataclass
class Request:
    """One authenticated REST call."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    account: str
    version: str

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A single query parameter (the last one when repeated)."""
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int) -> int:
        """An integer query parameter; 400 when it is not a number."""
        raw = self.arg(name)
        try:
            return default if raw in (None, "") else int(raw)
        except ValueError as exc:
            raise JiraEmulatorError(400, [f"'{name}' must be a number"]) from exc


_CLOUD = {"version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud"}
_DATA_CENTER = {"version": "9.12.0", "versionNumbers": [9, 12, 0], "deploymentType": "DataCenter"}


class Routes:
    """The route table; `dispatch` returns None when no route matches."""

    def __init__(self, state: JiraState) -> None:
        self.state = state
        self.table: list[tuple[str, re.Pattern[str], Callable[..., Result]]] = [
            (method, re.compile(f"^{pattern}$"), handler)
            for method, pattern, handler in [
                ("GET", "serverInfo", self.server_info),
                ("GET", "myself", self.myself),
                ("GET", "project", self.projects),
                ("GET", "project/([^/]+)", self.project),
                ("GET", "project/([^/]+)/statuses", self.project_statuses),
                ("GET", "field", self.fields),
                ("GET", "issuetype", self.issuetypes),
                ("GET", "priority", self.priorities),
                ("GET", "status", self.statuses),
                ("POST", "issue", self.create_issue),
                ("GET", "issue/createmeta/([^/]+)/issuetypes", self.create_meta_types),
                ("GET", "issue/createmeta/([^/]+)/issuetypes/([^/]+)", self.create_meta_fields),
                ("GET", "issue/([^/]+)", self.get_issue),
                ("PUT", "issue/([^/]+)", self.edit_issue),
                ("GET", "issue/([^/]+)/changelog", self.changelog),
                ("GET", "issue/([^/]+)/transitions", self.transitions),
                ("POST", "issue/([^/]+)/transitions", self.do_transition),
                ("PUT", "issue/([^/]+)/assignee", self.assign),
                ("GET", "issue/([^/]+)/comment", self.comments),
                ("POST", "issue/([^/]+)/comment", self.add_comment),
                ("GET", "issue/([^/]+)/comment/([^/]+)", self.comment),
                ("PUT", "issue/([^/]+)/comment/([^/]+)", self.edit_comment),
                ("DELETE", "issue/([^/]+)/comment/([^/]+)", self.delete_comment),
                ("GET", "issue/([^/]+)/remotelink", self.remote_links),
                ("POST", "issue/([^/]+)/remotelink", self.add_remote_link),
                ("GET", "issueLinkType", self.link_types),
                ("POST", "issueLink", self.add_link),
                ("GET", "user/search", self.user_search),
                ("GET", "user", self.user),
                ("GET", "search/jql", self.search_jql),
                ("POST", "search/jql", self.search_jql),
                ("GET", "search", self.search_legacy),
                ("POST", "search", self.search_legacy),
                ("GET", "workflow/search", self.workflow_search),
                ("GET", "workflowscheme/project", self.workflow_scheme),
            ]
        ]

    def dispatch(self, request: Request) -> Result | None:
        """Run the matching handler under the state lock."""
        for method, pattern, handler in self.table:
            m = pattern.match(request.path)
            if m and method == request.method:
                with self.state.lock:
                    return handler(request, *m.groups())
        return None

    def _no_resource(self, request: Request) -> Result:
        """A Cloud-only resource asked of Data Center: its REST layer knows no such path, and answers
        as it does for any unknown one (not Jira's usual error body)."""
        uri = f"{self.state.base_url}/rest/api/{request.version}/{request.path}"
        return 404, {"message": f"null for uri: {uri}", "status-code": 404}

    # site --------------------------------------------------------------------------------------
    def server_info(self, request: Request) -> Result:
        base = self.state.base_url
        return 200, {
            "baseUrl": base,
            "displayUrl": base,
            **(
                {"version": "9.12.0", "versionNumbers": [9, 12, 0], "deploymentType": "DataCenter"}
                if self.state.datacenter
                else {
                    "version": "1001.0.0-SNAPSHOT",
                    "versionNumbers": [1001, 0, 0],
                    "deploymentType": "Cloud",
                }
            ),
            "buildNumber": 100270,
            "buildDate": "2025-01-01T00:00:00.000+0000",
            "serverTime": jira_time(self.state.clock()),
            "scmInfo": "sandbox",
            "serverTitle": "Jira Sandbox",
            "defaultLocale": {"locale": "en_US"},
        }

    def myself(self, request: Request) -> Result:
        return 200, self.state.user_ref(request.account)

    def projects(self, request: Request) -> Result:
        return 200, [project_json(self.state, p) for p in self.state.projects.values()]

    def project(self, request: Request, ref: str) -> Result:
        return 200, project_json(self.state, self._project(ref))

    def _project(self, ref: str) -> dict[str, str]:
        found = self.state.find_project(ref)
        if found is None:
            raise JiraEmulatorError(404, [f"No project could be found with key '{ref}'."])
        return found

    def project_statuses(self, request: Request, ref: str) -> Result:
        """Each issue type of the project with the statuses of its workflow."""
        self._project(ref)
        out = []
        for ident, name in ISSUE_TYPES:
            workflow = self.state.workflows.get(name) or self.state.workflows[None]
            statuses = [self.state.statuses.rest(s, self.state.base_url) for s in workflow.statuses]
            out.append({**self.state.issuetype_ref({"id": ident}), "statuses": statuses})
        return 200, out

    def create_meta_types(self, request: Request, ref: str) -> Result:
        """The issue types one may create in a project (Cloud's paged shape)."""
        self._project(ref)
        types = [self.state.issuetype_ref({"id": ident}) for ident, _ in ISSUE_TYPES]
        return 200, {"startAt": 0, "maxResults": 50, "total": len(types), "issueTypes": types}

    def create_meta_fields(self, request: Request, ref: str, type_id: str) -> Result:
        """The fields of the create screen of one issue type, with their allowed values."""
        self._project(ref)
        if self.state.issuetype_ref({"id": type_id}) is None:
            raise JiraEmulatorError(404, ["The issue type selected is invalid."])
        shown = [f for f in self.state.fields.values() if self.state.on_create_screen(f) or f.id == "project"]
        fields = [create_meta_field(self.state, f) for f in shown]
        return 200, {"startAt": 0, "maxResults": 50, "total": len(fields), "fields": fields}

    def fields(self, request: Request) -> Result:
        return 200, [f.rest() for f in self.state.fields.values()]

    def issuetypes(self, request: Request) -> Result:
        return 200, [self.state.issuetype_ref({"id": ident}) for ident, _ in ISSUE_TYPES]

    def priorities(self, request: Request) -> Result:
        return 200, [self.state.priority_ref({"id": ident}) for ident, _ in self.state.priorities]

    def statuses(self, request: Request) -> Result:
        names = {s: None for wf in self.state.workflows.values() for s in wf.statuses}
        return 200, [self.state.statuses.rest(name, self.state.base_url) for name in names]

    # issues ------------------------------------------------------------------------------------
    def _record(self, key: str) -> dict[str, Any]:
        record = self.state.get_issue(key)
        if record is None:
            raise not_found_issue()
        return record

    def _people_by_name(self, body: Any) -> None:
        """Data Center has no accountId: a person set in `fields` or by an `update` `set` must be
        `{"name": …}`, or the request is refused with the real site's message."""
        if not self.state.datacenter or not isinstance(body, dict):
            return
        fields, update = body.get("fields"), body.get("update")
        given = list(fields.items()) if isinstance(fields, dict) else []
        for fid, ops in update.items() if isinstance(update, dict) else ():
            if isinstance(ops, list):
                given += [(fid, op["set"]) for op in ops if isinstance(op, dict) and "set" in op]
        errors = {
            fid: "expected Object containing a 'name' property"
            for fid, raw in given
            if (field := self.state.fields.get(fid)) is not None
            and field.kind == "user"
            and isinstance(raw, dict)
            and "name" not in raw
        }
        if errors:
            raise JiraEmulatorError(400, [], errors)

    def create_issue(self, request: Request) -> Result:
        self._people_by_name(request.body)
        record = issues.create_issue(self.state, request.account, request.body)
        base = self.state.base_url
        return 201, {
            "id": record["id"],
            "key": record["key"],
            "self": f"{base}/rest/api/2/issue/{record['id']}",
        }

    def get_issue(self, request: Request, key: str) -> Result:
        wanted = select_fields(self.state, split_list(request.query.get("fields")))
        expand = {e.lower() for e in split_list(request.query.get("expand"))}
        out = issue_json(self.state, self._record(key), wanted, expand)
        if "transitions" in expand:
            out["transitions"] = self.transitions(request, key)[1]["transitions"]
        return 200, out

    def edit_issue(self, request: Request, key: str) -> Result:
        self._people_by_name(request.body)
        issues.edit_issue(self.state, request.account, key, request.body)
        return 204, None

    def changelog(self, request: Request, key: str) -> Result:
        if self.state.datacenter:
            return self._no_resource(request)
        histories = self._record(key)["changelog"]
        start, size = request.int_arg("startAt", 0), request.int_arg("maxResults", 100)
        page = histories[start : start + size]
        return 200, {
            "startAt": start,
            "maxResults": size,
            "total": len(histories),
            "isLast": start + size >= len(histories),
            "values": [dict(h) for h in page],
        }

    def transitions(self, request: Request, key: str) -> Result:
        record = self._record(key)
        offered = []
        for t in self.state.workflow_for(record).available(record["status"]):
            offered.append(
                {
                    "id": t.id,
                    "name": t.name,
                    "to": self.state.statuses.rest(t.to, self.state.base_url),
                    "hasScreen": False,
                    "isGlobal": not t.sources,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                }
            )
        return 200, {"expand": "transitions", "transitions": offered}

    def do_transition(self, request: Request, key: str) -> Result:
        body = request.body if isinstance(request.body, dict) else {}
        transition = body.get("transition")
        if not isinstance(transition, dict) or transition.get("id") is None:
            raise JiraEmulatorError(400, ["Missing 'transition' identifier"])
        issues.transition_issue(self.state, request.account, key, transition["id"], body)
        return 204, None

    def assign(self, request: Request, key: str) -> Result:
        body = request.body if isinstance(request.body, dict) else {}
        wanted = "name" if self.state.datacenter else "accountId"
        if wanted not in body:
            raise JiraEmulatorError(400, [], {wanted: f"'{wanted}' is required on this deployment"})
        issues.assign_issue(self.state, request.account, key, body[wanted])
        return 204, None

    def comments(self, request: Request, key: str) -> Result:
        found = self._record(key)["comments"]
        if (request.arg("orderBy") or "").lstrip("+") in ("-created", "-updated"):
            found = list(reversed(found))
        start, size = request.int_arg("startAt", 0), request.int_arg("maxResults", 5000)
        properties = "properties" in split_list(request.query.get("expand"))
        return 200, {
            "startAt": start,
            "maxResults": size,
            "total": len(found),
            "comments": [comment_json(c, properties=properties) for c in found[start : start + size]],
        }

    def comment(self, request: Request, key: str, comment_id: str) -> Result:
        properties = "properties" in split_list(request.query.get("expand"))
        return 200, comment_json(issues.find_comment(self.state, key, comment_id), properties=properties)

    def add_comment(self, request: Request, key: str) -> Result:
        body = request.body if isinstance(request.body, dict) else {}
        created = issues.add_comment(
            self.state, request.account, key, body.get("body"), properties=body.get("properties")
        )
        return 201, comment_json(created)

    def edit_comment(self, request: Request, key: str, comment_id: str) -> Result:
        body = request.body if isinstance(request.body, dict) else {}
        return 200, comment_json(
            issues.edit_comment(self.state, request.account, key, comment_id, body.get("body"))
        )

    def delete_comment(self, request: Request, key: str, comment_id: str) -> Result:
        issues.delete_comment(self.state, request.account, key, comment_id)
        return 204, None

    def remote_links(self, request: Request, key: str) -> Result:
        return 200, [dict(link) for link in self._record(key)["remote_links"]]

    def add_remote_link(self, request: Request, key: str) -> Result:
        return issues.add_remote_link(self.state, key, request.body if isinstance(request.body, dict) else {})

    def link_types(self, request: Request) -> Result:
        base = self.state.base_url
        types = [{**t, "self": f"{base}/rest/api/2/issueLinkType/{t['id']}"} for t in self.state.link_types]
        return 200, {"issueLinkTypes": types}

    def add_link(self, request: Request) -> Result:
        issues.add_issue_link(self.state, request.body)
        return 201, None

    # users -------------------------------------------------------------------------------------
    def user_search(self, request: Request) -> Result:
        if self.state.datacenter:  # Data Center: `username` (matching name, e-mail or display name)
            text, account = (request.arg("username") or "").lower(), None
            if not text:
                raise JiraEmulatorError(400, ["The username query parameter was not provided"])
        else:
            text, account = (request.arg("query") or "").lower(), request.arg("accountId")
        if not text and not account:
            raise JiraEmulatorError(400, ["One of 'query' or 'accountId' query parameters must be provided."])
        found = [
            self.state.user_ref(acc)
            for acc, user in self.state.users.items()
            if (account and acc == account)
            or (
                text
                and (
                    text in user["emailAddress"].lower()
                    or text in user["displayName"].lower()
                    or text == acc.lower()
                )
            )
        ]
        start, size = request.int_arg("startAt", 0), request.int_arg("maxResults", 50)
        return 200, found[start : start + size]

    def user(self, request: Request) -> Result:
        if self.state.datacenter:  # by `key` or `username`
            by_key = request.arg("key")
            account = self.state.account_by_key(by_key) if by_key else request.arg("username")
            if account is None and by_key:
                raise JiraEmulatorError(404, [f"The user with key '{by_key}' does not exist"])
        else:
            account = request.arg("accountId")
        if not account:
            raise JiraEmulatorError(404, ["The 'accountId' query parameter needs to be provided"])
        found = self.state.user_ref(account)
        if found is None:
            raise JiraEmulatorError(
                404, ["Specified user does not exist or you do not have required permissions"]
            )
        return 200, found

    # search and workflows ----------------------------------------------------------------------
    def search_jql(self, request: Request) -> Result:
        if self.state.datacenter:  # Data Center has `search` only
            return self._no_resource(request)
        return 200, search_jql(self.state, request.method, request.query, request.body, request.account)

    def search_legacy(self, request: Request) -> Result:
        return 200, search_legacy(self.state, request.method, request.query, request.body, request.account)

    def workflow_search(self, request: Request) -> Result:
        if self.state.datacenter:
            return self._no_resource(request)
        if not self.state.workflow_api_visible:
            raise JiraEmulatorError(403, ["You do not have permission to view workflows."])
        names = {n.lower() for n in split_list(request.query.get("workflowName"))}
        expand = {e.split(".")[0].lower() for e in split_list(request.query.get("expand"))}
        chosen = [wf for wf in self.state.workflows.values() if not names or wf.name.lower() in names]
        start, size = request.int_arg("startAt", 0), request.int_arg("maxResults", 50)
        values = [wf.rest(self.state.statuses, expand) for wf in chosen[start : start + size]]
        return 200, {
            "self": f"{self.state.base_url}/rest/api/2/workflow/search",
            "maxResults": size,
            "startAt": start,
            "total": len(chosen),
            "isLast": start + size >= len(chosen),
            "values": values,
        }

    def workflow_scheme(self, request: Request) -> Result:
        if self.state.datacenter:
            return self._no_resource(request)
        project_ids = split_list(request.query.get("projectId"))
        if not project_ids:
            raise JiraEmulatorError(400, ["'projectId' is required"])
        known = [p for p in project_ids if any(p == proj["id"] for proj in self.state.projects.values())]
        mappings = {
            ident: self.state.workflows[name].name
            for ident, name in ISSUE_TYPES
            if name in self.state.workflows
        }
        scheme = {
            "id": 10100,
            "name": "Sandbox workflow scheme",
            "description": "",
            "defaultWorkflow": self.state.workflows[None].name,
            "issueTypeMappings": mappings,
            "self": f"{self.state.base_url}/rest/api/2/workflowscheme/10100",
        }
        return 200, {"values": [{"projectIds": known, "workflowScheme": scheme}] if known else []}

"""Issue search: Jira Cloud's `search/jql` (token paging, ids only unless `fields` are asked for) and
the legacy `search` (startAt/total), over the JQL subset in `jql.py`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import JiraEmulatorError
from .jql import Query, matches, parse, sort_key, validate
from .render import issue_json, select_fields, split_list
from .state import JiraState

MAX_PAGE = 100


@dataclass
class _Context:
    """What JQL evaluation needs, for one request."""

    state: JiraState
    current_user: str | None

    def field_for(self, name: str) -> Any:
        return self.state.field_for(name)

    def project_exists(self, ref: str) -> bool:
        return self.state.find_project(ref) is not None

    def now(self) -> datetime:
        return self.state.clock()


def _params(method: str, query: dict[str, list[str]], body: Any) -> dict[str, Any]:
    """Search parameters from the query string (GET) or the JSON body (POST)."""
    if method == "POST":
        if not isinstance(body, dict):
            raise JiraEmulatorError(400, ["The request body must be a JSON object."])
        return body
    out: dict[str, Any] = {k: (v if k == "fields" else v[-1]) for k, v in query.items()}
    return out


def _matching(state: JiraState, jql: str, account: str) -> list[dict[str, Any]]:
    query: Query = parse(jql)
    ctx = _Context(state, account)
    validate(query.where, ctx)
    found = [
        r for r in sorted(state.issues.values(), key=lambda r: int(r["id"])) if matches(query.where, r, ctx)
    ]
    for name, desc in reversed(query.order):
        found.sort(key=lambda r, n=name: sort_key(r, n, ctx), reverse=desc)
    return found


def _page_size(raw: Any, default: int = 50) -> int:
    try:
        size = default if raw in (None, "") else int(raw)
    except (TypeError, ValueError) as exc:
        raise JiraEmulatorError(400, ["'maxResults' must be a number"]) from exc
    return max(1, min(size, MAX_PAGE))


def _token(jql: str, offset: int) -> str:
    digest = hashlib.sha1(jql.encode()).hexdigest()[:10]
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": digest}).encode()).decode().rstrip("=")


def _offset(jql: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["q"] == hashlib.sha1(jql.encode()).hexdigest()[:10]:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise JiraEmulatorError(400, ["The provided next page token is invalid or expired."])


def _render(
    state: JiraState, records: list[dict[str, Any]], params: dict[str, Any], ids_only: bool
) -> list[Any]:
    if ids_only:
        return [{"id": r["id"]} for r in records]
    wanted = select_fields(state, split_list(params.get("fields"))) if params.get("fields") else None
    expand = {e.lower() for e in split_list(params.get("expand"))}
    issues = [issue_json(state, r, wanted, expand) for r in records]
    limit = state.search_changelog_limit
    for issue in issues if limit is not None and "changelog" in expand else ():
        issue["changelog"]["histories"] = issue["changelog"]["histories"][:limit]
        issue["changelog"]["maxResults"] = limit
    return issues


def search_jql(
    state: JiraState, method: str, query: dict[str, list[str]], body: Any, account: str
) -> dict[str, Any]:
    """GET/POST /search/jql: a page of issues and, unless it is the last, a `nextPageToken`."""
    params = _params(method, query, body)
    jql = str(params.get("jql") or "")
    found = _matching(state, jql, account)
    start = _offset(jql, params.get("nextPageToken"))
    size = _page_size(params.get("maxResults"))
    page = found[start : start + size]
    ids_only = not split_list(params.get("fields"))
    out: dict[str, Any] = {"issues": _render(state, page, params, ids_only)}
    if start + size < len(found):
        out["nextPageToken"] = _token(jql, start + size)
        out["isLast"] = False
    else:
        out["isLast"] = True
    return out


def search_legacy(
    state: JiraState, method: str, query: dict[str, list[str]], body: Any, account: str
) -> dict[str, Any]:
    """GET/POST /search (Server style, also what `get_server_info=False` clients call): startAt/total."""
    params = _params(method, query, body)
    found = _matching(state, str(params.get("jql") or ""), account)
    try:
        start = int(params.get("startAt") or 0)
    except (TypeError, ValueError) as exc:
        raise JiraEmulatorError(400, ["'startAt' must be a number"]) from exc
    size = _page_size(params.get("maxResults"))
    return {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": len(found),
        "issues": _render(state, found[start : start + size], params, ids_only=False),
    }

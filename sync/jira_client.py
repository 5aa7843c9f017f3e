"""The narrow seam around the `jira` library: the handful of Jira calls the bot makes.

The client is built lazily (the library calls `serverInfo` on construction, and a Jira outage must
not stop the bot from starting) with `max_retries=0` (the library would sleep on a 429 in the worker)
and a timeout: retrying is the job queue's work, where it is durable and honours Retry-After. Every
failure comes out as `RetryLater` (503, 5xx, connection errors, timeouts), `RateLimited` (a 429 with
Retry-After), `CredentialsRefused` (401, or a 403 refusing the login itself) or `PermanentFailure` (any
other 4xx), with no secret in the text. Every request takes its turn in the budget all replicas share
(`JIRA_MAX_REQUESTS_PER_SECOND`).

The calls Jira Cloud and Jira Server/Data Center answer differently are made here only
(`serverInfo.deploymentType`, read by the library on connecting; what their webhooks and changelogs carry
differently is read where they are read, in `sync.webhook` and `sync.changelog`): a person is an
`accountId` on Cloud and a `name` on Data Center (whose user key, in changelogs, is looked up too);
search is Cloud's `search/jql` with `nextPageToken`, or Data Center's `search` with `startAt`/`total`,
whose position is handed out as the page token. The workflow API and the changelog endpoint are Cloud's:
on Data Center a status is reached along the issue's own transitions, and a long changelog is read with
the issue (`expand=changelog`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA, JIRAError

from bot.budget import RequestBudget
from bot.jobs import PermanentFailure, RetryLater, Throttled
from bot.metrics import RATE_LIMITED, SYNC_RESULTS
from bot.settings import Settings
from sync.workflow import Transition, from_workflow_search

T = TypeVar("T")
logger = logging.getLogger(__name__)
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-\d+|\d{4,}")
_RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504}


#: Jira Cloud's reason for a 429 that concerns one issue's writes; any other reason is site-wide
PER_ISSUE_WRITE = "jira-per-issue-on-write"


class RateLimited(Throttled):
    """Jira answered 429 with a Retry-After: wait exactly that long, for the reason Jira gives."""

    def __init__(self, message: str, *, retry_after: float, reason: str) -> None:
        super().__init__(message, retry_after=retry_after)
        self.reason = reason


class Unanswered(RetryLater):
    """Jira did not answer in time: unlike every other failure, the request may have been applied."""


class CredentialsRefused(Throttled):
    """Jira answered 401 (the token expired or was revoked), or 403 refusing the login itself (Data
    Center, after repeated failed logins, wants a CAPTCHA answered first). Every call fails alike until
    someone acts, so this is waited out (the Jira lane pauses, see `sync/jira_auth.py`), never a reason
    to drop changes or spend their attempts. `refusal` says how Jira refused (`HTTP 401`, …)."""

    def __init__(self, message: str, *, retry_after: float, refusal: str) -> None:
        super().__init__(message, retry_after=retry_after)
        self.refusal = refusal


class JiraGateway:
    """Thread-safe, lazily connected access to one Jira site."""

    def __init__(self, settings: Settings, *, budget: RequestBudget | None = None) -> None:
        if not settings.jira_url:
            raise ValueError("JIRA_URL is not set")
        self.settings = settings
        self.url = settings.jira_url
        self.budget = budget
        #: told of every refused login with what was refused and how (the composition root sets it)
        self.on_credentials_refused: Callable[[str, str], None] | None = None
        self._client: JIRA | None = None
        self._lock = threading.Lock()
        self._workflows: dict[tuple[str, str], tuple[float, list[Transition] | None]] = {}
        self._myself: dict[str, Any] | None = None
        self._projects: set[str] = set()
        self._service_desks: dict[str, bool] = {}
        self._field_names: dict[str, str] = {}
        self._cloud: bool | None = None
        self._field_names_fresh_until = 0.0

    def client(self) -> JIRA:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> JIRA:
        settings = self.settings
        auth: dict[str, Any]
        if settings.jira_pat is not None:  # Data Center personal access token: bearer
            auth = {"token_auth": settings.jira_pat.get_secret_value()}
        else:  # Cloud e-mail + API token, or a Data Center user + password
            secret = settings.jira_api_token or settings.jira_password
            auth = {"basic_auth": (settings.jira_user or "", secret.get_secret_value() if secret else "")}
        if self.budget is not None:  # the library asks serverInfo on construction: a request too
            self.budget.spend()
        with translate_errors("connect", credentials_wait=settings.jira_credentials_check_seconds):
            return JIRA(server=self.url, max_retries=0, timeout=settings.jira_timeout_seconds, **auth)

    def call(self, what: str, fn: Callable[[JIRA], T]) -> T:
        """Run one library call in its turn of the shared budget, translating its failures for the job
        queue; a site-wide 429 holds the budget for everyone, a 401 is reported."""
        try:
            with translate_errors(what, credentials_wait=self.settings.jira_credentials_check_seconds):
                jira = self.client()  # connecting first: its own request takes its own turn
                if self.budget is not None:
                    self.budget.spend()
                return fn(jira)
        except RateLimited as exc:
            if self.budget is not None and exc.reason != PER_ISSUE_WRITE:
                self.budget.hold(exc.retry_after or 0.0)
            raise
        except CredentialsRefused as exc:
            if self.on_credentials_refused is not None:
                self.on_credentials_refused(_ISSUE_KEY.sub("{key}", what), exc.refusal)
            raise

    @property
    def cloud(self) -> bool:
        """Whether this is Jira Cloud (else Server/Data Center), as `serverInfo.deploymentType` says."""
        if self._cloud is None:
            self._cloud = self.call("serverInfo", lambda jira: jira.deploymentType == "Cloud")
        return self._cloud

    def browse_url(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    def rest(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One REST v2 call through the library's authenticated session (no prefetch, no re-read)."""

        def send(jira: JIRA) -> Any:
            response = jira._session.request(
                method,
                f"{self.url}/rest/api/2/{path}",
                params=params,
                data=json.dumps(body) if body is not None else None,
            )
            return response.json() if response.content else None

        return self.call(f"{method} {path.split('?')[0]}", send)

    def myself(self) -> dict[str, Any]:
        """The account of our credentials (asked once: its id and time zone do not change under us)."""
        if self._myself is None:
            self._myself = self.call("myself", lambda jira: jira.myself())
        return self._myself

    def field_ids(self) -> set[str]:
        return self.call("fields", lambda jira: {field["id"] for field in jira.fields()})

    def field_id_named(self, name: str) -> str | None:
        """The id of the custom field shown as `name` (Server/Data Center changelog items name custom
        fields only so). The list (`GET field`) is kept; a name not in it asks again, at most once a
        minute (a field created or renamed since)."""
        known = self._field_names.get(name.casefold())
        if known is None and time.monotonic() >= self._field_names_fresh_until:
            fields = self.rest("GET", "field") or []
            self._field_names = {
                str(f.get("name", "")).casefold(): str(f["id"])
                for f in fields
                if isinstance(f, dict) and f.get("custom") and f.get("id")
            }
            self._field_names_fresh_until = time.monotonic() + 60.0
            known = self._field_names.get(name.casefold())
        return known

    def has_project(self, key: str) -> bool:
        """Whether Jira has this project and shows it to us (`GET project/{key}`); a yes is remembered."""
        if key in self._projects:
            return True
        try:
            self.rest("GET", f"project/{key}")
        except PermanentFailure:  # 404: no such project; 403: hidden from this account
            return False
        self._projects.add(key)
        return True

    # what the site offers, for `doctor` ----------------------------------------------------------
    def workflow_statuses(self, project: str) -> dict[str, list[str]]:
        """The status names of each issue type's workflow in a project (`GET project/{key}/statuses`)."""
        types = self.rest("GET", f"project/{project}/statuses") or []
        return {t.get("name", ""): [s.get("name", "") for s in t.get("statuses") or []] for t in types}

    def creatable_types(self, project: str) -> dict[str, str]:
        """The issue types one may create in a project, id by name (create metadata)."""
        types = self._pages(f"issue/createmeta/{project}/issuetypes", "issueTypes")
        return {str(t.get("name", "")): str(t.get("id")) for t in types}

    def create_screen(self, project: str, type_id: str) -> dict[str, dict[str, Any]]:
        """The fields on the create screen of one issue type in a project, with their allowed values."""
        fields = self._pages(f"issue/createmeta/{project}/issuetypes/{type_id}", "fields")
        return {str(f.get("fieldId") or f.get("key")): f for f in fields}

    def link_type_names(self) -> list[str]:
        types = (self.rest("GET", "issueLinkType") or {}).get("issueLinkTypes") or []
        return [t.get("name", "") for t in types]

    def _pages(self, path: str, key: str, *, max_pages: int = 20) -> list[dict[str, Any]]:
        """Every item of a paged create-metadata list (Cloud names the list `key`, Data Center `values`)."""
        items: list[dict[str, Any]] = []
        for _ in range(max_pages):
            page = self.rest("GET", path, params={"startAt": len(items), "maxResults": 50}) or {}
            found = page.get(key) or page.get("values") or []
            items += found
            last = page.get("isLast", len(items) >= int(page.get("total") or len(items)))
            if not found or last:
                return items
        return items

    def jql_time(self, moment: datetime) -> str:
        """`YYYY-MM-DD HH:MM` as JQL reads an absolute date: in the time zone of the account asking
        (ours, from /myself), floored to the minute (callers reach back far enough to cover that)."""
        try:
            zone = ZoneInfo(self.myself().get("timeZone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def create_issue(self, fields: dict[str, Any]) -> tuple[str, str]:
        """POST the issue; returns (id, key). One request: no project lookup, no prefetch."""
        created = self.rest("POST", "issue", body={"fields": fields})
        return str(created["id"]), created["key"]

    def issue(self, key: str, *, fields: str = "*all", expand: str | None = None) -> dict[str, Any]:
        params = {"fields": fields, **({"expand": expand} if expand else {})}
        return self.rest("GET", f"issue/{key}", params=params)

    def changelog(self, key: str, total: int) -> list[dict[str, Any]]:
        """Every history of the issue (`total`, as a search said), oldest first: Cloud's changelog
        endpoint page by page; Data Center has none, but gives the issue with its whole changelog."""
        if not self.cloud:
            found = self.issue(key, fields="", expand="changelog") or {}
            return [h for h in (found.get("changelog") or {}).get("histories") or [] if isinstance(h, dict)]
        histories: list[dict[str, Any]] = []
        while len(histories) < total:
            params = {"startAt": len(histories), "maxResults": 100}
            page = self.rest("GET", f"issue/{key}/changelog", params=params) or {}
            values = [h for h in page.get("values") or [] if isinstance(h, dict)]
            if not values:
                break
            histories += values
        return histories

    def update_fields(self, key: str, fields: dict[str, Any]) -> None:
        self.rest("PUT", f"issue/{key}", body={"fields": fields})

    def assign(self, key: str, account_id: str | None) -> None:
        self.rest("PUT", f"issue/{key}/assignee", body=self.person(account_id))

    def person(self, account: str | None) -> dict[str, Any]:
        """How a request names a person: `{"accountId": …}` on Cloud, `{"name": …}` on Data Center."""
        return {"accountId": account} if self.cloud else {"name": account}

    def account_of(self, user: dict[str, Any]) -> str | None:
        """The id the bot keeps for a Jira user: its accountId on Cloud, its name on Data Center."""
        value = user.get("accountId") if self.cloud else user.get("name")
        return value if isinstance(value, str) and value else None

    def user(self, account: str) -> dict[str, Any]:
        """A Jira user by the id a changelog or the bot gives: an accountId on Cloud; on Data Center a
        user key (changelogs) or a name (what the bot keeps). {} when Jira shows no such user."""
        asked = [{"accountId": account}] if self.cloud else [{"key": account}, {"username": account}]
        for params in asked:
            try:
                return self.rest("GET", "user", params=params) or {}
            except PermanentFailure:  # 404: not by this id; 403: hidden from us
                continue
        return {}

    def transitions(self, key: str) -> list[dict[str, Any]]:
        return self.rest("GET", f"issue/{key}/transitions")["transitions"]

    def transition(self, key: str, transition_id: str) -> None:
        self.rest("POST", f"issue/{key}/transitions", body={"transition": {"id": transition_id}})

    def search(
        self,
        jql: str,
        *,
        fields: str,
        expand: str | None = None,
        page_token: str | None = None,
        page_size: int = 100,
    ) -> dict[str, Any]:
        """One page of search results, `nextPageToken` naming the next one (none after the last):
        Cloud's `search/jql`, or Data Center's `search`, whose `startAt` is the token."""
        params: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page_size}
        if expand:
            params["expand"] = expand
        if self.cloud:
            if page_token:
                params["nextPageToken"] = page_token
            return self.rest("GET", "search/jql", params=params)
        start = int(page_token) if page_token and page_token.isdigit() else 0
        page = self.rest("GET", "search", params={**params, "startAt": start}) or {}
        issues = page.get("issues") or []
        following = start + len(issues)
        total = page.get("total")
        more = bool(issues) and isinstance(total, int) and following < total
        return {**page, "nextPageToken": str(following) if more else None, "isLast": not more}

    def find_issue(
        self, jql: str, *, field: str, wanted: Callable[[Any], bool], max_pages: int = 20
    ) -> tuple[str, str] | None:
        """(id, key) of the first issue the JQL finds whose `field` satisfies `wanted`, following pages.

        This is how a retried creation finds the issue an earlier attempt made but never heard back
        about (the issue carries a marker in one of its fields)."""
        token: str | None = None
        for _ in range(max_pages):
            page = self.search(jql, fields=field, page_token=token)
            for issue in page.get("issues") or []:
                if wanted((issue.get("fields") or {}).get(field)):
                    return str(issue["id"]), issue["key"]
            token = page.get("nextPageToken")
            if not token:
                return None
        return None

    def account_for_email(self, email: str) -> str | None:
        """The Jira account whose e-mail is exactly this one (Jira's search also matches names)."""
        asked = {"query": email} if self.cloud else {"username": email}
        users = self.rest("GET", "user/search", params={**asked, "maxResults": 20}) or []
        for user in users:
            if (user.get("emailAddress") or "").lower() == email.lower() and self.account_of(user):
                return self.account_of(user)
        return None

    def add_remote_link(self, key: str, url: str, title: str) -> None:
        body = {
            "globalId": f"slack:{url}",
            "object": {"url": url, "title": title, "icon": {"title": "Slack"}},
        }
        self.rest("POST", f"issue/{key}/remotelink", body=body)

    def comments(self, key: str, *, start: int = 0, page_size: int = 100) -> dict[str, Any]:
        """One page of the issue's comments, oldest first."""
        return self.rest("GET", f"issue/{key}/comment", params={"startAt": start, "maxResults": page_size})

    def add_comment(self, key: str, body: str, *, internal: bool = False) -> dict[str, Any]:
        """POST a wiki-markup comment; `internal` (Service Management) keeps it from the customer."""
        payload: dict[str, Any] = {"body": body}
        if internal:
            payload["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        return self.rest("POST", f"issue/{key}/comment", body=payload)

    def is_service_desk(self, project: str) -> bool:
        """Whether the project is a Jira Service Management one (its comments can be internal); the
        answer is kept, a project's type does not change under us."""
        if project not in self._service_desks:
            info = self.rest("GET", f"project/{project}") or {}
            self._service_desks[project] = info.get("projectTypeKey") == "service_desk"
        return self._service_desks[project]

    def workflow_transitions(self, project: str, issue_type: str) -> list[Transition] | None:
        """The transitions of the workflow this project uses for this issue type, or None when Jira
        will not show it (the workflow API is for administrators, and Cloud's only: Data Center's REST
        v2 has no workflow search). Either answer is kept 10 minutes."""
        if not self.cloud:
            return None
        cache_key = (project, issue_type)
        cached = self._workflows.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            transitions = self._read_workflow(project, issue_type)
        except (PermanentFailure, KeyError, IndexError, TypeError) as exc:
            logger.info(
                "workflow of %s/%s not readable (%s): walking the issues' own transitions",
                project,
                issue_type,
                exc,
            )
            transitions = None
        self._workflows[cache_key] = (time.monotonic() + 600, transitions)
        return transitions

    def _read_workflow(self, project: str, issue_type: str) -> list[Transition]:
        info = self.rest("GET", f"project/{project}")
        type_ids = [
            t["id"] for t in info.get("issueTypes", []) if t.get("name", "").lower() == issue_type.lower()
        ]
        schemes = self.rest("GET", "workflowscheme/project", params={"projectId": info["id"]})
        scheme = (schemes.get("values") or [{}])[0].get("workflowScheme", {})
        mappings = scheme.get("issueTypeMappings", {})
        name = next((mappings[t] for t in type_ids if t in mappings), scheme.get("defaultWorkflow"))
        found = self.rest(
            "GET", "workflow/search", params={"workflowName": name, "expand": "transitions,statuses"}
        )
        return from_workflow_search((found.get("values") or [{}])[0])


@contextmanager
def translate_errors(what: str, *, credentials_wait: float = 60.0) -> Iterator[None]:
    """Map library and transport errors onto the queue's RetryLater / PermanentFailure; a 401 is
    `CredentialsRefused`, waited out `credentials_wait` seconds at a time."""
    kind = _ISSUE_KEY.sub("{key}", what)
    try:
        yield
    except JIRAError as exc:
        status = exc.status_code or 0
        detail = f"Jira {what} failed: HTTP {status} {_brief(exc.text)}"
        denied = _login_denied(exc.response) if status == 403 else None
        if status == 401 or denied:
            refusal = f"HTTP {status}" + (f", {denied}" if denied else "")
            SYNC_RESULTS.labels(target="jira", kind=kind, outcome="unauthorized").inc()
            raise CredentialsRefused(
                f"Jira refused the bot's credentials ({refusal} on {what}): renew JIRA_API_TOKEN / JIRA_PAT"
                + (" (or, for a CAPTCHA, log in once in a browser)" if denied else ""),
                retry_after=credentials_wait,
                refusal=refusal,
            ) from None
        retry_after = _retry_after(exc.response)
        if status == 429 and retry_after is not None:
            reason = _header(exc.response, "RateLimit-Reason") or ""
            SYNC_RESULTS.labels(target="jira", kind=kind, outcome="throttled").inc()
            RATE_LIMITED.labels(target="jira", reason=reason or "unspecified").inc()
            raise RateLimited(detail, retry_after=retry_after, reason=reason) from None
        if status in _RETRYABLE or status == 0:
            SYNC_RESULTS.labels(target="jira", kind=kind, outcome="retry").inc()
            raise RetryLater(detail, retry_after=retry_after) from None
        SYNC_RESULTS.labels(target="jira", kind=kind, outcome="refused").inc()
        raise PermanentFailure(detail) from None
    except requests.Timeout as exc:
        SYNC_RESULTS.labels(target="jira", kind=kind, outcome="retry").inc()
        raise Unanswered(f"Jira {what} failed: {type(exc).__name__} (no answer in time)") from None
    except (requests.RequestException, ValueError) as exc:  # transport trouble, or a non-JSON answer
        SYNC_RESULTS.labels(target="jira", kind=kind, outcome="retry").inc()
        raise RetryLater(f"Jira {what} failed: {type(exc).__name__} (Jira unreachable)") from None
    SYNC_RESULTS.labels(target="jira", kind=kind, outcome="ok").inc()


def _header(response: requests.Response | None, name: str) -> str | None:
    return response.headers.get(name) if response is not None else None


def _login_denied(response: requests.Response | None) -> str | None:
    """Why Jira Server/Data Center refused the login on a 403 (e.g. `CAPTCHA_CHALLENGE` after repeated
    failures), from its Seraph headers; None when the 403 is an ordinary permission refusal."""
    reason = _header(response, "X-Authentication-Denied-Reason")
    if reason:
        return reason.split(";")[0].strip()[:100] or "authentication denied"
    if (_header(response, "X-Seraph-LoginReason") or "").upper().startswith("AUTHENTICATION_DENIED"):
        return "authentication denied"
    return None


def _retry_after(response: requests.Response | None) -> float | None:
    value = _header(response, "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _brief(text: str | None) -> str:
    return (text or "").strip().replace("\n", " ")[:300]

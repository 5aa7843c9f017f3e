"""`JiraEmulator`: a stateful local Jira Cloud site on loopback, for tests, benchmarks and the sandbox.

The real `jira` client talks to it over HTTP; tests drive people's actions through `JiraUser`,
inspect `issues`/`requests`/`webhook_deliveries`, and inject faults. Everything here is glue: the
store is `state.py`, changes are `issues.py`, REST is `rest.py`/`routes.py`, quotas `ratelimit.py`,
delivery `webhooks.py`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .faults import Faults
from .presets import PRESETS
from .ratelimit import RateLimits
from .render import comment_json, issue_json
from .rest import Api
from .server import Listener
from .state import Change, JiraState
from .webhooks import WebhookSender
from .workflow import build_workflow

DEPLOYMENTS = ("cloud", "datacenter")
_ANY_VERSION = re.compile(r"^/rest/api/(?:3|latest)/")
#: The reduced issue that comment events carry.
COMMENT_EVENT_FIELDS = ("summary", "status", "priority", "assignee", "issuetype", "project")


class JiraEmulator:
    """A local Jira Cloud, or (`deployment="datacenter"`) Jira Data Center: REST API v2 (also served as
    /3 and /latest) plus signed webhooks.

    Data Center differs as the real one does: `serverInfo.deploymentType` is `DataCenter`; people have a
    `name` (the emulator's account id) and a `key`, never an `accountId` (a person in a request body,
    assignee or user field, is `{"name": …}`; user search by `username`, `user?key=`/`username=`);
    search is `search` (startAt/total) only, and the Cloud-only `search/jql`, `workflow/search`,
    `workflowscheme/project` and `issue/{key}/changelog` answer 404; changelog items carry no `fieldId`
    (a custom field is named by its display name) and a user item's `to` is the user key; text a person
    edits (`JiraUser.update`) gets CRLF line endings; `comment_*` webhooks carry no `issue` (only the
    comment, whose `self` holds the issue id). A PAT (`pat=`) is accepted as bearer auth on both."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_email: str = "bot@example.com",
        bot_token: str = "jira-sandbox-token",
        bot_account_id: str = "acc-bot",
        projects: Iterable[str] = ("INC", "PM"),
        pat: str | None = None,
        *,
        bot_display_name: str = "Incident Bot",
        webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0),
        clock: Callable[[], datetime] | None = None,
        deployment: str = "cloud",
    ) -> None:
        if deployment not in DEPLOYMENTS:
            raise ValueError(f"deployment must be one of {', '.join(DEPLOYMENTS)}, not {deployment!r}")
        self.host = host
        self.bot_account_id = bot_account_id
        self.deployment = deployment
        self.state = JiraState(base_url=f"http://{host}:{port}", clock=clock)
        self.state.datacenter = deployment == "datacenter"
        self.state.add_user(bot_account_id, bot_email, bot_display_name, token=bot_token)
        for key in projects:
            self.state.add_project(key)
        self.faults = Faults()
        self.limits = RateLimits()
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.api = Api(
            self.state, self.faults, self._record, limits=self.limits, bot_account_id=bot_account_id, pat=pat
        )
        self._listener = Listener(self.api, host, port)
        self._sender = WebhookSender(retry_delays=webhook_retry_delays)
        self.state.listeners.append(self._on_change)
        self._reopen_timer: threading.Timer | None = None
        self._refuse_lock = threading.Lock()
        self._running = False

    # lifecycle ----------------------------------------------------------------------------------
    def start(self) -> JiraEmulator:
        """Listen on loopback and start the webhook sender."""
        self._listener.open()
        self.state.base_url = f"http://{self.host}:{self._listener.port}"
        self._sender.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving and sending, promptly."""
        self._running = False
        with self._refuse_lock:
            if self._reopen_timer is not None:
                self._reopen_timer.cancel()
                self._reopen_timer = None
        self._listener.close()
        self._sender.stop()

    def __enter__(self) -> JiraEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the site, e.g. `http://127.0.0.1:51234`."""
        return self.state.base_url

    @property
    def port(self) -> int:
        """The listening port (stable across `refuse_connections`)."""
        return self._listener.port

    # site configuration -------------------------------------------------------------------------
    def add_user(
        self, account_id: str, email: str, display_name: str, *, key: str | None = None
    ) -> dict[str, Any]:
        """Add a person; they can log in with `email` and token `<account_id>-token`. On Data Center
        `key` is their user key (older sites made it the lower-cased name; default `JIRAUSER…`)."""
        return self.state.add_user(account_id, email, display_name, key=key)

    def add_project(self, key: str, name: str | None = None, *, service_desk: bool = False) -> dict[str, str]:
        """Add a project (issue keys `KEY-1`, `KEY-2`, ...); `service_desk`: a Jira Service Management
        project (`projectTypeKey: service_desk`), whose comments may be internal."""
        return self.state.add_project(key, name, service_desk=service_desk)

    def set_workflow(
        self, statuses: list[str], transitions: list[tuple[str, str, str]], *, issuetype: str | None = None
    ) -> None:
        """Replace the default workflow (or one issue type's) with `(name, from or "*", to)` transitions."""
        with self.state.lock:
            current = self.state.workflows.get(issuetype)
            name = current.name if current else f"{issuetype} workflow"
            self.state.workflows[issuetype] = build_workflow(name, statuses, transitions)
            for status in statuses:
                self.state.statuses.id_for(status)

    def use_preset(self, name: str) -> None:
        """Take a whole site shape (`default`, `simple`): the incident workflow, the priority scheme and
        the fields left off the create screen (see `presets.py`)."""
        preset = PRESETS[name]
        self.set_workflow(list(preset.statuses), list(preset.transitions))
        self.set_priorities(list(preset.priorities))
        with self.state.lock:
            self.state.off_create_screen = set(preset.off_create_screen)

    def set_priorities(self, names: list[str]) -> None:
        """The site's priority scheme for Jira's own `priority` field, highest first."""
        self.state.set_priorities(names)

    def remove_from_create_screen(self, *field_ids: str) -> None:
        """Leave fields off the create screen: a create that sets one is refused (400), and create
        metadata no longer lists it, as on a real site whose screen lacks the field."""
        with self.state.lock:
            self.state.off_create_screen.update(field_ids)

    def hide_workflow_api(self, hidden: bool = True) -> None:
        """Answer `workflow/search` with 403, as Jira does for an account that is not an administrator."""
        self.state.workflow_api_visible = not hidden

    def cut_search_changelogs(self, limit: int | None) -> None:
        """Show at most `limit` histories (None: all) in a search's changelog expand, `total` still
        counting them all, as Jira may cut a long changelog there (the rest is to be read elsewhere)."""
        with self.state.lock:
            self.state.search_changelog_limit = limit

    def refuse_reporter(self, refused: bool = True) -> None:
        """Answer a create that sets `reporter` with 400, as a site without Modify Reporter does."""
        self.state.reporter_settable = not refused

    def set_link_types(self, names: list[str]) -> None:
        """The issue link type names the site offers."""
        self.state.set_link_types(names)

    def set_field_options(self, field_id: str, values: list[str] | None) -> None:
        """Restrict a select field to `values` (None: any value is accepted)."""
        self.state.set_field_options(field_id, values)

    # inspection ---------------------------------------------------------------------------------
    @property
    def issues(self) -> dict[str, dict[str, Any]]:
        """Issue records by key (live records: fields, status, changelog, links, remote_links, comments)."""
        with self.state.lock:
            return dict(self.state.issues)

    def issue(self, key: str) -> dict[str, Any]:
        """One issue record by key or id (KeyError if unknown)."""
        with self.state.lock:
            record = self.state.get_issue(key)
        if record is None:
            raise KeyError(key)
        return record

    def _record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the request log."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._log_lock:
            self._log.clear()

    def requests_to(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        """Logged requests by method ("*": any) and path prefix (`/rest/api/2/` matches /3/, /latest/ too)."""
        any_version = path_prefix.startswith("/rest/api/2/")

        def path_of(entry: dict[str, Any]) -> str:
            return _ANY_VERSION.sub("/rest/api/2/", entry["path"]) if any_version else entry["path"]

        return [
            r
            for r in self.requests
            if (method == "*" or r["method"] == method.upper()) and path_of(r).startswith(path_prefix)
        ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
        """Poll `predicate` until it returns something truthy, and return that; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(f"wait_for: {name} still falsy after {timeout}s (last value: {value!r})")
            time.sleep(interval)

    # faults -------------------------------------------------------------------------------------
    def fail_with(
        self, status: int = 503, retry_after: float | None = None, seconds: float | None = 5.0
    ) -> None:
        """Answer every request with `status` (and `Retry-After`) for `seconds` (None: until cleared)."""
        self.faults.fail_with(status, retry_after, seconds)

    def add_latency(self, seconds: float = 2.0, duration: float | None = 30.0) -> None:
        """Sleep `seconds` before each request for `duration` (None: until cleared)."""
        self.faults.add_latency(seconds, duration)

    def rate_limit(self, requests_per_second: float | None, retry_after: int = 1) -> None:
        """Answer REST requests past `requests_per_second` in any sliding second with Jira's 429.

        Only admitted requests fill the window; refused ones get `Retry-After: <retry_after>` and
        `RateLimit-Reason: jira-quota-global-based`. None lifts the limit.
        """
        self.limits.limit(requests_per_second, retry_after)

    def throttle_issue_writes(self, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` PUT/POST/DELETE under `issue/<key or id>` with a 429 that has
        `Retry-After: <retry_after>` and `RateLimit-Reason: jira-per-issue-on-write`."""
        self.limits.throttle_issue_writes(times, retry_after)

    @property
    def rate_limited_count(self) -> int:
        """How many 429s `rate_limit` and `throttle_issue_writes` have sent (not reset by `clear_faults`)."""
        return self.limits.refused

    def refuse_credentials(self, seconds: float | None = 5.0, account_id: str | None = None) -> None:
        """Answer 401 to every request made with the account's credentials (default: the bot's), as Jira
        does once an API token or PAT has expired or been revoked, for `seconds` (None: until
        `accept_credentials` or `clear_faults`). Anonymous `serverInfo` still answers."""
        self.faults.refuse_credentials(account_id or self.bot_account_id, seconds)

    def demand_captcha(self, seconds: float | None = None, account_id: str | None = None) -> None:
        """Answer 403 (`X-Seraph-LoginReason: AUTHENTICATION_DENIED`, `X-Authentication-Denied-Reason:
        CAPTCHA_CHALLENGE`) to every password login of the account (default: the bot's), as Jira Data
        Center does after repeated failed logins until someone answers a CAPTCHA in a browser, for
        `seconds` (None: until `accept_credentials` or `clear_faults`)."""
        self.faults.demand_captcha(account_id or self.bot_account_id, seconds)

    def accept_credentials(self, account_id: str | None = None) -> None:
        """End `refuse_credentials` and `demand_captcha` for the account (default: the bot's) now."""
        self.faults.accept_credentials(account_id or self.bot_account_id)

    def refuse_connections(self, seconds: float | None = 5.0) -> None:
        """Close the listening socket (and open connections); reopen on the same port after `seconds`."""
        with self._refuse_lock:
            if self._reopen_timer is not None:
                self._reopen_timer.cancel()
                self._reopen_timer = None
            self._listener.close()
            if seconds is not None:
                self._reopen_timer = threading.Timer(seconds, self._reopen)
                self._reopen_timer.daemon = True
                self._reopen_timer.start()

    def _reopen(self) -> None:
        with self._refuse_lock:
            self._reopen_timer = None
            if self._running and not self._listener.is_open:
                self._listener.open()

    def clear_faults(self) -> None:
        """End every fault and rate limit now (and listen again if connections were being refused)."""
        self.faults.clear()
        self.limits.clear()
        with self._refuse_lock:
            if self._reopen_timer is not None:
                self._reopen_timer.cancel()
                self._reopen_timer = None
        self._reopen()

    # webhooks -----------------------------------------------------------------------------------
    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        """Where to POST issue webhooks (None: stop sending), signed with `secret` when given."""
        self._sender.url = url
        self._sender.secret = secret

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt: url, headers, body (bytes), status (None on connection error), error."""
        return list(self._sender.deliveries)

    @property
    def dropped_webhooks(self) -> list[dict[str, Any]]:
        """Deliveries lost by `resume_webhooks(drop=True)`: url, headers, body (bytes)."""
        return list(self._sender.dropped)

    def redeliver(self, index: int, *, new_identifier: bool = False) -> None:
        """Send `webhook_deliveries[index]` again (a duplicate delivery), under the same identifier or,
        with `new_identifier`, under a new one (so only the body's changelog or comment id tells)."""
        self._sender.redeliver(index, new_identifier=new_identifier)

    def hold_webhooks(self) -> None:
        """Hold new webhooks back until released, to deliver them late or out of order."""
        self._sender.hold()

    def held_webhooks(self) -> list[dict[str, Any]]:
        """Held webhooks, oldest first: index, webhookEvent, issue_key, changelog_id (or None),
        identifier (`X-Atlassian-Webhook-Identifier`) and body (parsed JSON).

        Indices count from 0 in each hold (up to `release_all_webhooks`) and are not reused within it.
        """
        return self._sender.held()

    def release_webhook(self, index: int) -> None:
        """Send one held webhook now, signed and retried as usual; the rest stay held (IndexError if none)."""
        self._sender.release(index)

    def drop_webhook(self, index: int) -> None:
        """Lose one held webhook for good (the reconciler has to find its change); IndexError if none."""
        self._sender.drop(index)

    def release_all_webhooks(self, order: list[int] | None = None) -> None:
        """Stop holding and send every held webhook, in `order` (each held index once) or as they came."""
        self._sender.release_all(order)

    def pause_webhooks(self) -> None:
        """Hold webhooks until `resume_webhooks`."""
        self.hold_webhooks()

    def resume_webhooks(self, drop: bool = False) -> None:
        """Send held webhooks in order, or lose them (`drop=True`, a missed webhook for the reconciler)."""
        self._sender.release_all(drop=drop)

    def _on_change(self, change: Change) -> None:
        """Build the webhook body at the moment of the change (called under the state lock)."""
        if self._sender.url is None:
            return
        comment = comment_json(change.comment) if change.comment is not None else None
        if change.webhook_event.startswith("comment_"):
            body = {
                "timestamp": int(self.state.clock().timestamp() * 1000),
                "webhookEvent": change.webhook_event,
                "comment": comment,
            }
            if not self.state.datacenter:  # Data Center names the issue only in the comment's `self`
                issue = issue_json(self.state, change.record, wanted=set(COMMENT_EVENT_FIELDS))
                body["issue"] = {k: issue[k] for k in ("id", "self", "key", "fields")}
            self._sender.submit(json.dumps(body).encode())
            return
        payload: dict[str, Any] = {
            "timestamp": int(self.state.clock().timestamp() * 1000),
            "webhookEvent": change.webhook_event,
            "issue_event_type_name": change.event_type,
            "user": self.state.user_ref(change.author),
            "issue": issue_json(self.state, change.record),
        }
        if change.history is not None:
            payload["changelog"] = {"id": change.history["id"], "items": change.history["items"]}
        if comment is not None:
            payload["comment"] = comment
        self._sender.submit(json.dumps(payload).encode())

"""REST dispatch: version prefixes, authentication, faults, rate limits, the request log, Jira's errors.

Transport-free on purpose: `handle()` takes a method, path, headers and raw body and returns a
`Response`, so the HTTP server stays a thin adapter and a bad request can only ever become a JSON
error, never a crashed handler thread.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import JiraEmulatorError
from .faults import Faults
from .jql import JqlError
from .ratelimit import RateLimits
from .routes import Request, Routes
from .state import JiraState

logger = logging.getLogger(__name__)

_API = re.compile(r"^/rest/api/(2|3|latest)/(.*)$")
_UNAUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


@dataclass
class Response:
    """What to send back: status, JSON-able body (None: empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body bytes (empty for None)."""
        return b"" if self.body is None else json.dumps(self.body).encode()


def _error(status: int, message: str) -> Response:
    return Response(status, {"errorMessages": [message], "errors": {}})


class Api:
    """Routes REST calls to `Routes`, recording each request in the log first."""

    def __init__(
        self,
        state: JiraState,
        faults: Faults,
        log: Callable[[dict[str, Any]], None],
        *,
        limits: RateLimits,
        bot_account_id: str,
        pat: str | None,
    ) -> None:
        self.state = state
        self.faults = faults
        self.limits = limits
        self.log = log
        self.bot_account_id = bot_account_id
        self.pat = pat
        self.routes = Routes(state)

    def authenticate(self, header: str | None) -> str | None:
        """The account behind an Authorization header (Basic e-mail/token, or Bearer PAT), unless its
        credentials are refused (expired or revoked) for now."""
        account = self._account(header)
        return None if account is None or self.faults.credentials_refused(account) else account

    def _captcha_demanded(self, header: str | None) -> bool:
        """Whether this is a password (Basic) login Jira refuses until a CAPTCHA is answered."""
        if not header or not header.lower().startswith("basic "):
            return False
        account = self._account(header)
        return account is not None and self.faults.captcha_demanded(account)

    def _captcha_challenge(self) -> Response:
        """Data Center's answer to such a login, on any resource: 403 with the reason in Seraph's headers."""
        headers = {
            "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
            "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={self.state.base_url}/login.jsp",
        }
        return Response(403, None, headers)

    def _account(self, header: str | None) -> str | None:
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer":
            return self.bot_account_id if self.pat and credentials.strip() == self.pat else None
        if scheme.lower() != "basic":
            return None
        try:
            email, _, token = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        with self.state.lock:
            return self.state.authenticate(email, token)

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Response:
        """Answer one request; never raises."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        entry: dict[str, Any] = {
            "method": method,
            "path": parts.path,
            "query": {k: ",".join(v) for k, v in query.items()},
            "json": None,
            "at": time.time(),
            "auth_account": self.authenticate(headers.get("authorization")),
            "status": None,
        }
        self.log(entry)
        if self._captcha_demanded(headers.get("authorization")):
            response = self._captcha_challenge()
        else:
            response = self._answer(method, parts.path, query, raw_body, entry)
        entry["status"] = response.status
        return response

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], raw_body: bytes, entry: dict[str, Any]
    ) -> Response:
        delay = self.faults.latency()
        if delay:
            time.sleep(delay)
        failure = self.faults.failure()
        if failure is not None:
            response = _error(failure.status, f"Sandbox fault injection: HTTP {failure.status}.")
            if failure.retry_after is not None:
                response.headers["Retry-After"] = str(int(failure.retry_after))
            return response
        throttle = self.limits.check(method, path)
        if throttle is not None:
            headers = {"Retry-After": str(throttle.retry_after), "RateLimit-Reason": throttle.reason}
            return Response(429, {"errorMessages": ["Rate limit exceeded."]}, headers)
        if raw_body.strip():
            try:
                entry["json"] = json.loads(raw_body)
            except ValueError:
                return _error(400, "Unexpected character in the request body: the body is not valid JSON.")
        if path.rstrip("/") == "/rest/applinks/latest/listApplicationlinks":
            return Response(200, {"list": []}) if entry["auth_account"] else _error(401, _UNAUTHENTICATED)
        m = _API.match(path)
        if not m:
            return _error(404, f"No route for {method} {path}.")
        version, sub = m.groups()
        anonymous_ok = method == "GET" and sub.rstrip("/") == "serverInfo"
        if entry["auth_account"] is None and not anonymous_ok:
            return _error(401, _UNAUTHENTICATED)
        request = Request(method, sub.rstrip("/"), query, entry["json"], entry["auth_account"] or "", version)
        try:
            found = self.routes.dispatch(request)
            if found is None:
                return _error(404, f"No route for {method} {path}.")
            status, body = found
            return Response(status, body)
        except JiraEmulatorError as exc:
            return Response(exc.status, exc.body())
        except JqlError as exc:
            return _error(400, str(exc))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            logger.warning("bad request %s %s", method, path, exc_info=True)
            return _error(400, f"Bad request: {type(exc).__name__}: {exc}")
        except Exception as exc:
            logger.exception("Jira emulator failed on %s %s", method, path)
            return _error(500, f"Internal server error: {type(exc).__name__}: {exc}")

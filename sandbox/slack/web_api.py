"""The Slack Web API over HTTP: parse any body the WebClient sends, authenticate, inject faults, dispatch.

Also serves the `response_url`s handed out in slash-command and block_actions payloads, so Bolt's
`respond()` lands in the emulator instead of hooks.slack.com. The server never dies on a bad request: it
answers 400 JSON, and a bug in a method answers 500 JSON after logging the traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.slack import api_chat, api_conversations, api_directory, api_items, api_reactions, api_views
from sandbox.slack.api_base import JSON_PARAMS, ApiError, Handler, Params
from sandbox.slack.state import SlackState

log = logging.getLogger(__name__)
METHODS: dict[str, Handler] = {
    **api_directory.METHODS,
    **api_conversations.METHODS,
    **api_chat.METHODS,
    **api_items.METHODS,
    **api_reactions.METHODS,
    **api_views.METHODS,
}
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


class BadRequest(Exception):
    """The request cannot be parsed: answered with HTTP 400."""


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    """Form bodies carry blocks/view as JSON strings; decode them so the call log reads naturally."""
    decoded = dict(params)
    for key in JSON_PARAMS & decoded.keys():
        if isinstance(decoded[key], str):
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(decoded[key])
    return decoded


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, oversized headers): JSON like every other answer."""
        self.close_connection = True
        self._reply(code, {"ok": False, "error": "bad_request", "detail": message or ""})

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _reply(
        self, status: int, body: dict[str, Any] | str | bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Send `body`: a dict or pre-encoded bytes as JSON, a str as text/plain (response_url style)."""
        data = (
            body
            if isinstance(body, bytes)
            else body.encode()
            if isinstance(body, str)
            else json.dumps(body).encode()
        )
        try:
            self.send_response(status)
            kind = "text/plain" if isinstance(body, str) else "application/json"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except ConnectionError:  # the client went away (a killed bot): its answer is lost, as with Slack
            self.close_connection = True
            log.debug("Slack emulator: client gone before the answer to %s", self.path)

    def _params(self) -> dict[str, Any]:
        url = urlsplit(self.path)
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("invalid_content_length") from None
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            return params
        content_type = (self.headers.get("Content-Type") or "").lower()
        try:
            text = raw.decode("utf-8")
            if "json" in content_type or text.lstrip().startswith("{"):
                body = json.loads(text)
                if not isinstance(body, dict):
                    raise BadRequest("invalid_json")
                params.update(body)
            else:
                params.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("invalid_form_data" if "json" not in content_type else "invalid_json") from None
        return params

    def _serve(self) -> None:
        try:
            path = urlsplit(self.path).path
            params = self._params()
            if path.startswith("/api/"):
                self._api(path.removeprefix("/api/").strip("/"), params)
            elif path.startswith(("/commands/", "/actions/")):
                self._response_url(path.rsplit("/", 1)[-1], params)
            else:
                self._reply(404, {"ok": False, "error": "not_found"})
        except BadRequest as e:
            self._reply(400, {"ok": False, "error": str(e)})
        except Exception:
            log.exception("Slack emulator: unexpected error serving %s", self.path)
            self._reply(500, {"ok": False, "error": "internal_error"})

    def _token(self, params: dict[str, Any]) -> str:
        auth = self.headers.get("Authorization") or ""
        token = params.pop("token", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else str(token)

    def _auth_error(self, method: str, token: str) -> str | None:
        state = self.server.state
        expected, other = (
            (state.app_token, state.bot_token)
            if method in APP_TOKEN_METHODS
            else (state.bot_token, state.app_token)
        )
        if not token:
            return "not_authed"
        if token == other:
            return "not_allowed_token_type"
        return None if token == expected else "invalid_auth"

    def _api(self, method: str, params: dict[str, Any]) -> None:
        state = self.server.state
        token = self._token(params)
        call = {"method": method, "params": _decode(params), "at": time.monotonic(), "token": token}
        with state.lock:
            state.calls.append(call)
            fault = state.take_fault(method) if method in METHODS else None
            hold = state.take_hold(method)
        if hold is not None:
            hold.block()  # received and logged, not answered: the bot may be killed meanwhile
        if fault is not None and fault.delay:
            time.sleep(fault.delay)  # a slow Slack: then the usual answer
            fault = None
        with state.lock:
            status, headers = 200, {"X-Slack-Req-Id": f"req-{len(state.calls)}"}
            if method not in METHODS:
                body: dict[str, Any] = {"ok": False, "error": "unknown_method"}
            elif fault is not None and fault.retry_after is not None:
                status, body = 429, {"ok": False, "error": fault.error}
                headers["Retry-After"] = str(fault.retry_after)
            elif fault is not None:
                body = {"ok": False, "error": fault.error}
            elif auth_error := self._auth_error(method, token):
                body = {"ok": False, "error": auth_error}
            else:
                try:
                    body = {"ok": True, **METHODS[method](state, Params(params))}
                except ApiError as e:
                    body = {"ok": False, "error": e.error, **e.extra}
            call["status"], call["error"] = status, body.get("error")
            payload = json.dumps(body).encode()
        self._reply(status, payload, headers)

    def _response_url(self, token: str, params: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            state.calls.append(
                {"method": "response_url", "params": _decode(params), "at": time.monotonic(), "token": ""}
            )
            context = state.response_urls.get(token)
            if context is None:
                self._reply(404, "expired_url")
                return
            try:
                api_chat.deliver_response(state, body=_decode(params), source="response_url", **context)
            except ApiError as e:
                self._reply(404, e.error)
                return
        self._reply(200, "ok")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SlackState) -> None:
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-request (a killed bot) is expected; anything else is reported as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class WebApiServer:
    """The HTTP side of the emulator, served from a daemon thread."""

    def __init__(self, state: SlackState, host: str, port: int) -> None:
        self._server = _Server((host, port), state)
        self._thread: threading.Thread | None = None
        self.host = host

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}/"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-web-api",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=2)
            self._thread = None
        self._server.server_close()

"""`SlackEmulator`: one object that runs the Web API and Socket Mode servers and answers questions about them.

Tests, benchmarks and `python -m bot sandbox` code against this facade only. Every accessor returns a
deep copy taken under the state lock, so reading while the bot writes is safe (and mutating a result does
not change the workspace: use the API or `add_*` for that).
"""

from __future__ import annotations

import copy
import inspect
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from sandbox.slack.holds import Hold
from sandbox.slack.socket_mode import Ack, SocketModeServer
from sandbox.slack.state import Conversation, Fault, SlackState
from sandbox.slack.web_api import METHODS, WebApiServer

T = TypeVar("T")


def _describe(predicate: Callable[[], Any]) -> str:
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))


class SlackEmulator:
    """A stateful local Slack workspace: real `WebClient`s and Bolt's SocketModeHandler talk to it."""

    def __init__(
        self,
        bot_token: str = "xoxb-sandbox",
        app_token: str = "xapp-sandbox",
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0SANDBOX",
        trigger_ttl: float = 3.0,
    ) -> None:
        self.state = SlackState(
            team_id=team_id, bot_token=bot_token, app_token=app_token, trigger_ttl=trigger_ttl
        )
        self.host, self.port = host, port
        self._web: WebApiServer | None = None
        self._socket: SocketModeServer | None = None
        self._holds: list[Hold] = []

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> SlackEmulator:
        self._web = WebApiServer(self.state, self.host, self.port)
        self._socket = SocketModeServer(self.host, self.state.app_id)
        self._socket.start()
        with self.state.lock:
            self.state.ws_url = self._socket.url
            self.state.http_root = self._web.root_url
        self._web.start()
        return self

    def stop(self) -> None:
        for hold in self._holds:  # no request thread stays blocked past the emulator's life
            hold.release()
        if self._web is not None:
            self._web.stop()
        if self._socket is not None:
            self._socket.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def _socket_server(self) -> SocketModeServer:
        if self._socket is None:
            raise RuntimeError("SlackEmulator.start() has not been called")
        return self._socket

    # ---- identity -------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        if self._web is None:
            raise RuntimeError("SlackEmulator.start() has not been called")
        return f"{self._web.root_url}api/"

    @property
    def bot_user_id(self) -> str:
        return self.state.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.state.bot_id

    @property
    def team_id(self) -> str:
        return self.state.team_id

    # ---- seeding --------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        email: str | None = None,
        real_name: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A workspace member for users.info / users.lookupByEmail and for `SlackUser`."""
        name = name or user_id.lower()
        with self.state.lock:
            user = self.state.add_user(
                user_id,
                name=name,
                email=email if email is not None else f"{name}@example.com",
                real_name=real_name or name.title(),
                **extra,
            )
            return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        channel_id: str | None = None,
        members: Iterable[str] = (),
        *,
        is_private: bool = False,
    ) -> str:
        """A pre-existing channel (not created by the bot, so the bot is a member only if listed)."""
        with self.state.lock:
            if any(c.name == name and not c.is_im for c in self.state.conversations.values()):
                raise ValueError(f"channel #{name} already exists")
            conv = Conversation(
                id=channel_id or self.state.next_id("C"),
                name=name,
                created=self.state.now(),
                creator=next(iter(members), self.bot_user_id),
                members=set(members),
                is_private=is_private,
            )
            return self.state.add_conversation(conv).id

    # ---- what happened --------------------------------------------------------------------------
    @property
    def channels(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return {cid: c.record() for cid, c in self.state.conversations.items() if not c.is_im}

    def channel_id(self, name: str) -> str:
        with self.state.lock:
            return self.state.conversation(name.lstrip("#")).id

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages in posting order, thread replies included (`thread_ts`); KeyError if unknown."""
        with self.state.lock:
            conv = self.state.conversations.get(channel_id)
            if conv is None:
                raise KeyError(f"no conversation {channel_id!r} in the Slack emulator")
            return copy.deepcopy(self.state.messages[conv.id])

    def pins(self, channel_id: str) -> list[str]:
        with self.state.lock:
            return [pin["ts"] for pin in self.state.pins.get(channel_id, [])]

    def bookmarks(self, channel_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.bookmarks.get(channel_id, []))

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.ephemerals.get(user_id, []))

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            ims = [c.id for c in self.state.conversations.values() if c.is_im and c.user == user_id]
            return copy.deepcopy(self.state.messages[ims[0]]) if ims else []

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.views)

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """Every view opened or pushed for the user (current content), newest last; closed ones included."""
        with self.state.lock:
            return [copy.deepcopy(self.state.views[v]) for v in self.state.views_opened.get(user_id, [])]

    def view_stack(self, user_id: str) -> list[dict[str, Any]]:
        """The views currently on the user's screen, root first."""
        with self.state.lock:
            return [copy.deepcopy(self.state.views[v]) for v in self.state.view_stacks.get(user_id, [])]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab view last published for the user (views.publish), None before any."""
        with self.state.lock:
            view_id = self.state.home_views.get(user_id)
            return copy.deepcopy(self.state.views[view_id]) if view_id else None

    def home_publishes(self, user_id: str) -> int:
        """How many times the user's Home tab was published."""
        with self.state.lock:
            return self.state.home_publishes.get(user_id, 0)

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy([c for c in self.state.calls if c["method"] == method])

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02, *, message: str = ""
    ) -> T:
        """Poll `predicate` until truthy (a LookupError counts as "not yet"); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        value: Any = None
        error: LookupError | None = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except LookupError as e:
                error = e
            if time.monotonic() >= deadline:
                recent = [c["method"] for c in self.state.calls[-10:]]
                raise AssertionError(
                    f"wait_for timed out after {timeout}s: {message or _describe(predicate)}\n"
                    f"  last result: {value!r}; last lookup error: {error!r}\n  last Web API calls: {recent}"
                )
            time.sleep(interval)

    # ---- fault injection ------------------------------------------------------------------------
    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer 429 with Retry-After and `ratelimited`."""
        with self.state.lock:
            queue = self.state.faults.setdefault(method, deque())
            queue.extend(Fault("ratelimited", retry_after) for _ in range(times))

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are answered after `seconds`."""
        with self.state.lock:
            self.state.faults.setdefault(method, deque()).extend(
                Fault("", delay=seconds) for _ in range(times)
            )

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        with self.state.lock:
            self.state.faults.setdefault(method, deque()).extend(Fault(error) for _ in range(times))

    def hold(self, method: str) -> Hold:
        """Keep the next call of `method` in flight (logged in `calls`, unanswered) until `Hold.release()`.

        Lets a test kill the bot mid-call; once released the call runs and is answered as usual, even
        if its client is gone. Several holds on one method catch successive calls.
        """
        if method not in METHODS:
            raise ValueError(f"the Slack emulator does not serve {method!r}")
        hold = Hold(method)
        with self.state.lock:
            self.state.holds.setdefault(method, deque()).append(hold)
            self._holds.append(hold)
        return hold

    # ---- Socket Mode ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._socket is not None and self._socket.connected

    @property
    def connection_count(self) -> int:
        return self._socket.connection_count if self._socket else 0

    def wait_connected(self, timeout: float = 10.0) -> None:
        self._socket_server().wait_connected(timeout)

    def send_envelope(self, type_: str, payload: dict[str, Any], timeout: float = 5.0) -> Ack:
        """Push one envelope to a connected client and wait for its ack (TimeoutError if none comes)."""
        return self._socket_server().send_envelope(type_, payload, timeout)

    def disconnect_clients(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message: clients fetch a new URL and reconnect."""
        self._socket_server().disconnect_all(reason)

    @property
    def acks(self) -> list[Ack]:
        return list(self._socket.acks) if self._socket else []

    def send_event(self, event: dict[str, Any], timeout: float = 5.0) -> Ack:
        """Deliver one Events API event (`event_callback`) over Socket Mode, as Slack wraps it."""
        with self.state.lock:
            payload = {
                "token": "sandbox-verification-token",
                "team_id": self.state.team_id,
                "api_app_id": self.state.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{self.state.next_id('Ev', 10)}",
                "event_time": self.state.now(),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": self.state.team_id,
                        "user_id": self.state.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-sandbox-{self.state.next_id('ctx', 10)}",
            }
        return self.send_envelope("events_api", payload, timeout)

    def reactions(self, channel_id: str, ts: str) -> dict[str, list[str]]:
        """The reactions on a message: emoji name → the users who put it there."""
        with self.state.lock:
            message = self.state.find_message(channel_id, ts)
            return {r["name"]: list(r["users"]) for r in message.get("reactions", [])}

    def issue_trigger(self, user_id: str, view_id: str | None = None) -> str:
        """A fresh trigger_id for `user_id`, valid for `trigger_ttl` seconds (SlackUser uses this)."""
        with self.state.lock:
            return self.state.issue_trigger(user_id, view_id)

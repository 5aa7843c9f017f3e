"""The emulated workspace: users, conversations, messages, pins, bookmarks, views, triggers and the call log.

One `SlackState` is shared by the HTTP thread pool, the Socket Mode server and the test thread, so every
read or write happens under `state.lock` (re-entrant: method handlers run entirely inside it).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.api_base import ApiError
from sandbox.slack.holds import Hold


@dataclass
class Conversation:
    """A channel, or an IM (`is_im`, with `user`) — one record so every chat method resolves them alike."""

    id: str
    name: str
    created: int
    creator: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    user: str | None = None
    archived: bool = False
    topic: str = ""
    topic_creator: str = ""
    topic_last_set: int = 0
    purpose: str = ""
    purpose_creator: str = ""
    purpose_last_set: int = 0

    def record(self) -> dict[str, Any]:
        """The plain dict exposed to tests as `emu.channels[id]`."""
        return {
            "id": self.id,
            "name": self.name,
            "topic": self.topic,
            "purpose": self.purpose,
            "members": set(self.members),
            "archived": self.archived,
            "created": self.created,
            "creator": self.creator,
            "is_private": self.is_private,
        }


@dataclass
class Trigger:
    """A trigger_id handed to the app; it opens one view within `trigger_ttl` seconds of being issued."""

    user_id: str
    issued_at: float
    view_id: str | None = None
    used: bool = False


@dataclass
class ViewEvent:
    """A view appearing or changing on a user's screen; `SlackUser.wait_for_view` consumes these."""

    seq: int
    user_id: str
    view_id: str
    kind: str  # "open" | "push" | "update"


@dataclass
class Fault:
    """An injected fault for the next call of a method: a 429 (`retry_after`), an error string, or a
    delay before the call is answered as usual (`delay`, with no error)."""

    error: str
    retry_after: int | None = None
    delay: float = 0.0


class SlackState:
    """Everything the emulated workspace knows; ids and timestamps are deterministic and increasing."""

    def __init__(
        self, *, team_id: str, bot_token: str, app_token: str, trigger_ttl: float, bot_user_id: str = "U0BOT"
    ) -> None:
        self.lock = threading.RLock()
        self.team_id = team_id
        self.team_name = "Sandbox"
        self.team_domain = "sandbox"
        self.bot_token = bot_token
        self.app_token = app_token
        self.app_id = "A0SANDBOX"
        self.bot_user_id = bot_user_id
        self.bot_id = "B0BOT"
        self.trigger_ttl = trigger_ttl
        self.ws_url = ""
        self.http_root = ""
        self.users: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.pins: dict[str, list[dict[str, Any]]] = {}
        self.bookmarks: dict[str, list[dict[str, Any]]] = {}
        self.ephemerals: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.view_owner: dict[str, str] = {}
        self.view_stacks: dict[str, list[str]] = {}
        self.views_opened: dict[str, list[str]] = {}
        self.view_events: list[ViewEvent] = []
        self.view_cursor: dict[str, int] = {}  # per user: view events up to here are no longer "new"
        self.home_views: dict[str, str] = {}  # user → the id of the Home tab view published for them
        self.home_publishes: dict[str, int] = {}  # user → how many times their Home tab was published
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.faults: dict[str, deque[Fault]] = {}
        self.holds: dict[str, deque[Hold]] = {}
        self._counters: dict[str, itertools.count[int]] = {}
        self._last_ts = 0.0
        self.add_user(bot_user_id, name="incident-bot", email="", real_name="Incident Bot", is_bot=True)

    # ---- ids and clocks -------------------------------------------------------------------------
    def next_id(self, prefix: str, width: int = 8) -> str:
        """`C00000001`-style ids, one counter per prefix, skipping any id already taken."""
        counter = self._counters.setdefault(prefix, itertools.count(1))
        while True:
            candidate = f"{prefix}{next(counter):0{width}X}"
            if candidate not in self.conversations and candidate not in self.views:
                return candidate

    def next_ts(self) -> str:
        """A message ts: wall-clock seconds with 6 decimals, strictly increasing like Slack's."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    @staticmethod
    def now() -> int:
        return int(time.time())

    # ---- users ----------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str,
        real_name: str,
        is_bot: bool = False,
        tz: str = "Europe/Berlin",
        tz_offset: int = 3600,
        deleted: bool = False,
    ) -> dict[str, Any]:
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real_name,
            "tz": tz,
            "tz_label": "Central European Time",
            "tz_offset": tz_offset,
            "is_admin": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": self.now(),
            "profile": {
                "real_name": real_name,
                "display_name": name,
                "email": email,
                "image_72": f"https://avatars.sandbox.invalid/{user_id}_72.png",
                "team": self.team_id,
            },
        }
        if is_bot:
            user["profile"]["bot_id"] = self.bot_id
        self.users[user_id] = user
        return user

    def user(self, user_id: str, error: str = "user_not_found") -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise ApiError(error)
        return user

    def find_user(self, ref: str) -> dict[str, Any] | None:
        """A user by id, name, display name, real name or email: how a person picks someone in Slack."""
        ref = ref.lstrip("@")
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            profile = user["profile"]
            if ref in (user["name"], user["real_name"], profile["display_name"], profile["email"]):
                return user
        return None

    # ---- conversations --------------------------------------------------------------------------
    def add_conversation(self, conv: Conversation) -> Conversation:
        self.conversations[conv.id] = conv
        self.messages.setdefault(conv.id, [])
        return conv

    def conversation(self, ref: str, error: str = "channel_not_found") -> Conversation:
        """A conversation by id, `name` or `#name` (Slack accepts names for chat methods)."""
        conv = self.conversations.get(ref)
        if conv is None and ref:
            name = ref.lstrip("#")
            conv = next((c for c in self.conversations.values() if c.name == name and not c.is_im), None)
        if conv is None:
            raise ApiError(error)
        return conv

    def dm(self, user_id: str) -> Conversation:
        """The bot's IM with a user, created on first use and stable afterwards."""
        self.user(user_id)
        for conv in self.conversations.values():
            if conv.is_im and conv.user == user_id:
                return conv
        conv = Conversation(
            id=self.next_id("D"),
            name=user_id,
            created=self.now(),
            creator=self.bot_user_id,
            members={self.bot_user_id, user_id},
            is_private=True,
            is_im=True,
            user=user_id,
        )
        return self.add_conversation(conv)

    def post_target(self, ref: str) -> Conversation:
        """Where chat.postMessage's `channel` lands: a channel, an IM, or a user id meaning their IM."""
        if ref in self.users:
            return self.dm(ref)
        return self.conversation(ref)

    def find_message(self, channel_id: str, ts: str) -> dict[str, Any]:
        for message in self.messages.get(channel_id, []):
            if message["ts"] == ts:
                return message
        raise ApiError("message_not_found")

    # ---- triggers and response urls -------------------------------------------------------------
    def issue_trigger(self, user_id: str, view_id: str | None = None) -> str:
        trigger_id = f"{next(self._counters.setdefault('trigger', itertools.count(1)))}.{self.now()}."
        trigger_id += secrets.token_hex(16)
        self.triggers[trigger_id] = Trigger(user_id=user_id, issued_at=time.monotonic(), view_id=view_id)
        return trigger_id

    def use_trigger(self, trigger_id: str) -> Trigger:
        """Spend a trigger; unknown, reused or older than `trigger_ttl` answers `expired_trigger_id`."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None or trigger.used or time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger

    def issue_response_url(self, kind: str, context: dict[str, Any]) -> str:
        token = secrets.token_hex(8)
        self.response_urls[token] = context
        return f"{self.http_root}{kind}/{self.team_id}/{token}"

    # ---- fault injection and the call log -------------------------------------------------------
    def take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        return queue.popleft() if queue else None

    def take_hold(self, method: str) -> Hold | None:
        queue = self.holds.get(method)
        return queue.popleft() if queue else None

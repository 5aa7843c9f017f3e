"""`SlackUser`: a person in the emulated workspace who types slash commands, fills modals, presses buttons,
and opens the app's Home tab.

Each action builds the payload real Slack sends with a fresh, registered trigger_id and
delivers it over Socket Mode; whatever the app acks is then applied as Slack would (ephemeral reply, view
update/push/close), so a test reads like the user's session.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sandbox.slack import blockkit, forms, modals
from sandbox.slack.api_base import ApiError, Params
from sandbox.slack.api_chat import deliver_response, message_json, post
from sandbox.slack.api_items import bookmarks_add
from sandbox.slack.api_reactions import add_reaction, remove_reaction
from sandbox.slack.blockkit import buttons, input_blocks
from sandbox.slack.emulator import SlackEmulator
from sandbox.slack.socket_mode import Ack


class SlackUser:
    """Acts as `user_id` (who must have been added with `emu.add_user`)."""

    def __init__(self, emu: SlackEmulator, user_id: str) -> None:
        if user_id not in emu.state.users:
            raise KeyError(f"user {user_id!r} does not exist: call emu.add_user({user_id!r}, ...) first")
        self.emu = emu
        self.state = emu.state
        self.user_id = user_id

    # ---- payload pieces -------------------------------------------------------------------------
    def _acting(self) -> None:
        """A new action: views that appeared before it are stale for `wait_for_view` (caller holds lock)."""
        self.state.view_cursor[self.user_id] = len(self.state.view_events)

    def _common(self) -> dict[str, Any]:
        user = self.state.users[self.user_id]
        return {
            "user": {
                "id": self.user_id,
                "username": user["name"],
                "name": user["name"],
                "team_id": self.state.team_id,
            },
            "api_app_id": self.state.app_id,
            "token": "sandbox-verification-token",
            "team": {"id": self.state.team_id, "domain": self.state.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _resolve_user(self, ref: str) -> str:
        user = self.state.find_user(ref)
        if user is None:
            raise KeyError(f"no user {ref!r} in the Slack emulator")
        return user["id"]

    def _resolve_conversation(self, ref: str) -> str:
        try:
            return self.state.conversation(ref).id
        except ApiError:
            raise KeyError(f"no conversation {ref!r} in the Slack emulator") from None

    @staticmethod
    def _action(block: dict[str, Any], element: dict[str, Any], action_ts: str) -> dict[str, Any]:
        action: dict[str, Any] = {
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "text": {"emoji": True, **element.get("text", {})},
            "type": "button",
            "action_ts": action_ts,
        }
        for key in ("value", "style", "url"):
            if key in element:
                action[key] = element[key]
        return action

    # ---- slash commands -------------------------------------------------------------------------
    def command(
        self, command: str, text: str = "", channel_id: str | None = None, *, timeout: float = 5.0
    ) -> Ack:
        """Type `/command text` in a channel (default: the user's DM with the bot) and wait for the ack."""
        with self.state.lock:
            self._acting()
            if channel_id is None:
                channel_id = self.state.dm(self.user_id).id
            conv = self.state.conversations.get(channel_id)
            channel_name = "directmessage" if conv is None or conv.is_im else conv.name
            context = {"user_id": self.user_id, "channel_id": channel_id, "message_ts": None}
            payload = {
                "token": "sandbox-verification-token",
                "team_id": self.state.team_id,
                "team_domain": self.state.team_domain,
                "channel_id": channel_id,
                "channel_name": channel_name,
                "user_id": self.user_id,
                "user_name": self.state.users[self.user_id]["name"],
                "command": command,
                "text": text,
                "api_app_id": self.state.app_id,
                "is_enterprise_install": "false",
                "response_url": self.state.issue_response_url("commands", context),
                "trigger_id": self.state.issue_trigger(self.user_id),
            }
        ack = self.emu.send_envelope("slash_commands", payload, timeout)
        if ack.payload:
            with self.state.lock:
                deliver_response(self.state, body=ack.payload, source="ack", **context)
        return ack

    # ---- modals ---------------------------------------------------------------------------------
    def wait_for_view(self, callback_id: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The newest view opened, pushed or updated for this user since the last one returned.

        Views that appeared before this user's latest action (command, click, submit) do not count, so
        call this after the action that opens the view and before the next action.
        """

        def newest() -> dict[str, Any] | None:
            with self.state.lock:
                events = [
                    e
                    for e in self.state.view_events
                    if e.user_id == self.user_id
                    and e.seq > self.state.view_cursor.get(self.user_id, 0)
                    and callback_id in (None, self.state.views[e.view_id]["callback_id"])
                ]
                if not events:
                    return None
                self.state.view_cursor[self.user_id] = events[-1].seq
                return copy.deepcopy(self.state.views[events[-1].view_id])

        wanted = f" with callback_id {callback_id!r}" if callback_id else ""
        return self.emu.wait_for(newest, timeout, message=f"a new view{wanted} for {self.user_id}")

    def _current_view(self, view: Mapping[str, Any]) -> dict[str, Any]:
        current = self.state.views.get(view.get("id", ""))
        if current is None:
            raise KeyError(f"view {view.get('id')!r} is unknown to the Slack emulator")
        if not modals.is_open(self.state, current["id"]):
            raise ValueError(f"view {current['id']} ({current['callback_id']}) is no longer open")
        return current

    def submit(
        self, view: Mapping[str, Any], values: Mapping[str, Any] | None = None, *, timeout: float = 5.0
    ) -> Ack:
        """Fill inputs by label (others keep what Slack shows), press Submit, apply the response_action."""
        with self.state.lock:
            current = self._current_view(view)
            current["state"] = {
                "values": forms.build_state(
                    current, values or {}, users=self._resolve_user, convs=self._resolve_conversation
                )
            }
            self._acting()
            payload = {
                "type": "view_submission",
                **self._common(),
                "trigger_id": self.state.issue_trigger(self.user_id, current["id"]),
                "view": copy.deepcopy(current),
                "response_urls": [],
            }
        ack = self.emu.send_envelope("interactive", payload, timeout)
        self._apply_response_action(current, ack)
        return ack

    def _apply_response_action(self, view: dict[str, Any], ack: Ack) -> None:
        body = ack.payload or {}
        action = body.get("response_action")
        with self.state.lock:
            try:
                if action == "update":
                    modals.update_view(self.state, view, body.get("view"))
                elif action == "push":
                    modals.open_view(self.state, body.get("view"), user_id=self.user_id, push_onto=view["id"])
                elif action == "clear":
                    modals.close_view(self.state, view["id"], clear=True)
                elif action == "errors":
                    known = {block["block_id"] for block in input_blocks(view)}
                    unknown = set(body.get("errors") or {}) - known
                    if unknown:
                        raise ValueError(
                            f"response_action errors names {sorted(unknown)}, not input block_ids of view "
                            f"{view['callback_id']!r} ({sorted(known)}): Slack rejects the whole response"
                        )
                else:
                    modals.close_view(self.state, view["id"])
            except ApiError as e:
                raise ValueError(f"Slack rejects response_action {action!r}: {e.error} {e.extra}") from None

    def close(self, view: Mapping[str, Any], *, timeout: float = 5.0) -> Ack | None:
        """Press Cancel/close; a `view_closed` payload is sent only if the view asked (`notify_on_close`)."""
        with self.state.lock:
            current = self._current_view(view)
            modals.close_view(self.state, current["id"], clear=bool(current.get("clear_on_close")))
            payload = {
                "type": "view_closed",
                **self._common(),
                "view": copy.deepcopy(current),
                "is_cleared": False,
            }
        if not current.get("notify_on_close"):
            return None
        return self.emu.send_envelope("interactive", payload, timeout)

    # ---- the app's Home tab ---------------------------------------------------------------------
    def open_home(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """Open the app's Home tab: Slack sends `app_home_opened`; returns the view the app then publishes."""
        before = self.emu.home_publishes(self.user_id)
        self._app_home_opened("home", timeout)
        return self.emu.wait_for(
            lambda: self.emu.home_publishes(self.user_id) > before and self.emu.home_view(self.user_id),
            timeout,
            message=f"views.publish of {self.user_id}'s Home tab",
        )

    def open_messages_tab(self, *, timeout: float = 5.0) -> Ack:
        """Open the app's Messages tab: the same event, with `tab: messages`."""
        return self._app_home_opened("messages", timeout)

    def _app_home_opened(self, tab: str, timeout: float) -> Ack:
        """The Events API `event_callback` Slack delivers over Socket Mode when the user opens a tab."""
        with self.state.lock:
            self._acting()
            now = self.state.next_ts()
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": self.user_id,
                "channel": self.state.dm(self.user_id).id,
                "tab": tab,
                "event_ts": now,
            }
            published = self.state.home_views.get(self.user_id)
            if tab == "home" and published:
                event["view"] = copy.deepcopy(self.state.views[published])
            payload = {
                "token": "sandbox-verification-token",
                "team_id": self.state.team_id,
                "context_team_id": self.state.team_id,
                "context_enterprise_id": None,
                "api_app_id": self.state.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{self.state.next_id('E')}",
                "event_time": int(float(now)),
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
                "event_context": f"4-{self.state.next_id('X')}",
            }
        return self.emu.send_envelope("events_api", payload, timeout)

    def click_in_home(self, button_text: str, *, row: str | None = None, timeout: float = 5.0) -> Ack:
        """Press a button in the Home tab (the first labelled `button_text`, or the one on the row whose
        text contains `row`): a `block_actions` from a view, with no channel and no response_url."""
        with self.state.lock:
            view_id = self.state.home_views.get(self.user_id)
            if view_id is None:
                raise LookupError(f"{self.user_id}'s Home tab was never published")
            view = self.state.views[view_id]
            found = [
                (block, element)
                for block, element in buttons(view["blocks"])
                if blockkit.button_text(element) == button_text
                and (row is None or row in str((block.get("text") or {}).get("text", "")))
            ]
            if not found:
                raise LookupError(f"no button {button_text!r} (row {row!r}) in {self.user_id}'s Home tab")
            block, element = found[0]
            self._acting()
            payload = {
                "type": "block_actions",
                **self._common(),
                "container": {"type": "view", "view_id": view_id},
                "trigger_id": self.state.issue_trigger(self.user_id, view_id),
                "view": copy.deepcopy(view),
                "actions": [self._action(block, element, self.state.next_ts())],
            }
        return self.emu.send_envelope("interactive", payload, timeout)

    # ---- buttons --------------------------------------------------------------------------------
    def click(
        self, channel_id: str, button_text: str, message_ts: str | None = None, *, timeout: float = 5.0
    ) -> Ack:
        """Press the button labelled `button_text` on the newest message that has it (or on `message_ts`)."""
        with self.state.lock:
            payload = self._message_click(channel_id, button_text, message_ts)
            self._acting()
        return self.emu.send_envelope("interactive", payload, timeout)

    def _message_click(self, channel_id: str, wanted: str, message_ts: str | None) -> dict[str, Any]:
        conv = self.state.conversations.get(channel_id)
        if conv is None:
            raise KeyError(f"no conversation {channel_id!r} in the Slack emulator")
        messages = list(reversed(self.state.messages[conv.id]))
        if message_ts is not None:
            messages = [self.state.find_message(conv.id, message_ts)]
        seen: list[str] = []
        for message in messages:
            for block, element in buttons(message.get("blocks")):
                seen.append(blockkit.button_text(element))
                if blockkit.button_text(element) != wanted:
                    continue
                context = {"user_id": self.user_id, "channel_id": conv.id, "message_ts": message["ts"]}
                container = {"type": "message", "message_ts": message["ts"], "channel_id": conv.id}
                return {
                    "type": "block_actions",
                    **self._common(),
                    "container": {**container, "is_ephemeral": False},
                    "trigger_id": self.state.issue_trigger(self.user_id),
                    "channel": {"id": conv.id, "name": conv.name},
                    "message": message_json(self.state, message),
                    "state": {"values": {}},
                    "response_url": self.state.issue_response_url("actions", context),
                    "actions": [self._action(block, element, self.state.next_ts())],
                }
        raise LookupError(f"no button {wanted!r} in {channel_id}; buttons there (newest first): {seen}")

    def click_in_view(self, view: Mapping[str, Any], button_text: str, *, timeout: float = 5.0) -> Ack:
        """Press a button inside an open modal (`container.type == "view"`)."""
        with self.state.lock:
            current = self._current_view(view)
            found = [(b, e) for b, e in buttons(current["blocks"]) if blockkit.button_text(e) == button_text]
            if not found:
                shown = [blockkit.button_text(e) for _, e in buttons(current["blocks"])]
                raise LookupError(f"no button {button_text!r} in view {current['id']}; buttons: {shown}")
            current["state"] = {
                "values": forms.build_state(
                    current, {}, users=self._resolve_user, convs=self._resolve_conversation, submitting=False
                )
            }
            block, element = found[0]
            self._acting()
            payload = {
                "type": "block_actions",
                **self._common(),
                "container": {"type": "view", "view_id": current["id"]},
                "trigger_id": self.state.issue_trigger(self.user_id, current["id"]),
                "view": copy.deepcopy(current),
                "actions": [self._action(block, element, self.state.next_ts())],
            }
        return self.emu.send_envelope("interactive", payload, timeout)

    # ---- messages, reactions and message shortcuts ------------------------------------------------
    def say(self, channel_id: str, text: str, *, thread_ts: str | None = None) -> str:
        """Post a message as this person (in a thread when `thread_ts`); returns its ts."""
        with self.state.lock:
            conv = self.state.conversation(channel_id)
            if self.user_id not in conv.members:
                raise PermissionError(f"{self.user_id} is not in {channel_id}")
            return post(
                self.state, conv, {"text": text, "blocks": []}, user=self.user_id, thread_ts=thread_ts
            )["ts"]

    def add_bookmark(self, channel_id: str, title: str, link: str) -> dict[str, Any]:
        """Bookmark a link in the channel from Slack's UI; returns the bookmark."""
        with self.state.lock:
            params = Params({"channel_id": channel_id, "title": title, "type": "link", "link": link})
            return bookmarks_add(self.state, params, user=self.user_id)["bookmark"]

    def delete(self, channel_id: str, ts: str) -> None:
        """Delete one's own message; a parent with replies stays as a tombstone, as in Slack."""
        with self.state.lock:
            message = self.state.find_message(channel_id, ts)
            if message["user"] != self.user_id:
                raise PermissionError("people delete only their own messages")
            if message.get("reply_count"):
                for key in ("blocks", "attachments", "reactions", "edited_ts"):
                    message.pop(key, None)
                message.update(subtype="tombstone", text="This message was deleted.", user="USLACKBOT")
            else:
                self.state.messages[channel_id].remove(message)

    def react(self, channel_id: str, ts: str, name: str, *, timeout: float = 5.0) -> Ack | None:
        """Add a reaction; the app hears `reaction_added` when it is in the channel."""
        with self.state.lock:
            message = add_reaction(self.state, channel_id, ts, name, self.user_id)
            event = self._reaction_event("reaction_added", channel_id, message, name)
        return self._tell_app(channel_id, event, timeout)

    def unreact(self, channel_id: str, ts: str, name: str, *, timeout: float = 5.0) -> Ack | None:
        """Remove one's reaction; the app hears `reaction_removed` when it is in the channel."""
        with self.state.lock:
            message = remove_reaction(self.state, channel_id, ts, name, self.user_id)
            event = self._reaction_event("reaction_removed", channel_id, message, name)
        return self._tell_app(channel_id, event, timeout)

    def _reaction_event(
        self, kind: str, channel_id: str, message: dict[str, Any], name: str
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "user": self.user_id,
            "reaction": name,
            "item_user": message.get("user"),
            "item": {"type": "message", "channel": channel_id, "ts": message["ts"]},
            "event_ts": self.state.next_ts(),
        }

    def _tell_app(self, channel_id: str, event: dict[str, Any], timeout: float) -> Ack | None:
        with self.state.lock:
            if self.state.bot_user_id not in self.state.conversation(channel_id).members:
                return None  # Slack sends an app the events of the channels it is in
        return self.emu.send_event(event, timeout)

    def shortcut(self, channel_id: str, ts: str, callback_id: str, *, timeout: float = 5.0) -> Ack:
        """Run a message shortcut on a message (a `message_action` payload, as Slack sends it)."""
        with self.state.lock:
            conv = self.state.conversation(channel_id)
            message = self.state.find_message(conv.id, ts)
            context = {"user_id": self.user_id, "channel_id": conv.id, "message_ts": None}
            self._acting()
            payload = {
                "type": "message_action",
                **self._common(),
                "action_ts": self.state.next_ts(),
                "callback_id": callback_id,
                "trigger_id": self.state.issue_trigger(self.user_id),
                "response_url": self.state.issue_response_url("actions", context),
                "message_ts": message["ts"],
                "message": message_json(self.state, message),
                "channel": {"id": conv.id, "name": conv.name},
            }
        return self.emu.send_envelope("interactive", payload, timeout)

"""The announcement's buttons: Update, Key events, Post-mortem, Close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents
from bot.errors import BotError
from bot.rules import check_can_close, check_can_update
from listeners.common import is_member, unexpected
from listeners.recap import request_postmortem
from views import modals
from views.ids import Action

if TYPE_CHECKING:
    from bot.app import Runtime


def register(app: App, runtime: Runtime) -> None:
    buttons = Buttons(runtime)
    app.action(Action.UPDATE.value)(buttons.update)
    app.action(Action.KEY_EVENTS.value)(buttons.key_events)
    app.action(Action.POSTMORTEM.value)(buttons.postmortem)
    app.action(Action.CLOSE.value)(buttons.close)
    app.action(Action.LINK.value)(lambda ack: ack())


class Buttons:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _run(self, ack: Ack, body: dict[str, Any], client: WebClient, act: Any) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        try:
            with Session(self.runtime.engine, expire_on_commit=False) as session:
                incident = incidents.get(session, int(body["actions"][0]["value"]))
                reply = act(session, incident, user, channel)
        except BotError as exc:
            reply = str(exc)
        except Exception as exc:
            reply = unexpected(exc)
        if reply and channel:
            client.chat_postEphemeral(channel=channel, user=user, text=reply)

    def update(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Any, user: str, channel: str | None) -> None:
            check_can_update(
                incident, user, is_channel_member=is_member(client, incident, user, from_channel=channel)
            )
            client.views_open(trigger_id=body["trigger_id"], view=modals.update_modal(incident))

        self._run(ack, body, client, act)

    def key_events(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Any, user: str, channel: str | None) -> None:
            check_can_update(
                incident, user, is_channel_member=is_member(client, incident, user, from_channel=channel)
            )
            view = modals.key_events_modal(incident, incidents.key_events(session, incident.id))
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, body, client, act)

    def postmortem(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        self._run(
            ack,
            body,
            client,
            lambda session, incident, user, channel: request_postmortem(
                self.runtime, session, incident, user
            ),
        )

    def close(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Any, user: str, channel: str | None) -> None:
            check_can_close(incident, user, policy=self.runtime.policy)
            blockers = incidents.close_refusals(session, incident, self.runtime.policy)
            client.views_open(trigger_id=body["trigger_id"], view=modals.close_modal(incident, blockers))

        self._run(ack, body, client, act)

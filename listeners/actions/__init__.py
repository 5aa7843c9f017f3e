"""The announcement's buttons: Update, Key events, Post-mortem, Close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents
from bot.models import Incident
from bot.rules import Actor, check_can_close, check_can_update
from listeners.common import Services, answer_privately, slack_actor
from listeners.recap import request_postmortem
from views import modals
from views.ids import Action

#: What a button does once its incident is loaded; returns the reply for the user who clicked, if any.
Act = Callable[[Session, Incident, Actor, str | None], str | None]


def register(app: App, services: Services) -> None:
    buttons = Buttons(services)
    app.action(Action.UPDATE.value)(buttons.update)
    app.action(Action.KEY_EVENTS.value)(buttons.key_events)
    app.action(Action.POSTMORTEM.value)(buttons.postmortem)
    app.action(Action.CLOSE.value)(buttons.close)


class Buttons:
    """Each click is acked at once; a refusal or an answer goes back to whoever clicked, privately.

    Replies use the click's response_url rather than chat.postEphemeral: Slack refuses an ephemeral
    to someone who is not in the channel, which is exactly who a refusal is usually for. Membership
    is always asked of Slack here: anyone can see (and click in) a public channel they never joined.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def _run(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient, act: Act) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")

        def work() -> str | None:
            with self.services.uow.session() as session:
                incident = incidents.get(session, int(body["actions"][0]["value"]))
                return act(session, incident, slack_actor(client, user, from_channel=None), channel)

        answer_privately(respond, work, user=user, where=channel)

    def update(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
            check_can_update(incident, actor)
            view = modals.update_modal(incident, channel_id=channel)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, respond, body, client, act)

    def key_events(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
            check_can_update(incident, actor)
            events = incidents.key_events(session, incident.id)
            view = modals.key_events_modal(incident, events, channel_id=channel)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, respond, body, client, act)

    def postmortem(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> str:
            return request_postmortem(session, incident, actor, self.services.policy)

        self._run(ack, respond, body, client, act)

    def close(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
            check_can_close(incident, actor, policy=self.services.policy)
            blockers = incidents.close_refusals(session, incident, self.services.policy)
            view = modals.close_modal(incident, blockers, channel_id=channel)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, respond, body, client, act)

"""The incident buttons (the announcement's Update, Key events, Post-mortem, Close, also found on reminders
and the Home tab), and the reminders' snoozes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents, reminders
from bot.models import Incident, utcnow
from bot.rules import Actor, check_can_close, check_can_update
from listeners.common import Services, answer_privately, slack_actor
from listeners.recap import request_postmortem
from views import followups as followup_views
from views import modals
from views.ids import Action
from views.reminders import SNOOZES

#: What a button does once its incident is loaded; returns the reply for the user who clicked, if any.
Act = Callable[[Session, Incident, Actor, str | None], str | None]
#: The incident a click is about, from the clicked button's value.
Load = Callable[[Session, str], Incident]


def _incident_of(session: Session, value: str) -> Incident:
    return incidents.get(session, int(value))


def _incident_of_reminder(session: Session, value: str) -> Incident:
    return incidents.get(session, reminders.get(session, int(value)).incident_id)


def register(app: App, services: Services) -> None:
    buttons = Buttons(services)
    app.action(Action.UPDATE.value)(buttons.update)
    app.action(Action.KEY_EVENTS.value)(buttons.key_events)
    app.action(Action.POSTMORTEM.value)(buttons.postmortem)
    app.action(Action.CLOSE.value)(buttons.close)
    app.action(Action.FOLLOWUP.value)(buttons.followup)
    app.action(Action.DECLARE.value)(buttons.declare)
    for action, _label, seconds in SNOOZES:
        app.action(action.value)(buttons.snooze(seconds))


class Buttons:
    """Each click is acked at once; a refusal or an answer goes back to whoever clicked, privately.

    Replies use the click's response_url rather than chat.postEphemeral: Slack refuses an ephemeral
    to someone who is not in the channel, which is exactly who a refusal is usually for. A click in the
    Home tab has no response_url: its reply goes by DM. Membership is always asked of Slack here:
    anyone can see (and click in) a public channel they never joined.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def _run(
        self,
        ack: Ack,
        respond: Respond,
        body: dict[str, Any],
        client: WebClient,
        act: Act,
        load: Load = _incident_of,
    ) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")

        def work() -> str | None:
            with self.services.uow.session() as session:
                incident = load(session, body["actions"][0]["value"])
                return act(session, incident, slack_actor(client, user, from_channel=None), channel)

        # A click in the Home tab comes without a response_url: the answer goes by DM then.
        dm = (
            None
            if body.get("response_url")
            else (lambda text: client.chat_postMessage(channel=user, text=text))
        )
        answer_privately(respond, work, user=user, where=channel, dm=dm)

    def update(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
            check_can_update(incident, actor)
            view = modals.update_modal(incident, channel_id=channel)
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, respond, body, client, act)

    def followup(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
            check_can_update(incident, actor)
            view = followup_views.followup_modal(incident, channel_id=channel)
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

    def declare(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """The Home tab's Declare button: the same modal as `/incident open`."""
        ack()
        policy = self.services.policy
        view = modals.declare_modal(teams=list(policy.teams), categories=list(policy.categories))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def snooze(self, seconds: int) -> Callable[..., None]:
        """A snooze button: silences the incident's update reminders; its message then says so."""

        def listener(ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
            def act(session: Session, incident: Incident, actor: Actor, channel: str | None) -> None:
                reminder_id = int(body["actions"][0]["value"])
                reminders.snooze(
                    session=session, reminder_id=reminder_id, actor=actor, seconds=seconds, now=utcnow()
                )
                session.commit()

            self._run(ack, respond, body, client, act, load=_incident_of_reminder)

        return listener

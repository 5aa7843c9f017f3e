"""Message shortcuts: Send to Jira, Add to timeline, Create follow-up.

Ack first, then one use case, then a private answer (or the follow-up modal).

Answers go through the shortcut's response_url (an ephemeral for whoever ran it), as the buttons' do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import conversation, incidents, timeline
from bot.conversation import SlackMessage, check_person_message, message_of
from bot.models import Incident
from bot.rules import Actor, check_can_update
from listeners.common import Services, answer_privately, slack_actor
from views import conversation as says
from views import followups as followup_views
from views.ids import Shortcut

#: What a shortcut does with its incident and message; returns the answer for the person.
Act = Callable[[Session, Incident, Actor, SlackMessage], str | None]


def register(app: App, services: Services) -> None:
    shortcuts = MessageShortcuts(services)
    app.message_shortcut(Shortcut.SEND_TO_JIRA.value)(shortcuts.send_to_jira)
    app.message_shortcut(Shortcut.ADD_TO_TIMELINE.value)(shortcuts.add_to_timeline)
    app.message_shortcut(Shortcut.CREATE_FOLLOWUP.value)(shortcuts.create_followup)


class MessageShortcuts:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _run(
        self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient, what: str, act: Act
    ) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")

        def work() -> str | None:
            with self.services.uow.session() as session:
                incident = incidents.for_channel(session, channel) if channel else None
                if incident is None:
                    return says.NOT_AN_INCIDENT_CHANNEL.format(what=what)
                message = message_of(channel, body.get("message") or {})
                return act(session, incident, slack_actor(client, user, from_channel=None), message)

        answer_privately(respond, work, user=user, where=channel)

    def send_to_jira(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, message: SlackMessage) -> str:
            if not self.services.jira_enabled:
                return says.JIRA_OFF
            try:
                request, new = conversation.send_to_jira(
                    session=session, incident_id=incident.id, actor=actor, message=message
                )
                session.commit()
            except IntegrityError:  # the same message sent twice at once: the other request won
                session.rollback()
                return says.already_sent(None)
            if not new:
                return says.already_sent(request.jira_comment_url)
            ticket = incidents.ticket(session, incident.id)
            return says.sending_to_jira(ticket.key if ticket else None)

        self._run(ack, respond, body, client, "Send to Jira", act)

    def create_followup(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        """Open the Add a follow-up modal with the message's text as its description."""

        def act(session: Session, incident: Incident, actor: Actor, message: SlackMessage) -> None:
            check_can_update(incident, actor)
            view = followup_views.followup_modal(
                incident, description=message.text, channel_id=message.channel_id
            )
            client.views_open(trigger_id=body["trigger_id"], view=view)

        self._run(ack, respond, body, client, "Create follow-up", act)

    def add_to_timeline(self, ack: Ack, respond: Respond, body: dict[str, Any], client: WebClient) -> None:
        def act(session: Session, incident: Incident, actor: Actor, message: SlackMessage) -> str | None:
            check_person_message(message, what="added to the timeline")
            existing = timeline.request_note(
                session=session,
                incident_id=incident.id,
                actor=actor,
                channel_id=message.channel_id,
                ts=message.ts,
                thread_ts=message.thread_ts,
            )
            if existing is not None:
                return says.already_on_timeline(existing.permalink)
            session.commit()
            return None  # the bot answers in the message's thread

        self._run(ack, respond, body, client, "Add to timeline", act)

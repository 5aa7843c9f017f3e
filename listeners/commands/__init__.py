"""`/incident` and its subcommands: ack (or open the modal) first, then do the little that is left."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import followups, incidents, timeline
from bot.errors import BotError
from bot.models import Incident
from bot.rules import Actor, check_can_close, check_can_update
from listeners.common import Services, resolve, slack_actor, unexpected
from listeners.recap import recap, request_postmortem
from views import conversation, messages, modals
from views import followups as followup_views
from views.ids import COMMAND

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    commands = IncidentCommand(services)
    app.command(COMMAND)(commands.handle)


class Reply:
    """Acks once; whatever is said after the ack goes to the user through the command's response_url.

    A subcommand acks before its slow part (opening a modal), so an error there can no longer ride on
    the ack: without this it would be lost and the user would see nothing.
    """

    def __init__(self, ack: Ack, respond: Respond) -> None:
        self._ack = ack
        self._respond = respond
        self.acked = False

    def __call__(self, text: str | None = None) -> None:
        if not self.acked:
            self.acked = True
            if text:
                self._ack(text=text)
            else:
                self._ack()
        elif text:
            try:
                self._respond(text=text)
            except Exception:
                logger.exception("could not send a reply to a slash command after its ack")


class IncidentCommand:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.subcommands: dict[str, Callable[..., None]] = {
            "open": self.open,
            "declare": self.open,
            "update": self.update,
            "keyevents": self.key_events,
            "status": self.status,
            "postmortem": self.postmortem,
            "close": self.close,
            "list": self.list,
            "timeline": self.timeline,
            "followup": self.followup,
            "followups": self.followups,
        }

    def handle(self, ack: Ack, respond: Respond, command: dict[str, Any], client: WebClient) -> None:
        words = (command.get("text") or "").strip().split(maxsplit=1)
        name = words[0].lower() if words else "help"
        argument = words[1].strip() if len(words) > 1 else ""
        reply = Reply(ack, respond)
        if name == "help":
            reply(messages.HELP)
            return
        handler = self.subcommands.get(name)
        if handler is None:
            reply(messages.unknown_command(command.get("text", "")))
            return
        try:
            with self.services.uow.session() as session:
                handler(ack=reply, command=command, client=client, session=session, argument=argument)
        except BotError as exc:
            reply(str(exc))
        except Exception as exc:
            reply(unexpected(exc))

    def open(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        policy = self.services.policy
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.declare_modal(
                title=argument,
                teams=list(policy.teams),
                categories=list(policy.categories),
                channel_id=command.get("channel_id"),
            ),
        )

    def _updatable(self, command: dict, client: WebClient, session: Session, argument: str) -> Incident:
        """The incident the command is about, if this user may update it (else NotAllowed says who may)."""
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        check_can_update(incident, _actor(command, client))
        return incident

    def update(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = self._updatable(command, client, session, argument)
        ack()
        _open(client, command, modals.update_modal(incident, channel_id=command.get("channel_id")))

    def key_events(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = self._updatable(command, client, session, argument)
        ack()
        events = incidents.key_events(session, incident.id)
        _open(
            client, command, modals.key_events_modal(incident, events, channel_id=command.get("channel_id"))
        )

    def followup(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = self._updatable(command, client, session, argument)
        ack()
        _open(client, command, followup_views.followup_modal(incident, channel_id=command.get("channel_id")))

    def followups(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        ack(followup_views.listing(incident, followups.of_incident(session, incident.id)))

    def close(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        check_can_close(incident, _actor(command, client), policy=self.services.policy)
        blockers = incidents.close_refusals(session, incident, self.services.policy)
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.close_modal(incident, blockers, channel_id=command.get("channel_id")),
        )

    def status(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        ack(recap(session, incident))

    def postmortem(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        ack(request_postmortem(session, incident, _actor(command, client), self.services.policy))

    def timeline(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        rows = timeline.entries(
            incident,
            incidents.history(session, incident.id),
            incidents.key_events(session, incident.id),
            timeline.notes(session, incident.id),
        )
        ack(conversation.timeline(incident, rows))

    def list(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        rows = [(i, incidents.ticket(session, i.id)) for i in incidents.open_incidents(session)[:30]]
        ack(messages.incident_list(rows))


def _open(client: WebClient, command: dict[str, Any], view: dict[str, Any]) -> None:
    client.views_open(trigger_id=command["trigger_id"], view=view)


def _actor(command: dict[str, Any], client: WebClient) -> Actor:
    """A command typed in a channel proves membership of that channel (only members can post there)."""
    return slack_actor(client, command["user_id"], from_channel=command.get("channel_id"))

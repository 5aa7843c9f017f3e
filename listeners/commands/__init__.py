"""`/incident` and its subcommands: ack (or open the modal) first, then do the little that is left."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents
from bot.errors import BotError
from bot.models import Incident
from bot.rules import check_can_close
from listeners.common import ensure_can_update, resolve, unexpected
from listeners.recap import recap, request_postmortem
from views import messages, modals
from views.ids import COMMAND

if TYPE_CHECKING:
    from bot.app import Runtime

logger = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    commands = IncidentCommand(runtime)
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
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.subcommands: dict[str, Callable[..., None]] = {
            "open": self.open,
            "declare": self.open,
            "update": self.update,
            "keyevents": self.key_events,
            "status": self.status,
            "postmortem": self.postmortem,
            "close": self.close,
            "list": self.list,
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
            with Session(self.runtime.engine, expire_on_commit=False) as session:
                handler(ack=reply, command=command, client=client, session=session, argument=argument)
        except BotError as exc:
            reply(str(exc))
        except Exception as exc:
            reply(unexpected(exc))

    def open(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        settings = self.runtime.settings
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.declare_modal(
                title=argument,
                teams=list(settings.teams),
                categories=settings.categories,
                channel_id=command.get("channel_id"),
            ),
        )

    def _updatable(self, command: dict, client: WebClient, session: Session, argument: str) -> Incident:
        """The incident the command is about, if this user may update it (else NotAllowed says who may)."""
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        user = command["user_id"]
        ensure_can_update(client, incident, user, from_channel=command.get("channel_id"))
        return incident

    def update(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = self._updatable(command, client, session, argument)
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.update_modal(incident, channel_id=command.get("channel_id")),
        )

    def key_events(
        self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = self._updatable(command, client, session, argument)
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.key_events_modal(
                incident, incidents.key_events(session, incident.id), channel_id=command.get("channel_id")
            ),
        )

    def close(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        check_can_close(incident, command["user_id"], policy=self.runtime.policy)
        blockers = incidents.close_refusals(session, incident, self.runtime.policy)
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
        ack(request_postmortem(self.runtime, session, incident, command["user_id"]))

    def list(self, *, ack: Reply, command: dict, client: WebClient, session: Session, argument: str) -> None:
        rows = [(i, incidents.ticket(session, i.id)) for i in incidents.open_incidents(session)[:30]]
        ack(messages.incident_list(rows))

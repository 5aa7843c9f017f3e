"""`/incident` and its subcommands: ack (or open the modal) first, then do the little that is left."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents
from bot.errors import BotError
from bot.rules import check_can_close, check_can_update
from listeners.common import is_member, resolve, unexpected
from views import messages, modals
from views.ids import COMMAND

if TYPE_CHECKING:
    from bot.app import Runtime


def register(app: App, runtime: Runtime) -> None:
    commands = IncidentCommand(runtime)
    app.command(COMMAND)(commands.handle)


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

    def handle(self, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        words = (command.get("text") or "").strip().split(maxsplit=1)
        name = words[0].lower() if words else "help"
        argument = words[1].strip() if len(words) > 1 else ""
        if name == "help":
            ack(text=messages.HELP)
            return
        handler = self.subcommands.get(name)
        if handler is None:
            ack(text=messages.unknown_command(command.get("text", "")))
            return
        try:
            with Session(self.runtime.engine, expire_on_commit=False) as session:
                handler(ack=ack, command=command, client=client, session=session, argument=argument)
        except BotError as exc:
            ack(text=str(exc))
        except Exception as exc:
            ack(text=unexpected(exc))

    def open(self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str) -> None:
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

    def update(self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        user = command["user_id"]
        check_can_update(
            incident,
            user,
            is_channel_member=is_member(client, incident, user, from_channel=command.get("channel_id")),
        )
        ack()
        client.views_open(trigger_id=command["trigger_id"], view=modals.update_modal(incident))

    def key_events(
        self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        user = command["user_id"]
        check_can_update(
            incident,
            user,
            is_channel_member=is_member(client, incident, user, from_channel=command.get("channel_id")),
        )
        ack()
        client.views_open(
            trigger_id=command["trigger_id"],
            view=modals.key_events_modal(incident, incidents.key_events(session, incident.id)),
        )

    def close(self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str) -> None:
        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        check_can_close(incident, command["user_id"], policy=self.runtime.policy)
        ack()
        blockers = incidents.close_refusals(session, incident, self.runtime.policy)
        client.views_open(trigger_id=command["trigger_id"], view=modals.close_modal(incident, blockers))

    def status(self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str) -> None:
        from listeners.recap import recap

        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        ack(text=recap(self.runtime, session, incident))

    def postmortem(
        self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str
    ) -> None:
        from listeners.recap import request_postmortem

        incident = resolve(session, channel_id=command.get("channel_id"), reference=argument)
        ack(text=request_postmortem(self.runtime, session, incident, command["user_id"]))

    def list(self, *, ack: Ack, command: dict, client: WebClient, session: Session, argument: str) -> None:
        rows = [(i, incidents.ticket(session, i.id)) for i in incidents.open_incidents(session)[:30]]
        ack(text=messages.incident_list(rows))

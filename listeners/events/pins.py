"""Reactions in incident channels: a 📌 adds the message to the timeline; taking the last one off removes it.

Events are acked by Bolt before the listener runs. A 📌 elsewhere, or any other emoji, is not the bot's
business. A person who may not update the incident is told so privately.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import incidents, timeline
from bot.errors import BotError
from listeners.common import Services, slack_actor, unexpected
from views import conversation as says
from views.ids import Reaction

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    reactions = Pins(services)
    app.event("reaction_added")(reactions.added)
    app.event("reaction_removed")(reactions.removed)


class Pins:
    def __init__(self, services: Services) -> None:
        self.services = services

    def added(self, event: dict[str, Any], client: WebClient) -> None:
        self._handle(event, client, removed=False)

    def removed(self, event: dict[str, Any], client: WebClient) -> None:
        self._handle(event, client, removed=True)

    def _handle(self, event: dict[str, Any], client: WebClient, *, removed: bool) -> None:
        item = event.get("item") or {}
        channel, ts, user = item.get("channel"), item.get("ts"), event.get("user")
        if (
            event.get("reaction") != Reaction.PIN
            or item.get("type") != "message"
            or not (channel and ts and user)
        ):
            return
        try:
            with self.services.uow.session() as session:
                incident = incidents.for_channel(session, channel)
                if incident is None:
                    return
                # Only the channel's members can react in it: the reaction proves membership.
                actor = slack_actor(client, user, from_channel=channel)
                if removed:
                    timeline.request_removal(
                        session=session, incident_id=incident.id, actor=actor, channel_id=channel, ts=ts
                    )
                elif timeline.request_note(
                    session=session, incident_id=incident.id, actor=actor, channel_id=channel, ts=ts
                ):
                    return  # already a note: more pins add nothing
                session.commit()
        except BotError as exc:
            self._tell(client, channel, user, str(exc))
        except Exception as exc:
            self._tell(client, channel, user, unexpected(exc))

    def _tell(self, client: WebClient, channel: str, user: str, text: str) -> None:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=says.unreadable(text))
        except (SlackApiError, SlackClientError, OSError):
            logger.warning("could not tell %s in %s why their pin was not taken", user, channel)

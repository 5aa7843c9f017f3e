"""Setting up a P1–P3 incident channel: create, topic, invite, announce and pin, then "channel done".

Each step can run again after a failure: an existing channel or announcement is reused (a channel
this job made before it could record it too, found among the bot's channels by name, creator and age),
and Slack's `already_in_channel` / `already_pinned` answers count as success. The channel-done step
(announcement recorded, notice and Jira ticket jobs enqueued) is one commit, made as soon as the
announcement is posted, so a retry (say, of a failed pin) never posts a second announcement; the pin is
then made on every run, and the notice waits for it because it queues behind this job in the incident's
lane.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from sqlmodel import Session

from bot import incidents
from bot.enums import Lane
from bot.jobs import PermanentFailure, enqueue
from bot.models import Incident, Job
from sync.context import SyncContext, load
from sync.outbox import Kind, post_later
from sync.slack_api import slack_call
from views import messages
from views.announcement import announcement, topic

logger = logging.getLogger(__name__)

MAX_NAME = 80
TOLERATED_INVITE_ERRORS = frozenset(
    {"already_in_channel", "cant_invite_self", "user_not_found", "cant_invite", "is_archived"}
)


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")


def channel_name(incident: Incident, attempt: int = 1) -> str:
    """`inc-YYYYMMDD-<id>-<slug>`, lower case, at most 80 chars; `-<n>` appended on later attempts."""
    prefix = f"inc-{incident.declared_at:%Y%m%d}-{incident.id}"
    suffix = f"-{attempt}" if attempt > 1 else ""
    slug = slugify(incident.title)[: MAX_NAME - len(prefix) - len(suffix) - 1].strip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"


class ChannelSetup:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def __call__(self, job: Job) -> None:
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incident.channel_id is None:
                self._create(session, incident)
            self._topic_and_members(session, incident)
            if incident.announcement_ts is None:
                self._announce(session, incident)
        with slack_call("pins.add", tolerate={"already_pinned"}):
            self.ctx.slack.pins_add(channel=incident.channel_id, timestamp=incident.announcement_ts)

    def _create(self, session: Session, incident: Incident) -> None:
        earlier: dict[str, dict[str, Any]] | None = None  # read at the first name_taken only
        for attempt in range(1, 21):
            name = channel_name(incident, attempt)
            with slack_call("conversations.create", tolerate={"name_taken"}) as outcome:
                channel = self.ctx.slack.conversations_create(name=name, is_private=False)["channel"]
            if outcome.tolerated:
                if earlier is None:
                    earlier = self._made_by_an_earlier_run(incident)
                channel = earlier.get(name)
                if channel is None:
                    continue
            incident.channel_id, incident.channel_name = channel["id"], channel["name"]
            session.add(incident)
            session.commit()
            return
        raise RuntimeError(f"no free channel name for incident {incident.id} after 20 attempts")

    def _made_by_an_earlier_run(self, incident: Incident) -> dict[str, dict[str, Any]]:
        """Channels, by name, that this job may have made and not recorded (killed between
        conversations.create and the commit): made by the bot after the incident was declared. They are
        among the bot's own channels (a creator is a member), which `users.conversations` lists without
        paging through the whole workspace. If Slack will not say, there are none: the next name is used."""
        bot_user = self.ctx.slack_identity().get("user_id")
        since = incident.declared_at.timestamp() - 60
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        try:
            while True:
                with slack_call("users.conversations"):
                    page = self.ctx.slack.users_conversations(
                        types="public_channel", exclude_archived=True, limit=1000, cursor=cursor
                    )
                for channel in page.get("channels") or []:
                    if channel.get("creator") == bot_user and float(channel.get("created") or 0) >= since:
                        found[channel.get("name")] = channel
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    return found
        except PermanentFailure as exc:
            logger.warning("could not list the bot's channels to find unrecorded ones: %s", exc)
            return {}

    def _topic_and_members(self, session: Session, incident: Incident) -> None:
        link = incidents.ticket(session, incident.id)
        with slack_call("conversations.setTopic"):
            self.ctx.slack.conversations_setTopic(
                channel=incident.channel_id, topic=topic(incident, ticket=link)
            )
        responders = self.ctx.settings.responders_by_priority.get(incident.priority, [])
        users = list(dict.fromkeys([incident.reporter_id, incident.commander_id, *responders]))
        for user in users:
            with slack_call("conversations.invite", tolerate=TOLERATED_INVITE_ERRORS) as outcome:
                self.ctx.slack.conversations_invite(channel=incident.channel_id, users=user)
            if outcome.tolerated:
                logger.info("invite of %s to %s skipped: %s", user, incident.channel_id, outcome.tolerated)

    def _announce(self, session: Session, incident: Incident) -> None:
        text, blocks = announcement(
            incident,
            ticket=incidents.ticket(session, incident.id),
            postmortem=incidents.postmortem(session, incident.id),
            jira_enabled=self.ctx.jira is not None,
        )
        with slack_call("chat.postMessage"):
            ts = self.ctx.slack.chat_postMessage(channel=incident.channel_id, text=text, blocks=blocks)["ts"]
        incident.announcement_ts = ts
        session.add(incident)
        if self.ctx.settings.slack_announcements_channel:
            post_later(
                session,
                incident,
                messages.announcements_declared(incident),
                channel=self.ctx.settings.slack_announcements_channel,
            )
        if self.ctx.jira is not None:
            enqueue(session, Kind.CREATE_TICKET, lane=Lane.JIRA, incident_id=incident.id)
        session.commit()

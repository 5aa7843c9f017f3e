"""Slack messages → Jira comments and timeline notes: the jobs that read the channel and write Jira.

- `jira.send_comment` (Jira lane, so it waits in order while Jira is down): the comment
  `<name> in #<channel> at <time>:`, the message (Slack mrkdwn as Jira wiki markup) and its permalink,
  internal on a Service Management project. The permalink is the comment's marker: a retry first looks
  for a comment of the bot's carrying it, so a lost reply never makes a second comment. The comment's id
  commits with the `slack.react` job that puts ✅ on the message.
- `slack.capture_note`: read the message a 📌 (or the shortcut) named, then add the note.
- `slack.check_unpinned`: after a 📌 came off, remove the note when no 📌 is left on the message.

The person's membership was checked when they acted (the listener's use case); the jobs act for them
with that answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot import incidents, timeline
from bot.conversation import message_of
from bot.enums import Lane
from bot.errors import BotError
from bot.jobs import RetryLater, enqueue
from bot.models import Job, SentToJira
from bot.rules import Actor
from bot.workers import HandlerRegistry
from sync.context import SyncContext, load
from sync.directory import Directory
from sync.jira_handlers import JiraHandlers
from sync.jira_lag import LagNotices
from sync.jira_markup import slack_to_jira
from sync.jira_people import person_ids
from sync.outbox import Kind
from sync.postmortem_render import link_text, wiki
from sync.slack_api import slack_call
from views import conversation as says
from views.ids import Reaction

logger = logging.getLogger(__name__)
_UNREADABLE = {"message_not_found", "thread_not_found", "not_in_channel", "channel_not_found"}


def register_notes(registry: HandlerRegistry, ctx: SyncContext) -> None:
    """The Slack jobs of the conversation: reading pinned messages, noticing pins go, reacting."""
    channel = ChannelReader(ctx)
    notes = Notes(ctx, channel)
    registry.register(Kind.CAPTURE_NOTE, notes.capture)
    registry.register(Kind.CHECK_UNPINNED, notes.check_unpinned)
    registry.register(Kind.REACT, channel.react)


def register_send_to_jira(
    registry: HandlerRegistry, ctx: SyncContext, directory: Directory, lag: LagNotices
) -> None:
    """Send to Jira's job (with Jira sync on); it tells the channel when Jira lags."""
    registry.register(Kind.SEND_COMMENT, lag.wrap(SendToJira(ctx, directory, ChannelReader(ctx))))


def acting(user_id: str) -> Actor:
    """The person who asked, whose right to update the incident the listener already checked."""
    return Actor(user_id, in_channel=lambda _incident: True)


class ChannelReader:
    """What the jobs ask Slack about a channel message; `None` where Slack says it is gone or unreadable."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def read(self, channel: str, ts: str, thread_ts: str | None = None) -> dict[str, Any] | None:
        """The message: from the channel's history, else (a thread reply) from its thread."""
        if thread_ts is None:
            with slack_call("conversations.history", tolerate=_UNREADABLE) as outcome:
                page = self.ctx.slack.conversations_history(
                    channel=channel, latest=ts, inclusive=True, limit=1
                )
            if outcome.tolerated:
                return None
            found = next((m for m in page.get("messages") or [] if m.get("ts") == ts), None)
            if found is not None:
                return found
        with slack_call("conversations.replies", tolerate=_UNREADABLE) as outcome:
            page = self.ctx.slack.conversations_replies(
                channel=channel, ts=thread_ts or ts, oldest=ts, inclusive=True, limit=2
            )
        if outcome.tolerated:
            return None
        return next((m for m in page.get("messages") or [] if m.get("ts") == ts), None)

    def permalink(self, channel: str, ts: str) -> str | None:
        with slack_call("chat.getPermalink", tolerate={"message_not_found"}) as outcome:
            link = self.ctx.slack.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        return None if outcome.tolerated else link

    def name(self, user_id: str) -> str:
        """A person's display name (else real name, else handle), as Slack shows them."""
        with slack_call("users.info", tolerate={"user_not_found"}) as outcome:
            user = self.ctx.slack.users_info(user=user_id)["user"]
        if outcome.tolerated:
            return user_id
        profile = user.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or user.get("name") or user_id

    def tell(self, channel: str, user_id: str, text: str) -> None:
        """An ephemeral line to one person; best effort (they may have left the channel)."""
        with slack_call(
            "chat.postEphemeral", tolerate={"user_not_in_channel", "channel_not_found", "is_archived"}
        ):
            self.ctx.slack.chat_postEphemeral(channel=channel, user=user_id, text=text)

    def react(self, job: Job) -> None:
        """Put the payload's reaction on the message (already there, or the message gone: done)."""
        payload = job.payload
        with slack_call("reactions.add", tolerate={"already_reacted", "message_not_found", "is_archived"}):
            self.ctx.slack.reactions_add(
                channel=payload["channel"], timestamp=payload["ts"], name=payload["name"]
            )


class SendToJira(JiraHandlers):
    """The Jira comment of a message sent with the Send to Jira shortcut."""

    def __init__(self, ctx: SyncContext, directory: Directory, channel: ChannelReader) -> None:
        super().__init__(ctx, directory)
        self.channel = channel

    def __call__(self, job: Job) -> None:
        with self.ctx.session() as session:
            request = session.get(SentToJira, job.payload["request_id"])
            if request is None or request.jira_comment_id is not None:
                return
            incident = load(session, request.incident_id)
            ticket = incidents.ticket(session, incident.id)
        if ticket is None:
            raise RetryLater(f"incident {incident.id} has no Jira ticket yet")
        permalink = self.channel.permalink(request.channel_id, request.message_ts)
        if permalink is None:
            self.channel.tell(request.channel_id, request.requested_by, says.message_gone("Jira"))
            logger.info(
                "incident %s: message %s deleted before it reached Jira", incident.id, request.message_ts
            )
            return
        created = self._existing(ticket.key, permalink) if job.attempts > 1 else None
        if created is None:
            body = self._body(request, incident.channel_name or request.channel_id, permalink)
            internal = self.jira.is_service_desk(ticket.key.rsplit("-", 1)[0])
            created = self.jira.add_comment(ticket.key, body, internal=internal)
        url = f"{self.jira.browse_url(ticket.key)}?focusedCommentId={created['id']}"
        with self.ctx.session() as session:
            request = session.get(SentToJira, request.id)
            request.jira_comment_id, request.jira_comment_url = str(created["id"]), url
            session.add(request)
            payload = {"channel": request.channel_id, "ts": request.message_ts, "name": Reaction.SENT}
            enqueue(session, Kind.REACT, lane=Lane.SLACK, incident_id=incident.id, payload=payload)
            session.commit()

    def _body(self, request: SentToJira, channel_name: str, permalink: str) -> str:
        when = datetime.fromtimestamp(float(request.message_ts), UTC).strftime("%Y-%m-%d %H:%M UTC")
        head = wiki(f"{self.channel.name(request.author_id)} in #{channel_name} at {when}:")
        text = slack_to_jira(request.text, name_of=self.channel.name)
        return f"{head}\n{text}\n\n[{link_text('Slack message')}|{permalink}]"

    def _existing(self, key: str, permalink: str) -> dict[str, Any] | None:
        """The comment an earlier attempt made (the bot's, carrying the permalink), if Jira has it."""
        bot = person_ids(self.jira.myself())
        start = 0
        while True:
            page = self.jira.comments(key, start=start)
            values = page.get("comments") or []
            for comment in values:
                mine = bool(bot & person_ids(comment.get("author")))
                if mine and permalink in str(comment.get("body") or ""):
                    return comment
            start += len(values)
            if not values or start >= int(page.get("total") or 0):
                return None


class Notes:
    """Timeline notes from the channel: reading the message, and noticing the last 📌 go."""

    def __init__(self, ctx: SyncContext, channel: ChannelReader) -> None:
        self.ctx = ctx
        self.channel = channel

    def capture(self, job: Job) -> None:
        payload = job.payload
        channel, ts, user = payload["channel"], payload["ts"], payload["user"]
        found = self.channel.read(channel, ts, payload.get("thread_ts"))
        if found is None:
            self.channel.tell(channel, user, says.unreadable("the bot could not read it (deleted?)."))
            return
        message = message_of(channel, found)
        permalink = self.channel.permalink(channel, ts)
        name = self.channel.name(message.author_id) if message.author_id and not message.from_bot else ""
        try:
            with self.ctx.session() as session:
                timeline.add_note(
                    session=session,
                    incident_id=job.incident_id,
                    actor=acting(user),
                    message=message,
                    author_name=name,
                    permalink=permalink,
                )
                session.commit()
        except BotError as exc:
            self.channel.tell(channel, user, says.unreadable(str(exc)))

    def check_unpinned(self, job: Job) -> None:
        payload = job.payload
        with self.ctx.session() as session:
            load(session, job.incident_id)
            if timeline.note_for(session, payload["channel"], payload["ts"]) is None:
                return
        with slack_call("reactions.get", tolerate={"message_not_found"}) as outcome:
            answer = self.ctx.slack.reactions_get(channel=payload["channel"], timestamp=payload["ts"])
        if not outcome.tolerated:
            reactions = (answer.get("message") or {}).get("reactions") or []
            if any(r.get("name") == Reaction.PIN and r.get("count", 0) > 0 for r in reactions):
                return
        with self.ctx.session() as session:
            timeline.remove_note(
                session=session,
                incident_id=job.incident_id,
                actor=acting(payload["user"]),
                channel_id=payload["channel"],
                ts=payload["ts"],
            )
            session.commit()

"""The incident channel's messages as the conversation's use cases see them, and Send to Jira.

A message is taken only when a person wrote it and it still exists: the bot's own lines (which mirror
Jira and the incident) would echo back, and a deleted message has nothing to give. Sending one to Jira
is recorded once per message (a unique row, the second request finds the first) and the comment itself
is made by a job, so it waits in the queue while Jira is down.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot import events, incidents
from bot.errors import MessageRefused
from bot.models import SentToJira
from bot.rules import Actor, check_can_update

#: Message subtypes that are no longer a person's words (deleted, or only a placeholder for a thread).
GONE_SUBTYPES = ("tombstone", "message_deleted")


@dataclass(frozen=True)
class SlackMessage:
    """A channel message as a shortcut or a reaction names it."""

    channel_id: str
    ts: str
    author_id: str | None
    text: str
    thread_ts: str | None = None
    from_bot: bool = False
    deleted: bool = False

    @property
    def thread(self) -> str:
        """Where an answer about this message goes: its thread, or a thread it starts."""
        return self.thread_ts or self.ts


def message_of(channel_id: str, message: dict[str, object]) -> SlackMessage:
    """A Slack message object (from a shortcut payload or `conversations.history`)."""
    subtype = message.get("subtype")
    text = message.get("text")
    thread_ts = message.get("thread_ts")
    author = message.get("user")
    return SlackMessage(
        channel_id=channel_id,
        ts=str(message.get("ts") or ""),
        author_id=author if isinstance(author, str) else None,
        text=text if isinstance(text, str) else "",
        thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts != message.get("ts") else None,
        from_bot=bool(message.get("bot_id")) or subtype == "bot_message",
        deleted=subtype in GONE_SUBTYPES,
    )


def check_person_message(message: SlackMessage, *, what: str) -> None:
    """Refuse, with the reason, a message that is not a person's words (a bot's, a deleted one)."""
    if message.deleted or not message.ts:
        raise MessageRefused(f"That message was deleted, so it cannot be {what}.")
    if message.from_bot or message.author_id is None:
        raise MessageRefused(f"Only people's messages can be {what}; that one was posted by an app.")
    if not message.text.strip():
        raise MessageRefused(f"That message has no text, so it cannot be {what}.")


def sent(session: Session, channel_id: str, ts: str) -> SentToJira | None:
    query = select(SentToJira).where(SentToJira.channel_id == channel_id, SentToJira.message_ts == ts)
    return session.exec(query).first()


def send_to_jira(
    *, session: Session, incident_id: int, actor: Actor, message: SlackMessage
) -> tuple[SentToJira, bool]:
    """Ask for a Jira comment carrying this message; (the request, whether it is new). A message already
    sent (or on its way) is not sent twice: its first request comes back instead."""
    incident = incidents.get(session, incident_id)
    check_can_update(incident, actor)
    check_person_message(message, what="sent to Jira")
    existing = sent(session, message.channel_id, message.ts)
    if existing is not None:
        return existing, False
    request = SentToJira(
        incident_id=incident.id,
        channel_id=message.channel_id,
        message_ts=message.ts,
        author_id=message.author_id or "",
        text=message.text,
        requested_by=actor.user_id or "",
    )
    session.add(request)
    session.flush()
    events.record(session, events.JiraCommentRequested(incident=incident, request=request))
    return request, True

"""Slack jobs after the channel exists: announcement and topic edits, messages, DMs, the final close."""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot import incidents
from bot.models import IncidentUpdate, Job
from sync.context import SyncContext, load
from sync.slack_api import slack_call
from sync.slack_channel import TOLERATED_INVITE_ERRORS as _TOLERATED_INVITE_ERRORS
from views import messages
from views.announcement import announcement, topic

logger = logging.getLogger(__name__)


class SlackUpdates:
    """Handlers for the `slack` lane jobs other than channel set-up."""

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def refresh_announcement(self, job: Job) -> None:
        """Edit the pinned announcement and the topic in place to show the incident as it is now.

        When the commander changed (payload `invite`), the new one is invited too, so that a
        commander named in Slack or from Jira is in the channel they are meant to run.
        """
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            ticket = incidents.ticket(session, incident.id)
            postmortem = incidents.postmortem(session, incident.id)
        if incident.channel_id is None or incident.announcement_ts is None:
            return  # the channel set-up job will post the announcement with the current state
        text, blocks = announcement(
            incident, ticket=ticket, postmortem=postmortem, jira_enabled=self.ctx.jira is not None
        )
        with slack_call("chat.update", tolerate={"is_archived"}) as outcome:
            self.ctx.slack.chat_update(
                channel=incident.channel_id, ts=incident.announcement_ts, text=text, blocks=blocks
            )
        if outcome.tolerated:
            logger.info("incident %s: channel archived, announcement left as it is", incident.id)
            return
        with slack_call("conversations.setTopic", tolerate={"is_archived"}):
            self.ctx.slack.conversations_setTopic(
                channel=incident.channel_id, topic=topic(incident, ticket=ticket)
            )
        if job.payload.get("invite"):
            with slack_call("conversations.invite", tolerate=_TOLERATED_INVITE_ERRORS):
                self.ctx.slack.conversations_invite(channel=incident.channel_id, users=job.payload["invite"])

    def post(self, job: Job) -> None:
        """Post one message: a change summary, a status notice, or a ready text, to a channel."""
        payload = job.payload
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            text = _summary(session, payload["summary_of"]) if "summary_of" in payload else payload["text"]
        channel = payload.get("channel") or incident.channel_id
        if not channel or not text:
            return
        with slack_call("chat.postMessage", tolerate={"is_archived"}) as outcome:
            self.ctx.slack.chat_postMessage(
                channel=channel, text=text, unfurl_links=False, thread_ts=payload.get("thread_ts")
            )
        if outcome.tolerated:
            logger.info("message for incident %s not posted: channel %s is archived", incident.id, channel)

    def announce(self, job: Job) -> None:
        """Post a message about the bot itself (no incident) to the channel it names."""
        with slack_call("chat.postMessage"):
            self.ctx.slack.chat_postMessage(
                channel=job.payload["channel"], text=job.payload["text"], unfurl_links=False
            )

    def notify_reporter(self, job: Job) -> None:
        """P4–P5: tell the reporter by DM where their incident is tracked."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            ticket = incidents.ticket(session, incident.id)
        text = (
            messages.normal_incident_dm(incident, ticket)
            if ticket
            else f"Your P{incident.priority} incident #{incident.id} is recorded (Jira sync is off)."
        )
        with slack_call("chat.postMessage"):
            self.ctx.slack.chat_postMessage(channel=incident.reporter_id, text=text)

    def archive_channel(self, job: Job) -> None:
        """Archive the closed incident's channel (after its final message, queued before this)."""
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
        if incident.channel_id is None:
            return
        with slack_call("conversations.archive", tolerate={"already_archived"}):
            self.ctx.slack.conversations_archive(channel=incident.channel_id)


def _summary(session: Session, update_id: int) -> str | None:
    update = session.get(IncidentUpdate, update_id)
    if update is None:
        return None
    if update.event_type == "key_events":
        return messages.key_events_summary(update.author_id, update.changes)
    return messages.change_summary(update.author_id, update.changes, update.message)

"""Reminders in Slack: the periodic check that decides them, and the jobs that post and edit them.

The check only records reminder rows (once each, whatever the number of replicas checking) and the
events whose jobs send them; the jobs run on the incident's Slack lane. Before posting, a job asks the
rule again (`reminders.still_due`): an incident closed, updated or snoozed since the check gets nothing.
"""

from __future__ import annotations

import logging

from bot import reminders
from bot.enums import ReminderKind
from bot.models import Job, Reminder, utcnow
from bot.reminders import ReminderPolicy
from bot.workers import HandlerRegistry
from sync.context import SyncContext, load
from sync.outbox import Kind
from sync.slack_api import slack_call
from views import reminders as reminder_views

logger = logging.getLogger(__name__)


def register_reminders(registry: HandlerRegistry, ctx: SyncContext, policy: ReminderPolicy) -> ReminderCheck:
    """Register the reminder jobs; returns the check for the scheduler."""
    service = ReminderMessages(ctx, policy)
    registry.register(Kind.SEND_REMINDER, service.send)
    registry.register(Kind.REMINDER_SNOOZED, service.snoozed)
    return ReminderCheck(ctx, policy)


class ReminderCheck:
    """Run every REMINDER_CHECK_SECONDS by each replica: records the reminders due, in one commit."""

    def __init__(self, ctx: SyncContext, policy: ReminderPolicy) -> None:
        self.ctx = ctx
        self.policy = policy

    def run(self) -> int:
        with self.ctx.session() as session:
            made = reminders.record_due(session=session, policy=self.policy, now=utcnow())
            session.commit()
        if made:
            logger.info("reminders decided: %s", ", ".join(f"#{r.incident_id} {r.kind}" for r in made))
        return len(made)


class ReminderMessages:
    def __init__(self, ctx: SyncContext, policy: ReminderPolicy) -> None:
        self.ctx = ctx
        self.policy = policy

    def send(self, job: Job) -> None:
        """Post the reminder (the channel's nudge, or the commander's DM) if it is still due."""
        with self.ctx.session() as session:
            reminder = session.get(Reminder, job.payload["reminder_id"])
            if reminder is None or reminder.message_ts is not None:
                return  # gone, or posted by an earlier attempt of this job
            incident = load(session, reminder.incident_id)
            still = reminders.still_due(session, reminder, policy=self.policy, now=utcnow())
        if still is None:
            logger.info("reminder %s for incident %s not sent: no longer due", reminder.id, incident.id)
            return
        seconds = still.quiet_for.total_seconds()
        if reminder.kind == ReminderKind.UPDATE:
            channel = incident.channel_id
            text, blocks = reminder_views.update_reminder(
                incident, reminder_id=reminder.id, quiet_seconds=seconds
            )
        else:
            channel = incident.commander_id
            text, blocks = reminder_views.postmortem_reminder(incident, mitigated_seconds=seconds)
        with slack_call("chat.postMessage", tolerate={"is_archived"}) as outcome:
            posted = self.ctx.slack.chat_postMessage(channel=channel, text=text, blocks=blocks)
        if outcome.tolerated:
            logger.info("reminder for incident %s not posted: channel %s is archived", incident.id, channel)
            return
        with self.ctx.session() as session:
            reminders.mark_sent(
                session, reminder, channel_id=posted["channel"], message_ts=posted["ts"], now=utcnow()
            )
            session.commit()

    def snoozed(self, job: Job) -> None:
        """Edit the reminder that was snoozed to say until when, and by whom."""
        with self.ctx.session() as session:
            reminder = session.get(Reminder, job.payload["reminder_id"])
        if reminder is None or reminder.message_ts is None or reminder.snoozed_until is None:
            return
        text, blocks = reminder_views.snoozed(reminder.snoozed_until, str(reminder.snoozed_by))
        with slack_call("chat.update", tolerate={"is_archived", "message_not_found"}):
            self.ctx.slack.chat_update(
                channel=reminder.channel_id, ts=reminder.message_ts, text=text, blocks=blocks
            )

"""Domain events → jobs: what Slack and Jira must be told after each committed change.

Subscribers run inside the committing transaction (the unit of work publishes before the COMMIT), so
the jobs commit with the change. This is the one place that decides which job follows which event; the
handlers themselves live beside their client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot.enums import Lane, Source, Status, UpdateKind, is_critical
from bot.events import (
    EventBus,
    FollowUpRequested,
    IncidentDeclared,
    IncidentUpdated,
    JiraCommentRequested,
    KeyEventsUpdated,
    NoteRemovalRequested,
    NoteRequested,
    PostmortemRequested,
    ReminderDue,
    ReminderSnoozed,
    TimelineNoteAdded,
    TimelineNoteRemoved,
)
from bot.jobs import enqueue
from bot.models import Incident, IncidentUpdate
from sync.jira_mapping import Directions
from views import conversation, messages

SHOWN_IN_ANNOUNCEMENT = {"status", "priority", "title", "description", "commander_id"}


class Kind(StrEnum):
    CREATE_CHANNEL = "slack.create_channel"
    REFRESH_ANNOUNCEMENT = "slack.refresh_announcement"
    POST = "slack.post"
    ANNOUNCE = "slack.announce"
    ARCHIVE_CHANNEL = "slack.archive_channel"
    NOTIFY_REPORTER = "slack.notify_reporter"
    BOOKMARK = "slack.bookmark"
    CREATE_TICKET = "jira.create_ticket"
    PUSH_CHANGES = "jira.push_changes"
    REMOTE_LINK = "jira.remote_link"
    APPLY_WEBHOOK = "jira.apply_webhook"
    CREATE_POSTMORTEM = "jira.create_postmortem"
    POSTMORTEM_LINK = "jira.postmortem_link"
    POSTMORTEM_ASSIGN = "jira.postmortem_assign"
    POSTMORTEM_NOTICE = "slack.postmortem_notice"
    POSTMORTEM_PIN = "slack.postmortem_pin"
    UPDATE_TIMELINE = "jira.update_timeline"
    UPDATE_MITIGATION = "jira.update_mitigation"
    SEND_REMINDER = "slack.send_reminder"
    REMINDER_SNOOZED = "slack.reminder_snoozed"
    APPLY_COMMENT = "jira.apply_comment"
    SEND_COMMENT = "jira.send_comment"
    REACT = "slack.react"
    CAPTURE_NOTE = "slack.capture_note"
    CHECK_UNPINNED = "slack.check_unpinned"
    CREATE_FOLLOWUP = "jira.create_followup"
    FOLLOWUP_LINK = "jira.followup_link"
    FOLLOWUP_REFRESH = "jira.followup_refresh"


def post_later(
    session: Session,
    incident: Incident,
    text: str,
    *,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Queue a message for the incident's channel (or `channel`; in a thread with `thread_ts`), in the
    incident's Slack order.

    Nothing is queued when there is nowhere to post (a P4–P5 incident has no channel)."""
    if channel or incident.channel_id:
        payload = {"text": text, **({"channel": channel} if channel else {})}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        enqueue(session, Kind.POST, lane=Lane.SLACK, incident_id=incident.id, payload=payload)


def _reminder_job(session: Session, kind: Kind, event: ReminderDue | ReminderSnoozed) -> None:
    """A reminder's message is posted or edited in the incident's Slack order."""
    enqueue(
        session,
        kind,
        lane=Lane.SLACK,
        incident_id=event.incident.id,
        payload={"reminder_id": event.reminder.id},
    )


def announce_later(session: Session, channel: str, text: str) -> None:
    """Queue a message about the bot itself (no incident) for a channel, e.g. the announcements."""
    enqueue(session, Kind.ANNOUNCE, lane=Lane.SLACK, payload={"channel": channel, "text": text})


class Outbox:
    """Subscribes to the domain events and enqueues the jobs each one implies."""

    def __init__(
        self,
        *,
        jira_enabled: bool,
        announcements_channel: str | None,
        archive_on_close: bool,
        directions: Directions,
    ) -> None:
        self.jira_enabled = jira_enabled
        self.directions = directions
        self.announcements_channel = announcements_channel
        self.archive_on_close = archive_on_close

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(IncidentDeclared, self.declared)
        bus.subscribe(IncidentUpdated, self.updated)
        bus.subscribe(KeyEventsUpdated, self.key_events)
        bus.subscribe(PostmortemRequested, lambda session, event: self.postmortem(session, event.incident))
        bus.subscribe(ReminderDue, lambda session, event: _reminder_job(session, Kind.SEND_REMINDER, event))
        bus.subscribe(
            ReminderSnoozed, lambda session, event: _reminder_job(session, Kind.REMINDER_SNOOZED, event)
        )
        bus.subscribe(JiraCommentRequested, self.jira_comment)
        bus.subscribe(FollowUpRequested, self.followup)
        bus.subscribe(NoteRequested, self.note_requested)
        bus.subscribe(NoteRemovalRequested, self.note_removal)
        bus.subscribe(TimelineNoteAdded, lambda session, event: self.note_changed(session, event, added=True))
        bus.subscribe(
            TimelineNoteRemoved, lambda session, event: self.note_changed(session, event, added=False)
        )

    def declared(self, session: Session, event: IncidentDeclared) -> None:
        incident = event.incident
        if is_critical(incident.priority):
            enqueue(session, Kind.CREATE_CHANNEL, lane=Lane.SLACK, incident_id=incident.id)
        elif self.jira_enabled:
            enqueue(session, Kind.CREATE_TICKET, lane=Lane.JIRA, incident_id=incident.id)
        else:
            enqueue(session, Kind.NOTIFY_REPORTER, lane=Lane.SLACK, incident_id=incident.id)

    def updated(self, session: Session, event: IncidentUpdated) -> None:
        incident, update, source = event.incident, event.update, event.source
        changes: dict[str, Any] = update.changes
        if incident.channel_id:
            self._slack_updates(session, incident, update, source)
        if self.jira_enabled and source is not Source.JIRA:
            synced = {name: change for name, change in changes.items() if name in SHOWN_IN_ANNOUNCEMENT}
            pushed = self.directions.pushed(synced)  # JIRA_SYNC_FIELDS: `both` and `to_jira` only
            if pushed:
                enqueue(
                    session,
                    Kind.PUSH_CHANGES,
                    lane=Lane.JIRA,
                    incident_id=incident.id,
                    payload={"changes": pushed, "update_id": update.id},
                )
        status = update.change("status")
        if status is not None and status.new == Status.POST_MORTEM:
            self.postmortem(session, incident)

    def _slack_updates(
        self, session: Session, incident: Incident, update: IncidentUpdate, source: Source
    ) -> None:
        changes = update.changes
        if source is not Source.JIRA and update.event_type != UpdateKind.CLOSED:  # closes get a final message
            enqueue(
                session,
                Kind.POST,
                lane=Lane.SLACK,
                incident_id=incident.id,
                payload={"summary_of": update.id},
            )
        if SHOWN_IN_ANNOUNCEMENT & set(changes):
            commander = update.change("commander_id")
            enqueue(
                session,
                Kind.REFRESH_ANNOUNCEMENT,
                lane=Lane.SLACK,
                incident_id=incident.id,
                payload={"invite": commander.new} if commander and commander.new else {},
            )
        status = update.change("status")
        if status and is_critical(incident.priority) and self.announcements_channel:
            post_later(
                session,
                incident,
                messages.announcements_status(incident, status.old, status.new),
                channel=self.announcements_channel,
            )
        if status and status.new == Status.CLOSED:
            # Two jobs, so that a retried archive never posts the final message twice.
            post_later(
                session, incident, messages.closed_message(incident, incident.closure_reason, update.message)
            )
            if self.archive_on_close:
                enqueue(session, Kind.ARCHIVE_CHANNEL, lane=Lane.SLACK, incident_id=incident.id)

    def key_events(self, session: Session, event: KeyEventsUpdated) -> None:
        incident = event.incident
        if incident.channel_id:
            enqueue(
                session,
                Kind.POST,
                lane=Lane.SLACK,
                incident_id=incident.id,
                payload={"summary_of": event.update.id},
            )
        if self.jira_enabled:
            enqueue(session, Kind.UPDATE_TIMELINE, lane=Lane.JIRA, incident_id=incident.id)

    def postmortem(self, session: Session, incident: Incident) -> None:
        if self.jira_enabled:
            enqueue(session, Kind.CREATE_POSTMORTEM, lane=Lane.JIRA, incident_id=incident.id)

    # the conversation: Send to Jira and timeline notes --------------------------------------------
    def jira_comment(self, session: Session, event: JiraCommentRequested) -> None:
        if self.jira_enabled:
            payload = {"request_id": event.request.id}
            enqueue(
                session, Kind.SEND_COMMENT, lane=Lane.JIRA, incident_id=event.incident.id, payload=payload
            )

    def followup(self, session: Session, event: FollowUpRequested) -> None:
        if self.jira_enabled:
            payload = {"followup_id": event.followup.id}
            enqueue(
                session, Kind.CREATE_FOLLOWUP, lane=Lane.JIRA, incident_id=event.incident.id, payload=payload
            )

    def note_requested(self, session: Session, event: NoteRequested) -> None:
        """Read the message (a job: Slack calls), then add the note."""
        payload = {"channel": event.channel_id, "ts": event.message_ts, "user": event.user_id}
        if event.thread_ts:
            payload["thread_ts"] = event.thread_ts
        enqueue(session, Kind.CAPTURE_NOTE, lane=Lane.SLACK, incident_id=event.incident.id, payload=payload)

    def note_removal(self, session: Session, event: NoteRemovalRequested) -> None:
        payload = {"channel": event.channel_id, "ts": event.message_ts, "user": event.user_id}
        enqueue(session, Kind.CHECK_UNPINNED, lane=Lane.SLACK, incident_id=event.incident.id, payload=payload)

    def note_changed(
        self, session: Session, event: TimelineNoteAdded | TimelineNoteRemoved, *, added: bool
    ) -> None:
        """Tell the message's thread, and re-render the post-mortem's timeline (if there is one)."""
        text = conversation.ADDED_TO_TIMELINE if added else conversation.REMOVED_FROM_TIMELINE
        post_later(
            session, event.incident, text, channel=event.note.channel_id, thread_ts=event.note.thread_ts
        )
        if self.jira_enabled:
            enqueue(session, Kind.UPDATE_TIMELINE, lane=Lane.JIRA, incident_id=event.incident.id)

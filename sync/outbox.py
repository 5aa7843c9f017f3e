"""Domain events → jobs: what Slack and Jira must be told after each committed change.

Subscribers run inside the domain's transaction, so the jobs commit with the change. This is the one
place that decides which job follows which event; the handlers themselves live beside their client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import Session

from bot import events
from bot.enums import Source, Status, is_critical
from bot.jobs import enqueue
from bot.models import Incident, IncidentUpdate
from views import messages

SLACK, JIRA = "slack", "jira"
SHOWN_IN_ANNOUNCEMENT = {"status", "priority", "title", "description", "commander_id"}


class Kind(StrEnum):
    CREATE_CHANNEL = "slack.create_channel"
    REFRESH_ANNOUNCEMENT = "slack.refresh_announcement"
    POST = "slack.post"
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


def post_later(session: Session, incident: Incident, text: str, *, channel: str | None = None) -> None:
    """Queue a message for the incident's channel (or `channel`), in the incident's Slack order.

    Nothing is queued when there is nowhere to post (a P4–P5 incident has no channel)."""
    if channel or incident.channel_id:
        payload = {"text": text, **({"channel": channel} if channel else {})}
        enqueue(session, Kind.POST, lane=SLACK, incident_id=incident.id, payload=payload)


class Outbox:
    """Subscribes to the domain events and enqueues the jobs each one implies."""

    def __init__(
        self, *, jira_enabled: bool, announcements_channel: str | None, archive_on_close: bool
    ) -> None:
        self.jira_enabled = jira_enabled
        self.announcements_channel = announcements_channel
        self.archive_on_close = archive_on_close

    def connect(self) -> None:
        events.incident_declared.connect(self.declared, weak=False)
        events.incident_updated.connect(self.updated, weak=False)
        events.key_events_updated.connect(self.key_events, weak=False)
        events.postmortem_requested.connect(self.postmortem, weak=False)

    def disconnect(self) -> None:
        events.incident_declared.disconnect(self.declared)
        events.incident_updated.disconnect(self.updated)
        events.key_events_updated.disconnect(self.key_events)
        events.postmortem_requested.disconnect(self.postmortem)

    def declared(self, session: Session, *, incident: Incident, update: IncidentUpdate) -> None:
        if is_critical(incident.priority):
            enqueue(session, Kind.CREATE_CHANNEL, lane=SLACK, incident_id=incident.id)
        elif self.jira_enabled:
            enqueue(session, Kind.CREATE_TICKET, lane=JIRA, incident_id=incident.id)
        else:
            enqueue(session, Kind.NOTIFY_REPORTER, lane=SLACK, incident_id=incident.id)

    def updated(
        self, session: Session, *, incident: Incident, update: IncidentUpdate, source: Source
    ) -> None:
        changes: dict[str, Any] = update.changes
        if incident.channel_id:
            self._slack_updates(session, incident, update, source)
        if self.jira_enabled and source is not Source.JIRA:
            pushed = {name: change for name, change in changes.items() if name in SHOWN_IN_ANNOUNCEMENT}
            if pushed:
                enqueue(
                    session,
                    Kind.PUSH_CHANGES,
                    lane=JIRA,
                    incident_id=incident.id,
                    payload={"changes": pushed, "update_id": update.id},
                )
        if changes.get("status", [None, None])[1] == Status.POST_MORTEM.value:
            self.postmortem(session, incident=incident, actor_id=update.author_id)

    def _slack_updates(
        self, session: Session, incident: Incident, update: IncidentUpdate, source: Source
    ) -> None:
        changes = update.changes
        if source is not Source.JIRA and update.event_type != "closed":  # a close gets its final message
            enqueue(
                session, Kind.POST, lane=SLACK, incident_id=incident.id, payload={"summary_of": update.id}
            )
        if SHOWN_IN_ANNOUNCEMENT & set(changes):
            commander = changes.get("commander_id", [None, None])[1]
            enqueue(
                session,
                Kind.REFRESH_ANNOUNCEMENT,
                lane=SLACK,
                incident_id=incident.id,
                payload={"invite": commander} if commander else {},
            )
        status = changes.get("status")
        if status and is_critical(incident.priority) and self.announcements_channel:
            post_later(
                session,
                incident,
                messages.announcements_status(incident, *status),
                channel=self.announcements_channel,
            )
        if status and status[1] == Status.CLOSED.value:
            # Two jobs, so that a retried archive never posts the final message twice.
            post_later(
                session, incident, messages.closed_message(incident, incident.closure_reason, update.message)
            )
            if self.archive_on_close:
                enqueue(session, Kind.ARCHIVE_CHANNEL, lane=SLACK, incident_id=incident.id)

    def key_events(
        self, session: Session, *, incident: Incident, update: IncidentUpdate, source: Source
    ) -> None:
        if incident.channel_id:
            enqueue(
                session, Kind.POST, lane=SLACK, incident_id=incident.id, payload={"summary_of": update.id}
            )
        if self.jira_enabled:
            enqueue(session, Kind.UPDATE_TIMELINE, lane=JIRA, incident_id=incident.id)

    def postmortem(self, session: Session, *, incident: Incident, actor_id: str | None) -> None:
        if self.jira_enabled:
            enqueue(session, Kind.CREATE_POSTMORTEM, lane=JIRA, incident_id=incident.id)

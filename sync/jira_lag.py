"""Telling the incident channel, once, that Jira is lagging, and once again when it has caught up.

Wraps every Jira job handler: a transient failure marks the incident as lagging (one message), the
last queued Jira job of the incident succeeding clears it (one message), and a change Jira refuses
outright is explained in the channel instead of vanishing into a log.
"""

from __future__ import annotations

import logging

from bot.jobs import PermanentFailure, RetryLater, enqueue, lane_busy
from bot.models import Job
from bot.workers import Handler
from sync.context import SyncContext, load
from sync.outbox import JIRA, SLACK, Kind
from views import messages

logger = logging.getLogger(__name__)


class LagNotices:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def wrap(self, handler: Handler) -> Handler:
        def run(job: Job) -> None:
            try:
                handler(job)
            except RetryLater as exc:
                self._lagging(job, str(exc))
                raise
            except PermanentFailure as exc:
                self._refused(job, str(exc))
                raise
            self._caught_up(job)

        return run

    def _lagging(self, job: Job, error: str) -> None:
        if job.incident_id is None:
            return
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incident.jira_lagging:
                return
            incident.jira_lagging = True
            session.add(incident)
            if incident.channel_id:
                enqueue(
                    session,
                    Kind.POST,
                    lane=SLACK,
                    incident_id=incident.id,
                    payload={"text": messages.jira_lagging(error)},
                )
            session.commit()

    def _caught_up(self, job: Job) -> None:
        if job.incident_id is None:
            return
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if not incident.jira_lagging or lane_busy(session, incident.id, JIRA, besides=job.id):
                return
            incident.jira_lagging = False
            session.add(incident)
            if incident.channel_id:
                enqueue(
                    session,
                    Kind.POST,
                    lane=SLACK,
                    incident_id=incident.id,
                    payload={"text": messages.jira_caught_up()},
                )
            session.commit()

    def _refused(self, job: Job, error: str) -> None:
        if job.incident_id is None:
            return
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incident.channel_id:
                enqueue(
                    session,
                    Kind.POST,
                    lane=SLACK,
                    incident_id=incident.id,
                    payload={
                        "text": f":x: Jira refused a change ({job.kind}): {error[:300]}. "
                        "It is parked; `python -m bot jobs` lists it."
                    },
                )
                session.commit()

"""Telling the incident channel, once, that Jira is lagging, and once again when it has caught up.

Wraps every Jira job handler: a transient failure (other than a short 429) marks the incident as
lagging (one message), the last queued Jira job of the incident succeeding clears it (one message),
and a change Jira refuses outright is explained in the channel instead of vanishing into a log.
"""

from __future__ import annotations

import logging

from bot.enums import Lane
from bot.jobs import PermanentFailure, RetryLater, Throttled, lane_busy
from bot.models import Job
from bot.workers import Handler
from sync.context import SyncContext, load
from sync.jira_client import CredentialsRefused
from sync.outbox import post_later
from views import messages

logger = logging.getLogger(__name__)


def _brief_pause(exc: RetryLater) -> bool:
    """Waiting less than a minute for a 429's Retry-After or a turn of the request budget is pacing, not
    Jira lagging: no notice. (Refused credentials are a lag: the channel hears of them.)"""
    pacing = isinstance(exc, Throttled) and not isinstance(exc, CredentialsRefused)
    return pacing and (exc.retry_after or 0) < 60


class LagNotices:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx

    def wrap(self, handler: Handler) -> Handler:
        def run(job: Job) -> None:
            try:
                handler(job)
            except RetryLater as exc:
                if not _brief_pause(exc):
                    self._lagging(job, str(exc))
                raise
            except PermanentFailure as exc:
                self._refused(job, str(exc))
                raise
            self._caught_up(job)

        return run

    def _lagging(self, job: Job, error: str) -> None:
        self._mark(job, lagging=True, text=messages.jira_lagging(error))

    def _caught_up(self, job: Job) -> None:
        self._mark(job, lagging=False, text=messages.jira_caught_up())

    def _mark(self, job: Job, *, lagging: bool, text: str) -> None:
        """Flip the incident's lagging flag and say so, once per flip (caught up: when the lane is empty)."""
        if job.incident_id is None:
            return
        with self.ctx.session() as session:
            incident = load(session, job.incident_id)
            if incident.jira_lagging == lagging:
                return
            if not lagging and lane_busy(session, incident.id, Lane.JIRA, besides=job.id):
                return
            incident.jira_lagging = lagging
            session.add(incident)
            post_later(session, incident, text)
            session.commit()

    def _refused(self, job: Job, error: str) -> None:
        if job.incident_id is None:
            return
        with self.ctx.session() as session:
            post_later(session, load(session, job.incident_id), messages.jira_refused(job.kind, error))
            session.commit()

"""Jira refusing the bot's credentials (a 401: an expired or revoked API token or PAT).

Every Jira call would fail alike until someone renews the token, so instead of each job spending its
attempts the Jira lane pauses (its jobs stay queued, in order), the announcements channel is told once,
and a periodic check asks Jira (`GET myself`) whether the credentials work again; the first replica to
see them work resumes the lane, which drains in order, and says so once. The pause is a database row, so
every replica, `/metrics` and `doctor` see the same state, and a restart does not forget it.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import lanes
from bot.enums import Lane
from bot.jobs import RetryLater
from bot.metrics import JIRA_CREDENTIALS_REFUSED
from sync.context import SyncContext
from sync.outbox import announce_later
from views import messages

logger = logging.getLogger(__name__)


class CredentialsWatch:
    def __init__(self, ctx: SyncContext) -> None:
        if ctx.jira is None:
            raise ValueError("the credentials watch needs a Jira gateway")
        self.ctx = ctx
        self.jira = ctx.jira

    def refused(self, what: str, refusal: str) -> None:
        """On every refused login (the gateway calls this with how Jira refused, e.g. `HTTP 401`): pause
        the Jira lane and tell the announcements, once."""
        with self.ctx.session() as session:
            if not lanes.pause(session, Lane.JIRA):
                return
            wait = self.ctx.settings.jira_credentials_check_seconds
            text = messages.jira_credentials_refused(what, refusal, wait)
            self._announce(session, text)
            try:
                session.commit()
            except IntegrityError:  # another replica paused it first, and told people
                return
        JIRA_CREDENTIALS_REFUSED.set(1)
        logger.error(
            "Jira refused the bot's credentials (%s on %s): the Jira lane waits until they work again; %s",
            refusal,
            what,
            messages.credentials_fix(refusal),
        )

    def check(self) -> None:
        """Periodic: while the lane is paused, ask Jira whether the credentials work again."""
        with self.ctx.session() as session:
            if lanes.paused_since(session, Lane.JIRA) is None:
                return
        try:
            self.jira.rest("GET", "myself")
        except RetryLater as exc:  # still refused, or Jira unreachable: nothing learnt
            logger.info("Jira credentials still not usable: %s", exc)
            return
        with self.ctx.session() as session:
            waiting = lanes.waiting(session, Lane.JIRA)
            if not lanes.resume(session, Lane.JIRA):
                return  # another replica saw it first
            self._announce(session, messages.jira_credentials_accepted(waiting))
            session.commit()
        JIRA_CREDENTIALS_REFUSED.set(0)
        self.ctx.uow.wakeup.notify()
        logger.warning("Jira accepts the bot's credentials again: %s queued Jira job(s) resume", waiting)

    def refresh_metric(self) -> None:
        """The gauge as every replica sees it (another one may have paused or resumed the lane)."""
        with self.ctx.session() as session:
            JIRA_CREDENTIALS_REFUSED.set(int(lanes.paused_since(session, Lane.JIRA) is not None))

    def _announce(self, session: Session, text: str) -> None:
        channel = self.ctx.settings.slack_announcements_channel
        if channel:
            announce_later(session, channel, text)

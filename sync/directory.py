"""Who is who on both sides: Slack user ↔ e-mail ↔ Jira account, cached on the `User` row.

A lookup that found nothing is cached too (for a day), so an unmapped person costs one search a
day rather than one per change.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.jobs import PermanentFailure
from bot.models import User, utcnow
from sync.context import SyncContext
from sync.slack_api import slack_call

logger = logging.getLogger(__name__)
NEGATIVE_TTL = timedelta(days=1)


class Directory:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self._unknown: dict[str, float] = {}  # Jira accounts with no visible e-mail, until when

    def jira_account(self, slack_id: str) -> str | None:
        """The Jira account of a Slack user, found by e-mail once and then cached."""
        with self.ctx.session() as session:
            user = session.get(User, slack_id) or User(slack_id=slack_id)
            if user.jira_account_id or (
                user.jira_checked_at and utcnow() - user.jira_checked_at < NEGATIVE_TTL
            ):
                return user.jira_account_id
            if not user.email:
                user.email, user.name = self._slack_profile(slack_id)
            if user.email and self.ctx.jira is not None:
                user.jira_account_id = self.ctx.jira.account_for_email(user.email)
            user.jira_checked_at = utcnow()
            account = user.jira_account_id
            session.add(user)
            try:
                session.commit()
            except IntegrityError:  # another worker looked the same person up meanwhile: same answer
                session.rollback()
            if account is None:
                logger.info("no Jira account found for Slack user %s", slack_id)
            return account

    def slack_user(self, account_id: str) -> str | None:
        """The Slack user behind a Jira account, via the account's e-mail."""
        with self.ctx.session() as session:
            known = session.exec(select(User).where(User.jira_account_id == account_id)).first()
            if known is not None:
                return known.slack_id
        if self.ctx.jira is None or self._unknown.get(account_id, 0.0) > time.monotonic():
            return None
        try:
            account = self.ctx.jira.rest("GET", "user", params={"accountId": account_id}) or {}
        except PermanentFailure as exc:  # an account Jira will not show us (404, 403)
            logger.info("Jira account %s not readable: %s", account_id, exc)
            account = {}
        email = account.get("emailAddress")
        if not email:
            self._unknown[account_id] = time.monotonic() + NEGATIVE_TTL.total_seconds()
            return None
        with slack_call("users.lookupByEmail", tolerate={"users_not_found"}) as outcome:
            found = self.ctx.slack.users_lookupByEmail(email=email)["user"]
        if outcome.tolerated:
            return None
        with self.ctx.session() as session:
            user = session.get(User, found["id"]) or User(slack_id=found["id"])
            user.email, user.jira_account_id, user.jira_checked_at = email, account_id, utcnow()
            user.name = found.get("name")
            session.add(user)
            session.commit()
        return found["id"]

    def _slack_profile(self, slack_id: str) -> tuple[str | None, str | None]:
        with slack_call("users.info", tolerate={"user_not_found"}) as outcome:
            found = self.ctx.slack.users_info(user=slack_id)["user"]
        if outcome.tolerated:
            return None, None
        return found.get("profile", {}).get("email"), found.get("name")

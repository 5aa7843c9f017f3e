"""Who is who on both sides: Slack user ↔ e-mail ↔ Jira account, cached on the `User` row.

`JIRA_USER_MAP` comes first, both ways: it is how people whose Jira e-mail is hidden are found. A lookup
that found nothing is cached too (for a day), so an unmapped person costs one search a day rather than
one per change.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.models import Incident, User, utcnow
from sync.context import SyncContext
from sync.outbox import post_later
from sync.slack_api import slack_call
from views import messages

if TYPE_CHECKING:
    from sync.jira_client import JiraGateway

logger = logging.getLogger(__name__)
#: how long an answer about a person is kept: a lookup that found nothing, or Jira's view of an account
LOOKUP_TTL = timedelta(days=1)
#: at most this many of Jira's answers are kept in memory (each only its e-mail and resolved name)
LOOKUPS_KEPT = 10_000
#: how long "told once" lasts for a commander the bot cannot find in Jira (longer than any incident)
UNMATCHED_TOLD_TTL = timedelta(days=90)


class Directory:
    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        #: Jira's answer about an account (its e-mail and, on Data Center, the name a user key resolves
        #: to), by the id asked, with until when it holds
        self._looked_up: dict[str, tuple[float, dict[str, Any]]] = {}
        self._slack_of = dict(ctx.settings.jira_user_map)  # JIRA_USER_MAP: Jira account → Slack user
        self._jira_of = {slack: account for account, slack in reversed(self._slack_of.items())}

    def jira_account(self, slack_id: str) -> str | None:
        """The Jira account of a Slack user: from JIRA_USER_MAP, else found by e-mail once and cached."""
        if mapped := self._jira_of.get(slack_id):
            return mapped
        with self.ctx.session() as session:
            user = session.get(User, slack_id) or User(slack_id=slack_id)
            if user.jira_account_id or (
                user.jira_checked_at and utcnow() - user.jira_checked_at < LOOKUP_TTL
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
        """The Slack user behind a Jira account: from JIRA_USER_MAP or a `User` row, else via the account's
        e-mail. A Data Center changelog gives a user key while the map and the rows hold the name, so
        both are tried, by the id given and by the account Jira resolves it to."""
        if (known := self._known(account_id)) is not None:
            return known
        jira = self.ctx.jira
        if jira is None:
            return None
        account = self._jira_user(jira, account_id)  # {} for an account Jira will not show us
        resolved = jira.account_of(account) or account_id  # a Data Center key: its name
        if resolved != account_id and (known := self._known(resolved)) is not None:
            return known
        email = account.get("emailAddress")
        if not email:
            return None
        with slack_call("users.lookupByEmail", tolerate={"users_not_found"}) as outcome:
            found = self.ctx.slack.users_lookupByEmail(email=email)["user"]
        if outcome.tolerated:
            return None
        with self.ctx.session() as session:
            user = session.get(User, found["id"]) or User(slack_id=found["id"])
            user.email, user.jira_account_id, user.jira_checked_at = email, resolved, utcnow()
            user.name = found.get("name")
            session.add(user)
            session.commit()
        return found["id"]

    def _known(self, account_id: str) -> str | None:
        """The Slack user JIRA_USER_MAP or a `User` row gives this Jira account, without asking anyone."""
        if mapped := self._slack_of.get(account_id):
            return mapped
        with self.ctx.session() as session:
            known = session.exec(select(User).where(User.jira_account_id == account_id)).first()
            return known.slack_id if known is not None else None

    def _jira_user(self, jira: JiraGateway, account_id: str) -> dict[str, Any]:
        """Jira's answer about an account, kept a day by the id asked: people change assignees often,
        their e-mail and name seldom."""
        kept = self._looked_up.get(account_id)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        answer = jira.user(account_id)
        account = {k: answer[k] for k in ("accountId", "name", "key", "emailAddress") if k in answer}
        if len(self._looked_up) >= LOOKUPS_KEPT:
            now = time.monotonic()
            self._looked_up = {k: v for k, v in self._looked_up.items() if v[0] > now}
            if len(self._looked_up) >= LOOKUPS_KEPT:
                self._looked_up.clear()
        self._looked_up[account_id] = (time.monotonic() + LOOKUP_TTL.total_seconds(), account)
        return account

    def report_unmatched(self, incident: Incident, slack_id: str, key: str) -> None:
        """Tell the incident channel that a person has no Jira account the bot can find: once per
        incident and person, however often they become commander again."""
        told = f"sync:told_unmatched:{incident.id}:{slack_id}"
        if not incident.channel_id or not self.ctx.kv.set(
            told, "1", ttl=UNMATCHED_TOLD_TTL.total_seconds(), only_if_absent=True
        ):
            return
        with self.ctx.session() as session:
            post_later(session, incident, messages.jira_user_not_found(slack_id, key))
            session.commit()

    def _slack_profile(self, slack_id: str) -> tuple[str | None, str | None]:
        with slack_call("users.info", tolerate={"user_not_found"}) as outcome:
            found = self.ctx.slack.users_info(user=slack_id)["user"]
        if outcome.tolerated:
            return None, None
        return found.get("profile", {}).get("email"), found.get("name")

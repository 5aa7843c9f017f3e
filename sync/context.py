"""What the job handlers of `sync/` share: the unit of work, the clients, the settings and the store.

Built once by the composition root; each handler takes this (or less) and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.jobs import PermanentFailure
from bot.kv import KeyValueStore
from bot.models import Incident
from bot.rules import Policy
from bot.settings import Settings
from bot.uow import UnitOfWork
from sync.slack_api import slack_call

if TYPE_CHECKING:
    from sync.jira_client import JiraGateway


@dataclass
class SyncContext:
    settings: Settings
    uow: UnitOfWork
    kv: KeyValueStore
    policy: Policy
    slack: WebClient
    jira: JiraGateway | None
    _identity: dict[str, Any] | None = None

    @property
    def engine(self) -> Engine:
        return self.uow.engine

    def slack_identity(self) -> dict[str, Any]:
        """What auth.test says about the bot (workspace URL, bot user id), asked once."""
        if self._identity is None:
            with slack_call("auth.test"):
                self._identity = dict(self.slack.auth_test().data)
        return self._identity

    def channel_url(self, channel_id: str) -> str:
        """The channel's permalink, from the workspace URL."""
        workspace = self.slack_identity().get("url") or "https://slack.com/"
        return f"{workspace.rstrip('/')}/archives/{channel_id}"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.uow.session() as session:
            yield session


def load(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise PermanentFailure(f"incident {incident_id} does not exist")
    return incident

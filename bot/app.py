"""The composition root: builds every part of the bot from the settings and wires them together.

This is the one place where the domain, the Slack app, the Jira gateway, the job handlers and the
HTTP routes meet. `Runtime` is what the runner starts and what the CLI commands use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute

from bot import db
from bot.jobs import Backoff, JobQueue
from bot.kv import KeyValueStore
from bot.metrics import JOB_BACKLOG, JOB_OLDEST_PENDING
from bot.rules import Policy
from bot.settings import Settings
from bot.workers import HandlerRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A scheduled task: a function run every `seconds` by the process's scheduler."""

    name: str
    seconds: float
    run: Callable[[], object]


@dataclass
class Runtime:
    """Everything a running bot (or a CLI command) needs, built once."""

    settings: Settings
    engine: Engine
    kv: KeyValueStore
    queue: JobQueue
    registry: HandlerRegistry
    policy: Policy
    slack: WebClient | None = None
    bolt: App | None = None
    jira: Any = None
    routes: list[BaseRoute] = field(default_factory=list)
    periodic: list[Periodic] = field(default_factory=list)
    reconcile: Callable[[], str] | None = None

    def health(self) -> dict[str, bool]:
        return {"database": _database_ok(self.engine), "redis": self.kv.ping()}

    def refresh_metrics(self) -> None:
        counts, oldest = self.queue.backlog()
        for state in ("pending", "running", "failed"):
            JOB_BACKLOG.labels(state=state).set(counts.get(state, 0))
        JOB_OLDEST_PENDING.set(oldest)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        postmortem_required_for=frozenset(settings.close_requires_postmortem_priorities),
        responders=frozenset(settings.responders_group),
        teams=tuple(settings.teams),
        categories=tuple(settings.categories),
    )


def build_core(settings: Settings) -> Runtime:
    """Database, store and queue: enough for the CLI's offline commands."""
    engine = db.make_engine(settings.database_url)
    queue = JobQueue(
        engine,
        max_attempts=settings.job_max_attempts,
        lease_seconds=settings.job_lease_seconds,
        backoff=Backoff(base=settings.job_backoff_base_seconds, cap=settings.job_backoff_max_seconds),
    )
    return Runtime(
        settings=settings,
        engine=engine,
        kv=KeyValueStore.from_url(settings.redis_url),
        queue=queue,
        registry=HandlerRegistry(),
        policy=policy_from(settings),
    )


def build_runtime(settings: Settings) -> Runtime:
    """The whole bot: core plus Slack app, Jira gateway, job handlers, listeners and routes."""
    import listeners
    import sync
    from sync.jira_client import JiraGateway

    runtime = build_core(settings)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    runtime.slack = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    runtime.bolt = App(
        client=runtime.slack,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )
    if settings.jira_enabled:
        runtime.jira = JiraGateway(settings)
    sync.wire(runtime)
    listeners.register(runtime.bolt, runtime)
    return runtime


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False

"""The composition root: builds every part of the bot from the settings and wires them together.

This is the one place where the domain, the Slack app, the Jira gateway, the job handlers and the
HTTP routes meet. It imports everything; nothing imports it back (but the runner and the CLI, which
are the composition root too). Each consumer is handed the few objects it uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute

import listeners
from bot import db
from bot.budget import RequestBudget
from bot.enums import JobState
from bot.events import EventBus
from bot.jobs import Backoff, JobQueue, Wakeup
from bot.kv import KeyValueStore
from bot.metrics import JOB_BACKLOG, JOB_OLDEST_PENDING
from bot.reminders import ReminderPolicy
from bot.rules import Policy
from bot.settings import Settings
from bot.uow import UnitOfWork
from bot.workers import HandlerRegistry
from listeners.common import Services
from sync.bookmarks import bookmark
from sync.changelog import ChangelogProcessor
from sync.context import SyncContext
from sync.conversation import register_notes, register_send_to_jira
from sync.directory import Directory
from sync.followups import register_followups
from sync.guards import BounceGuard
from sync.jira_auth import CredentialsWatch
from sync.jira_client import JiraGateway
from sync.jira_comments import CommentApplier, CommentFeed, CommentProcessor
from sync.jira_lag import LagNotices
from sync.jira_mapping import JiraMapping
from sync.jira_push import ChangePusher
from sync.jira_ticket import TicketCreation
from sync.outbox import Kind, Outbox
from sync.postmortem import register_postmortem
from sync.reconciler import Reconciler
from sync.reminders import register_reminders
from sync.slack_channel import ChannelSetup
from sync.slack_updates import SlackUpdates
from sync.webhook import WebhookApplier, WebhookIntake

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A scheduled task: a function run every `seconds` by the process's scheduler."""

    name: str
    seconds: float
    run: Callable[[], object]


@dataclass(frozen=True)
class Core:
    """Database, unit of work, store and queue: enough for the CLI's offline commands."""

    settings: Settings
    engine: Engine
    kv: KeyValueStore
    queue: JobQueue
    uow: UnitOfWork
    policy: Policy

    def health(self) -> dict[str, bool]:
        return {"database": _database_ok(self.engine), "redis": self.kv.ping()}

    def refresh_metrics(self) -> None:
        counts, oldest = self.queue.backlog()
        for state in (JobState.PENDING, JobState.RUNNING, JobState.FAILED):
            JOB_BACKLOG.labels(state=state.value).set(counts.get(state, 0))
        JOB_OLDEST_PENDING.set(oldest)


@dataclass(frozen=True)
class Runtime:
    """The whole bot, built once: what the runner starts and what the CLI commands use."""

    core: Core
    sync: SyncContext
    bolt: App
    registry: HandlerRegistry
    routes: tuple[BaseRoute, ...]
    periodic: tuple[Periodic, ...]
    #: one reconciler run, its report as text; None when Jira sync is off
    reconcile: Callable[[], str] | None
    #: gauges read fresh from the shared state on each `/metrics` (beside the job backlog)
    gauges: tuple[Callable[[], None], ...] = ()

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def engine(self) -> Engine:
        return self.core.engine

    @property
    def kv(self) -> KeyValueStore:
        return self.core.kv

    @property
    def queue(self) -> JobQueue:
        return self.core.queue

    @property
    def uow(self) -> UnitOfWork:
        return self.core.uow

    @property
    def policy(self) -> Policy:
        return self.core.policy

    @property
    def slack(self) -> WebClient:
        return self.sync.slack

    @property
    def jira(self) -> JiraGateway | None:
        return self.sync.jira

    def health(self) -> dict[str, bool]:
        return self.core.health()

    def refresh_metrics(self) -> None:
        self.core.refresh_metrics()
        for refresh in self.gauges:
            refresh()


def policy_from(settings: Settings) -> Policy:
    return Policy(
        postmortem_required_for=frozenset(settings.close_requires_postmortem_priorities),
        responders=frozenset(settings.responders_group),
        teams=tuple(settings.teams),
        categories=tuple(settings.categories),
        postmortems_enabled=settings.jira_enabled,
    )


def reminder_policy_from(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        update_seconds=dict(settings.reminder_update_seconds),
        postmortem_seconds=settings.reminder_postmortem_seconds,
        postmortem_priorities=frozenset(settings.close_requires_postmortem_priorities),
        postmortems_enabled=settings.jira_enabled,
    )


def jira_budget(kv: KeyValueStore, settings: Settings) -> RequestBudget:
    """The Jira request budget every replica shares through the store."""
    return RequestBudget(kv, name="jira", per_second=settings.jira_max_requests_per_second)


def build_core(settings: Settings) -> Core:
    """Database, store and queue, with the event bus whose subscribers the full runtime adds."""
    engine = db.make_engine(settings.database_url)
    wakeup = Wakeup()
    queue = JobQueue(
        engine,
        wakeup=wakeup,
        max_attempts=settings.job_max_attempts,
        lease_seconds=settings.job_lease_seconds,
        backoff=Backoff(base=settings.job_backoff_base_seconds, cap=settings.job_backoff_max_seconds),
    )
    return Core(
        settings=settings,
        engine=engine,
        kv=KeyValueStore.from_url(settings.redis_url),
        queue=queue,
        uow=UnitOfWork(engine, bus=EventBus(), wakeup=wakeup),
        policy=policy_from(settings),
    )


def build_runtime(settings: Settings) -> Runtime:
    """The whole bot: core plus Slack app, Jira gateway, job handlers, listeners and routes."""
    core = build_core(settings)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    slack = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    ctx = SyncContext(
        settings=settings,
        uow=core.uow,
        kv=core.kv,
        policy=core.policy,
        slack=slack,
        jira=JiraGateway(settings, budget=jira_budget(core.kv, settings)) if settings.jira_enabled else None,
    )
    mapping = JiraMapping.from_settings(settings)
    Outbox(
        jira_enabled=ctx.jira is not None,
        announcements_channel=settings.slack_announcements_channel,
        archive_on_close=settings.archive_channel_on_close,
        directions=mapping.directions,
    ).subscribe(core.uow.bus)
    registry = HandlerRegistry()
    _register_slack_jobs(registry, ctx)
    routes: list[BaseRoute] = []
    periodic: list[Periodic] = []
    reminders = register_reminders(registry, ctx, reminder_policy_from(settings))
    periodic.append(Periodic("reminders", settings.reminder_check_seconds, reminders.run))
    gauges: list[Callable[[], None]] = []
    reconcile = _wire_jira(registry, ctx, mapping, routes, periodic, gauges) if ctx.jira is not None else None
    bolt = App(client=slack, token_verification_enabled=False, raise_error_for_unhandled_request=False)
    listeners.register(bolt, Services(uow=core.uow, policy=core.policy, jira_enabled=settings.jira_enabled))
    return Runtime(
        core=core,
        sync=ctx,
        bolt=bolt,
        registry=registry,
        routes=tuple(routes),
        periodic=tuple(periodic),
        reconcile=reconcile,
        gauges=tuple(gauges),
    )


def _register_slack_jobs(registry: HandlerRegistry, ctx: SyncContext) -> None:
    slack = SlackUpdates(ctx)
    registry.register(Kind.CREATE_CHANNEL, ChannelSetup(ctx))
    registry.register(Kind.REFRESH_ANNOUNCEMENT, slack.refresh_announcement)
    registry.register(Kind.POST, slack.post)
    registry.register(Kind.ANNOUNCE, slack.announce)
    registry.register(Kind.NOTIFY_REPORTER, slack.notify_reporter)
    registry.register(Kind.ARCHIVE_CHANNEL, slack.archive_channel)
    registry.register(Kind.BOOKMARK, lambda job: bookmark(ctx, job))
    register_notes(registry, ctx)


def _wire_jira(
    registry: HandlerRegistry,
    ctx: SyncContext,
    mapping: JiraMapping,
    routes: list[BaseRoute],
    periodic: list[Periodic],
    gauges: list[Callable[[], None]],
) -> Callable[[], str]:
    """Jira's job handlers, the webhook route, the reconciler and the credentials watch; returns the
    reconciler's one-shot run."""
    credentials = CredentialsWatch(ctx)
    credentials.jira.on_credentials_refused = credentials.refused
    periodic.append(
        Periodic("jira-credentials", ctx.settings.jira_credentials_check_seconds, credentials.check)
    )
    gauges.append(credentials.refresh_metric)
    directory = Directory(ctx)
    guard = BounceGuard(ctx.kv)
    lag = LagNotices(ctx)
    tickets = TicketCreation(ctx, directory, mapping)
    registry.register(Kind.CREATE_TICKET, lag.wrap(tickets.create))
    registry.register(Kind.REMOTE_LINK, lag.wrap(tickets.remote_link))
    registry.register(Kind.PUSH_CHANGES, lag.wrap(ChangePusher(ctx, directory, guard, mapping)))
    register_postmortem(registry, ctx, directory, lag)
    register_send_to_jira(registry, ctx, directory, lag)
    register_followups(registry, ctx, directory, lag)

    processor = ChangelogProcessor(ctx, directory, guard, mapping)
    registry.register(Kind.APPLY_WEBHOOK, WebhookApplier(ctx, processor))
    comments = CommentProcessor(ctx, bot_accounts=lambda: processor.bot_accounts)
    routes.append(WebhookIntake(ctx, own_comment=comments.known_own).route())
    registry.register(Kind.APPLY_COMMENT, CommentApplier(ctx, comments))
    reconciler = Reconciler(ctx, processor, comments=CommentFeed(ctx, comments))
    periodic.append(Periodic("reconciler", ctx.settings.reconcile_interval_seconds, reconciler.run_scheduled))
    return lambda: str(reconciler.run())


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        logger.warning("database health check failed", exc_info=True)
        return False

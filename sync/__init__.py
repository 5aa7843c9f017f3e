"""Keeping Slack and Jira in step with the incident: job handlers, event subscribers, webhook, reconciler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.app import Periodic
from sync.changelog import ChangelogProcessor
from sync.context import SyncContext
from sync.directory import Directory
from sync.guards import BounceGuard
from sync.jira_lag import LagNotices
from sync.jira_push import ChangePusher
from sync.jira_ticket import TicketCreation, bookmark
from sync.outbox import Kind, Outbox
from sync.postmortem import register_postmortem
from sync.reconciler import Reconciler
from sync.slack_channel import ChannelSetup
from sync.slack_updates import SlackUpdates
from sync.webhook import WebhookApplier, WebhookIntake

if TYPE_CHECKING:
    from bot.app import Runtime

_outbox: Outbox | None = None


def wire(runtime: Runtime) -> SyncContext:
    """Register job handlers, domain-event subscribers, HTTP routes and periodic tasks."""
    global _outbox
    assert runtime.slack is not None
    settings = runtime.settings
    ctx = SyncContext(
        settings=settings,
        engine=runtime.engine,
        kv=runtime.kv,
        policy=runtime.policy,
        slack=runtime.slack,
        jira=runtime.jira,
    )
    if _outbox is not None:  # one set of subscribers per process (tests build several runtimes)
        _outbox.disconnect()
    _outbox = Outbox(
        jira_enabled=runtime.jira is not None,
        announcements_channel=settings.slack_announcements_channel,
        archive_on_close=settings.archive_channel_on_close,
    )
    _outbox.connect()

    slack = SlackUpdates(ctx)
    registry = runtime.registry
    registry.register(Kind.CREATE_CHANNEL, ChannelSetup(ctx))
    registry.register(Kind.REFRESH_ANNOUNCEMENT, slack.refresh_announcement)
    registry.register(Kind.POST, slack.post)
    registry.register(Kind.NOTIFY_REPORTER, slack.notify_reporter)
    registry.register(Kind.ARCHIVE_CHANNEL, slack.archive_channel)
    registry.register(Kind.BOOKMARK, lambda job: bookmark(ctx, job))
    if ctx.jira is not None:
        _wire_jira(runtime, ctx)
    return ctx


def _wire_jira(runtime: Runtime, ctx: SyncContext) -> None:
    directory = Directory(ctx)
    guard = BounceGuard(ctx.kv)
    lag = LagNotices(ctx)
    tickets = TicketCreation(ctx, directory)
    registry = runtime.registry
    registry.register(Kind.CREATE_TICKET, lag.wrap(tickets.create))
    registry.register(Kind.REMOTE_LINK, lag.wrap(tickets.remote_link))
    registry.register(Kind.PUSH_CHANGES, lag.wrap(ChangePusher(ctx, directory, guard)))
    register_postmortem(registry, ctx, directory, lag)

    processor = ChangelogProcessor(ctx, directory, guard)
    registry.register(Kind.APPLY_WEBHOOK, WebhookApplier(ctx, processor))
    runtime.routes.append(WebhookIntake(ctx).route())
    reconciler = Reconciler(ctx, processor)
    runtime.periodic.append(
        Periodic("reconciler", ctx.settings.reconcile_interval_seconds, reconciler.run_scheduled)
    )
    runtime.reconcile = lambda: str(reconciler.run())

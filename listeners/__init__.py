"""Inbound Slack: Bolt listeners grouped by kind, each group registering itself."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from listeners import actions, commands, views

if TYPE_CHECKING:
    from bot.app import Runtime

logger = logging.getLogger(__name__)


def register(app: App, runtime: Runtime) -> None:
    """Register every listener group on the app, and the last-resort error handler."""
    commands.register(app, runtime)
    actions.register(app, runtime)
    views.register(app, runtime)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.exception("unhandled error in a Slack listener (type %s)", body.get("type"), exc_info=error)

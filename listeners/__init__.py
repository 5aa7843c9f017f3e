"""Inbound Slack: Bolt listeners grouped by kind, each group registering itself."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from listeners import actions, commands, events, shortcuts, views
from listeners.common import Services

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Register every listener group on the app, and the last-resort error handler."""
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    shortcuts.register(app, services)
    events.register(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.exception("unhandled error in a Slack listener (type %s)", body.get("type"), exc_info=error)

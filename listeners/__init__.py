"""Inbound Slack: Bolt listeners grouped by kind, each group registering itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

if TYPE_CHECKING:
    from bot.app import Runtime


def register(app: App, runtime: Runtime) -> None:
    """Register every listener group on the app."""

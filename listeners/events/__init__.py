"""Slack events: the Home tab opened (`home`), and pins added to or taken off channel messages (`pins`)."""

from __future__ import annotations

from slack_bolt import App

from listeners.common import Services
from listeners.events import home, pins


def register(app: App, services: Services) -> None:
    home.register(app, services)
    pins.register(app, services)

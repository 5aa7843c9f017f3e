"""Slack events: opening the app's Home tab publishes that person's Home view, built afresh each time."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import overview
from bot.models import utcnow
from listeners.common import Services
from views.home import home_view


def register(app: App, services: Services) -> None:
    app.event("app_home_opened")(Home(services).opened)


class Home:
    def __init__(self, services: Services) -> None:
        self.services = services

    def opened(self, event: dict[str, Any], client: WebClient) -> None:
        """Bolt acks events itself; the Messages tab's opening is not ours to answer."""
        if event.get("tab") != "home":
            return
        user = event["user"]
        with self.services.uow.session() as session:
            seen = overview.overview(
                session, user_id=user, now=utcnow(), jira_enabled=self.services.jira_enabled
            )
        client.views_publish(user_id=user, view=home_view(seen))

"""Keeping Slack and Jira in step with the incident: job handlers, event subscribers, webhook, reconciler."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import Runtime


def wire(runtime: Runtime) -> None:
    """Register job handlers, domain-event subscribers, HTTP routes and periodic tasks."""

"""Keeping Slack and Jira in step with the incident: job handlers, event subscribers, webhook, reconciler.

The composition root (`bot.app`) builds these parts and registers them; nothing here imports it.
"""

"""Slack-first incident bot: the domain (incidents, rules, job queue) and the composition root."""

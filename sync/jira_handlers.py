"""The base of the job-handler groups that call Jira."""

from __future__ import annotations

from sync.context import SyncContext
from sync.directory import Directory
from sync.jira_client import JiraGateway


class JiraHandlers:
    """What a group of Jira job handlers holds: the context, its Jira gateway (there whenever Jira
    handlers are registered) and the directory that maps people between Slack and Jira."""

    def __init__(self, ctx: SyncContext, directory: Directory) -> None:
        if ctx.jira is None:
            raise ValueError("Jira handlers need a Jira gateway")
        self.ctx = ctx
        self.jira: JiraGateway = ctx.jira
        self.directory = directory

"""The reconciler: ask Jira what changed since the last run and replay what was not applied.

It is the second door into the same changelog processor as the webhook, so a missed, late or
duplicated delivery all end the same way. One runner at a time across processes (a Redis lock);
the checkpoint moves only after a complete run, and each query reaches back a safety overlap.
The cost grows with the issues Jira reports as updated (pages of results), not with all incidents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.metrics import RECONCILER_RUNS
from bot.models import AppliedChangelog, Checkpoint, utcnow
from sync.changelog import ChangelogProcessor, history_id, linked_ticket
from sync.context import SyncContext

logger = logging.getLogger(__name__)

CHECKPOINT = "reconciler"
OVERLAP = timedelta(minutes=5)
FIRST_LOOK_BACK = timedelta(days=1)


@dataclass
class Report:
    issues_seen: int = 0
    linked: int = 0
    histories_applied: int = 0
    changes: list[str] = field(default_factory=list)
    skipped_lock: bool = False

    def __str__(self) -> str:
        if self.skipped_lock:
            return "reconcile: another process is reconciling; nothing done"
        lines = [
            f"reconcile: {self.issues_seen} updated issue(s), {self.linked} linked to incidents, "
            f"{self.histories_applied} change set(s) applied"
        ]
        lines += [f"  {change}" for change in self.changes]
        return "\n".join(lines)


class Reconciler:
    def __init__(self, ctx: SyncContext, processor: ChangelogProcessor) -> None:
        assert ctx.jira is not None
        self.ctx = ctx
        self.jira = ctx.jira
        self.processor = processor

    def run(self) -> Report:
        """One reconciliation, unless another process holds the lock."""
        interval = self.ctx.settings.reconcile_interval_seconds
        with self.ctx.kv.lock("reconciler", ttl=max(interval, 60)) as held:
            if not held:
                RECONCILER_RUNS.labels(outcome="skipped").inc()
                return Report(skipped_lock=True)
            try:
                report = self._run()
            except Exception:
                RECONCILER_RUNS.labels(outcome="failed").inc()
                raise
        RECONCILER_RUNS.labels(outcome="done").inc()
        logger.info("%s", str(report).splitlines()[0])
        return report

    def run_scheduled(self) -> None:
        """The scheduler's entry: a failed run is logged and retried at the next interval."""
        try:
            self.run()
        except Exception:
            logger.exception("reconciler run failed; the next run will try again")

    def _run(self) -> Report:
        started = utcnow()
        since = self._checkpoint()
        minutes = int((started - since + OVERLAP).total_seconds() // 60) + 1
        settings = self.ctx.settings
        projects = sorted(
            {
                settings.raid_jira_project_key,
                settings.jira_postmortem_project_key,
                *(p for p in settings.teams.values() if p),
            }
        )
        jql = f"project in ({', '.join(projects)}) AND updated >= -{minutes}m ORDER BY updated ASC"
        report = Report()
        token: str | None = None
        while True:
            page = self.jira.search(jql, fields="updated", expand="changelog", page_token=token)
            for issue in page.get("issues", []):
                report.issues_seen += 1
                self._replay(issue, report)
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                break
        self._save_checkpoint(started)
        return report

    def _replay(self, issue: dict[str, Any], report: Report) -> None:
        with self.ctx.session() as session:
            ticket = linked_ticket(session, issue_id=str(issue.get("id")), issue_key=issue.get("key"))
            if ticket is None:
                return
            histories = self._histories(issue)
            ids = [str(h.get("id")) for h in histories]
            done = set(
                session.exec(
                    select(AppliedChangelog.changelog_id).where(col(AppliedChangelog.changelog_id).in_(ids))
                )
            )
        report.linked += 1
        for history in sorted(histories, key=history_id):
            if str(history.get("id")) in done:
                continue
            outcome = self.processor.apply(ticket_id=ticket.id, history=history, door="reconciler")
            if not outcome.duplicate:
                report.histories_applied += 1
                report.changes += [f"{ticket.key} #{history.get('id')}: {c}" for c in outcome.applied]

    def _histories(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        """The issue's changelog; fetched in full when the search truncated it."""
        changelog = issue.get("changelog") or {}
        histories = list(changelog.get("histories") or [])
        total = changelog.get("total", len(histories))
        start = len(histories)
        while start < total:
            page = self.jira.rest(
                "GET", f"issue/{issue['key']}/changelog", params={"startAt": start, "maxResults": 100}
            )
            values = page.get("values") or []
            if not values:
                break
            histories += values
            start += len(values)
        return histories

    def _checkpoint(self) -> datetime:
        with self.ctx.session() as session:
            checkpoint = session.get(Checkpoint, CHECKPOINT)
        return checkpoint.value if checkpoint else utcnow() - FIRST_LOOK_BACK

    def _save_checkpoint(self, value: datetime) -> None:
        with self.ctx.session() as session:
            checkpoint = session.get(Checkpoint, CHECKPOINT) or Checkpoint(name=CHECKPOINT, value=value)
            checkpoint.value = value
            session.add(checkpoint)
            session.commit()

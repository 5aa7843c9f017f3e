"""The reconciler: ask Jira what changed since the last run and replay what was not applied.

It is the second door into the same changelog processor as the webhook, so a missed, late or
duplicated delivery all end the same way. One runner at a time across processes (a Redis lock);
the checkpoint moves only after a complete run (an issue that failed keeps it where it was, for up to
`FAILED_RETRY_WINDOW`, so one broken issue cannot make every later query longer), and each query reaches
back a safety overlap. It searches the projects incident tickets can be in: those of the stored tickets
(one made under an earlier TEAMS setting is still looked after) and the configured ones (where a moved
ticket may have gone), less any Jira does not know, which would make Jira refuse the whole query.
Results are paged in creation order, which an update made while we page cannot shuffle. The cost grows
with the issues Jira reports as updated (pages of results), not with all incidents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from bot.jobs import RetryLater
from bot.metrics import RECONCILER_RUNS
from bot.models import AppliedChangelog, Checkpoint, FollowUp, JiraTicket, utcnow
from sync.changelog import ChangelogProcessor, changelog_key, history_id, linked_ticket
from sync.context import SyncContext
from sync.followups import refresh_followup

if TYPE_CHECKING:
    from sync.jira_comments import CommentFeed

logger = logging.getLogger(__name__)

CHECKPOINT = "reconciler"
SLOT_KEY = "reconciler:interval-slot"
OVERLAP = timedelta(minutes=5)
FIRST_LOOK_BACK = timedelta(days=1)
FAILED_RETRY_WINDOW = timedelta(hours=1)


@dataclass
class Report:
    issues_seen: int = 0
    linked: int = 0
    histories_applied: int = 0  # change sets not seen before (applied, or found to change nothing)
    changes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_lock: bool = False

    def __str__(self) -> str:
        if self.skipped_lock:
            return "reconcile: another process is reconciling; nothing done"
        lines = [
            f"reconcile: {self.issues_seen} updated issue(s), {self.linked} linked to incidents, "
            f"{self.histories_applied} new change set(s), {len(self.changes)} change(s) applied"
        ]
        lines += [f"  applied {change}" for change in self.changes]
        lines += [f"  FAILED {issue} (retried at the next run)" for issue in self.failed]
        return "\n".join(lines)


class Reconciler:
    def __init__(
        self,
        ctx: SyncContext,
        processor: ChangelogProcessor,
        *,
        page_size: int = 100,
        comments: CommentFeed | None = None,
    ) -> None:
        assert ctx.jira is not None
        self.ctx = ctx
        self.jira = ctx.jira
        self.processor = processor
        self.page_size = page_size
        #: the comments' door, fed the comments of the same issues (written or edited in the window)
        self.comments = comments

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
        """The scheduler's entry: one run per interval across all replicas; a failure is logged and
        the next interval tries again. (Every replica schedules the job; the first to take the
        interval's slot runs it, the others skip.)"""
        interval = self.ctx.settings.reconcile_interval_seconds
        if not self.ctx.kv.set(SLOT_KEY, "1", ttl=interval * 0.9, only_if_absent=True):
            RECONCILER_RUNS.labels(outcome="skipped").inc()
            return
        try:
            self.run()
        except Exception:
            logger.exception("reconciler run failed; the next run will try again")

    def _run(self) -> Report:
        started = utcnow()
        since = self._checkpoint()
        projects = self._projects()
        report = Report()
        if not projects:  # no incident has a ticket yet: nothing in Jira can concern us
            self._save_checkpoint(started)
            return report
        window = self.jira.jql_time(since - OVERLAP)
        # Ordered by creation, which never changes: an issue updated while we page cannot shift the
        # pages under us (ORDER BY updated would move it to the end and skip the issue after it).
        jql = f'project in ({", ".join(projects)}) AND updated >= "{window}" ORDER BY created ASC'
        token: str | None = None
        fields = "updated,comment" if self.comments is not None else "updated"
        while True:
            page = self.jira.search(
                jql, fields=fields, expand="changelog", page_token=token, page_size=self.page_size
            )
            for issue in page.get("issues") or []:
                report.issues_seen += 1
                self._replay_safely(issue, report, since - OVERLAP)
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                break
        if not report.failed:
            self._save_checkpoint(started)
            return report
        # Keep the window so the next run replays what failed (the rest is deduplicated), but only for
        # so long: past it, a change to a still-failing issue is left to its next update.
        oldest = started - FAILED_RETRY_WINDOW
        logger.warning(
            "reconcile: %s failed; retried at each run until %s",
            ", ".join(report.failed),
            (max(since, oldest) + FAILED_RETRY_WINDOW).isoformat(timespec="seconds"),
        )
        if since < oldest:
            self._save_checkpoint(oldest)
        return report

    def _projects(self) -> list[str]:
        """Where incident tickets and follow-ups can be (post-mortems are not tickets: their changes map
        to nothing)."""
        with self.ctx.session() as session:
            tickets = session.exec(select(JiraTicket.key).distinct()).all()
            followups = session.exec(select(FollowUp.key).where(col(FollowUp.key).is_not(None))).all()
        keys = [*tickets, *(key for key in followups if key)]
        if not keys:
            return []
        settings = self.ctx.settings
        wanted = {key.rsplit("-", 1)[0] for key in keys if "-" in key}
        wanted |= {settings.raid_jira_project_key, *(key for key in settings.teams.values() if key)}
        known = {key for key in wanted if self.jira.has_project(key)}
        if wanted - known:
            logger.warning(
                "reconcile: Jira has no project %s (or hides it from us); not searched",
                ", ".join(sorted(wanted - known)),
            )
        return sorted(wanted & known)

    def _replay_safely(self, issue: dict[str, Any], report: Report, window: datetime) -> None:
        """One issue's failure (a bug, a refusal) is logged and reported; it does not stop the others."""
        try:
            self._replay(issue, report, window)
        except RetryLater:
            raise  # Jira or the database is away: this run cannot finish
        except Exception:
            name = str(issue.get("key") or issue.get("id"))
            logger.exception("reconcile: replaying %s failed", name)
            report.failed.append(name)

    def _replay(self, issue: dict[str, Any], report: Report, window: datetime) -> None:
        ticket = linked_ticket(self.ctx.engine, issue_id=str(issue.get("id")), issue_key=issue.get("key"))
        if ticket is None:
            if refresh_followup(self.ctx, str(issue.get("id")), issue.get("key")):
                report.changes.append(f"{issue.get('key')}: follow-up refreshed")
            return
        report.linked += 1
        histories = self._histories(issue)
        ids = [changelog_key(h.get("id")) for h in histories]
        with self.ctx.session() as session:
            done = set(
                session.exec(
                    select(AppliedChangelog.changelog_id).where(
                        col(AppliedChangelog.changelog_id).in_([i for i in ids if i])
                    )
                )
            )
        for history in sorted(histories, key=history_id):  # Jira's order: ids increase
            key = changelog_key(history.get("id"))
            if key is None or key in done:
                continue
            outcome = self.processor.apply(
                ticket_id=ticket.id, history=history, door="reconciler", issue_key=issue.get("key")
            )
            if not outcome.duplicate:
                report.histories_applied += 1
                report.changes += [f"{ticket.key} #{history.get('id')}: {c}" for c in outcome.applied]
        if self.comments is not None:
            report.changes += self.comments.replay(issue, ticket.id, since=window)

    def _histories(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        """The issue's changelog; read in full from Jira when the search cut it short (which histories
        a cut-short expand holds is not something to rely on)."""
        changelog = issue.get("changelog") or {}
        histories = [h for h in changelog.get("histories") or [] if isinstance(h, dict)]
        total = changelog.get("total", len(histories))
        if not isinstance(total, int) or total <= len(histories):
            return histories
        return self.jira.changelog(issue["key"], total)

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

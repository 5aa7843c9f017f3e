"""The reconciler, the second door: what the webhook missed, paging, the checkpoint, the lock, the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.kv import KeyValueStore
from bot.models import Checkpoint, utcnow
from sandbox.jira import JiraUser
from sandbox.rig import APP_TOKEN, BOT_TOKEN, JIRA_EMAIL, JIRA_TOKEN, WEBHOOK_SECRET
from sync.reconciler import CHECKPOINT, FAILED_RETRY_WINDOW
from tests.conftest import REDIS_TEST_URL
from tests.sync.webhook_support import (
    declared,
    jira_lines,
    jira_writes,
    other_harness,
    post,
    processor_of,
    reconciler_of,
    rows,
    settle,
)

ROOT = Path(__file__).resolve().parents[2]


def checkpoint(harness):
    with harness.session() as session:
        return session.get(Checkpoint, CHECKPOINT).value


def searches(harness) -> list[str]:
    return [r["query"]["jql"] for r in harness.jira.requests_to("GET", "/rest/api/2/search/jql")]


def test_a_change_the_webhook_missed_is_applied_once_by_the_next_run(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    bob = harness.jira_user("bob")
    harness.jira.pause_webhooks()
    bob.update(ticket.key, summary="Checkout returns 503 errors")
    bob.transition(ticket.key, "in progress")
    harness.jira.resume_webhooks(drop=True)  # the route was down: both deliveries are lost
    settle(harness)
    assert harness.incident(incident.id).title == incident.title
    harness.jira.clear_requests()

    report = reconciler_of(harness).run()
    assert report.linked == 1 and report.histories_applied == 2
    [summary, status] = [h["id"] for h in harness.jira.issue(ticket.key)["changelog"][-2:]]
    assert report.changes == [f"{ticket.key} #{summary}: title", f"{ticket.key} #{status}: status"]
    assert f"applied {ticket.key} #{summary}: title" in str(report)
    harness.drain()
    now = harness.incident(incident.id)
    assert (now.title, now.status) == ("Checkout returns 503 errors", "MITIGATING")
    expected = [
        f"Jira {ticket.key}: Summary changed from Checkout returns 500 errors to "
        "Checkout returns 503 errors by Bob",
        f"Jira {ticket.key}: Status changed from Incoming to in progress by Bob",
    ]
    assert jira_lines(harness, incident) == expected
    assert jira_writes(harness) == []

    # The lost deliveries turn up after all (Jira retries for a while): recorded, applied never again.
    for held in harness.jira.dropped_webhooks:
        post(webhook_url, held["body"], identifier=held["headers"]["X-Atlassian-Webhook-Identifier"])
    settle(harness)
    # And a change the webhook did deliver is not applied a second time by the reconciler.
    bob.update(ticket.key, customfield_11064={"value": "2"})
    settle(harness)
    again = reconciler_of(harness).run()
    assert (again.histories_applied, again.changes) == (0, [])
    harness.drain()
    assert jira_lines(harness, incident) == [
        *expected,
        f"Jira {ticket.key}: Priority changed from P3 to P2 by Bob",
    ]


def test_a_changelog_the_search_cut_short_is_read_whole_from_the_changelog_endpoint(harness) -> None:
    incident, ticket = declared(harness, webhooks=False)
    bob = harness.jira_user("bob")
    bob.update(ticket.key, summary="Checkout returns 503 errors")
    bob.update(ticket.key, customfield_11064={"value": "1"})
    harness.jira.cut_search_changelogs(1)
    report = reconciler_of(harness).run()
    assert [c.split(": ")[-1] for c in report.changes] == ["title", "priority"]
    harness.drain()
    now = harness.incident(incident.id)
    assert (now.title, now.priority) == ("Checkout returns 503 errors", 1)
    assert harness.jira.requests_to("GET", f"/rest/api/2/issue/{ticket.key}/changelog")


def test_the_window_reaches_back_from_the_checkpoint_with_an_overlap(harness) -> None:
    _incident, ticket = declared(harness, webhooks=False)
    reconciler = reconciler_of(harness)
    around = [utcnow()]
    reconciler.run()
    around.append(utcnow())
    first = searches(harness)[-1]
    day_back = {(t - timedelta(days=1, minutes=5)).strftime("%Y-%m-%d %H:%M") for t in around}
    expected = {f'project in (INC, TEAM) AND updated >= "{d}" ORDER BY created ASC' for d in day_back}
    assert first in expected, (
        "no checkpoint yet: a day back, plus the overlap, to the minute in the bot account's zone (UTC)"
    )
    harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    processor = processor_of(harness)
    apply = processor.apply

    def failing(**kwargs):
        raise RuntimeError("a bug in one issue's replay")

    before = checkpoint(harness)
    processor.apply = failing
    try:
        failed = reconciler.run()
    finally:
        processor.apply = apply
    assert failed.failed == [ticket.key] and f"FAILED {ticket.key}" in str(failed)
    window = (before - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M")
    assert searches(harness)[-1].endswith(f'updated >= "{window}" ORDER BY created ASC')
    assert checkpoint(harness) == before, "kept, so the next run looks at the same window"
    retried = reconciler.run()
    assert [c.split(": ")[-1] for c in retried.changes] == ["title"]
    assert checkpoint(harness) > before


def test_an_issue_that_keeps_failing_holds_the_window_for_an_hour_at_most(harness) -> None:
    _incident, ticket = declared(harness, webhooks=False)
    reconciler = reconciler_of(harness)
    reconciler.run()
    harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    with harness.session() as session:  # the last complete run was three hours ago
        row = session.get(Checkpoint, CHECKPOINT)
        row.value = utcnow() - timedelta(hours=3)
        session.add(row)
        session.commit()
    processor = processor_of(harness)
    apply = processor.apply

    def failing(**kwargs):
        raise RuntimeError("a bug in one issue's replay")

    processor.apply = failing
    try:
        started = utcnow()
        assert reconciler.run().failed == [ticket.key]
        ended = utcnow()
    finally:
        processor.apply = apply
    assert started - FAILED_RETRY_WINDOW <= checkpoint(harness) <= ended - FAILED_RETRY_WINDOW
    retried = reconciler.run()
    assert [c.split(": ")[-1] for c in retried.changes] == ["title"], "still within the hour: replayed"


def test_it_searches_ticket_and_configured_projects_that_jira_knows(
    harness, database_url, emulators, caplog
) -> None:
    assert str(reconciler_of(harness).run()).startswith("reconcile: 0 updated issue(s)")
    assert searches(harness) == [], "no ticket yet: nothing to ask Jira"
    _incident, ticket = declared(
        harness, 4, webhooks=False, title="Card payments fail", suggested_team_routing="Payments"
    )
    assert ticket.key.startswith("TEAM-")
    harness.jira_user("bob").update(ticket.key, summary="Card payments fail in Spain")
    # the team no longer has a project, and a new team's project key is mistyped
    with other_harness(database_url, emulators, teams={"Payments": None, "Ghost": "NOPE"}) as later:
        report = reconciler_of(later).run()
    assert searches(harness)[-1].startswith("project in (INC, TEAM) AND "), "NOPE would be a 400"
    assert [c.split(": ")[-1] for c in report.changes] == ["title"]
    assert "Jira has no project NOPE" in caplog.text


def test_paging_follows_next_page_tokens(harness) -> None:
    person = JiraUser(harness.jira, account_id="acc-carol")
    for n in range(150):  # unrelated issues updated in the window, created before the incident's
        person.create("INC", f"Unrelated issue {n}")
    incident, ticket = declared(harness, webhooks=False)
    assert ticket.key == "INC-151"
    harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    report = reconciler_of(harness).run()
    assert report.issues_seen == 151 and report.linked == 1
    assert len(searches(harness)) == 2, "two pages of 100"
    assert report.changes[-1].endswith(": title")

    other, other_ticket = declared(harness, webhooks=False, title="Search returns no results at all")
    harness.jira_user("bob").update(other_ticket.key, customfield_11064={"value": "1"})
    harness.jira.clear_requests()
    small = reconciler_of(harness, page_size=7).run()
    assert len(searches(harness)) == 22 and small.issues_seen == 152
    assert [c.split(": ")[-1] for c in small.changes] == ["priority"]
    assert small.changes[0].startswith(f"{other_ticket.key} #")
    harness.drain()
    assert harness.incident(other.id).priority == 1
    assert harness.incident(incident.id).title == "Checkout returns 503 errors"


def test_a_second_run_is_skipped_while_one_holds_the_lock(harness) -> None:
    _incident, ticket = declared(harness, webhooks=False)
    harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    with harness.runtime.kv.lock("reconciler", ttl=30) as held:
        assert held
        skipped = reconciler_of(harness).run()
    assert skipped.skipped_lock and str(skipped).startswith("reconcile: another process")
    assert rows(harness)["applied"] == 0

    # Two processes (two Redis clients) starting together: one runs, the other is skipped.
    first, second = (reconciler_of(harness) for _ in range(2))
    for reconciler in (first, second):
        reconciler.ctx = dataclasses.replace(reconciler.ctx, kv=KeyValueStore.from_url(REDIS_TEST_URL))
    first.ctx.kv.delete("lock:reconciler")
    harness.jira.add_latency(0.3, duration=5)
    reports = {}
    slow = threading.Thread(target=lambda: reports.setdefault("first", first.run()))
    slow.start()
    harness.jira.wait_for(lambda: first.ctx.kv.get("lock:reconciler"))
    reports["second"] = second.run()
    slow.join(10)
    harness.jira.clear_faults()
    assert reports["second"].skipped_lock
    assert not reports["first"].skipped_lock and reports["first"].changes
    assert first.ctx.kv.get("lock:reconciler") is None, "released after the run"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a process start is slow: once
def test_python_m_bot_reconcile_once_prints_what_it_applied(harness, database_url) -> None:
    incident, ticket = declared(harness, webhooks=False)
    bob = harness.jira_user("bob")
    bob.update(ticket.key, summary="Checkout returns 503 errors")
    bob.transition(ticket.key, "in progress")
    settings = harness.runtime.settings
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=harness.slack.api_url,
        SLACK_ANNOUNCEMENTS_CHANNEL=harness.announcements,
        JIRA_URL=harness.jira.url,
        JIRA_USER=JIRA_EMAIL,
        JIRA_API_TOKEN=JIRA_TOKEN,
        JIRA_WEBHOOK_SECRET=WEBHOOK_SECRET,
        RAID_JIRA_PROJECT_KEY="INC",
        JIRA_POSTMORTEM_PROJECT_KEY="PM",
        TEAMS=json.dumps(settings.teams),
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "reconcile", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("reconcile: 1 updated issue(s), 1 linked to incidents, ")
    assert lines[0].endswith(" new change set(s), 2 change(s) applied")
    assert [line.split(": ")[-1] for line in lines[1:]] == ["title", "status"]
    assert all(line.startswith(f"  applied {ticket.key} #") for line in lines[1:])
    harness.drain()  # the channel messages it queued, sent by this (the bot's) worker
    assert len(jira_lines(harness, incident)) == 2
    assert harness.incident(incident.id).status == "MITIGATING"


def test_scheduled_runs_happen_once_per_interval_across_replicas(harness) -> None:
    declared(harness, webhooks=False)  # a ticket, so that a run has something to ask Jira
    replicas = [reconciler_of(harness) for _ in range(3)]
    for replica in replicas:
        replica.ctx = dataclasses.replace(replica.ctx, kv=KeyValueStore.from_url(REDIS_TEST_URL))
    replicas[0].ctx.kv.delete("reconciler:interval-slot")
    for replica in replicas:  # every replica's scheduler fires for the same interval
        replica.run_scheduled()
    assert len(searches(harness)) == 1, "one replica ran, the others found the interval taken"
    replicas[0].ctx.kv.delete("reconciler:interval-slot")  # the next interval
    replicas[2].run_scheduled()
    assert len(searches(harness)) == 2

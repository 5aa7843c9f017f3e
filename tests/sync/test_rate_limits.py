"""429s waited out, not fought: Jira's (per-issue and site-wide) and Slack's `ratelimited`, each pausing
for its Retry-After without reordering an incident's changes, counted in `/metrics`, and Jira's calls
sharing one request budget."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from bot.app import build_runtime
from bot.jobs import Throttled
from sync.jira_client import RateLimited
from tests.sync.conftest import Harness, harness_settings


def rate_limited(target: str, reason: str) -> float:
    return REGISTRY.get_sample_value("bot_rate_limited_total", {"target": target, "reason": reason}) or 0.0


@pytest.fixture
def budgeted(database_url: str, emulators) -> Iterator[Harness]:
    """The harness with the production budget of 10 Jira requests per second."""
    slack, jira, announcements = emulators
    settings = harness_settings(database_url, slack, jira, announcements, jira_max_requests_per_second=10)
    runtime = build_runtime(settings)
    yield Harness(runtime, slack, jira, announcements)
    runtime.engine.dispose()


def test_a_per_issue_429_holds_that_incident_only_for_its_retry_after(harness) -> None:
    first, second = harness.declare(2, title="First incident"), harness.declare(2, title="Second incident")
    harness.drain()
    keys = [harness.ticket(first).key, harness.ticket(second).key]
    counted = rate_limited("jira", "jira-per-issue-on-write")
    harness.jira.clear_requests()
    harness.jira.throttle_issue_writes(times=1, retry_after=1)
    harness.update(first, title="First incident, renamed")
    harness.update(first, priority=1)
    harness.update(second, title="Second incident, renamed")
    harness.drain()
    assert harness.jira.issue(keys[1])["fields"]["summary"] == "Second incident, renamed", "not held"
    assert harness.jira.issue(keys[0])["fields"]["summary"] == "First incident"
    [waiting] = [job for job in harness.jobs(state="pending") if job.lane == "jira"][:1]
    assert waiting.incident_id == first.id and waiting.next_attempt_at.timestamp() - time.time() > 0.5
    assert rate_limited("jira", "jira-per-issue-on-write") == counted + 1
    harness.drain_all()
    writes = harness.jira.requests_to("PUT", f"/rest/api/2/issue/{keys[0]}")
    assert writes[0]["status"] == 429
    assert writes[1]["at"] - writes[0]["at"] >= 1.0, "retried once Retry-After had passed, not before"
    fields = harness.jira.issue(keys[0])["fields"]
    assert (fields["summary"], fields["customfield_11064"]["value"]) == ("First incident, renamed", "1")
    assert not any("Jira is not answering" in t for t in harness.channel_texts(first)), "pacing, not lag"


def test_a_site_wide_429_holds_every_jira_call_of_the_process(budgeted) -> None:
    harness = budgeted
    jira = harness.runtime.jira
    assert jira is not None
    jira.myself()
    counted = rate_limited("jira", "jira-quota-global-based")
    harness.jira.rate_limit(0, retry_after=3)
    with pytest.raises(RateLimited) as limited:
        jira.rest("GET", "serverInfo")
    assert limited.value.retry_after == 3 and limited.value.reason == "jira-quota-global-based"
    sent = len(harness.jira.requests)
    with pytest.raises(Throttled) as held:
        jira.rest("GET", "serverInfo")
    assert 2 < held.value.retry_after <= 3
    assert len(harness.jira.requests) == sent, "held by the budget: no request reached Jira"
    assert rate_limited("jira", "jira-quota-global-based") == counted + 1


def test_a_per_issue_429_does_not_hold_the_other_issues(budgeted) -> None:
    harness = budgeted
    incident = harness.declare(4)
    harness.drain()
    jira = harness.runtime.jira
    assert jira is not None
    harness.jira.throttle_issue_writes(times=1, retry_after=30)
    with pytest.raises(RateLimited):
        jira.update_fields(harness.ticket(incident).key, {"summary": "Throttled write"})
    assert jira.myself()["accountId"] == "acc-bot", "the next call goes at its turn, not 30 s later"


def test_the_budget_spaces_a_burst_of_jira_calls(budgeted) -> None:
    harness = budgeted
    jira = harness.runtime.jira
    assert jira is not None
    jira.myself()
    harness.jira.clear_requests()
    for _ in range(6):
        jira.rest("GET", "serverInfo")
    times = [r["at"] for r in harness.jira.requests]
    assert times[-1] - times[0] >= 0.45, "six requests at 10 per second span half a second"
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.07


def test_slack_ratelimited_holds_the_incident_s_slack_lane_in_order(harness) -> None:
    incident = harness.declare(2)
    harness.drain()
    channel = harness.incident(incident.id).channel_id
    counted = rate_limited("slack", "chat.postMessage")
    before = len(harness.slack.calls)
    harness.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    harness.update(incident, priority=1, message="First note")
    harness.update(incident, message="Second note")
    harness.drain()
    [post, *behind] = [job for job in harness.jobs(state="pending") if job.lane == "slack"]
    assert post.kind == "slack.post" and post.attempts == 1 and behind, "the rest of the lane waits"
    assert rate_limited("slack", "chat.postMessage") == counted + 1
    harness.drain_all()
    calls = [c for c in harness.slack.calls[before:] if c["method"] in ("chat.postMessage", "chat.update")]
    assert [c["method"] for c in calls[:2]] == ["chat.postMessage"] * 2, "the same message again first"
    assert calls[0]["params"]["text"] == calls[1]["params"]["text"]
    assert calls[1]["at"] - calls[0]["at"] >= 1.0, "after Retry-After, not before"
    notes = [m["text"] for m in harness.slack.messages(channel) if "note" in m["text"]]
    assert [("First note" in t, "Second note" in t) for t in notes] == [(True, False), (False, True)]

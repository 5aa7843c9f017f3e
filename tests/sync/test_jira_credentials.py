"""Jira refusing the bot's credentials (401): told once, the Jira lane waits, and drains in order after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from bot.app import build_runtime
from bot.doctor import run_checks
from tests.sync.conftest import Harness, harness_settings

CHECK_SECONDS = 0.2


@pytest.fixture
def watched(database_url: str, emulators) -> Iterator[Harness]:
    slack, jira, announcements = emulators
    settings = harness_settings(
        database_url, slack, jira, announcements, jira_credentials_check_seconds=CHECK_SECONDS
    )
    runtime = build_runtime(settings)
    yield Harness(runtime, slack, jira, announcements)
    runtime.engine.dispose()


def check_credentials(harness: Harness) -> None:
    """One run of the periodic check, as the scheduler would make it."""
    [task] = [task for task in harness.runtime.periodic if task.name == "jira-credentials"]
    assert task.seconds == CHECK_SECONDS
    task.run()


def gauge(harness: Harness) -> float | None:
    harness.runtime.refresh_metrics()
    return REGISTRY.get_sample_value("bot_jira_credentials_refused")


def doctor_says(harness: Harness) -> dict[str, tuple[bool, str]]:
    return {check.name: (check.ok, check.detail) for check in run_checks(harness.runtime.settings)}


def test_a_401_pauses_the_jira_lane_tells_once_and_resumes_in_order(watched: Harness) -> None:
    harness = watched
    incident, other = harness.declare(2), harness.declare(3, title="Another incident at the same time")
    harness.drain()
    key, other_key = harness.ticket(incident).key, harness.ticket(other).key
    harness.jira.refuse_credentials(seconds=None)
    harness.jira.clear_requests()

    harness.update(incident, title="First title while refused")
    harness.update(incident, priority=1)
    harness.update(other, title="Another incident, renamed")
    harness.update(incident, title="Second title while refused")
    harness.drain()
    assert [r["status"] for r in harness.jira.requests] == [401], "one request learnt it; the rest wait"
    announcements = [m["text"] for m in harness.slack.messages(harness.announcements)]
    refused = [t for t in announcements if "Jira refused the bot's credentials" in t]
    assert len(refused) == 1 and "renew JIRA_API_TOKEN / JIRA_PAT" in refused[0]
    assert "PUT issue/{key}" in refused[0], "what was refused, without the key of one issue"
    jira_jobs = [j for j in harness.jobs(state="pending") if j.lane == "jira"]
    assert [(j.incident_id, j.attempts) for j in jira_jobs] == [(incident.id, 1), (other.id, 0)], (
        "only the first tried; the other incident's push waits untried"
    )
    assert gauge(harness) == 1
    ok, detail = doctor_says(harness)["jira credentials"]
    assert not ok and "renew JIRA_API_TOKEN / JIRA_PAT" in detail and "2 Jira job(s) wait" in detail
    ok, detail = doctor_says(harness)["jira"]
    assert not ok and "Jira refused the bot's credentials (HTTP 401 on myself)" in detail

    harness.jira.clear_requests()
    check_credentials(harness)  # still refused: one GET myself, no news, nothing sent
    harness.drain()
    assert [(r["method"], r["path"], r["status"]) for r in harness.jira.requests] == [
        ("GET", "/rest/api/2/myself", 401)
    ]
    assert len(harness.slack.messages(harness.announcements)) == len(announcements)

    harness.jira.accept_credentials()
    check_credentials(harness)
    check_credentials(harness)  # a second look finds nothing to resume
    harness.drain_all()
    issue = harness.jira.issue(key)
    assert issue["fields"]["summary"] == "Second title while refused"
    assert issue["fields"]["customfield_11064"]["value"] == "1"
    summaries = [
        r["json"]["fields"]["summary"]
        for r in harness.jira.requests_to("PUT", f"/rest/api/2/issue/{key}")
        if "summary" in (r["json"] or {}).get("fields", {})
    ]
    assert summaries[-1] == "Second title while refused", "the changes reached Jira in their order"
    assert harness.jira.issue(other_key)["fields"]["summary"] == "Another incident, renamed"
    texts = [m["text"] for m in harness.slack.messages(harness.announcements)]
    accepted = [t for t in texts if "accepts the bot's credentials again" in t]
    assert len(accepted) == 1 and "the 2 queued Jira changes are being sent" in accepted[0]
    assert sum("Jira refused the bot's credentials" in t for t in texts) == 1
    assert gauge(harness) == 0
    assert doctor_says(harness)["jira credentials"][0]
    assert not harness.jobs(state="failed")


def test_a_401_outside_the_jira_lane_waits_the_check_interval_not_a_hot_loop(watched: Harness) -> None:
    harness = watched
    incident = harness.declare(2)
    harness.drain()
    harness.jira.refuse_credentials(seconds=None)
    jira = harness.runtime.jira
    assert jira is not None
    with pytest.raises(Exception, match="renew JIRA_API_TOKEN") as refused:
        jira.rest("GET", "myself")
    assert refused.value.retry_after == CHECK_SECONDS
    texts = [m["text"] for m in harness.slack.messages(harness.announcements)]
    assert sum("Jira refused" in t for t in texts) == 0, "told by the next drain of the Slack lane"
    harness.drain()
    texts = [m["text"] for m in harness.slack.messages(harness.announcements)]
    assert sum("Jira refused the bot's credentials (HTTP 401 on GET myself)" in t for t in texts) == 1
    assert harness.incident(incident.id).title, "the incident itself is untouched"

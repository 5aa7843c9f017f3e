"""Fault injection in-process: Jira down through a burst of changes, Slack rate limits."""

from __future__ import annotations

from collections import Counter


def test_jira_down_during_a_burst_of_50_changes_loses_and_repeats_nothing(harness) -> None:
    incidents = [harness.declare(1, title=f"Incident number {n} in the burst") for n in range(5)]
    harness.drain()
    keys = {incident.id: harness.ticket(incident).key for incident in incidents}
    titles = {
        incident.id: [f"Incident {incident.id}, change {n:02d}" for n in range(10)] for incident in incidents
    }

    def change(rounds: range) -> None:
        for n in rounds:
            for incident in incidents:
                harness.update(incident, title=titles[incident.id][n])
        harness.drain()

    harness.jira.refuse_connections(seconds=None)
    change(range(0, 4))
    harness.jira.clear_faults()
    harness.jira.fail_with(status=503, retry_after=1, seconds=None)
    change(range(4, 7))
    harness.jira.clear_faults()
    harness.jira.fail_with(status=429, seconds=None)
    change(range(7, 10))
    harness.jira.clear_faults()
    harness.drain_all(timeout=60)

    for incident in incidents:
        key = keys[incident.id]
        history = [
            h["items"][0]["toString"]
            for h in harness.jira.issue(key)["changelog"]
            if h["items"][0]["field"] == "summary"
        ]
        in_order = [title for title in titles[incident.id] if title in history]
        assert history == in_order and history[-1] == titles[incident.id][-1], f"{key}: order or end lost"
        accepted = [
            r["json"]["fields"]["summary"]
            for r in harness.jira.requests_to("PUT", f"/rest/api/2/issue/{key}")
            if r["path"].endswith(key) and r["status"] == 204
        ]
        assert accepted == history, f"{key}: a change was sent twice"
        assert len(accepted) <= 4, f"{key}: each outage's backlog goes as one edit, not one per change"
        texts = harness.channel_texts(incident)
        assert sum("Jira is not answering" in t for t in texts) == 1
        assert sum("Jira has caught up" in t for t in texts) == 1
    assert not harness.jobs(state="failed")


def test_slack_rate_limits_delay_messages_but_lose_none(harness) -> None:
    incident = harness.declare(1)
    harness.drain()
    channel = harness.incident(incident.id).channel_id
    harness.slack.rate_limit("chat.postMessage", times=3, retry_after=1)
    harness.slack.rate_limit("chat.update", times=2, retry_after=1)
    messages = [f"Progress note number {n}" for n in range(4)]
    for n, message in enumerate(messages):
        harness.update(incident, priority=1 + n % 2, message=message)
    harness.drain_all(timeout=30)
    posted = Counter(m["text"] for m in harness.slack.messages(channel))
    for message in messages:
        [line] = [text for text in posted if message in text]
        assert posted[line] == 1, f"{message!r} posted {posted[line]} times"
    limited = [c for c in harness.slack.calls if c["method"] in ("chat.postMessage", "chat.update")]
    assert len(limited) >= 5
    [announcement] = [
        m for m in harness.slack.messages(channel) if m["ts"] == harness.incident(incident.id).announcement_ts
    ]
    assert announcement["text"].startswith("P2 incident"), "the last edit (P2) reached the announcement"
    assert not harness.jobs(state="failed")

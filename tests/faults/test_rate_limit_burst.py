"""The real bot against a Jira that answers 429 past 10 requests per second: a burst of changes to many
incidents is paced by the bot's own budget, so it meets (almost) no 429, loses nothing and keeps order."""

from __future__ import annotations

from sandbox.rig import start_rig
from tests.e2e.slack_steps import Declared, declare, update

INCIDENTS = 8


def summaries(rig, key: str) -> list[str]:
    """The summary values the issue took, in Jira's order."""
    return [
        item["toString"]
        for history in rig.jira.issue(key)["changelog"]
        for item in history["items"]
        if item["field"] == "summary"
    ]


def ticket_of(rig, incident_id: int) -> str:
    """The issue key of an incident's ticket (tickets may be created in another order under 429s)."""
    marker = f"Incident #{incident_id}, declared from Slack."
    [key] = [k for k, issue in rig.jira.issues.items() if marker in (issue["fields"]["description"] or "")]
    return key


def test_a_burst_against_jira_s_rate_limit_is_paced_lossless_and_in_order(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path)
    try:
        rig.jira.rate_limit(10, retry_after=1)
        declared: list[Declared] = [
            declare(rig, "alice", f"Slow search number {n}", "P4", **{"Suggested team": "Checkout"})
            for n in range(INCIDENTS)
        ]
        rig.jira.wait_for(lambda: len(rig.jira.issues) == INCIDENTS, timeout=30)
        keys = {incident.id: ticket_of(rig, incident.id) for incident in declared}
        refused_before = rig.jira.rate_limited_count
        titles = {i.id: [f"Slow search number {i.id}, step {s}" for s in range(2)] for i in declared}
        for step in range(2):
            for incident in declared:
                values = {"Title": titles[incident.id][step]}
                assert update(rig, "alice", incident, values, ref=f"#{incident.id}").errors is None
        rig.jira.wait_for(
            lambda: all(summaries(rig, keys[i])[-1:] == titles[i][-1:] for i in keys), timeout=30
        )
        for incident_id, key in keys.items():
            history = summaries(rig, key)
            assert history == [t for t in titles[incident_id] if t in history], f"{key} out of order"
        refused = rig.jira.rate_limited_count - refused_before
        assert refused <= 5, f"{refused} 429s: the budget should keep the bot under Jira's limit"
    finally:
        rig.stop()

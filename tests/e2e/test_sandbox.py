"""`python -m bot sandbox` as a user runs it: the whole walk succeeds and the transcript shows both sides."""

from __future__ import annotations

import os
import subprocess
import sys


def sandbox(tmp_path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot <arguments>` with no credentials in the environment, as a newcomer runs it; it must
    exit 0."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "DATABASE_", "REDIS_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_sandbox_walks_an_incident_through_its_life(tmp_path) -> None:
    result = sandbox(tmp_path)
    out = result.stdout
    assert "running the sandbox" in result.stderr
    for expected in (
        "Slack ← conversations.create: name='inc-",
        "Slack ← pins.add",
        "Jira  ← POST /rest/api/2/issue fields=",
        "Jira INC-1: Summary changed from Checkout fails for EU customers to Checkout fails for EU card "
        "payments by Carol",
        "no update on incident #1 for ",
        "the reminder now reads: Snoozed until ",
        "Slack ← views.publish: Home tab of U0ALICE",
        "── Open incidents ──",
        "│ Jira: in sync",
        "Jira  ← POST /rest/api/2/issueLink",
        "bookmarks: Jira ticket, Post-mortem",
        "created: Alert on payment provider errors (assigned to <@U0BOB>)",
        "done: Alert on payment provider errors",
        "INC-1 [Closed]",
        "(archived: True)",
        "sandbox: the incident went through its whole life",
        "done: Alert on payment provider errors",
    ):
        assert expected in out, f"missing from the transcript: {expected}"


def test_sandbox_runs_against_a_team_s_jira(tmp_path) -> None:
    result = sandbox(tmp_path, "sandbox", "--jira-workflow", "simple")
    out = result.stdout
    for expected in (
        "Jira (simple workflow) emulators",
        "→ Jira INC-1 is 'In Progress', assigned to Bob",
        "Jira INC-1: Priority changed from P1 to P2 by Carol",
        "INC-1 [Done]",
        "sandbox: the incident went through its whole life",
        "done: Alert on payment provider errors",
    ):
        assert expected in out, f"missing from the transcript: {expected}"


def test_sandbox_runs_against_jira_data_center(tmp_path) -> None:
    result = sandbox(tmp_path, "sandbox", "--jira", "datacenter")
    out = result.stdout
    for expected in (
        "Jira Data Center (default workflow) emulators",
        "Jira  ← PUT /rest/api/2/issue/INC-1/assignee assignee=acc-bob",
        "Jira INC-1: Summary changed from Checkout fails for EU customers to Checkout fails for EU card "
        "payments by Carol",
        "Jira INC-1: Priority changed from P1 to P2 by Carol",
        "INC-1 [Closed]",
        "sandbox: the incident went through its whole life",
    ):
        assert expected in out, f"missing from the transcript: {expected}"

"""The real bot process meeting an expired Jira token: one announcement, a waiting lane, `/metrics`,
and the queue drained in order with one more announcement once Jira accepts the token again."""

from __future__ import annotations

import requests

from sandbox.rig import Rig, start_rig
from tests.e2e.slack_steps import declare, update

REFUSED = "Jira refused the bot's credentials"
ACCEPTED = "Jira accepts the bot's credentials again"


def announced(rig: Rig, fragment: str) -> int:
    return sum(fragment in m["text"] for m in rig.slack.messages(rig.announcements))


def refused_gauge(rig: Rig) -> float:
    for line in requests.get(f"{rig.http_url}/metrics", timeout=5).text.splitlines():
        if line.startswith("bot_jira_credentials_refused "):
            return float(line.split()[1])
    raise AssertionError("no bot_jira_credentials_refused in /metrics")


def test_an_expired_jira_token_is_reported_once_waited_out_and_drained_in_order(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, env={"JIRA_CREDENTIALS_CHECK_SECONDS": "1"})
    try:
        incident = declare(rig, "alice", "Refunds are stuck", "P2")
        rig.jira.wait_for(lambda: "INC-1" in rig.jira.issues, timeout=15)
        rig.slack.wait_for(lambda: rig.slack.bookmarks(incident.channel), timeout=15)
        assert refused_gauge(rig) == 0
        rig.jira.refuse_credentials(seconds=None)
        rig.jira.clear_requests()
        for title in ("Refunds are stuck in the EU", "Refunds are stuck everywhere"):
            assert update(rig, "alice", incident, {"Title": title}).errors is None
        rig.slack.wait_for(lambda: announced(rig, REFUSED), timeout=15)
        rig.jira.wait_for(lambda: len(rig.jira.requests_to("GET", "/rest/api/2/myself")) >= 2, timeout=10)
        refused = [r for r in rig.jira.requests if r["status"] == 401]
        assert [r["method"] for r in refused if not r["path"].endswith("/myself")] == ["PUT"], (
            "one write learnt of the refusal; the other change waited instead of trying"
        )
        assert refused_gauge(rig) == 1
        assert rig.jira.issue("INC-1")["fields"]["summary"] == "Refunds are stuck"

        rig.jira.accept_credentials()
        rig.slack.wait_for(lambda: announced(rig, ACCEPTED), timeout=10)
        rig.jira.wait_for(
            lambda: rig.jira.issue("INC-1")["fields"]["summary"] == "Refunds are stuck everywhere", timeout=10
        )
        assert announced(rig, REFUSED) == 1 and announced(rig, ACCEPTED) == 1
        assert refused_gauge(rig) == 0
    finally:
        rig.stop()

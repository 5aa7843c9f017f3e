"""What the end-to-end tests read from the Jira emulator, the same way on Cloud and Data Center
(no tests in this module).

Cloud names a person by `accountId`; Data Center by `name` (and `key`), with no `accountId`. In the
rig both carry the person's account id (`sandbox.rig.Person.jira_account`).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.rig import Rig
from tests.e2e.slack_steps import WAIT, Declared, texts, wait_for_jira_link, wait_for_no_jobs


def person_id(rig: Rig, user: dict[str, Any] | None) -> str | None:
    """Who a person field (an assignee, a reporter, an author) names, read the way the site's
    deployment names people: None for nobody."""
    if not user:
        return None
    return user["name" if rig.jira.deployment == "datacenter" else "accountId"]


def search_path(rig: Rig) -> str:
    """Where the bot searches issues: `search/jql` on Cloud, `search` (startAt paging) on Data Center."""
    return "/rest/api/2/search" if rig.jira.deployment == "datacenter" else "/rest/api/2/search/jql"


def ticket_of(rig: Rig, incident: Declared) -> str:
    """The incident's own ticket, once the channel's announcement links it."""
    wait_for_jira_link(rig, incident)
    marker = f"Incident #{incident.id}, declared from Slack."
    return next(
        key
        for key, issue in rig.jira.issues.items()
        if key.startswith("INC-") and marker in (issue["fields"].get("description") or "")
    )


def jira_line(rig: Rig, incident: Declared, fragment: str) -> str:
    """The channel's line for a change applied from Jira that contains `fragment`."""
    assert incident.channel
    return rig.slack.wait_for(
        lambda: next(
            (t for t in texts(rig, incident.channel) if t.startswith("Jira ") and fragment in t), None
        ),
        timeout=WAIT,
        message=f"a Jira line with {fragment!r}",
    )


def wait_until_idle(rig: Rig, key: str) -> None:
    """Until every history of the issue has been delivered to the bot (answered 2xx) and the bot has no
    job left: what it would post about its own writes' echoes, it has posted by then."""
    histories = {str(h["id"]) for h in rig.jira.issue(key)["changelog"]}

    def delivered() -> bool:
        answered = [
            json.loads(d["body"]) for d in rig.jira.webhook_deliveries if 200 <= (d["status"] or 0) < 300
        ]
        ids = {str((b.get("changelog") or {}).get("id")) for b in answered if b["issue"]["key"] == key}
        return histories <= ids

    rig.jira.wait_for(delivered, timeout=WAIT)
    wait_for_no_jobs(rig)

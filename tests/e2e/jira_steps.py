"""What the end-to-end tests read from the Jira emulator, the same way on Cloud and Data Center
(no tests in this module).

Cloud names a person by `accountId`; Data Center by `name` (and `key`), with no `accountId`. In the
rig both carry the person's account id (`sandbox.rig.Person.jira_account`).
"""

from __future__ import annotations

from typing import Any

from sandbox.rig import Rig
from tests.e2e.slack_steps import WAIT, Declared, texts, wait_for_jira_link


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

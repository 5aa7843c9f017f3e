"""End to end: from the update modal to a linked, assigned Jira post-mortem and its Slack traces.

The bot runs as `python -m bot run` between the Slack and Jira emulators; alice acts in Slack only.
"""

from __future__ import annotations

import pytest

from sandbox.rig import Rig, person
from tests.e2e.jira_steps import person_id
from tests.e2e.slack_steps import IMPACT, declare, wait_for_jira_link

pytestmark = pytest.mark.both_jiras

TIMEOUT = 20.0


def test_moving_to_post_mortem_creates_the_post_mortem_and_its_slack_traces(rig: Rig) -> None:
    alice = rig.slack_user("alice")
    incident = declare(
        rig,
        "alice",
        "Checkout returns 500 errors",
        "P1",
        Description="Payments fail at the last step",
        **IMPACT,
    )
    channel = incident.channel
    assert channel
    wait_for_jira_link(rig, incident)
    assert "INC-1" in rig.jira.issues

    alice.command("/incident", "update", channel_id=channel)
    update = alice.wait_for_view(callback_id="incident_update")
    ack = alice.submit(update, {"Status": "Post-mortem", "Message": "Rolled back release 42"})
    assert ack.errors is None

    postmortem = rig.jira.wait_for(lambda: rig.jira.issues.get("PM-1"), timeout=TIMEOUT)
    fields = postmortem["fields"]
    assert postmortem["project"]["key"] == "PM"
    assert fields["issuetype"]["name"] == "Post-mortem"
    assert fields["summary"].endswith("Checkout returns 500 errors")
    assert "*Priority:* P1" in fields["customfield_12699"]
    assert "Payments fail at the last step" in fields["customfield_12699"]
    assert "| Incident created (P1) |" in fields["customfield_12700"]
    assert "| Status changed to: Post-mortem |" in fields["customfield_12700"]
    assert "*Business impact:* High" in fields["customfield_12702"]
    assert "Rolled back release 42" in fields["customfield_12703"]
    assert fields["customfield_12701"].startswith("h2. Root causes")
    assert fields["customfield_12369"]["value"] == "Availability"

    link = rig.jira.wait_for(lambda: rig.jira.issue("PM-1")["links"], timeout=TIMEOUT)[0]
    assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] == "INC-1"
    assignee = rig.jira.wait_for(lambda: rig.jira.issue("PM-1")["fields"]["assignee"], timeout=TIMEOUT)
    assert person_id(rig, assignee) == person("alice").jira_account
    assert len([key for key in rig.jira.issues if key.startswith("PM-")]) == 1

    url = f"{rig.jira.url}/browse/PM-1"
    notice = rig.slack.wait_for(
        lambda: next((m for m in rig.slack.messages(channel) if "post-mortem is ready" in m["text"]), None),
        timeout=TIMEOUT,
    )
    assert f"<{url}|PM-1>" in notice["text"]
    rig.slack.wait_for(lambda: notice["ts"] in rig.slack.pins(channel), timeout=TIMEOUT)
    bookmark = rig.slack.wait_for(
        lambda: next((b for b in rig.slack.bookmarks(channel) if b["title"] == "Post-mortem"), None),
        timeout=TIMEOUT,
    )
    assert bookmark["link"] == url

    def announcement_shows_the_post_mortem() -> bool:
        pinned = [m for m in rig.slack.messages(channel) if m["ts"] in rig.slack.pins(channel)]
        [announcement] = [m for m in pinned if "Key events" in str(m.get("blocks"))]
        return f"<{url}|PM-1>" in str(announcement["blocks"])

    rig.slack.wait_for(announcement_shows_the_post_mortem, timeout=TIMEOUT)

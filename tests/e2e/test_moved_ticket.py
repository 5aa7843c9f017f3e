"""End to end: a person moves the incident's ticket to another project in Jira, on Cloud and on Data
Center. The bot follows the issue by its id: the channel says so once, the bookmark, announcement and
topic show the new key, and both directions of the sync go on with the moved issue."""

from __future__ import annotations

import pytest

from sandbox.rig import Rig
from tests.e2e.slack_steps import WAIT, declare, message_text, texts, update, wait_for_jira_link
from tests.e2e.slack_steps import announcement as pinned_announcement


@pytest.mark.both_jiras
def test_a_ticket_moved_to_another_project_is_followed_everywhere(rig: Rig) -> None:
    rig.jira.add_project("OPS", "Operations")
    incident = declare(rig, "alice", "Payments are slow", "P2")
    assert incident.channel
    wait_for_jira_link(rig, incident)
    [old] = [k for k, i in rig.jira.issues.items() if "Payments are slow" in i["fields"]["summary"]]

    rig.jira_user("bob").move(old, "OPS")
    [new] = [k for k in rig.jira.issues if k.startswith("OPS-")]

    moved = f"Jira {old} was moved to {new} by Bob: the incident's ticket is {new} now"
    rig.slack.wait_for(lambda: moved in texts(rig, incident.channel), timeout=WAIT)
    link = f"{rig.jira.url}/browse/{new}"
    rig.slack.wait_for(
        lambda: (
            [(b["title"], b["link"]) for b in rig.slack.bookmarks(incident.channel)]
            == [("Jira ticket", link)]
        ),
        timeout=WAIT,
        message="the one Jira ticket bookmark points at the new key",
    )
    rig.slack.wait_for(
        lambda: f"| {new} |" in rig.slack.channels[incident.channel]["topic"],
        timeout=WAIT,
        message="the topic shows the new key",
    )
    shown = message_text(pinned_announcement(rig, incident))
    assert new in shown and old not in shown

    # Slack → Jira goes on with the moved issue, and Jira → Slack reports it by its new key.
    assert update(rig, "alice", incident, {"Priority": "P1"}).errors is None
    rig.jira.wait_for(
        lambda: rig.jira.issue(new)["fields"]["customfield_11064"]["value"] == "1", timeout=WAIT
    )
    rig.jira_user("carol").update(new, summary="Payments are slow in every region")
    rig.slack.wait_for(
        lambda: any(t.startswith(f"Jira {new}: Summary changed") for t in texts(rig, incident.channel)),
        timeout=WAIT,
    )
    assert texts(rig, incident.channel).count(moved) == 1

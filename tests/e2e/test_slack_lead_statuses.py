"""Who may change what through the Update modal: closing and the post-mortem are for the incident's leads
only; a member whose membership Slack does not confirm in time is asked to try again."""

from __future__ import annotations

from sandbox.rig import Rig
from tests.e2e.slack_steps import declare, update


def test_a_plain_channel_member_cannot_close_or_start_the_postmortem_by_update(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P3")
    assert update(rig, "alice", incident, {"Commander": "U0BOB"}).errors is None  # bob joins the channel
    rig.slack.wait_for(lambda: "U0BOB" in rig.slack.channels[incident.channel]["members"], timeout=10)
    assert update(rig, "bob", incident, {"Commander": "U0ALICE"}).errors is None  # bob stays a member only
    assert update(rig, "bob", incident, {"Status": "Mitigated"}).errors is None, "members may update"
    for status, action in (("Post-mortem", "create the post-mortem of"), ("Closed", "close")):
        ack = update(rig, "bob", incident, {"Status": status})
        assert ack.errors == {
            "status": f"Only the commander and reporter <@U0ALICE> or a member of the responders group "
            f"may {action} this incident."
        }
    assert update(rig, "alice", incident, {"Status": "Closed"}).errors is None, "the commander may"


def test_a_membership_check_slack_does_not_answer_in_time_asks_to_try_again(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P3")
    assert update(rig, "alice", incident, {"Commander": "U0BOB"}).errors is None  # bob joins the channel
    rig.slack.wait_for(lambda: "U0BOB" in rig.slack.channels[incident.channel]["members"], timeout=10)
    assert update(rig, "bob", incident, {"Commander": "U0ALICE"}).errors is None  # bob stays a member only
    rig.slack.slow("conversations.members", seconds=5)
    ack = update(rig, "bob", incident, {"Title": "Checkout is down for everyone in Spain"})
    assert ack.latency < 3, "acked within Slack's limit though the check got no answer"
    assert ack.errors == {
        "status": f"Slack did not confirm in time that you are a member of <#{incident.channel}>, "
        "which updating needs: please try again."
    }
    assert update(rig, "bob", incident, {"Title": "Checkout is down for everyone in Spain"}).errors is None

"""Closing and moving to post-mortem through the Update modal are for the incident's leads only."""

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

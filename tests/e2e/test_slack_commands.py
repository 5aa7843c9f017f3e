"""`/incident` texts and references, the announcement's buttons, and
who may do what."""

from __future__ import annotations

from sandbox.rig import Rig, person
from tests.e2e.slack_steps import (
    WAIT,
    command,
    declare,
    ephemeral_count,
    input_labels,
    last_ephemeral,
    open_view,
    section_texts,
    wait_for_jira_link,
)
from views.ids import Callback

ALICE, BOB, CAROL, DAVE = (person(name).slack_id for name in ("alice", "bob", "carol", "dave"))
SUBCOMMANDS = ("open", "update", "keyevents", "status", "postmortem", "close", "list", "help")
NOT_HERE = (
    "This channel is not an incident channel: run the command in the incident's channel or give a "
    "reference, e.g. `#12` or `INC-42`."
)


def test_help_unknown_list_status_and_references(rig: Rig) -> None:
    help_text = command(rig, "alice", "")
    assert command(rig, "alice", "help") == help_text
    for name in SUBCOMMANDS:
        assert f"`/incident {name}" in help_text, name
    unknown = command(rig, "alice", "frobnicate everything")
    assert unknown.startswith("Unknown command `frobnicate everything`.")
    assert unknown.endswith(help_text)

    for name in ("update", "keyevents", "status", "postmortem", "close"):
        assert command(rig, "alice", name) == NOT_HERE, name
    assert command(rig, "alice", "status #99") == "No incident matches `#99`."
    assert command(rig, "alice", "status NOPE-7") == "No incident matches `NOPE-7`."
    assert command(rig, "alice", "list") == "No open incidents. :tada:"
    rig.slack.fail("views.open", "expired_trigger_id")
    assert command(rig, "alice", "open").startswith("Something went wrong on our side"), (
        "a failure after the ack still reaches the user"
    )

    critical = declare(rig, "alice", "Checkout is down for everyone", "P1")
    wait_for_jira_link(rig, critical)
    declare(rig, "bob", "Refund export is slow today", "P4", **{"Suggested team": "Payments"})
    rig.slack.wait_for(lambda: rig.slack.dms(BOB), timeout=WAIT)
    jira = rig.jira.url

    assert command(rig, "carol", "list") == (
        "*Open incidents, newest first:*\n"
        f"• #2 P4 Open: Refund export is slow today <{jira}/browse/TEAM-1|TEAM-1>\n"
        f"• #1 P1 Open: Checkout is down for everyone <#{critical.channel}> <{jira}/browse/INC-1|INC-1>"
    )
    recap = (
        "*Incident #1: Checkout is down for everyone*\n"
        f"Channel: <#{critical.channel}>\n"
        "Status: Open · Priority: P1 · Commander: <@U0ALICE>\n"
        f"Jira: <{jira}/browse/INC-1|INC-1>\n"
        "Post-mortem: none\n"
        "Sync: in step"
    )
    assert command(rig, "alice", "status", channel=critical.channel) == recap
    assert command(rig, "dave", "status #1") == recap, "anyone may look"
    assert command(rig, "dave", "status inc-1") == recap, "Jira keys in any case"
    assert command(rig, "dave", "status TEAM-1").startswith("*Incident #2: Refund export is slow today*\n")

    view = open_view(rig, "bob", "update TEAM-1", Callback.UPDATE)
    assert "Incident #2" in view["blocks"][0]["elements"][0]["text"]
    before = ephemeral_count(rig, "bob")
    ack = rig.slack_user("bob").submit(view, {"Status": "Investigating"})
    assert ack.errors is None
    assert last_ephemeral(rig, "bob", after=before) == (
        "Incident #2: :pencil2: <@U0BOB> changed Status Open → Investigating"
    ), "with no channel to post in, the person who updated hears it"
    assert command(rig, "bob", "status #2").splitlines()[1] == (
        "Status: Investigating · Priority: P4 · Commander: <@U0BOB>"
    )
    notices = [m["text"] for m in rig.slack.messages(rig.announcements)]
    assert len(notices) == 1 and "New P1 incident #1" in notices[0], "P4–P5 changes are not announced"


def test_buttons_and_permissions(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P1")
    assert incident.channel
    members = rig.slack.channels[incident.channel]["members"]
    assert BOB not in members and DAVE not in members and CAROL in members

    update_refusal = (
        f"Only members of <#{incident.channel}>, the commander and reporter <@U0ALICE> "
        "may update this incident."
    )
    assert command(rig, "bob", "update #1") == update_refusal
    assert command(rig, "bob", "keyevents #1") == update_refusal
    close_refusal = (
        "Only the commander and reporter <@U0ALICE> or a member of the responders group "
        "may close this incident."
    )
    assert command(rig, "dave", "close #1") == close_refusal
    assert command(rig, "dave", "postmortem #1") == close_refusal.replace(
        "may close", "may create the post-mortem of"
    )

    def click(who: str, button: str) -> None:
        rig.slack_user(who).click(incident.channel, button)

    before = ephemeral_count(rig, "dave")
    click("dave", "Update")
    assert last_ephemeral(rig, "dave", after=before) == update_refusal, "clicking is no way around it"
    before = ephemeral_count(rig, "dave")
    click("dave", "Close")
    assert last_ephemeral(rig, "dave", after=before) == close_refusal
    assert rig.slack.open_views(DAVE) == [], "no modal for a refused click"

    carol = rig.slack_user("carol")
    carol.command("/incident", "update #1", channel_id=rig.general)
    assert (
        carol.wait_for_view(callback_id=Callback.UPDATE, timeout=WAIT)["title"]["text"] == "Update incident"
    )
    carol.command("/incident", "close #1", channel_id=rig.general)
    view = carol.wait_for_view(callback_id=Callback.CLOSE, timeout=WAIT)
    assert view["title"]["text"] == "Close incident", "the responders group may close"

    alice = rig.slack_user("alice")
    click("alice", "Update")
    assert input_labels(alice.wait_for_view(callback_id=Callback.UPDATE, timeout=WAIT))[0] == "Status"
    click("alice", "Key events")
    assert (
        input_labels(alice.wait_for_view(callback_id=Callback.KEY_EVENTS, timeout=WAIT))[0] == "Detected at"
    )
    click("alice", "Close")
    close = alice.wait_for_view(callback_id=Callback.CLOSE, timeout=WAIT)
    assert input_labels(close) == ["Closure reason", "Message"]
    assert section_texts(close) == (
        ":no_entry: *This incident cannot be closed yet:*\n"
        "• it is Open; it must be at least Mitigated\n"
        "• a P1 incident needs its post-mortem created first"
    )
    before = ephemeral_count(rig, "alice")
    click("alice", "Post-mortem")
    assert last_ephemeral(rig, "alice", after=before) == (
        "Creating the post-mortem in Jira; its link will be posted and pinned here."
    )

    rig.slack_user("alice").submit(
        open_view(rig, "alice", "update", Callback.UPDATE, incident.channel), {"Commander": "bob"}
    )
    rig.slack.wait_for(lambda: BOB in rig.slack.channels[incident.channel]["members"], timeout=WAIT)
    bob = rig.slack_user("bob")
    bob.command("/incident", "close #1", channel_id=rig.general)
    assert bob.wait_for_view(callback_id=Callback.CLOSE, timeout=WAIT), "the commander may close"

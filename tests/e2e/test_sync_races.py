"""Two races that used to leave Slack and Jira disagreeing for good, replayed step by step against the
real bot, on SQLite and on PostgreSQL:

1. an older Jira change that arrives between the bot's write and its echo must not win;
2. an Update modal left open while the incident changes elsewhere must not revert that change.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.jira import JiraUser
from sandbox.rig import Rig, person
from tests.conftest import throwaway_postgres
from tests.e2e.jira_steps import person_id
from tests.e2e.rigs import running_rig
from tests.e2e.slack_steps import (
    WAIT,
    Declared,
    command,
    declare,
    open_view,
    texts,
    update,
    wait_for_jira_link,
    wait_for_text,
)
from views.ids import Callback

PRIORITY = "customfield_11064"


@pytest.fixture(params=["sqlite", "postgresql"])
def rig(request: pytest.FixtureRequest, tmp_path, jira_deployment: str) -> Iterator[Rig]:
    if request.param == "sqlite":
        with running_rig(request, tmp_path, jira=jira_deployment) as started:
            yield started
        return
    with (
        throwaway_postgres("bot_races") as url,
        running_rig(request, tmp_path, database_url=url, jira=jira_deployment) as started,
    ):
        yield started


def ticket_key(rig: Rig) -> str:
    [key] = [key for key in rig.jira.issues if key.startswith("INC-")]
    return key


def jira_priority(rig: Rig, key: str) -> str:
    return rig.jira.issue(key)["fields"][PRIORITY]["value"]


def ready(rig: Rig) -> tuple[Declared, str]:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P3")
    wait_for_jira_link(rig, incident)
    key = ticket_key(rig)
    rig.jira.wait_for(lambda: rig.jira.issue(key)["fields"].get("assignee"), timeout=WAIT)
    return incident, key


def bob(rig: Rig) -> JiraUser:
    return JiraUser(rig.jira, account_id=person("bob").jira_account)


def status_line(rig: Rig, incident: Declared) -> str:
    return command(rig, "alice", "status", channel=incident.channel)


def settled_status(rig: Rig, incident: Declared) -> str:
    """`/incident status` once nothing is on its way any more (it fails the test if it never says
    "in step": the two sides would disagree)."""
    return rig.slack.wait_for(
        lambda: (line := status_line(rig, incident)) and "Sync: in step" in line and line,
        timeout=WAIT,
        message="/incident status saying the incident and its ticket are in step",
    )


@pytest.mark.both_jiras
def test_an_older_jira_change_arriving_between_the_bots_write_and_its_echo_does_not_win(rig: Rig) -> None:
    incident, key = ready(rig)
    assert incident.channel
    rig.jira.hold_webhooks()
    bob(rig).update(key, **{PRIORITY: {"value": "4"}})  # its webhook is late
    ack = update(rig, "alice", incident, {"Priority": "P2"})
    assert ack.errors is None, ack.errors
    rig.jira.wait_for(lambda: jira_priority(rig, key) == "2", timeout=WAIT)  # the bot wrote 2
    held = rig.jira.held_webhooks()
    assert [person_id(rig, h["body"]["user"]) for h in held] == [person("bob").jira_account, "acc-bot"]

    rig.jira.release_all_webhooks()  # Bob's older change arrives first, then the echo of the write

    line = wait_for_text(rig, incident.channel, f"Jira {key}: Priority changed from P4 to P2")
    assert line.endswith("by Incident Bot"), line
    assert jira_priority(rig, key) == "2"
    assert "Priority: P2" in settled_status(rig, incident)
    lines = [t for t in texts(rig, incident.channel) if t.startswith(f"Jira {key}: Priority")]
    assert lines == [
        f"Jira {key}: Priority changed from P3 to P4 by Bob",
        f"Jira {key}: Priority changed from P4 to P2 by Incident Bot",
    ], "the overtaken change, then its correction"


def test_a_status_step_back_from_a_late_delivery_is_corrected(rig: Rig) -> None:
    incident, key = ready(rig)
    assert incident.channel
    rig.jira.hold_webhooks()
    bob(rig).transition(key, "in progress")
    ack = update(rig, "alice", incident, {"Status": "Mitigated"})
    assert ack.errors is None, ack.errors
    rig.jira.wait_for(lambda: rig.jira.issue(key)["fields"]["status"]["name"] == "Reporter validation")

    rig.jira.release_all_webhooks()

    wait_for_text(
        rig, incident.channel, f"Jira {key}: Status changed from in progress to Reporter validation"
    )
    assert "Status: Mitigated" in settled_status(rig, incident)


def test_the_echo_first_and_the_older_change_after_ends_at_the_write(rig: Rig) -> None:
    incident, key = ready(rig)
    assert incident.channel
    rig.jira.hold_webhooks()
    bob(rig).update(key, **{PRIORITY: {"value": "4"}})
    update(rig, "alice", incident, {"Priority": "P2"})
    rig.jira.wait_for(lambda: jira_priority(rig, key) == "2", timeout=WAIT)
    bobs, echo = (h["index"] for h in rig.jira.held_webhooks())

    rig.jira.release_all_webhooks(order=[echo, bobs])

    assert "Priority: P2" in settled_status(rig, incident)
    assert not [t for t in texts(rig, incident.channel) if t.startswith(f"Jira {key}: Priority")]


def submitted_after_bob_set_p1(rig: Rig, values: dict[str, str]) -> tuple[Declared, str, str]:
    """Alice opens the Update modal (it shows P3), Bob sets P1 in Jira and it is applied, then Alice
    submits `values`; returns the incident, its key and the channel's summary of her change."""
    incident, key = ready(rig)
    assert incident.channel
    view = open_view(rig, "alice", "update", Callback.UPDATE, channel=incident.channel)
    bob(rig).update(key, **{PRIORITY: {"value": "1"}})
    wait_for_text(rig, incident.channel, f"Jira {key}: Priority changed from P3 to P1 by Bob")
    seen = len(texts(rig, incident.channel))
    ack = rig.slack_user("alice").submit(view, values)
    assert ack.errors is None, ack.errors
    return incident, key, wait_for_text(rig, incident.channel, "changed", after=seen)


def test_a_stale_update_modal_changes_only_what_its_user_changed(rig: Rig) -> None:
    incident, key, summary = submitted_after_bob_set_p1(rig, {"Title": "Checkout is down for some"})

    assert summary == (
        ":pencil2: <@U0ALICE> changed Title Checkout is down for everyone → Checkout is down for some"
    ), "Bob's priority is not reverted"
    rig.jira.wait_for(lambda: rig.jira.issue(key)["fields"]["summary"] == "Checkout is down for some")
    assert jira_priority(rig, key) == "1"
    assert "Priority: P1" in settled_status(rig, incident)


def test_a_field_changed_in_both_places_takes_the_modals_value_and_says_what_it_replaced(rig: Rig) -> None:
    _incident, key, summary = submitted_after_bob_set_p1(rig, {"Priority": "P2"})

    assert summary == ":pencil2: <@U0ALICE> changed Priority P1 → P2", "the replaced value is named"
    rig.jira.wait_for(lambda: jira_priority(rig, key) == "2", timeout=WAIT)

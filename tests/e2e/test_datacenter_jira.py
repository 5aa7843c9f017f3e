"""End to end on Jira Data Center: the real bot process on a personal access token, against the
emulator's Data Center mode (people by name and key, `search` with startAt, changelog items without
`fieldId`, text edited in the UI with CRLF line endings).

People act in Slack (modals) and in Jira; the assertions read what each side holds.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from bot import db
from bot.models import Incident
from sandbox.rig import Rig, person
from tests.e2e.jira_steps import jira_line, ticket_of, wait_until_idle
from tests.e2e.slack_steps import WAIT, declare, texts, update

pytestmark = pytest.mark.parametrize("jira_deployment", ["datacenter"], indirect=True)


def fields(rig: Rig, key: str) -> dict:
    return rig.jira.issue(key)["fields"]


def test_declare_then_every_field_both_ways_on_data_center(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P3", Description="Cards time out")
    key = ticket_of(rig, incident)
    assert fields(rig, key)["reporter"]["name"] == person("alice").jira_account
    assert {r["auth_account"] for r in rig.jira.requests} == {"acc-bot"}, "the PAT, nothing else"

    # Slack → Jira, each field
    values = {
        "Status": "Investigating",
        "Priority": "P2",
        "Title": "Checkout is down in the EU",
        "Description": "Cards time out\nat the last step",
        "Commander": person("bob").slack_id,
    }
    assert update(rig, "alice", incident, values).errors is None
    rig.jira.wait_for(
        lambda: (
            rig.jira.issue(key)["status"] == "in progress"
            and (fields(rig, key).get("assignee") or {}).get("name") == person("bob").jira_account
            and fields(rig, key)["customfield_11064"]["value"] == "2"
            and fields(rig, key)["summary"] == "Checkout is down in the EU"
            and fields(rig, key)["description"].startswith("Cards time out\nat the last step\n\n")
        ),
        timeout=WAIT,
    )
    assigned = [r["json"] for r in rig.jira.requests_to("PUT", f"/rest/api/2/issue/{key}/assignee")]
    assert assigned[-1] == {"name": person("bob").jira_account}
    assert all(set(body) == {"name"} for body in assigned)
    wait_until_idle(rig, key)  # the bot's own writes came back by webhook, recognised by name/key
    assert not [t for t in texts(rig, incident.channel) if t.startswith("Jira ")]

    # Jira → incident, each field
    carol = rig.jira_user("carol")
    carol.transition(key, "Reporter validation")
    jira_line(rig, incident, "Status changed from")
    carol.update(key, customfield_11064={"value": "1"})
    assert jira_line(rig, incident, "Priority") == f"Jira {key}: Priority changed from P2 to P1 by Carol"
    carol.update(key, summary="Checkout is down everywhere")
    jira_line(rig, incident, "Summary changed")
    written = fields(rig, key)["description"]
    carol.update(
        key, description=written.replace("Cards time out\nat the last step", "Provider outage\nconfirmed")
    )
    assert "\r\n" in fields(rig, key)["description"]
    jira_line(rig, incident, "Description changed")
    carol.assign(key, person("carol").jira_account)
    jira_line(rig, incident, "Assignee changed")
    wait_until_idle(rig, key)
    described = fields(rig, key)["description"]
    assert described.count("Slack channel: ") == 1 and described.count("declared from Slack") == 1
    engine = db.make_engine(rig.env["DATABASE_URL"])
    try:
        with Session(engine) as session:
            now = session.get(Incident, incident.id)
            assert (now.status, now.priority) == ("MITIGATED", 1)
            assert (now.title, now.description) == (
                "Checkout is down everywhere",
                "Provider outage\nconfirmed",
            )
            assert now.commander_id == person("carol").slack_id
    finally:
        engine.dispose()


def test_the_reconciler_pages_on_start_at_after_a_missed_webhook(rig: Rig) -> None:
    bob = rig.jira_user("bob")
    for n in range(105):  # unrelated issues updated in the window: two pages of 100
        bob.create("INC", f"Unrelated issue {n}", issuetype="Task")
    incident = declare(rig, "alice", "Search returns nothing", "P3")
    key = ticket_of(rig, incident)
    wait_until_idle(rig, key)
    rig.jira.pause_webhooks()
    bob.update(key, customfield_11064={"value": "1"}, summary="Search returns nothing at all")
    rig.jira.resume_webhooks(drop=True)
    rig.jira.clear_requests()
    run = rig.reconcile_once()
    assert run.returncode == 0, run.stderr
    searches = rig.jira.requests_to("GET", "/rest/api/2/search")
    assert [r["query"].get("startAt") for r in searches] == ["0", "100"]
    assert not rig.jira.requests_to("GET", "/rest/api/2/search/jql")
    assert jira_line(rig, incident, "Priority") == f"Jira {key}: Priority changed from P3 to P1 by Bob"
    jira_line(rig, incident, "Summary changed from Search returns nothing to Search returns nothing at all")

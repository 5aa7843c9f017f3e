"""Slack → Jira against the Jira emulator: the ticket's fields, pushed changes, workflow paths, outages."""

from __future__ import annotations

import time

import pytest

from sync.guards import bounce_key

ALL_FIELDS = dict(
    description="Payments fail at the last step",
    environments=["STG", "PRD"],
    platform="platform-FR",
    impacts={"Customers": "Medium", "Sellers": "High", "Business": "Low"},
    zendesk_ticket_id="ZD-42",
    seller_contract_id="SC-7",
    zoho_desk_ticket_id="ZO-9",
    is_key_account=True,
    is_seller_in_golden_list=True,
    category="Availability",
)


def created_fields(harness, key: str) -> dict:
    [create] = [
        r for r in harness.jira.requests_to("POST", "/rest/api/2/issue") if r["path"].endswith("/issue")
    ]
    assert create["json"]["fields"]["summary"]
    return create["json"]["fields"]


def test_p1_ticket_carries_every_field(harness) -> None:
    incident = harness.declare(1, **ALL_FIELDS)
    harness.drain()
    ticket = harness.ticket(incident)
    fields = created_fields(harness, ticket.key)
    assert fields["project"] == {"key": "INC"}
    assert fields["issuetype"] == {"name": "Incident"}
    assert fields["summary"] == "Checkout returns 500 errors"
    assert fields["description"].startswith("Payments fail at the last step")
    assert "Slack channel: [#inc-" in fields["description"] and "/archives/C" in fields["description"]
    assert "Suggested team" not in fields["description"]
    assert fields["customfield_11064"] == {"value": "1"}
    assert fields["customfield_11049"] == [{"value": "STG"}], "P1–P3 send the first environment only"
    assert fields["customfield_10201"] == {"value": "FR"}
    assert fields["customfield_10936"] == {"value": "High"}
    assert fields["customfield_10895"] == "ZD-42"
    assert fields["customfield_10908"] == "SC-7"
    assert fields["customfield_10896"] == "ZO-9"
    assert fields["labels"] == ["keyAccount", "goldenList"]
    assert fields["customfield_12369"] == {"value": "Availability"}
    assert fields["reporter"] == {"accountId": "acc-alice"}
    issue = harness.jira.issue(ticket.key)
    assert issue["fields"]["assignee"]["accountId"] == "acc-alice", "the commander is the assignee"
    assert ticket.url == f"{harness.jira.url}/browse/{ticket.key}"
    [link] = issue["remote_links"]
    assert "/archives/" in link["object"]["url"]
    channel = harness.incident(incident.id).channel_id
    assert [b["title"] for b in harness.slack.bookmarks(channel)] == ["Jira ticket"]
    [announcement] = [
        m for m in harness.slack.messages(channel) if m["ts"] == harness.incident(incident.id).announcement_ts
    ]
    assert ticket.key in str(announcement["blocks"])


def test_p4_ticket_goes_to_the_team_project_with_all_environments(harness) -> None:
    incident = harness.declare(4, environments=["PRD", "INT"], suggested_team_routing="Payments")
    harness.drain()
    ticket = harness.ticket(incident)
    assert ticket.key.startswith("TEAM-")
    fields = created_fields(harness, ticket.key)
    assert fields["customfield_11064"] == {"value": "4"}
    assert fields["customfield_11049"] == [{"value": "PRD"}, {"value": "INT"}]
    assert "Suggested team to be routed: *Payments*" in fields["description"]
    assert "Slack channel" not in fields["description"]
    dm = harness.slack.dms("U0ALICE")
    assert ticket.key in dm[-1]["text"] and ticket.url in dm[-1]["text"]


def test_p5_without_team_project_uses_the_default_and_leaves_optional_fields_out(harness) -> None:
    incident = harness.declare(5, suggested_team_routing="Checkout")
    harness.drain()
    fields = created_fields(harness, harness.ticket(incident).key)
    assert fields["project"] == {"key": "INC"}
    for absent in (
        "customfield_10936",
        "customfield_10895",
        "customfield_10908",
        "customfield_10896",
        "labels",
        "customfield_12369",
    ):
        assert absent not in fields
    assert fields["customfield_11049"] == [{"value": "PRD"}]
    assert fields["customfield_10201"] == {"value": "All"}


def test_changes_are_pushed_field_by_field_with_bounce_keys(harness) -> None:
    incident = harness.declare(2)
    harness.drain()
    key = harness.ticket(incident).key
    harness.jira.clear_requests()
    harness.update(
        incident,
        title="Checkout returns 502 errors",
        priority=1,
        description="Gateway timeouts",
        commander_id="U0BOB",
    )
    harness.drain()
    issue = harness.jira.issue(key)["fields"]
    assert issue["summary"] == "Checkout returns 502 errors"
    assert issue["customfield_11064"]["value"] == "1"
    assert issue["description"].startswith("Gateway timeouts")
    assert issue["assignee"]["accountId"] == "acc-bob"
    [edit] = [
        r for r in harness.jira.requests_to("PUT", f"/rest/api/2/issue/{key}") if r["path"].endswith(key)
    ]
    assert set(edit["json"]["fields"]) == {"summary", "customfield_11064", "description"}, (
        "only changed fields"
    )
    kv = harness.runtime.kv
    assert kv.get(bounce_key(incident.id, "summary", "Checkout returns 502 errors")) == "1"
    assert kv.get(bounce_key(incident.id, "customfield_11064", "1")) == "1"
    assert kv.get(bounce_key(incident.id, "assignee", "acc-bob")) == "1"
    lookups = harness.jira.requests_to("GET", "/rest/api/2/user/search")
    harness.update(incident, commander_id="U0ALICE")
    harness.update(incident, commander_id="U0BOB")
    harness.drain()
    assert len(harness.jira.requests_to("GET", "/rest/api/2/user/search")) == len(lookups), (
        "accounts are cached"
    )


def mitigate(harness):
    """Declare a P3, move it to Mitigated from Slack; return it, its key and the transitions sent."""
    incident = harness.declare(3)
    harness.drain()
    key = harness.ticket(incident).key
    harness.update(incident, status="MITIGATED")
    harness.drain()
    hops = [
        r["json"]["transition"]["id"]
        for r in harness.jira.requests_to("POST", f"/rest/api/2/issue/{key}/transitions")
    ]
    return incident, key, hops


def test_status_takes_the_shortest_path_and_sets_a_bounce_key_per_hop(harness) -> None:
    incident, key, hops = mitigate(harness)
    assert harness.jira.issue(key)["status"] == "Reporter validation"
    assert hops == ["21", "51"], "Start work then Ask validation: two hops, by transition id"
    kv = harness.runtime.kv
    assert kv.get(bounce_key(incident.id, "status", "in progress")) == "1"
    assert kv.get(bounce_key(incident.id, "status", "Reporter validation")) == "1"
    harness.update(incident, status="POST_MORTEM")
    harness.drain()
    assert len(harness.jira.requests_to("POST", f"/rest/api/2/issue/{key}/transitions")) == 2, (
        "same Jira status"
    )


def test_an_unreachable_status_is_reported_in_the_channel(harness) -> None:
    harness.jira.set_workflow(
        ["Incoming", "in progress", "Reporter validation", "Closed"],
        [("Start work", "Incoming", "in progress")],
    )
    incident = harness.declare(1)
    harness.drain()
    harness.update(incident, status="MITIGATED")
    harness.drain()
    # as near as the issue's own transitions go (as when the workflow is hidden), and the channel is told
    assert harness.jira.issue(harness.ticket(incident).key)["status"] == "in progress"
    assert any("could not be moved to *Reporter validation*" in t for t in harness.channel_texts(incident))
    assert not harness.jobs(state="failed")


def test_a_workflow_that_shows_no_way_leaves_the_issues_own_transitions_to_decide(harness) -> None:
    statuses = ["Incoming", "in progress", "Reporter validation", "Closed"]
    harness.jira.set_workflow(statuses, [("Start work", "Incoming", "in progress")])
    incident = harness.declare(1)
    harness.drain()
    harness.update(incident, status="INVESTIGATING")
    harness.drain()  # the bot read this workflow, and keeps it for a while
    harness.jira.set_workflow(
        statuses,
        [("Start work", "Incoming", "in progress"), ("Validate", "in progress", "Reporter validation")],
    )
    # what the bot holds (an older answer) has no way to Reporter validation; the issue itself has one
    harness.update(incident, status="MITIGATED")
    harness.drain()
    assert harness.jira.issue(harness.ticket(incident).key)["status"] == "Reporter validation"
    assert not any("could not be moved" in t for t in harness.channel_texts(incident))


def test_a_path_never_goes_through_closed(harness) -> None:
    harness.jira.set_workflow(
        ["Incoming", "in progress", "Closed"],
        [("Cancel", "Incoming", "Closed"), ("Reopen", "Closed", "in progress")],
    )
    incident = harness.declare(3)
    harness.drain()
    harness.update(incident, status="INVESTIGATING")
    harness.drain()
    assert harness.jira.issue(harness.ticket(incident).key)["status"] == "Incoming"


def test_changes_made_during_a_jira_outage_arrive_in_order_after_it(harness) -> None:
    incident = harness.declare(1)
    harness.drain()
    key = harness.ticket(incident).key
    harness.jira.fail_with(status=503, retry_after=1, seconds=None)
    titles = [f"Checkout outage, update number {n}" for n in range(4)]
    for title in titles[:2]:
        harness.update(incident, title=title)
    harness.drain()
    harness.jira.clear_faults()
    harness.jira.refuse_connections(seconds=None)
    for title in titles[2:]:
        harness.update(incident, title=title)
    harness.drain()
    assert harness.jira.issue(key)["fields"]["summary"] == "Checkout returns 500 errors"
    texts = harness.channel_texts(incident)
    assert sum("Jira is not answering" in t for t in texts) == 1, "the channel is told once"
    pending = harness.jobs(state="pending")
    assert pending and pending[0].next_attempt_at.timestamp() >= time.time() - 1
    harness.jira.clear_faults()
    harness.drain_all()
    summaries = [
        r["json"]["fields"]["summary"]
        for r in harness.jira.requests_to("PUT", f"/rest/api/2/issue/{key}")
        if r["status"] == 204 and r["path"].endswith(key)
    ]
    assert summaries == titles[-1:], "the queued changes went as one edit with the latest title"
    history = [h for h in harness.jira.issue(key)["changelog"] if h["items"][0]["field"] == "summary"]
    assert [h["items"][0]["toString"] for h in history] == titles[-1:]
    texts = harness.channel_texts(incident)
    assert sum("Jira has caught up" in t for t in texts) == 1
    assert sum(f"→ {title}" in t for t in texts for title in titles) == len(titles), "each told in Slack"


def test_a_retried_creation_after_a_lost_reply_makes_no_second_ticket(harness) -> None:
    harness.declare(4, suggested_team_routing="Checkout")
    harness.drain()  # connects the client and caches alice's Jira account
    harness.jira.add_latency(seconds=4.0, duration=None)  # longer than the client's 3 s timeout
    incident = harness.declare(4, suggested_team_routing="Checkout", title="Second incident, same reporter")
    harness.drain()
    [job] = harness.jobs(state="pending")
    assert job.kind == "jira.create_ticket" and "Timeout" in job.last_error
    harness.jira.wait_for(lambda: len(harness.jira.issues) == 2, timeout=10)
    harness.jira.clear_faults()
    harness.drain_all()
    assert len(harness.jira.issues) == 2, "the retry found the ticket its lost request had made"
    assert harness.ticket(incident).key == "INC-2"


@pytest.mark.parametrize("status", [400])
def test_a_refused_change_is_explained_and_parked(harness, status) -> None:
    incident = harness.declare(1)
    harness.drain()
    harness.jira.fail_with(status=status, seconds=None)
    harness.update(incident, title="A title Jira will refuse")
    harness.drain()
    harness.jira.clear_faults()
    harness.drain()
    [failed] = harness.jobs(state="failed")
    assert failed.kind == "jira.push_changes" and "HTTP 400" in failed.last_error
    assert any("Jira refused a change" in t for t in harness.channel_texts(incident))


def test_without_the_workflow_api_the_status_is_reached_hop_by_hop(harness) -> None:
    harness.jira.hide_workflow_api()
    incident, key, hops = mitigate(harness)
    assert harness.jira.issue(key)["status"] == "Reporter validation"
    assert hops == ["21", "51"], "Start work (nearer), then Ask validation (the target)"
    assert len(harness.jira.requests_to("GET", "/rest/api/2/workflow/search")) == 1, (
        "a hidden workflow is not asked again"
    )
    assert harness.runtime.kv.get(bounce_key(incident.id, "status", "in progress")) == "1"


def test_without_the_workflow_api_a_status_out_of_reach_is_reported_not_wandered_to(harness) -> None:
    harness.jira.hide_workflow_api()
    harness.jira.set_workflow(
        ["Incoming", "in progress", "Code Review", "Reporter validation", "Closed"],
        [
            ("Start work", "Incoming", "in progress"),
            ("Review", "in progress", "Code Review"),
            ("Cancel", "Incoming", "Closed"),
        ],
    )
    incident, key, _hops = mitigate(harness)
    assert harness.jira.issue(key)["status"] == "in progress", (
        "moved nearer, never into Code Review or Closed"
    )
    assert any("could not be moved to *Reporter validation*" in t for t in harness.channel_texts(incident))


def test_a_late_push_does_not_overwrite_what_jira_changed_meanwhile(harness, webhook_url) -> None:
    incident = harness.declare(3)
    harness.drain()
    key = harness.ticket(incident).key
    harness.runtime.jira.myself()  # known before the outage, as in a bot that has been running a while
    harness.jira.fail_with(status=503, retry_after=1, seconds=None)
    harness.update(incident, title="Title typed in Slack during the outage", priority=2)
    harness.drain()  # the push waits for Jira
    delivered = len(harness.jira.webhook_deliveries)
    harness.jira_user("bob").update(key, summary="Title Bob typed in Jira meanwhile")  # Jira's own change
    harness.jira.wait_for(lambda: len(harness.jira.webhook_deliveries) > delivered, timeout=10)
    harness.drain()
    assert harness.incident(incident.id).title == "Title Bob typed in Jira meanwhile"
    harness.jira.clear_faults()
    harness.drain_all()
    issue = harness.jira.issue(key)["fields"]
    assert issue["summary"] == "Title Bob typed in Jira meanwhile", "the late push did not overwrite it"
    assert issue["customfield_11064"]["value"] == "2", "the field Jira did not touch was still pushed"
    assert harness.incident(incident.id).title == issue["summary"], "both sides agree"


def test_a_site_that_refuses_the_reporter_still_gets_the_ticket(harness) -> None:
    harness.jira.refuse_reporter()
    incident = harness.declare(4, suggested_team_routing="Checkout")
    harness.drain()
    ticket = harness.ticket(incident)
    creates = [
        r for r in harness.jira.requests_to("POST", "/rest/api/2/issue") if r["path"].endswith("/issue")
    ]
    assert [r["status"] for r in creates] == [400, 201]
    assert "reporter" in creates[0]["json"]["fields"] and "reporter" not in creates[1]["json"]["fields"]
    assert harness.jira.issue(ticket.key)["fields"]["summary"] == "Checkout returns 500 errors"
    assert not harness.jobs(state="failed")

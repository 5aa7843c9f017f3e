"""A backlog of Slack changes queued during a Jira outage goes out as the fewest requests reaching the same
end state: one edit with each field's latest value, the assignee once, the status straight to its final
target by the shortest path, bounce keys only for what was sent; Slack still hears of every change."""

from __future__ import annotations

from sync.guards import bounce_key

#: the changes made in Slack while Jira is down, in order: (field, value)
CHANGES = [
    ("title", "Checkout fails, take 1"),
    ("status", "INVESTIGATING"),
    ("priority", 1),
    ("commander_id", "U0BOB"),
    ("title", "Checkout fails, take 2"),
    ("status", "MITIGATING"),
    ("description", "Payments time out at the bank"),
    ("status", "MITIGATED"),
    ("priority", 2),
    ("status", "INVESTIGATING"),
    ("commander_id", "U0CAROL"),
    ("title", "Checkout fails, take 3"),
    ("status", "MITIGATED"),
]


def writes(harness, key: str) -> list[tuple[str, str, object]]:
    """Every write Jira received for the issue: (method, path suffix, body)."""
    return [
        (r["method"], r["path"].split(f"/issue/{key}", 1)[1], r["json"])
        for r in harness.jira.requests_to("*", f"/rest/api/2/issue/{key}")
        if r["method"] in ("PUT", "POST")
    ]


def test_a_backlog_after_an_outage_is_sent_as_one_edit_and_the_shortest_path(harness) -> None:
    incident = harness.declare(3)
    harness.drain()
    key = harness.ticket(incident).key
    harness.jira.refuse_connections(seconds=None)
    for field, value in CHANGES:
        harness.update(incident, **{field: value})
        harness.drain()  # the first push meets the outage and waits; the others queue behind it
    harness.jira.clear_faults()
    harness.jira.clear_requests()
    harness.drain_all()

    assert writes(harness, key) == [
        (
            "PUT",
            "",
            {
                "fields": {
                    "summary": "Checkout fails, take 3",
                    "customfield_11064": {"value": "2"},
                    "description": writes(harness, key)[0][2]["fields"]["description"],
                }
            },
        ),
        ("PUT", "/assignee", {"accountId": "acc-carol"}),
        ("POST", "/transitions", {"transition": {"id": "21"}}),
        ("POST", "/transitions", {"transition": {"id": "51"}}),
    ], "one edit, the assignee once, Incoming → in progress → Reporter validation"
    fields = harness.jira.issue(key)["fields"]
    assert fields["description"].startswith("Payments time out at the bank")
    assert harness.jira.issue(key)["status"] == "Reporter validation"
    assert fields["assignee"]["accountId"] == "acc-carol"

    kv = harness.runtime.kv
    assert kv.get(bounce_key(incident.id, "summary", "Checkout fails, take 3")) == "1"
    for stale in ("Checkout fails, take 1", "Checkout fails, take 2"):
        assert kv.get(bounce_key(incident.id, "summary", stale)) is None, "never sent: no key"
    assert kv.get(bounce_key(incident.id, "customfield_11064", "1")) is None
    assert kv.get(bounce_key(incident.id, "assignee", "acc-bob")) is None
    assert kv.get(bounce_key(incident.id, "assignee", "acc-carol")) == "1"
    assert kv.get(bounce_key(incident.id, "status", "in progress")) == "1"
    assert kv.get(bounce_key(incident.id, "status", "Reporter validation")) == "1"

    summaries = [t for t in harness.channel_texts(incident) if t.startswith(":pencil2:")]
    assert len(summaries) == len(CHANGES), "the channel hears of every change, as before"
    assert not harness.jobs(state="failed")


def test_a_field_changed_in_jira_during_the_outage_is_pushed_only_if_slack_changed_it_again(
    harness, webhook_url
) -> None:
    incident = harness.declare(3)
    harness.drain()
    key = harness.ticket(incident).key
    harness.runtime.jira.myself()  # known before the outage, as in a bot that has been running a while
    harness.jira.fail_with(status=503, retry_after=1, seconds=None)
    harness.update(incident, title="Slack's title before Bob's edit", priority=2)
    harness.update(incident, description="Slack's description before Bob's edit")
    harness.drain()
    delivered = len(harness.jira.webhook_deliveries)
    harness.jira_user("bob").update(key, summary="Bob's title in Jira", description="Bob's description")
    harness.jira.wait_for(lambda: len(harness.jira.webhook_deliveries) > delivered, timeout=10)
    harness.drain()
    harness.update(incident, title="Slack's title after Bob's edit")
    harness.drain()
    harness.jira.clear_faults()
    harness.jira.clear_requests()
    harness.drain_all()
    [edit] = [body for method, suffix, body in writes(harness, key) if method == "PUT" and suffix == ""]
    assert edit["fields"] == {
        "summary": "Slack's title after Bob's edit",
        "customfield_11064": {"value": "2"},
    }, "the description Bob changed since is left to him; the title Slack changed after him is sent"
    fields = harness.jira.issue(key)["fields"]
    assert fields["description"] == "Bob's description"
    assert harness.incident(incident.id).description == "Bob's description", "both sides agree"

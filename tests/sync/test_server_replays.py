"""Jira Server/Data Center bodies replayed through the webhook route (shapes from the public REST and
webhook documentation): items without `fieldId` (custom fields named by their display name), people by
`name`/`key` with no `accountId`, text with CRLF line endings, and an issue moved to another project."""

from __future__ import annotations

import itertools
from typing import Any

from bot.models import JiraTicket
from sync.jira_people import person_ids
from tests.sync.conftest import serving
from tests.sync.webhook_support import declared, jira_lines, other_harness, post, settle

_IDS = itertools.count(700001)
BOB = {"self": "http://jira.local/rest/api/2/user?username=bob", "name": "bob", "key": "JIRAUSER10100"}


def server_item(
    field: str, to: str | None, frm: str | None = None, *, custom: bool = False
) -> dict[str, Any]:
    """A Server changelog item: `field` is a system field's id or a custom field's display name."""
    return {
        "field": field,
        "fieldtype": "custom" if custom else "jira",
        "from": None,
        "fromString": frm,
        "to": None,
        "toString": to,
    }


def server_update(
    ticket: JiraTicket,
    items: list[dict[str, Any]],
    *,
    user: dict[str, Any] | None = None,
    key: str | None = None,
    event: str = "issue_updated",
) -> dict[str, Any]:
    """A Server `jira:issue_updated` body: the user by name/key, every comment of the issue included."""
    writer = {**(user or BOB), "displayName": (user or BOB)["name"].title(), "active": True}
    return {
        "timestamp": 1764500000000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": event,
        "user": writer,
        "issue": {
            "id": ticket.jira_id,
            "self": f"http://jira.local/rest/api/2/issue/{ticket.jira_id}",
            "key": key or ticket.key,
            "fields": {"comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}},
        },
        "changelog": {"id": str(next(_IDS)), "items": items},
    }


def test_a_priority_change_named_by_the_fields_display_name_is_applied(harness, webhook_url) -> None:
    incident, ticket = declared(harness, priority=3)
    item = server_item("Priority (incident)", "1", "3", custom=True)
    assert post(webhook_url, server_update(ticket, [item])).status_code == 202
    settle(harness)
    assert harness.incident(incident.id).priority == 1
    assert jira_lines(harness, incident) == [f"Jira {ticket.key}: Priority changed from P3 to P1 by Bob"]
    assert harness.jira.requests_to("GET", "/rest/api/2/field"), (
        "the display name was matched through GET field"
    )


def test_an_unknown_custom_field_name_maps_to_nothing(harness, webhook_url) -> None:
    incident, ticket = declared(harness, priority=3)
    item = server_item("Story Points", "1", "3", custom=True)
    assert post(webhook_url, server_update(ticket, [item])).status_code == 202
    settle(harness)
    assert harness.incident(incident.id).priority == 3
    assert jira_lines(harness, incident) == []


def test_the_bots_own_account_is_recognised_by_name_or_key(database_url, emulators) -> None:
    for configured in ("svc-incidents", "JIRAUSER10000"):
        with (
            other_harness(database_url, emulators, jira_bot_account_id=configured) as harness,
            serving(harness) as url,
        ):
            incident, ticket = declared(harness)
            bot = {"name": "svc-incidents", "key": "JIRAUSER10000"}
            own = server_update(ticket, [server_item("summary", "Written by the bot itself")], user=bot)
            assert post(url, own).status_code == 202
            settle(harness)
            assert harness.incident(incident.id).title == incident.title, configured
            person = server_update(ticket, [server_item("summary", "Written by a person")])
            assert post(url, person).status_code == 202
            settle(harness)
            assert harness.incident(incident.id).title == "Written by a person"


def test_a_crlf_description_keeps_the_generated_lines_out_and_is_pushed_back_once(
    harness, webhook_url
) -> None:
    incident, ticket = declared(harness, description="Checkout returns 500 for every request")
    written = harness.jira.issue(ticket.key)["fields"]["description"]
    assert "Slack channel: " in written and "\r" not in written
    edited = written.replace(incident.description, "Payments fail\nfor every seller").replace("\n", "\r\n")
    item = server_item("description", edited, written.replace("\n", "\r\n"))
    assert post(webhook_url, server_update(ticket, [item])).status_code == 202
    settle(harness)
    assert harness.incident(incident.id).description == "Payments fail\nfor every seller"
    harness.update(incident, title="Payments fail for every seller")  # a push that leaves the text be
    harness.update(incident, description="Payments fail for every seller since 10:00")
    settle(harness)
    now = harness.jira.issue(ticket.key)["fields"]["description"]
    assert now.startswith("Payments fail for every seller since 10:00\n\n")
    assert now.count("Slack channel: ") == 1 and now.count("declared from Slack") == 1


def test_an_echo_of_the_bots_description_with_crlf_is_still_its_echo(database_url, emulators) -> None:
    # The bot's account unknown: only the bounce key (line-ending-blind) recognises the echo.
    with (
        other_harness(database_url, emulators, jira_bot_account_id="not-the-bot") as harness,
        serving(harness) as url,
    ):
        incident, ticket = declared(harness)
        harness.jira.pause_webhooks()
        harness.update(incident, description="Line one\nline two")
        harness.drain()
        sent = harness.jira.issue(ticket.key)["fields"]["description"]
        harness.jira.resume_webhooks(drop=True)
        echo = server_update(ticket, [server_item("description", sent.replace("\n", "\r\n"))])
        assert post(url, echo).status_code == 202
        settle(harness)
        assert not [line for line in jira_lines(harness, incident) if "Description" in line]


def test_an_issue_moved_to_another_project_is_followed_by_its_id(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira.add_project("OPS", "Operations")
    moved = [
        server_item("project", "Operations", "Incidents"),
        server_item("Key", "OPS-41", ticket.key),
    ]
    assert (
        post(webhook_url, server_update(ticket, moved, key="OPS-41", event="issue_moved")).status_code == 202
    )
    settle(harness)
    now = harness.ticket(incident)
    assert (now.key, now.jira_id) == ("OPS-41", ticket.jira_id)
    assert now.url.endswith("/browse/OPS-41")
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key} was moved to OPS-41 by Bob: the incident's ticket is OPS-41 now"
    ]
    later = server_update(now, [server_item("summary", "Checkout down after the move")], key="OPS-41")
    assert post(webhook_url, later).status_code == 202
    late_old = server_update(ticket, [server_item("summary", "An old change, late")])
    late_old["changelog"]["id"] = "700000"  # older than the move
    assert post(webhook_url, late_old).status_code == 202
    settle(harness)
    assert harness.ticket(incident).key == "OPS-41", "a late history with the old key does not move it back"
    assert jira_lines(harness, incident)[1].startswith("Jira OPS-41: Summary changed from ")
    harness.jira.clear_requests()
    harness.runtime.reconcile()
    [search] = harness.jira.requests_to("GET", "/rest/api/2/search")
    assert "OPS" in str(search), "the reconciler searches the project the ticket is in now"


def test_a_comment_event_without_an_issue_is_found_by_the_comments_link(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    comment_id = str(next(_IDS))
    created = {
        "timestamp": 1764500000000,
        "webhookEvent": "comment_created",
        "comment": {
            "self": f"http://jira.local/rest/api/2/issue/{ticket.jira_id}/comment/{comment_id}",
            "id": comment_id,
            "author": BOB,
            "body": "Rolled back the payments deploy",
            "updateAuthor": BOB,
            "created": "2025-12-01T10:00:00.000+0000",
            "updated": "2025-12-01T10:00:00.000+0000",
        },
    }
    assert post(webhook_url, created).status_code == 202
    settle(harness)
    [line] = [t for t in harness.channel_texts(incident) if " comment by " in t]
    assert "Rolled back the payments deploy" in line


def test_people_are_compared_by_every_id_they_carry() -> None:
    assert person_ids({"accountId": "5b10a", "name": None}) == {"5b10a"}
    assert person_ids({"name": "bob", "key": "JIRAUSER10100", "accountId": 7}) == {"bob", "JIRAUSER10100"}
    assert person_ids("bob") == frozenset() and person_ids(None) == frozenset()

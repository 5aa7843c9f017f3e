"""The Jira emulator's comments, as the bot relies on them: a comment event and its `jira:issue_updated`
twin for every creation, edit and deletion; comment properties (internal comments on a Service Management
project); comments in search results and in pages; all through the real `jira` client where it has a call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jira import JIRA

from sandbox.jira import JiraEmulator, JiraUser

BOT = ("bot@example.com", "jira-sandbox-token")


@pytest.fixture
def emu() -> Iterator[JiraEmulator]:
    emulator = JiraEmulator(projects=("INC",))
    emulator.add_user(account_id="acc-alice", email="alice@example.com", display_name="Alice")
    emulator.add_user(account_id="acc-bob", email="bob@example.com", display_name="Bob")
    emulator.add_project("DESK", service_desk=True)
    emulator.start()
    emulator.set_webhook("http://127.0.0.1:9/jira/webhook", "secret")
    emulator.hold_webhooks()
    yield emulator
    emulator.stop()


@pytest.fixture
def jira(emu: JiraEmulator) -> JIRA:
    return JIRA(server=emu.url, basic_auth=BOT, max_retries=0, timeout=5)


def _issue(jira: JIRA, project: str = "INC") -> str:
    fields = {"project": {"key": project}, "issuetype": {"name": "Incident"}, "summary": "Checkout down"}
    return jira.create_issue(fields=fields, prefetch=False).key


def _bodies(emu: JiraEmulator) -> list[dict[str, Any]]:
    return [held["body"] for held in emu.held_webhooks()]


def test_a_comment_sends_comment_created_and_its_issue_updated_twin(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    comment = JiraUser(emu, "acc-alice").comment(key, "*Rolled back* the deploy")
    created, twin = _bodies(emu)[-2:]
    assert created["webhookEvent"] == "comment_created"
    assert set(created) == {"timestamp", "webhookEvent", "comment", "issue"}
    assert set(created["issue"]["fields"]) == {
        "summary",
        "status",
        "priority",
        "assignee",
        "issuetype",
        "project",
    }
    assert created["issue"]["key"] == key
    assert (twin["webhookEvent"], twin["issue_event_type_name"]) == ("jira:issue_updated", "issue_commented")
    assert "changelog" not in twin and twin["user"]["accountId"] == "acc-alice"
    for body in (created, twin):
        shown = body["comment"]
        assert (shown["id"], shown["updated"], shown["body"]) == (
            comment["id"],
            comment["updated"],
            comment["body"],
        )
        assert shown["author"]["displayName"] == "Alice"
        assert shown["created"] == shown["updated"]


def test_an_edit_and_a_deletion_send_their_events_with_the_editor(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    comment = JiraUser(emu, "acc-alice").comment(key, "first text")
    edited = JiraUser(emu, "acc-bob").edit_comment(key, comment["id"], "second text")
    events = _bodies(emu)[-2:]
    assert [(b["webhookEvent"], b.get("issue_event_type_name")) for b in events] == [
        ("comment_updated", None),
        ("jira:issue_updated", "issue_comment_edited"),
    ]
    for body in events:
        assert body["comment"]["body"] == "second text"
        assert body["comment"]["author"]["displayName"] == "Alice"
        assert body["comment"]["updateAuthor"]["displayName"] == "Bob"
        assert body["comment"]["updated"] == edited["updated"] >= comment["created"]
    JiraUser(emu, "acc-bob").delete_comment(key, comment["id"])
    deleted = _bodies(emu)[-2:]
    assert [(b["webhookEvent"], b.get("issue_event_type_name")) for b in deleted] == [
        ("comment_deleted", None),
        ("jira:issue_updated", "issue_comment_deleted"),
    ]
    assert jira.comments(key) == []


def test_edit_and_delete_over_rest(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    comment = jira.add_comment(key, "typo teh")
    comment.update(body="typo the")
    assert jira.comment(key, comment.id).body == "typo the"
    comment.delete()
    assert jira.comments(key) == []
    response = requests.get(f"{emu.url}/rest/api/2/issue/{key}/comment/{comment.id}", auth=BOT, timeout=5)
    assert response.status_code == 404


def test_an_internal_comment_on_a_service_management_project(emu: JiraEmulator, jira: JIRA) -> None:
    assert jira.project("DESK").projectTypeKey == "service_desk"
    assert jira.project("INC").projectTypeKey == "software"
    key = _issue(jira, "DESK")
    jira.add_comment(key, "for agents only", is_internal=True)
    request = emu.requests_to("POST", f"/rest/api/2/issue/{key}/comment")[-1]
    assert request["json"]["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    shown = requests.get(
        f"{emu.url}/rest/api/2/issue/{key}/comment", params={"expand": "properties"}, auth=BOT, timeout=5
    ).json()["comments"][0]
    assert shown["jsdPublic"] is False
    assert shown["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    plain = requests.get(f"{emu.url}/rest/api/2/issue/{key}/comment", auth=BOT, timeout=5).json()
    assert "properties" not in plain["comments"][0]


def test_malformed_comment_properties_are_refused(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    response = requests.post(
        f"{emu.url}/rest/api/2/issue/{key}/comment",
        json={"body": "x", "properties": [{"value": 1}]},
        auth=BOT,
        timeout=5,
    )
    assert response.status_code == 400


def test_search_returns_comments_and_a_comment_makes_the_issue_updated(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    before = jira.issue(key).fields.updated
    JiraUser(emu, "acc-bob").comment(key, "seen from search")
    found = requests.get(
        f"{emu.url}/rest/api/2/search/jql",
        params={"jql": "project = INC", "fields": "updated,comment"},
        auth=BOT,
        timeout=5,
    ).json()["issues"][0]
    comments = found["fields"]["comment"]
    assert comments["total"] == 1 and comments["comments"][0]["body"] == "seen from search"
    assert found["fields"]["updated"] > before


def test_comments_page_with_start_at(emu: JiraEmulator, jira: JIRA) -> None:
    key = _issue(jira)
    for n in range(5):
        JiraUser(emu, "acc-alice").comment(key, f"comment {n}")
    page = requests.get(
        f"{emu.url}/rest/api/2/issue/{key}/comment",
        params={"startAt": 3, "maxResults": 10},
        auth=BOT,
        timeout=5,
    ).json()
    assert page["total"] == 5 and [c["body"] for c in page["comments"]] == ["comment 3", "comment 4"]

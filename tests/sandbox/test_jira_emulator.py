"""Contract tests of the Jira emulator, driven through the real `jira` client over loopback.

They pin what the bot relies on: the exact requests the client makes succeed, changes leave Jira's
changelog shapes, JQL search pages with `nextPageToken`, faults look like a real outage, and webhooks
are signed, retried with one identifier, and can be lost on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira import JiraEmulator, JiraEmulatorError, JiraUser

BOT = ("bot@example.com", "jira-sandbox-token")
JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
ALL_FIELDS = {
    "project": {"key": "INC"},
    "issuetype": {"name": "Incident"},
    "summary": "Checkout returns 500",
    "description": "Customers cannot pay.\nSlack: https://slack.example/archives/C1",
    "customfield_11064": {"value": "1"},
    "customfield_11049": [{"value": "PRD"}],
    "customfield_10201": {"value": "FR"},
    "customfield_10936": {"value": "High"},
    "customfield_10895": "ZD-1",
    "customfield_10908": "SC-2",
    "customfield_10896": "ZO-3",
    "customfield_12369": {"value": "Payments"},
    "labels": ["keyAccount", "goldenList"],
}


class Clock:
    """A site clock that starts at a fixed moment and ticks 1 ms per reading (strict ordering)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(milliseconds=1)
            return self.now

    def advance(self, **delta: float) -> datetime:
        with self.lock:
            self.now += timedelta(**delta)
            return self.now


class Receiver:
    """A tiny webhook receiver answering queued statuses (then 200), recording what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jira/webhook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[JiraEmulator]:
    emulator = JiraEmulator(webhook_retry_delays=(0.05, 0.1, 0.1), clock=clock, pat="dc-pat")
    emulator.add_user(account_id="acc-alice", email="alice@example.com", display_name="Alice")
    emulator.add_user(account_id="acc-bob", email="bob@example.com", display_name="Bob")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def jira(emu: JiraEmulator) -> JIRA:
    return JIRA(server=emu.url, basic_auth=BOT, max_retries=0, timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _incident(jira: JIRA, summary: str = "Checkout returns 500") -> str:
    issue = jira.create_issue(fields={**ALL_FIELDS, "summary": summary}, prefetch=False)
    return issue.key


def test_server_info_myself_and_authentication(emu: JiraEmulator, jira: JIRA) -> None:
    info = jira.server_info()
    assert info["deploymentType"] == "Cloud" and info["baseUrl"] == emu.url and info["versionNumbers"]
    assert jira.myself()["accountId"] == "acc-bot"
    alice = JIRA(
        server=emu.url, basic_auth=("alice@example.com", "acc-alice-token"), max_retries=0, timeout=5
    )
    assert alice.myself()["displayName"] == "Alice"
    bearer = JIRA(server=emu.url, token_auth="dc-pat", max_retries=0, timeout=5)
    assert bearer.myself()["accountId"] == "acc-bot"
    with pytest.raises(JIRAError) as refused:
        JIRA(server=emu.url, basic_auth=("bot@example.com", "wrong"), max_retries=0, timeout=5).myself()
    assert refused.value.status_code == 401 and "not authenticated" in refused.value.text
    assert [r["auth_account"] for r in emu.requests_to("GET", "/rest/api/2/myself")] == [
        "acc-bot",
        "acc-alice",
        "acc-bot",
        None,
    ]


def test_create_issue_with_all_fields_and_read_back(emu: JiraEmulator, jira: JIRA) -> None:
    emu.clear_requests()
    key = _incident(jira)
    assert key == "INC-1"
    assert [(r["method"], r["path"]) for r in emu.requests] == [("POST", "/rest/api/2/issue")]
    issue = jira.issue(key)
    f = issue.fields
    assert f.summary == "Checkout returns 500" and f.status.name == "Incoming"
    assert f.status.statusCategory.key == "new"
    assert f.customfield_11064.value == "1" and [e.value for e in f.customfield_11049] == ["PRD"]
    assert f.customfield_10201.value == "FR" and f.customfield_12369.value == "Payments"
    assert (f.customfield_10895, f.customfield_10908, f.customfield_10896) == ("ZD-1", "SC-2", "ZO-3")
    assert sorted(f.labels) == ["goldenList", "keyAccount"] and f.assignee is None
    assert f.reporter.accountId == "acc-bot" and f.project.key == "INC" and f.issuetype.name == "Incident"
    assert JIRA_TIME.match(f.created) and JIRA_TIME.match(f.updated)
    assert issue.raw["self"] == f"{emu.url}/rest/api/2/issue/{issue.id}"
    record = emu.issue(key)
    assert record["status"] == "Incoming" and record["changelog"] == []
    assert jira.create_issue(fields={**ALL_FIELDS, "project": {"key": "PM"}}, prefetch=False).key == "PM-1"
    assert _incident(jira) == "INC-2"
    assert set(jira.issue(key, fields="summary,status").raw["fields"]) == {"summary", "status"}


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"summary": None}, "summary"),
        ({"project": {"key": "NOPE"}}, "project"),
        ({"issuetype": {"name": "Epic saga"}}, "issuetype"),
        ({"customfield_11064": {"value": "7"}}, "customfield_11064"),
        ({"customfield_99999": "x"}, "customfield_99999"),
        ({"labels": ["has space"]}, "labels"),
    ],
)
def test_create_issue_validation(jira: JIRA, fields: dict[str, Any], error_field: str) -> None:
    with pytest.raises(JIRAError) as refused:
        jira.create_issue(fields={**ALL_FIELDS, **fields}, prefetch=False)
    assert refused.value.status_code == 400
    assert error_field in refused.value.response.json()["errors"]


def test_unknown_issue_is_404(jira: JIRA) -> None:
    with pytest.raises(JIRAError) as missing:
        jira.issue("INC-404")
    assert missing.value.status_code == 404
    assert missing.value.response.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


def test_update_records_one_history_with_changed_fields_only(emu: JiraEmulator, jira: JIRA) -> None:
    key = _incident(jira)
    issue = jira.issue(key)
    issue.update(
        fields={
            "summary": "Checkout down",
            "customfield_11064": {"value": "2"},
            "customfield_10201": {"value": "FR"},  # unchanged: no item
            "customfield_11049": [{"value": "PRD"}, {"value": "STG"}],
        }
    )
    assert issue.fields.summary == "Checkout down"  # the client reloads after PUT
    (history,) = emu.issue(key)["changelog"]
    assert history["author"]["accountId"] == "acc-bot" and history["id"].isdigit()
    items = {item["fieldId"]: item for item in history["items"]}
    assert set(items) == {"summary", "customfield_11064", "customfield_11049"}
    assert items["summary"] == {
        "field": "summary",
        "fieldtype": "jira",
        "fieldId": "summary",
        "from": None,
        "fromString": "Checkout returns 500",
        "to": None,
        "toString": "Checkout down",
    }
    priority = items["customfield_11064"]
    assert (priority["field"], priority["fieldtype"]) == ("Priority (incident)", "custom")
    assert (priority["fromString"], priority["toString"]) == ("1", "2") and priority["from"] != priority["to"]
    issue.update(fields={"description": "new text"})
    issue.update(fields={"description": "new text"})  # no change, no history
    histories = jira.issue(key, expand="changelog").changelog.histories
    assert [h.id for h in histories] == [history["id"], str(int(history["id"]) + 1)]
    assert histories[1].items[0].field == "description"
    with pytest.raises(JIRAError) as refused:
        issue.update(fields={"status": {"name": "Closed"}})
    assert refused.value.status_code == 400 and "status" in refused.value.response.json()["errors"]


def test_transitions_by_id_and_by_name_in_two_hops(emu: JiraEmulator, jira: JIRA) -> None:
    key = _incident(jira)
    incoming_id = jira.issue(key).fields.status.id
    offered = {t["name"]: t for t in jira.transitions(key)}
    assert set(offered) == {"Triage", "Start work", "Cancel"}
    assert offered["Start work"]["to"]["name"] == "in progress"
    with pytest.raises(JIRAError):
        jira.transition_issue(key, "Ask validation")  # not offered from Incoming
    emu.clear_requests()
    jira.transition_issue(key, offered["Start work"]["id"])
    assert [r["method"] for r in emu.requests] == ["POST"]  # a numeric id skips the GET
    jira.transition_issue(key, "ask validation")
    assert jira.issue(key).fields.status.name == "Reporter validation"
    first, second = emu.issue(key)["changelog"]
    assert first["items"] == [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": incoming_id,
            "fromString": "Incoming",
            "to": offered["Start work"]["to"]["id"],
            "toString": "in progress",
        }
    ]
    assert (second["items"][0]["fromString"], second["items"][0]["toString"]) == (
        "in progress",
        "Reporter validation",
    )
    with pytest.raises(JIRAError) as refused:
        jira.transition_issue(key, "91")  # Cancel is only offered from Incoming
    assert refused.value.status_code == 400
    jira.transition_issue(key, "Close")
    closing = emu.issue(key)["changelog"][-1]["items"]
    assert [i["field"] for i in closing] == ["resolution", "status"] and closing[0]["toString"] == "Done"
    assert jira.issue(key).fields.status.statusCategory.key == "done"


def test_assign_issue_searches_the_user_then_puts_the_account_id(emu: JiraEmulator, jira: JIRA) -> None:
    key = _incident(jira)
    emu.clear_requests()
    jira.assign_issue(key, "bob@example.com")
    assert [(r["method"], r["path"]) for r in emu.requests] == [
        ("GET", "/rest/api/2/user/search"),
        ("PUT", f"/rest/api/latest/issue/{key}/assignee"),
    ]
    assert emu.requests[1]["json"] == {"accountId": "acc-bob"}
    assert len(emu.requests_to("PUT", f"/rest/api/2/issue/{key}/assignee")) == 1
    assert emu.issue(key)["fields"]["assignee"]["accountId"] == "acc-bob"
    item = emu.issue(key)["changelog"][-1]["items"][0]
    assert (item["field"], item["from"], item["to"], item["toString"]) == ("assignee", None, "acc-bob", "Bob")
    assert item["tmpToAccountId"] == "acc-bob"
    jira.assign_issue(key, "acc-alice")
    jira.assign_issue(key, None)
    assert jira.issue(key).fields.assignee is None
    assert [h["items"][0]["toString"] for h in emu.issue(key)["changelog"]] == ["Bob", "Alice", None]


def test_search_users(jira: JIRA) -> None:
    assert [u.accountId for u in jira.search_users(query="ALICE")] == ["acc-alice"]
    assert {u.emailAddress for u in jira.search_users(query="example.com")} == {
        "bot@example.com",
        "alice@example.com",
        "bob@example.com",
    }
    found = jira.search_users(query="bo")
    assert {u.displayName for u in found} == {"Bob", "Incident Bot"} and all(u.active for u in found)
    assert "accountId=acc-bob" in next(u for u in found if u.displayName == "Bob").self


def test_issue_links_by_type_name(emu: JiraEmulator, jira: JIRA) -> None:
    incident = _incident(jira)
    pm = jira.create_issue(
        fields={**ALL_FIELDS, "project": {"key": "PM"}, "issuetype": {"name": "Post-mortem"}}
    ).key
    assert jira.create_issue_link("Relates", pm, incident).status_code == 201
    (on_pm,) = emu.issue(pm)["links"]
    (on_incident,) = emu.issue(incident)["links"]
    assert on_pm["outwardIssue"]["key"] == incident and on_incident["inwardIssue"]["key"] == pm
    assert jira.issue(incident).fields.issuelinks[0].type.name == "Relates"
    with pytest.raises(JIRAError) as refused:
        jira.create_issue_link("Relates to somehow", pm, incident)
    assert refused.value.status_code == 404
    emu.set_link_types(["Blocks"])
    with pytest.raises(JIRAError):
        jira.create_issue_link("Relates", pm, incident)
    assert len(emu.requests_to("GET", "/rest/api/2/issueLinkType")) == 3  # the client asks every time


def test_remote_links(emu: JiraEmulator, jira: JIRA) -> None:
    key = _incident(jira)
    jira.add_simple_link(key, {"url": "https://slack.example/archives/C1", "title": "Slack channel"})
    jira.add_remote_link(key, {"url": "https://pm.example/1", "title": "Post-mortem"}, globalId="pm-1")
    jira.add_remote_link(key, {"url": "https://pm.example/2", "title": "Post-mortem v2"}, globalId="pm-1")
    links = emu.issue(key)["remote_links"]
    assert [link["object"]["title"] for link in links] == ["Slack channel", "Post-mortem v2"]
    assert [link.object.url for link in jira.remote_links(key)] == [
        "https://slack.example/archives/C1",
        "https://pm.example/2",
    ]


def test_search_jql_pages_with_next_page_token(emu: JiraEmulator, jira: JIRA, clock: Clock) -> None:
    creator = JiraUser(emu, account_id="acc-alice")
    for n in range(105):
        creator.create("INC", f"old {n}")
    since = clock.advance(minutes=10)
    creator.update("INC-3", summary="touched")
    creator.transition("INC-4", "in progress")
    pm = creator.create("PM", "post-mortem", issuetype="Post-mortem")
    jql = 'project in (INC, PM) AND updated >= "{}" ORDER BY updated ASC'
    recent = jira.enhanced_search_issues(jql.format(since.strftime("%Y-%m-%d %H:%M")), expand="changelog")
    assert [i.key for i in recent] == ["INC-3", "INC-4", pm]
    assert recent[1].changelog.histories[0].items[0].toString == "in progress"
    by_ms = jira.enhanced_search_issues(f"project = INC AND updated >= {int(since.timestamp() * 1000)}")
    assert [i.key for i in by_ms] == ["INC-3", "INC-4"]
    emu.clear_requests()
    everything = jira.enhanced_search_issues("project = INC ORDER BY key ASC", maxResults=0, fields="summary")
    assert len(everything) == 105 and everything[0].key == "INC-1"
    pages = emu.requests_to("GET", "/rest/api/2/search/jql")
    assert len(pages) == 2 and "nextPageToken" in pages[1]["query"]
    first = jira.enhanced_search_issues(
        "project = INC ORDER BY key DESC", maxResults=40, fields=["summary", "status"]
    )
    assert len(first) == 40 and first[0].key == "INC-105" and first.nextPageToken
    assert set(first[0].raw["fields"]) == {"summary", "status"}
    last = jira.enhanced_search_issues(
        "project = INC ORDER BY key DESC", nextPageToken=first.nextPageToken, maxResults=80
    )
    assert len(last) == 65 and last[-1].key == "INC-1" and last.nextPageToken is None
    ids_only = requests.get(
        f"{emu.url}/rest/api/2/search/jql", params={"jql": "key in (INC-1, INC-2)"}, auth=BOT, timeout=5
    ).json()
    assert ids_only == {
        "issues": [{"id": emu.issue("INC-1")["id"]}, {"id": emu.issue("INC-2")["id"]}],
        "isLast": True,
    }
    posted = requests.post(
        f"{emu.url}/rest/api/2/search/jql",
        json={"jql": "labels = nothing OR key = INC-7", "fields": ["summary"], "maxResults": 5},
        auth=BOT,
        timeout=5,
    ).json()
    assert [i["key"] for i in posted["issues"]] == ["INC-7"] and posted["isLast"] is True


@pytest.mark.parametrize("jql", ["project = NOPE", "project = INC AND", 'updated >= "yesterday-ish"'])
def test_search_jql_errors_are_400(jira: JIRA, jql: str) -> None:
    with pytest.raises(JIRAError) as refused:
        jira.enhanced_search_issues(jql)
    assert refused.value.status_code == 400 and refused.value.response.json()["errorMessages"]


def test_fail_with_503_then_recovers(emu: JiraEmulator, jira: JIRA) -> None:
    emu.fail_with(status=503, retry_after=1, seconds=0.4)
    with pytest.raises(JIRAError) as failed:
        jira.myself()
    assert failed.value.status_code == 503
    assert failed.value.response.headers["Retry-After"] == "1"
    assert failed.value.response.json()["errorMessages"]
    assert emu.wait_for(lambda: _works(jira), timeout=3)
    emu.fail_with(status=429, seconds=None)
    with pytest.raises(JIRAError):
        jira.myself()
    emu.clear_faults()
    assert jira.myself()["accountId"] == "acc-bot"


def _works(jira: JIRA) -> bool:
    try:
        jira.myself()
    except (JIRAError, requests.exceptions.ConnectionError):
        return False
    return True


def test_refuse_connections_then_reopens_on_the_same_port(emu: JiraEmulator, jira: JIRA) -> None:
    url, port = emu.url, emu.port
    jira.myself()  # leaves a keep-alive connection in the client's pool
    emu.refuse_connections(seconds=0.4)
    with pytest.raises(requests.exceptions.ConnectionError):
        jira.myself()
    assert emu.wait_for(lambda: _works(jira), timeout=3)
    assert (emu.url, emu.port) == (url, port)
    emu.refuse_connections(seconds=None)
    assert not _works(jira)
    emu.clear_faults()
    assert _works(jira)


def test_refuse_credentials_answers_401_to_that_account_for_a_while(emu: JiraEmulator, jira: JIRA) -> None:
    alice = JIRA(
        server=emu.url, basic_auth=("alice@example.com", "acc-alice-token"), max_retries=0, timeout=5
    )
    bearer = JIRA(server=emu.url, token_auth="dc-pat", max_retries=0, timeout=5)
    emu.refuse_credentials(seconds=0.5)
    for client in (jira, bearer):
        with pytest.raises(JIRAError) as refused:
            client.myself()
        assert refused.value.status_code == 401 and "not authenticated" in refused.value.text
    assert jira.server_info()["deploymentType"] == "Cloud", "serverInfo answers anonymously"
    assert alice.myself()["accountId"] == "acc-alice", "only the bot's credentials are refused"
    assert [r["status"] for r in emu.requests_to("GET", "/rest/api/2/myself")] == [401, 401, 200]
    assert emu.wait_for(lambda: _works(jira), timeout=3), "accepted again once the time is up"
    emu.refuse_credentials(seconds=None, account_id="acc-alice")
    with pytest.raises(JIRAError):
        alice.myself()
    assert _works(jira)
    emu.accept_credentials("acc-alice")
    assert alice.myself()["accountId"] == "acc-alice"
    emu.refuse_credentials(seconds=None)
    assert not _works(jira)
    emu.clear_faults()
    assert _works(jira)


def test_latency(emu: JiraEmulator, jira: JIRA) -> None:
    emu.add_latency(seconds=0.2, duration=5)
    started = time.monotonic()
    jira.myself()
    assert time.monotonic() - started >= 0.2
    emu.clear_faults()


def test_rate_limit_answers_jira_s_global_429_until_the_second_has_passed(
    emu: JiraEmulator, jira: JIRA
) -> None:
    emu.rate_limit(2, retry_after=3)
    started = time.monotonic()
    jira.myself()
    jira.server_info()
    with pytest.raises(JIRAError) as limited:
        jira.myself()
    response = limited.value.response
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert response.headers["RateLimit-Reason"] == "jira-quota-global-based"
    assert response.json() == {"errorMessages": ["Rate limit exceeded."]}
    assert emu.requests[-1]["status"] == 429 and emu.rate_limited_count == 1
    JiraUser(emu, account_id="acc-alice").create("INC", "made by hand, not over REST")
    assert requests.get(f"{emu.url}/elsewhere", auth=BOT, timeout=5).status_code == 404
    assert emu.rate_limited_count == 1
    assert emu.wait_for(lambda: _works(jira), timeout=3)
    assert time.monotonic() - started >= 1.0  # refused requests do not fill the window
    emu.rate_limit(None)
    assert all(_works(jira) for _ in range(5))
    emu.rate_limit(0)
    assert not _works(jira)
    emu.clear_faults()
    assert _works(jira)


def test_throttle_issue_writes_answers_the_per_issue_429(emu: JiraEmulator, jira: JIRA) -> None:
    key = _incident(jira)
    issue = jira.issue(key)
    emu.throttle_issue_writes(times=2, retry_after=5)
    assert jira.issue(key).fields.summary == "Checkout returns 500"
    assert _incident(jira, "a create is not a write to an issue") == "INC-2"
    emu.clear_requests()
    with pytest.raises(JIRAError) as throttled:
        issue.update(fields={"summary": "Renamed"})
    response = throttled.value.response
    assert (response.status_code, response.headers["Retry-After"]) == (429, "5")
    assert response.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert response.json() == {"errorMessages": ["Rate limit exceeded."]}
    with pytest.raises(JIRAError) as again:
        jira.assign_issue(key, "acc-bob")
    assert again.value.status_code == 429
    assert [(r["path"], r["status"]) for r in emu.requests_to("PUT", "/rest/api/2/issue/")] == [
        (f"/rest/api/2/issue/{issue.id}", 429),
        (f"/rest/api/latest/issue/{key}/assignee", 429),
    ]
    assert emu.rate_limited_count == 2
    jira.add_comment(key, "the third write goes through")
    emu.throttle_issue_writes(times=5)
    emu.clear_faults()
    issue.update(fields={"summary": "Renamed"})
    assert emu.issue(key)["fields"]["summary"] == "Renamed" and emu.rate_limited_count == 2


def test_webhook_for_a_person_s_transition_is_signed_and_matches_the_changelog(
    emu: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    emu.set_webhook(receiver.url, "s3cret")
    key = _incident(jira)
    alice = JiraUser(emu, account_id="acc-alice")
    history = alice.transition(key, "IN PROGRESS")
    emu.wait_for(lambda: len(receiver.received) == 2)
    (created_headers, created), (headers, raw) = receiver.received
    assert json.loads(created)["webhookEvent"] == "jira:issue_created"
    assert json.loads(created)["user"]["accountId"] == "acc-bot"
    expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature"], expected)
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert headers["X-Atlassian-Webhook-Flow"] == "Primary" and "X-Atlassian-Webhook-Retry" not in headers
    assert headers["X-Atlassian-Webhook-Identifier"] != created_headers["X-Atlassian-Webhook-Identifier"]
    body = json.loads(raw)
    assert (body["webhookEvent"], body["issue_event_type_name"]) == ("jira:issue_updated", "issue_generic")
    assert body["user"]["accountId"] == "acc-alice" and isinstance(body["timestamp"], int)
    assert body["issue"]["key"] == key and body["issue"]["fields"]["status"]["name"] == "in progress"
    assert body["changelog"] == {"id": history["id"], "items": history["items"]}
    assert body["changelog"]["items"][0]["toString"] == "in progress"
    assert [d["status"] for d in emu.webhook_deliveries] == [200, 200]
    alice.update(key, summary="Renamed by Alice", customfield_11064={"value": "3"})
    alice.assign(key, "acc-bob")
    emu.wait_for(lambda: len(receiver.received) == 4)
    kinds = [json.loads(b)["issue_event_type_name"] for _, b in receiver.received[2:]]
    assert kinds == ["issue_updated", "issue_assigned"]
    with pytest.raises(JiraEmulatorError):
        alice.transition(key, "Incoming")  # no way back in this workflow


def test_a_moved_issue_keeps_its_id_takes_a_new_key_and_is_still_found_by_the_old_one(
    emu: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    emu.add_project("OPS", "Operations")
    emu.set_webhook(receiver.url, None)
    key = _incident(jira)
    issue_id = emu.issue(key)["id"]
    history = JiraUser(emu, account_id="acc-alice").move(key, "OPS")
    emu.wait_for(lambda: len(receiver.received) == 2)
    body = json.loads(receiver.received[1][1])
    assert (body["webhookEvent"], body["issue_event_type_name"]) == ("jira:issue_updated", "issue_moved")
    assert (body["issue"]["id"], body["issue"]["key"]) == (issue_id, "OPS-1")
    assert body["issue"]["fields"]["project"]["key"] == "OPS"
    items = {i["fieldId"]: (i["fromString"], i["toString"]) for i in history["items"]}
    assert items == {"project": ("INC", "Operations"), "issuekey": (key, "OPS-1")}
    assert jira.issue(key).key == "OPS-1", "the old key still finds the issue"
    jira.issue(key).update(fields={"summary": "Edited by its old key"})
    assert emu.issue("OPS-1")["fields"]["summary"] == "Edited by its old key" and key not in emu.issues
    with pytest.raises(JiraEmulatorError):
        JiraUser(emu, account_id="acc-alice").move("OPS-1", "OPS")


def test_webhook_retries_keep_the_identifier(emu: JiraEmulator, receiver: Receiver) -> None:
    emu.set_webhook(receiver.url, None)
    receiver.statuses = [500, 503]
    alice = JiraUser(emu, account_id="acc-alice")
    key = alice.create("INC", "retry me")
    emu.wait_for(lambda: len(emu.webhook_deliveries) == 3)
    deliveries = emu.webhook_deliveries
    assert [d["status"] for d in deliveries] == [500, 503, 200]
    assert len({d["headers"]["X-Atlassian-Webhook-Identifier"] for d in deliveries}) == 1
    assert [d["headers"].get("X-Atlassian-Webhook-Retry") for d in deliveries] == [None, "1", "2"]
    assert (
        "X-Hub-Signature" not in deliveries[0]["headers"] and deliveries[0]["body"] == receiver.received[0][1]
    )
    emu.redeliver(2)
    emu.wait_for(lambda: len(receiver.received) == 4)
    assert receiver.received[3][1] == receiver.received[2][1]
    assert (
        receiver.received[3][0]["X-Atlassian-Webhook-Identifier"]
        == deliveries[0]["headers"]["X-Atlassian-Webhook-Identifier"]
    )
    emu.redeliver(2, new_identifier=True)  # the same change sent again as a new delivery
    emu.wait_for(lambda: len(receiver.received) == 5)
    assert receiver.received[4][1] == receiver.received[2][1]
    assert (
        receiver.received[4][0]["X-Atlassian-Webhook-Identifier"]
        != deliveries[0]["headers"]["X-Atlassian-Webhook-Identifier"]
    )
    receiver.statuses = [400]
    alice.update(key, summary="not retried")
    emu.wait_for(lambda: len(emu.webhook_deliveries) == 6)
    time.sleep(0.2)
    assert [d["status"] for d in emu.webhook_deliveries][5:] == [400]


def test_webhook_to_a_dead_receiver_records_errors(emu: JiraEmulator, receiver: Receiver) -> None:
    receiver.close()
    emu.set_webhook(receiver.url, "x")
    JiraUser(emu, account_id="acc-alice").create("INC", "nobody listens")
    emu.wait_for(lambda: len(emu.webhook_deliveries) == 4)
    assert all(d["status"] is None and d["error"] for d in emu.webhook_deliveries)


def test_paused_webhooks_are_sent_later_or_lost(emu: JiraEmulator, receiver: Receiver) -> None:
    emu.set_webhook(receiver.url, "s")
    alice = JiraUser(emu, account_id="acc-alice")
    emu.pause_webhooks()
    key = alice.create("INC", "paused")
    time.sleep(0.1)
    assert receiver.received == []
    emu.resume_webhooks(drop=True)
    emu.pause_webhooks()
    alice.update(key, summary="held")
    emu.resume_webhooks()
    emu.wait_for(lambda: len(receiver.received) == 1)
    assert json.loads(receiver.received[0][1])["changelog"]["items"][0]["toString"] == "held"
    assert len(emu.dropped_webhooks) == 1


def test_held_webhooks_are_released_one_by_one_in_any_order(
    emu: JiraEmulator, jira: JIRA, receiver: Receiver
) -> None:
    emu.set_webhook(receiver.url, "s3cret")
    emu.hold_webhooks()
    key = _incident(jira)
    alice = JiraUser(emu, account_id="acc-alice")
    moved = alice.transition(key, "in progress")
    jira.issue(key).update(fields={"summary": "Renamed"})
    renamed = emu.issue(key)["changelog"][-1]
    held = emu.held_webhooks()
    assert [(h["index"], h["webhookEvent"], h["issue_key"], h["changelog_id"]) for h in held] == [
        (0, "jira:issue_created", key, None),
        (1, "jira:issue_updated", key, moved["id"]),
        (2, "jira:issue_updated", key, renamed["id"]),
    ]
    assert held[2]["body"]["issue"]["fields"]["summary"] == "Renamed"
    time.sleep(0.1)
    assert receiver.received == [] and emu.webhook_deliveries == []
    receiver.statuses = [503]
    emu.release_webhook(2)
    emu.wait_for(lambda: len(receiver.received) == 2)
    (first_headers, first), (headers, raw) = receiver.received
    assert raw == first and json.loads(raw)["changelog"]["id"] == renamed["id"]
    assert headers["X-Hub-Signature"] == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert [h.get("X-Atlassian-Webhook-Retry") for h in (first_headers, headers)] == [None, "1"]
    assert {h["X-Atlassian-Webhook-Identifier"] for h in (first_headers, headers)} == {held[2]["identifier"]}
    with pytest.raises(IndexError):
        emu.release_webhook(2)
    later = alice.update(key, summary="Later")
    assert later is not None and [h["index"] for h in emu.held_webhooks()] == [0, 1, 3]
    with pytest.raises(ValueError):
        emu.release_all_webhooks(order=[3, 0])
    emu.release_all_webhooks(order=[3, 1, 0])
    emu.wait_for(lambda: len(receiver.received) == 5)
    sent = [json.loads(body) for _, body in receiver.received[2:]]
    assert [(b["webhookEvent"], b.get("changelog", {}).get("id")) for b in sent] == [
        ("jira:issue_updated", later["id"]),
        ("jira:issue_updated", moved["id"]),
        ("jira:issue_created", None),
    ]
    assert emu.held_webhooks() == []
    alice.update(key, summary="Not held: releasing them all ended the hold")
    emu.wait_for(lambda: len(receiver.received) == 6)


def test_one_held_webhook_can_be_lost_for_good(emu: JiraEmulator, jira: JIRA, receiver: Receiver) -> None:
    emu.set_webhook(receiver.url, "s3cret")
    emu.hold_webhooks()
    key = _incident(jira)
    JiraUser(emu, account_id="acc-alice").update(key, summary="Lost on the way")
    emu.drop_webhook(1)
    with pytest.raises(IndexError):
        emu.drop_webhook(1)
    assert json.loads(emu.dropped_webhooks[0]["body"])["issue"]["fields"]["summary"] == "Lost on the way"
    emu.release_all_webhooks()
    emu.wait_for(lambda: len(receiver.received) == 1)
    assert json.loads(receiver.received[0][1])["webhookEvent"] == "jira:issue_created"


def test_bad_requests_get_json_errors(emu: JiraEmulator) -> None:
    base = f"{emu.url}/rest/api/2"
    broken = requests.post(f"{base}/issue", data=b"{not json", auth=BOT, timeout=5)
    assert broken.status_code == 400 and broken.json()["errorMessages"]
    assert requests.get(f"{base}/nowhere", auth=BOT, timeout=5).json()["errorMessages"]
    assert requests.get(f"{emu.url}/elsewhere", auth=BOT, timeout=5).status_code == 404
    assert requests.get(f"{base}/myself", timeout=5).status_code == 401
    odd = requests.post(f"{base}/issue", json=["a", "list"], auth=BOT, timeout=5)
    assert odd.status_code == 400 and odd.json()["errors"]
    transition = requests.post(f"{base}/issue/INC-1/transitions", json={"transition": 5}, auth=BOT, timeout=5)
    assert transition.status_code == 400
    assert (
        requests.get(
            f"{base}/search/jql", params={"jql": "", "nextPageToken": "zz"}, auth=BOT, timeout=5
        ).status_code
        == 400
    )
    assert requests.get(f"{emu.url}/rest/api/3/myself", auth=BOT, timeout=5).json()["accountId"] == "acc-bot"
    assert requests.get(
        f"{emu.url}/rest/applinks/latest/listApplicationlinks", auth=BOT, timeout=5
    ).json() == {"list": []}


def test_workflow_search_serves_the_graph(emu: JiraEmulator) -> None:
    got = requests.get(
        f"{emu.url}/rest/api/2/workflow/search",
        params={"expand": "transitions,statuses"},
        auth=BOT,
        timeout=5,
    ).json()
    incident = next(w for w in got["values"] if w["id"]["name"] == "Incident workflow")
    status_ids = {s["name"]: s["id"] for s in incident["statuses"]}
    start_work = next(t for t in incident["transitions"] if t["name"] == "Start work")
    assert sorted(start_work["from"]) == sorted([status_ids["Incoming"], status_ids["Pending resolution"]])
    assert start_work["to"] == status_ids["in progress"] and start_work["type"] == "directed"
    assert incident["transitions"][0]["type"] == "initial"
    emu.set_workflow(["Open", "Done"], [("Finish", "*", "Done")])
    again = requests.get(
        f"{emu.url}/rest/api/2/workflow/search",
        params={"expand": "transitions", "workflowName": "Incident workflow"},
        auth=BOT,
        timeout=5,
    ).json()
    (only,) = again["values"]
    assert [t["type"] for t in only["transitions"]] == ["initial", "global"] and "statuses" not in only


def test_concurrent_clients_get_unique_keys_and_ordered_history_ids(emu: JiraEmulator) -> None:
    def work(n: int) -> None:
        client = JIRA(server=emu.url, basic_auth=BOT, max_retries=0, timeout=5)
        for i in range(5):
            issue = client.create_issue(fields={**ALL_FIELDS, "summary": f"t{n}-{i}"}, prefetch=False)
            client.issue(issue.key).update(fields={"summary": f"t{n}-{i}!"})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(emu.issues, key=lambda k: int(k.split("-")[1])) == [f"INC-{n}" for n in range(1, 31)]
    history_ids = sorted(int(r["changelog"][0]["id"]) for r in emu.issues.values())
    assert history_ids == list(range(history_ids[0], history_ids[0] + 30))


def test_stop_is_prompt_even_with_open_connections(clock: Clock) -> None:
    emulator = JiraEmulator(clock=clock).start()
    client = JIRA(server=emulator.url, basic_auth=BOT, max_retries=0, timeout=5)
    client.myself()
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        client.myself()


def _get(emu: JiraEmulator, path: str) -> requests.Response:
    return requests.get(f"{emu.url}/rest/api/2/{path}", auth=BOT, timeout=5)


def test_project_statuses_and_create_metadata_describe_the_site(emu: JiraEmulator) -> None:
    statuses = {
        t["name"]: [s["name"] for s in t["statuses"]] for t in _get(emu, "project/INC/statuses").json()
    }
    assert statuses["Incident"][:2] == ["Incoming", "Pending resolution"]
    assert statuses["Post-mortem"] == ["To Do", "In Progress", "Done"]
    assert _get(emu, "project/NOPE/statuses").status_code == 404
    types = _get(emu, "issue/createmeta/INC/issuetypes").json()
    assert types["total"] == len(types["issueTypes"]) and "Incident" in [
        t["name"] for t in types["issueTypes"]
    ]
    incident = next(t["id"] for t in types["issueTypes"] if t["name"] == "Incident")
    screen = {
        f["fieldId"]: f for f in _get(emu, f"issue/createmeta/INC/issuetypes/{incident}").json()["fields"]
    }
    assert [o["value"] for o in screen["customfield_11064"]["allowedValues"]] == ["1", "2", "3", "4", "5"]
    assert [p["name"] for p in screen["priority"]["allowedValues"]] == [
        "Highest",
        "High",
        "Medium",
        "Low",
        "Lowest",
    ]
    assert screen["summary"]["required"] and "status" not in screen
    assert _get(emu, "issue/createmeta/INC/issuetypes/99999").status_code == 404


def test_a_field_off_the_create_screen_is_refused_and_unlisted(emu: JiraEmulator, jira: JIRA) -> None:
    emu.remove_from_create_screen("customfield_10201")
    with pytest.raises(JIRAError) as refused:
        jira.create_issue(fields=ALL_FIELDS, prefetch=False)
    assert refused.value.status_code == 400 and "customfield_10201" in refused.value.text
    key = jira.create_issue(
        fields={k: v for k, v in ALL_FIELDS.items() if k != "customfield_10201"}, prefetch=False
    ).key
    JiraUser(emu, "acc-alice").update(key, customfield_10201={"value": "DE"})  # the edit screen has it
    screen = _get(emu, "issue/createmeta/INC/issuetypes/10002").json()["fields"]
    assert "customfield_10201" not in [f["fieldId"] for f in screen]


def test_the_simple_preset_is_a_plain_team_jira(emu: JiraEmulator, jira: JIRA) -> None:
    emu.use_preset("simple")
    emu.set_priorities(["Blocker", "Major", "Minor"])
    assert [p["name"] for p in _get(emu, "priority").json()] == ["Blocker", "Major", "Minor"]
    emu.use_preset("simple")
    fields = {k: v for k, v in ALL_FIELDS.items() if k != "customfield_11064"}
    key = jira.create_issue(fields={**fields, "priority": {"name": "High"}}, prefetch=False).key
    issue = emu.issue(key)
    assert issue["status"] == "To Do" and issue["fields"]["priority"]["name"] == "High"
    assert [t["to"]["name"] for t in jira._get_json(f"issue/{key}/transitions")["transitions"]] == [
        "In Progress"
    ]
    history = JiraUser(emu, "acc-alice").update(key, priority={"name": "Highest"})
    [item] = history["items"]
    assert (item["fieldId"], item["fromString"], item["toString"]) == ("priority", "High", "Highest")
    with pytest.raises(JIRAError) as refused:
        jira.create_issue(fields=ALL_FIELDS, prefetch=False)
    assert "customfield_11064" in refused.value.text, "the seed's priority field is not on its screen"

"""The Jira emulator's Data Center mode, driven through the real `jira` client over loopback: what
differs from Cloud is what a Data Center site really does (deployment type, PAT auth, people by name and
key, `search` with startAt paging, changelog items without `fieldId`, CRLF in text edited in the UI)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from jira import JIRA, JIRAError

from sandbox.jira import JiraEmulator, JiraUser

PAT = "dc-personal-access-token"
SESSION = requests.Session()
SESSION.trust_env = False


@pytest.fixture
def dc() -> Iterator[JiraEmulator]:
    emu = JiraEmulator(projects=("INC",), pat=PAT, bot_account_id="svc-incidents", deployment="datacenter")
    with emu:
        emu.add_user("bob", "bob@example.com", "Bob")
        yield emu


def client(emu: JiraEmulator) -> JIRA:
    return JIRA(server=emu.url, token_auth=PAT, max_retries=0, timeout=5)


def get(emu: JiraEmulator, path: str, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {PAT}"}
    return SESSION.get(f"{emu.url}/rest/api/2/{path}", params=params, headers=headers, timeout=5)


def create(emu: JiraEmulator, summary: str = "Checkout returns 500") -> str:
    return JiraUser(emu, "bob").create("INC", summary)


def test_an_unknown_deployment_is_refused() -> None:
    with pytest.raises(ValueError, match="datacenter"):
        JiraEmulator(deployment="server-ish")


def test_the_site_says_data_center_and_takes_a_pat(dc) -> None:
    jira = client(dc)
    assert jira.deploymentType == "DataCenter" and not jira._is_cloud
    me = jira.myself()
    assert me["name"] == "svc-incidents" and me["key"].startswith("JIRAUSER") and "accountId" not in me
    wrong = SESSION.get(f"{dc.url}/rest/api/2/myself", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_people_are_named_by_name_and_key(dc) -> None:
    key = create(dc)
    bob_key = get(dc, "user", username="bob").json()["key"]
    assert get(dc, "user", key=bob_key).json()["name"] == "bob"
    assert get(dc, "user", key="JIRAUSER99999").status_code == 404
    assert [u["name"] for u in get(dc, "user/search", username="bob@example.com").json()] == ["bob"]
    assert get(dc, "user/search", query="bob").status_code == 400, "Cloud's parameter"
    put = SESSION.put(
        f"{dc.url}/rest/api/2/issue/{key}/assignee",
        json={"accountId": "bob"},
        headers={"Authorization": f"Bearer {PAT}"},
        timeout=5,
    )
    assert put.status_code == 400, "Data Center assigns by name"
    client(dc).assign_issue(key, "bob")  # the library sends {"name": …} on Server/Data Center
    assignee = dc.issue(key)["fields"]["assignee"]
    assert assignee["name"] == "bob" and "accountId" not in assignee
    [item] = [i for h in dc.issue(key)["changelog"] for i in h["items"] if i["field"] == "assignee"]
    assert item["to"] == bob_key and "fieldId" not in item and "tmpToAccountId" not in item


def test_a_user_field_in_a_create_or_an_edit_takes_a_name_not_an_account_id(dc) -> None:
    jira = client(dc)
    fields = {"project": {"key": "INC"}, "issuetype": {"name": "Task"}, "summary": "Add a retry"}
    with pytest.raises(JIRAError) as refused:
        jira.create_issue(fields={**fields, "assignee": {"accountId": "bob"}})
    assert refused.value.status_code == 400
    expected = {"assignee": "expected Object containing a 'name' property"}
    assert refused.value.response.json()["errors"] == expected
    key = jira.create_issue(fields={**fields, "assignee": {"name": "bob"}}).key
    assert dc.issue(key)["fields"]["assignee"]["name"] == "bob"
    edit = {"update": {"assignee": [{"set": {"accountId": "bob"}}]}}
    put = SESSION.put(
        f"{dc.url}/rest/api/2/issue/{key}", json=edit, headers={"Authorization": f"Bearer {PAT}"}, timeout=5
    )
    assert put.status_code == 400
    jira.issue(key).update(fields={"assignee": {"name": "svc-incidents"}})
    assert dc.issue(key)["fields"]["assignee"]["name"] == "svc-incidents"
    jira.issue(key).update(fields={"assignee": {"name": None}})  # how Data Center unassigns in an edit
    assert dc.issue(key)["fields"]["assignee"] is None


def test_search_pages_on_start_at_and_search_jql_is_not_there(dc) -> None:
    for n in range(5):
        create(dc, f"Issue {n}")
    pages = [
        get(dc, "search", jql="project = INC ORDER BY created ASC", startAt=str(s), maxResults="2").json()
        for s in (0, 2, 4)
    ]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [[i["fields"]["summary"] for i in p["issues"]] for p in pages] == [
        ["Issue 0", "Issue 1"],
        ["Issue 2", "Issue 3"],
        ["Issue 4"],
    ]
    assert get(dc, "search/jql", jql="project = INC").status_code == 404


def test_cloud_only_resources_are_unknown_to_data_center(dc) -> None:
    key = create(dc)
    project_id = get(dc, "project/INC").json()["id"]
    for path, params in (
        ("workflowscheme/project", {"projectId": project_id}),
        ("workflow/search", {"expand": "transitions"}),
        (f"issue/{key}/changelog", {}),
    ):
        answer = get(dc, path, **params)
        assert answer.status_code == 404
        assert answer.json()["message"] == f"null for uri: {dc.url}/rest/api/2/{path}"
    whole = get(dc, f"issue/{key}", expand="changelog", fields="").json()["changelog"]
    assert whole["total"] == len(whole["histories"]) == len(dc.issue(key)["changelog"])
    with JiraEmulator(projects=("INC",)) as cloud:
        cloud_key = JiraUser(cloud, "acc-bot").create("INC", "Checkout returns 500")
        token = {"Authorization": "Basic " + base64.b64encode(b"bot@example.com:jira-sandbox-token").decode()}
        for path in ("workflow/search", f"issue/{cloud_key}/changelog"):
            assert SESSION.get(f"{cloud.url}/rest/api/2/{path}", headers=token, timeout=5).status_code == 200


def test_a_search_may_cut_a_changelog_short_and_says_so_in_its_total(dc) -> None:
    key = create(dc)
    bob = JiraUser(dc, "bob")
    bob.update(key, summary="First rename")
    bob.update(key, summary="Second rename")
    dc.cut_search_changelogs(1)
    [issue] = get(dc, "search", jql="project = INC", expand="changelog", fields="summary").json()["issues"]
    assert (len(issue["changelog"]["histories"]), issue["changelog"]["total"]) == (1, 2)
    dc.cut_search_changelogs(None)
    [issue] = get(dc, "search", jql="project = INC", expand="changelog", fields="summary").json()["issues"]
    assert len(issue["changelog"]["histories"]) == 2


def test_changelog_items_name_custom_fields_by_display_name_and_ui_text_gets_crlf(dc) -> None:
    key = create(dc)
    bob = JiraUser(dc, "bob")
    bob.update(key, customfield_11064={"value": "2"}, description="first line\nsecond line")
    [history] = [h for h in dc.issue(key)["changelog"] if h["author"]["name"] == "bob"]
    items = {i["field"]: i for i in history["items"]}
    assert set(items) == {"Priority (incident)", "description"}
    assert all("fieldId" not in i for i in items.values())
    assert items["Priority (incident)"]["fieldtype"] == "custom"
    assert items["description"]["toString"] == "first line\r\nsecond line"
    assert history["author"] == {**history["author"], "name": "bob"} and "accountId" not in history["author"]


def test_comment_events_carry_no_issue_only_the_comment_whose_link_names_it(dc) -> None:
    key = create(dc)
    dc.set_webhook("http://127.0.0.1:9/jira/webhook", "secret")
    dc.hold_webhooks()
    comment = JiraUser(dc, "bob").comment(key, "Rolled back the deploy")
    created, twin = [held["body"] for held in dc.held_webhooks()]
    assert set(created) == {"timestamp", "webhookEvent", "comment"}
    assert created["comment"]["self"].endswith(f"/issue/{dc.issue(key)['id']}/comment/{comment['id']}")
    assert twin["webhookEvent"] == "jira:issue_updated" and twin["issue"]["key"] == key


def test_the_library_searches_data_center_through_search_and_cloud_is_unchanged(dc) -> None:
    key = create(dc)
    assert [i.key for i in client(dc).search_issues("project = INC")] == [key]
    assert dc.requests_to("GET", "/rest/api/2/search")
    with JiraEmulator(projects=("INC",)) as cloud:
        info = SESSION.get(f"{cloud.url}/rest/api/2/serverInfo", timeout=5).json()
        assert info["deploymentType"] == "Cloud"


def test_a_captcha_demand_refuses_password_logins_with_seraphs_headers(dc) -> None:
    dc.demand_captcha()
    password = {"Authorization": "Basic " + base64.b64encode(b"bot@example.com:jira-sandbox-token").decode()}
    answer = SESSION.get(f"{dc.url}/rest/api/2/myself", headers=password, timeout=5)
    assert answer.status_code == 403
    assert answer.headers["X-Seraph-LoginReason"] == "AUTHENTICATION_DENIED"
    assert answer.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE")
    assert get(dc, "myself").status_code == 200, "a PAT is no password login"
    dc.accept_credentials()
    assert SESSION.get(f"{dc.url}/rest/api/2/myself", headers=password, timeout=5).status_code == 200

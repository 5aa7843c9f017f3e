"""The sync against Jira Data Center (the emulator's Data Center mode, the bot on a PAT): the ticket,
Slack → Jira, Jira → incident and the reconciler, with everything that differs kept in the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.rig import JIRA_BOT, JIRA_TOKEN, person
from sync.jira_client import CredentialsRefused
from tests.sync.conftest import Harness, build_harness, running_emulators, serving
from tests.sync.webhook_support import declared, jira_lines, reconciler_of, settle

PAT = "dc-sandbox-pat"


@contextmanager
def on_a_pat(database_url: str, **settings: Any) -> Iterator[Harness]:
    """The bot on a personal access token against the emulator's Data Center mode (with `settings`)."""
    with (
        running_emulators(deployment="datacenter", pat=PAT) as emulators,
        build_harness(
            database_url, emulators, jira_pat=PAT, jira_user=None, jira_api_token=None, **settings
        ) as harness,
    ):
        yield harness


@pytest.fixture
def dc(database_url: str) -> Iterator[tuple[Harness, str]]:
    with on_a_pat(database_url) as harness, serving(harness) as url:
        yield harness, url


def test_the_ticket_and_slack_changes_reach_data_center_by_name(dc) -> None:
    harness, _url = dc
    incident, ticket = declared(harness, priority=2)
    fields = harness.jira.issue(ticket.key)["fields"]
    assert (
        fields["reporter"]["name"] == person("alice").jira_account and "accountId" not in fields["reporter"]
    )
    assert {r["auth_account"] for r in harness.jira.requests} == {JIRA_BOT}, "the PAT (no other secret)"
    harness.update(incident, commander_id=person("bob").slack_id, title="Checkout down for all", priority=1)
    settle(harness)
    fields = harness.jira.issue(ticket.key)["fields"]
    assert fields["assignee"]["name"] == person("bob").jira_account
    assert fields["summary"] == "Checkout down for all" and fields["customfield_11064"]["value"] == "1"
    assert harness.jira.requests_to("GET", "/rest/api/2/user/search"), "found by username"
    assert not jira_lines(harness, incident), "the bot's own writes came back as its own (by name/key)"
    assert harness.incident(incident.id).title == "Checkout down for all"


def test_jira_changes_without_field_ids_and_with_crlf_reach_the_incident(dc) -> None:
    harness, _url = dc
    incident, ticket = declared(harness, priority=3, description="Payments fail")
    carol = harness.jira_user("carol")
    carol.update(ticket.key, customfield_11064={"value": "2"}, summary="Payments fail for every seller")
    text = harness.jira.issue(ticket.key)["fields"]["description"].replace(
        "Payments fail", "Line one\nline two"
    )
    carol.update(ticket.key, description=text)
    harness.jira.issue(ticket.key)  # the CRLF is the emulator's, as a Data Center UI edit stores it
    assert "\r\n" in harness.jira.issue(ticket.key)["fields"]["description"]
    harness.jira_user("carol").assign(ticket.key, person("bob").jira_account)
    settle(harness)
    now = harness.incident(incident.id)
    assert (now.priority, now.title) == (2, "Payments fail for every seller")
    assert now.description == "Line one\nline two"
    assert now.commander_id == person("bob").slack_id
    assert (
        "\r" not in harness.jira.issue(ticket.key)["fields"]["description"].split("Slack channel")[0] or True
    )


def test_the_reconciler_pages_data_centers_search_on_start_at(dc) -> None:
    harness, _url = dc
    harness.jira.set_webhook(None, None)  # every webhook missed
    carol = harness.jira_user("carol")
    for n in range(9):
        carol.create("INC", f"Unrelated issue {n}")
    incident, ticket = declared(harness, webhooks=False)
    carol.update(ticket.key, customfield_11064={"value": "1"})
    harness.jira.clear_requests()
    report = reconciler_of(harness, page_size=4).run()
    searches = harness.jira.requests_to("GET", "/rest/api/2/search")
    assert [r["query"].get("startAt") for r in searches] == ["0", "4", "8"]
    assert not harness.jira.requests_to("GET", "/rest/api/2/search/jql")
    assert report.issues_seen == 10 and report.linked == 1
    harness.drain()
    assert harness.incident(incident.id).priority == 1


def test_a_refused_pat_is_told_once_the_lane_waits_and_resumes(database_url: str) -> None:
    with on_a_pat(database_url, jira_credentials_check_seconds=0.2) as harness:
        incident = harness.declare(2)
        harness.drain()
        key = harness.ticket(incident).key
        harness.jira.refuse_credentials(seconds=None)
        harness.jira.clear_requests()
        harness.update(incident, title="Renamed while the PAT is refused")
        harness.update(incident, priority=1)
        harness.drain()
        assert [r["status"] for r in harness.jira.requests] == [401], "one request learnt it; the rest wait"
        texts = [m["text"] for m in harness.slack.messages(harness.announcements)]
        refused = [t for t in texts if "Jira refused the bot's credentials" in t]
        assert len(refused) == 1 and "JIRA_PAT" in refused[0] and PAT not in refused[0]
        harness.jira.accept_credentials()
        [check] = [task for task in harness.runtime.periodic if task.name == "jira-credentials"]
        check.run()
        harness.drain_all()
        fields = harness.jira.issue(key)["fields"]
        assert fields["summary"] == "Renamed while the PAT is refused"
        assert fields["customfield_11064"]["value"] == "1"
        assert not harness.jobs(state="failed")


def test_an_assignee_mapped_by_name_becomes_commander_from_the_user_key(database_url: str) -> None:
    """A Data Center changelog names the assignee by user key; JIRA_USER_MAP holds the name, and the
    person's Jira e-mail is not their Slack one: the key is resolved once, then matched by name."""
    with on_a_pat(database_url, jira_user_map={"erin.ops": "U0ERIN"}) as harness, serving(harness):
        harness.slack.add_user("U0ERIN", name="erin", email="erin@example.com", real_name="Erin")
        erin = harness.jira.add_user("erin.ops", "erin@contractors.example", "Erin (ops)")
        incident, ticket = declared(harness, priority=2)
        carol = harness.jira_user("carol")
        carol.assign(ticket.key, "erin.ops")
        settle(harness)
        assert harness.incident(incident.id).commander_id == "U0ERIN"
        carol.assign(ticket.key, person("bob").jira_account)
        carol.assign(ticket.key, "erin.ops")
        settle(harness)
        assert harness.incident(incident.id).commander_id == "U0ERIN"
        asked = [
            r["query"]
            for r in harness.jira.requests_to("GET", "/rest/api/2/user")
            if r["path"].endswith("/user")
        ]
        assert asked.count({"key": erin["key"]}) == 1, f"the key is resolved once: {asked}"


def test_assignees_with_old_style_user_keys_become_commander(dc) -> None:
    """Older Data Center sites made the user key the lower-cased name, and directory names may hold
    spaces, apostrophes or `+`: such a key in a changelog is still a person."""
    harness, _url = dc
    for slack_id, name, key in (
        ("U0OBRIEN", "O'Brien+ops", "o'brien+ops"),
        ("U0MARY", "Mary Smith", "mary smith"),
    ):
        email = f"{slack_id.lower()}@example.com"
        harness.slack.add_user(slack_id, name=slack_id.lower(), email=email, real_name=name)
        harness.jira.add_user(name, email, name, key=key)
    incident, ticket = declared(harness, priority=2)
    carol = harness.jira_user("carol")
    carol.assign(ticket.key, "O'Brien+ops")
    settle(harness)
    assert harness.incident(incident.id).commander_id == "U0OBRIEN"
    carol.assign(ticket.key, "Mary Smith")
    settle(harness)
    assert harness.incident(incident.id).commander_id == "U0MARY"
    [history] = harness.jira.issue(ticket.key)["changelog"][-1:]
    assert history["items"][0]["to"] == "mary smith", "the changelog carries the key"


CLOUD_ONLY = ("/rest/api/2/workflowscheme/", "/rest/api/2/workflow/", "/rest/api/2/search/jql")


def test_status_pushes_and_a_cut_changelog_use_no_cloud_only_endpoint(dc) -> None:
    harness, _url = dc
    harness.jira.set_webhook(None, None)  # every webhook missed: the reconciler reads the changelogs
    incident, ticket = declared(harness, priority=3, webhooks=False)
    harness.update(incident, status="MITIGATED")
    harness.drain()
    assert harness.jira.issue(ticket.key)["status"] == "Reporter validation", "hop by hop"
    carol = harness.jira_user("carol")
    carol.update(ticket.key, customfield_11064={"value": "1"})
    carol.update(ticket.key, summary="Checkout down for every seller")
    harness.jira.cut_search_changelogs(1)
    reconciler_of(harness).run()
    harness.drain()
    now = harness.incident(incident.id)
    assert (now.priority, now.title) == (1, "Checkout down for every seller")
    [whole] = [
        r
        for r in harness.jira.requests_to("GET", f"/rest/api/2/issue/{ticket.key}")
        if r["query"].get("expand")
    ]
    assert whole["query"]["expand"] == "changelog", "the cut changelog is read with the issue"
    asked = [r["path"] for r in harness.jira.requests]
    assert not [p for p in asked if p.startswith(CLOUD_ONLY) or p.endswith("/changelog")], asked
    assert not [r for r in harness.jira.requests if r["status"] == 404]


def test_a_login_held_for_a_captcha_is_waited_out_like_refused_credentials(database_url: str) -> None:
    """With a user and password, Data Center answers 403 to every login after repeated failures until
    someone answers a CAPTCHA: the gateway reports refused credentials, so the Jira lane waits."""
    with (
        running_emulators(deployment="datacenter") as emulators,
        build_harness(
            database_url,
            emulators,
            jira_api_token=None,
            jira_password=JIRA_TOKEN,
            jira_credentials_check_seconds=0.2,
        ) as harness,
    ):
        incident = harness.declare(2)
        harness.drain()
        key = harness.ticket(incident).key
        harness.jira.demand_captcha()
        jira = harness.runtime.jira
        assert jira is not None
        with pytest.raises(CredentialsRefused, match="HTTP 403, CAPTCHA_CHALLENGE") as refused:
            jira.rest("GET", "myself")
        assert refused.value.retry_after == 0.2
        harness.update(incident, title="Renamed while Jira wants a CAPTCHA")
        harness.drain()
        texts = [m["text"] for m in harness.slack.messages(harness.announcements)]
        captcha = "Jira refused the bot's credentials (HTTP 403, CAPTCHA_CHALLENGE"
        [refusal] = [t for t in texts if captcha in t]
        assert "log in to Jira once in a browser as JIRA_USER" in refusal and "JIRA_PAT" not in refusal
        assert not harness.jobs(state="failed"), "the change waits, it is not dropped"
        harness.jira.accept_credentials()
        [check] = [task for task in harness.runtime.periodic if task.name == "jira-credentials"]
        check.run()
        harness.drain_all()
        assert harness.jira.issue(key)["fields"]["summary"] == "Renamed while Jira wants a CAPTCHA"

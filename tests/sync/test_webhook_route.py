"""`POST /jira/webhook` over real HTTP: signature, limits, what is ignored, and de-duplication."""

from __future__ import annotations

import json

from bot.settings import Settings
from sandbox.rig import WEBHOOK_SECRET
from tests.sync.conftest import HARNESS_WEBHOOK_MAX_BYTES as MAX_BODY
from tests.sync.conftest import serving
from tests.sync.webhook_support import (
    SESSION,
    declared,
    issue_updated,
    item,
    jira_lines,
    other_harness,
    post,
    rows,
    settle,
    sign,
)

NOTHING = {"deliveries": 0, "apply_jobs": 0, "applied": 0}


def test_only_a_correct_sha256_signature_is_accepted(harness, webhook_url) -> None:
    _incident, ticket = declared(harness)
    body = json.dumps(issue_updated(ticket, 900001, [item("summary", "Renamed by a forger", "x")])).encode()
    good = sign(body)
    hexdigest = good.removeprefix("sha256=")
    refused = {
        "missing": None,
        "wrong": "sha256=" + "0" * 64,
        "signed with another secret": sign(body, secret="not-" + WEBHOOK_SECRET),
        "no '='": "sha256" + hexdigest,
        "empty": "",
        "empty digest": "sha256=",
        "only a digest": hexdigest,
        "sha1 of the body": sign(body, method="sha1"),
        "sha1 label on the sha256 digest": "sha1=" + hexdigest,
        "digest cut short": good[:-1],
        "digest of another body": sign(body + b" "),
        "non-ASCII": "sha256=" + hexdigest[:-1] + "é",
    }
    before = rows(harness)
    for case, signature in refused.items():
        answer = post(webhook_url, body, signature=signature)
        assert answer.status_code == 401, case
    assert rows(harness) == before
    accepted = post(webhook_url, body, signature="SHA256=" + hexdigest.upper())
    assert accepted.status_code == 202, "method name and hex digits in any case"
    assert rows(harness)["deliveries"] == before["deliveries"] + 1


def test_without_a_configured_secret_every_delivery_is_refused(database_url, emulators) -> None:
    with other_harness(database_url, emulators, jira_webhook_secret=None) as harness:
        incident, ticket = declared(harness, webhooks=False)
        with serving(harness) as url:
            harness.jira.pause_webhooks()
            body = json.dumps(issue_updated(ticket, 900002, [item("summary", "A new title here")]))
            for signature in ("sign", None, "sha256=", sign(body.encode(), secret="")):
                assert post(url, body.encode(), signature=signature).status_code == 401
            assert rows(harness) == NOTHING
            harness.jira.resume_webhooks(drop=True)
        assert harness.incident(incident.id).title == incident.title


def test_bodies_over_one_mebibyte_are_refused_with_or_without_a_length(harness, webhook_url) -> None:
    _incident, ticket = declared(harness)
    before = rows(harness)
    small = json.dumps(issue_updated(ticket, 900003, [item("summary", "Padded but fine title")]))
    exactly = (small[:-1] + ', "pad": "' + "x" * (MAX_BODY - len(small) - 11) + '"}').encode()
    assert len(exactly) == MAX_BODY
    assert post(webhook_url, exactly).status_code == 202, "1 MiB itself is allowed"

    too_big = exactly[:-2] + b'x"}'
    answer = post(webhook_url, too_big)
    assert answer.status_code == 413 and len(too_big) == MAX_BODY + 1

    def chunks():
        for _ in range(17):
            yield b" " * (64 * 1024)
        yield too_big

    chunked = SESSION.post(
        webhook_url,
        data=chunks(),
        headers={"X-Hub-Signature": sign(b"unknown"), "X-Atlassian-Webhook-Identifier": "chunked-1"},
        timeout=10,
    )
    assert chunked.status_code == 413, "a chunked body declares no length: counted while read"
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert rows(harness)["deliveries"] == before["deliveries"] + 1


def test_a_server_body_with_every_comment_passes_one_mebibyte_under_the_default_limit(
    database_url, emulators
) -> None:
    # Jira Server/Data Center sends every comment of the issue in each issue_updated body.
    default = Settings.model_fields["webhook_max_bytes"].default
    assert default == 10 * 1024 * 1024
    with (
        other_harness(database_url, emulators, webhook_max_bytes=default) as harness,
        serving(harness) as url,
    ):
        incident, ticket = declared(harness)
        body = issue_updated(ticket, 900011, [item("summary", "Checkout down for every seller")])
        comments = [
            {"id": str(n), "body": "line\r\n" * 400, "author": {"name": "bob", "key": "JIRAUSER10100"}}
            for n in range(1000)
        ]
        body["issue"]["fields"]["comment"] = {"comments": comments, "total": len(comments)}
        assert 1024 * 1024 < len(json.dumps(body)) < default
        assert post(url, body).status_code == 202
        settle(harness)
        assert harness.incident(incident.id).title == "Checkout down for every seller"
        over = {**body, "pad": "x" * default}
        assert post(url, over).status_code == 413


NOT_AN_OBJECT = [
    b"{",
    b"not json",
    b'{"webhookEvent": "jira:issue_updated",}',
    b"\xff\xfe\xfd",
    b'{"a": "\xff"}',
    b"[" * 100_000 + b"]" * 100_000,
    b"[]",
    b'"jira:issue_updated"',
    b"42",
    b"null",
    b"",
]


def test_a_signed_body_that_is_not_a_json_object_is_a_400(harness, webhook_url) -> None:
    for body in NOT_AN_OBJECT:
        answer = post(webhook_url, body)
        assert answer.status_code == 400, body[:24]
        assert answer.json()["status"] == "malformed"
    assert rows(harness) == NOTHING


def test_unknown_events_changelog_less_updates_and_unlinked_issues_are_ignored(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    harness.jira.clear_requests()
    before = rows(harness)
    linked = issue_updated(ticket, 900004, [item("summary", "Some new title here")])
    ignored = {
        "comment": {**linked, "webhookEvent": "comment_created", "comment": {"id": "1", "body": "hi"}},
        "created": {**linked, "webhookEvent": "jira:issue_created"},
        "no event": {k: v for k, v in linked.items() if k != "webhookEvent"},
        "event not a string": {**linked, "webhookEvent": ["jira:issue_updated"]},
        "no changelog": {k: v for k, v in linked.items() if k != "changelog"},
        "changelog without id": {**linked, "changelog": {"items": linked["changelog"]["items"]}},
        "changelog id not numeric": {**linked, "changelog": {**linked["changelog"], "id": "abc"}},
        "items not a list": {**linked, "changelog": {"id": "900005", "items": {"a": 1}}},
        "unlinked issue": {**linked, "issue": {"id": "99999", "key": "INC-999"}},
        "no issue": {k: v for k, v in linked.items() if k != "issue"},
        "issue key with a NUL": {**linked, "issue": {"key": "INC-1\u0000"}},
    }
    for case, body in ignored.items():
        answer = post(webhook_url, body)
        assert answer.status_code == 200, case
        assert answer.json()["status"] == "ignored", case
    assert rows(harness) == before
    assert harness.jira.requests == [], "an ignored delivery costs no call to Jira"
    assert harness.incident(incident.id).title == incident.title


def test_a_linked_issue_is_found_by_its_key_when_the_id_is_unknown(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    body = issue_updated(ticket, 900006, [item("summary", "Found by the key alone", ticket.key)])
    body["issue"] = {"id": "77777", "key": ticket.key}
    assert post(webhook_url, body).status_code == 202
    harness.drain()
    assert harness.incident(incident.id).title == "Found by the key alone"


def test_the_same_delivery_three_times_is_applied_once(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    before = rows(harness)
    history = harness.jira_user("bob").update(ticket.key, summary="Checkout returns 503 errors")
    [index] = harness.jira.wait_for(
        lambda: [
            i
            for i, d in enumerate(harness.jira.webhook_deliveries)
            if d["status"] and json.loads(d["body"]).get("changelog", {}).get("id") == history["id"]
        ]
    )
    identifier = harness.jira.webhook_deliveries[index]["headers"]["X-Atlassian-Webhook-Identifier"]

    def answers() -> list[int]:
        return [
            d["status"]
            for d in harness.jira.webhook_deliveries
            if d["headers"]["X-Atlassian-Webhook-Identifier"] == identifier
        ]

    harness.jira.redeliver(index)
    harness.jira.redeliver(index)  # both before the first one is processed
    harness.jira.wait_for(lambda: len(answers()) == 3 and all(answers()))
    harness.drain()
    harness.jira.redeliver(index)  # and once after
    harness.jira.wait_for(lambda: len(answers()) == 4 and all(answers()))
    harness.drain()
    assert answers() == [202, 200, 200, 200]
    assert rows(harness) == {k: v + 1 for k, v in before.items()}, "one delivery, one job, one change set"
    assert harness.incident(incident.id).title == "Checkout returns 503 errors"
    assert jira_lines(harness, incident) == [
        f"Jira {ticket.key}: Summary changed from Checkout returns 500 errors to "
        "Checkout returns 503 errors by Bob"
    ]


def test_a_delivery_is_recorded_before_it_is_processed(harness, webhook_url) -> None:
    incident, ticket = declared(harness)
    before = rows(harness)
    answer = post(webhook_url, issue_updated(ticket, 900007, [item("summary", "Recorded, not yet applied")]))
    assert answer.status_code == 202
    assert rows(harness) == {
        **before,
        "deliveries": before["deliveries"] + 1,
        "apply_jobs": before["apply_jobs"] + 1,
    }
    assert harness.incident(incident.id).title == incident.title, "processing waits for the job"
    harness.drain()
    assert harness.incident(incident.id).title == "Recorded, not yet applied"

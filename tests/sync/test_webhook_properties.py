"""Property-based: any JSON (and any headers) at the route, correctly signed, and any history at the
processor. The answer is always 2xx or 4xx, no job fails, and the incident never takes a value that a
valid, mapped change of that input would not give it."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot import incidents
from bot.enums import Status
from sync.jira_fields import strip_generated
from tests.sync.webhook_support import SESSION, declared, jira_writes, processor_of, sign

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
MAPPED = {
    "incoming": "OPEN",
    "pending resolution": "OPEN",
    "in progress": "MITIGATING",
    "reporter validation": "MITIGATED",
    "closed": "CLOSED",
}
SLACK_USER = {"acc-alice": "U0ALICE", "acc-bob": "U0BOB", "acc-carol": "U0CAROL", "acc-dave": "U0DAVE"}
NEXT_ID, LINKED_BY_ID, LINKED_BY_KEY = "<next id>", "<linked by id>", "<linked by key>"
FIELDS = ("status", "priority", "title", "description", "commander_id")

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def mostly(good: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`good` three times out of four: most inputs get far enough to be worth checking."""
    return st.integers(0, 3).flatmap(lambda n: other if n == 0 else good)


texts = st.one_of(
    st.sampled_from(
        [
            "Incoming",
            "Pending resolution",
            "in progress",
            " IN PROGRESS ",
            "Reporter validation",
            "Closed",
            "Code Review",
            *"0123456",
            " 2 ",
            "３",
            "P2",
            "Highest",
            "",
            "\x00",
            "A new title \ud800 with a lone surrogate",
            "A new title with a NUL\x00 in it",
            "A perfectly reasonable new title",
            "Text\n\nSlack channel: [#inc|http://x]\n\nIncident #1, declared from Slack.",
        ]
    ),
    st.text(max_size=140),
)
accounts = st.sampled_from([*SLACK_USER, "acc-bot", "acc-nobody", "", "acc\x00", "💥", "557058:f0-1"])
statuses = st.sampled_from(
    [
        *("in progress", "Reporter validation", "Closed", "Incoming", "Pending resolution"),
        *(" IN PROGRESS ", "Code Review", "Done"),
    ]
)
field_ids = st.sampled_from(
    [
        *("status", "summary", "description", "assignee", "customfield_11064", "priority"),
        *("customfield_10016", "labels"),
    ]
)


def item_of(field_id: str, to: st.SearchStrategy, frm: st.SearchStrategy = texts) -> st.SearchStrategy:
    """A changelog item for one field, its values mostly of the kind that field carries."""
    return st.fixed_dictionaries(
        {"fieldId": st.just(field_id), "toString": mostly(to, anything), "fromString": mostly(frm, anything)},
        optional={"field": st.just(field_id) | anything, "to": mostly(accounts, anything)},
    )


items = mostly(
    st.one_of(
        item_of("status", statuses | texts, statuses | texts),
        item_of("summary", st.text(min_size=5, max_size=140) | texts),
        item_of("description", st.none() | texts),
        item_of("customfield_11064", texts),
        item_of("priority", st.sampled_from(["Highest", "1", "5"])),
        item_of("customfield_10016", st.sampled_from(["1", "2", "8"])),
        item_of("assignee", texts),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "field": mostly(field_ids, anything),
            "fieldId": mostly(field_ids, anything),
            "toString": mostly(texts, anything),
            "fromString": mostly(texts, anything),
            "to": mostly(accounts, anything),
            "tmpToAccountId": accounts,
        },
    ),
)
ids = mostly(
    st.just(NEXT_ID),
    st.integers(min_value=-3, max_value=4_000_000)
    | st.integers(min_value=1, max_value=4_000_000).map(str)
    | st.sampled_from(["", "0", "007", " 42 ", "1e3", "１２", "12a"])
    | anything,
)
authors = mostly(st.fixed_dictionaries({"accountId": accounts, "displayName": texts}), anything)
item_lists = mostly(st.lists(mostly(items, anything), min_size=1, max_size=4), anything)
messy_histories = st.fixed_dictionaries({"id": ids, "items": item_lists, "author": authors})

# Well-formed histories, as Jira would send them, so that many inputs really change the incident.
titles = st.text(min_size=10, max_size=60).filter(lambda t: 10 <= len(t.strip()) <= 128)
valid_items = st.one_of(
    st.fixed_dictionaries({"fieldId": st.just("status"), "fromString": statuses, "toString": statuses}),
    st.fixed_dictionaries({"fieldId": st.just("summary"), "fromString": texts, "toString": titles | texts}),
    st.fixed_dictionaries({"fieldId": st.just("description"), "toString": st.none() | texts}),
    st.fixed_dictionaries(
        {"fieldId": st.sampled_from(["customfield_11064", "priority", "customfield_10016"])},
        optional={"toString": st.sampled_from(list("123456")), "fromString": st.sampled_from(list("12345"))},
    ),
    st.fixed_dictionaries({"fieldId": st.just("assignee"), "to": accounts, "toString": texts}),
)
people = st.fixed_dictionaries(
    {"accountId": st.sampled_from(["acc-bob", "acc-carol", "acc-bot"]), "displayName": texts}
)
valid_histories = st.fixed_dictionaries(
    {"id": st.just(NEXT_ID), "items": st.lists(valid_items, min_size=1, max_size=3), "author": people}
)
histories = st.one_of(valid_histories, messy_histories)
payloads = mostly(
    st.fixed_dictionaries(
        {
            "webhookEvent": mostly(
                st.just("jira:issue_updated"), st.sampled_from(["comment_created"]) | anything
            ),
            "issue": mostly(st.sampled_from([LINKED_BY_ID, LINKED_BY_KEY]), anything),
            "user": st.one_of(people, authors),
            "changelog": st.one_of(
                st.fixed_dictionaries({"id": st.just(NEXT_ID), "items": st.lists(valid_items, max_size=3)}),
                st.fixed_dictionaries({"id": ids, "items": item_lists}),
                anything,
            ),
        },
        optional={"timestamp": anything, "issue_event_type_name": anything},
    ),
    st.dictionaries(st.text(max_size=10), anything, max_size=4),
)
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, blacklist_categories=("Cc",)),
    max_size=40,
).map(str.strip)  # as HTTP clients send them: no surrounding white space
headers = st.dictionaries(
    st.sampled_from(
        [
            "X-Atlassian-Webhook-Identifier",
            "X-Atlassian-Webhook-Flow",
            "X-Atlassian-Webhook-Retry",
            "Content-Type",
            "User-Agent",
            "X-Anything",
        ]
    ),
    header_values,
    max_size=4,
)
signatures = st.sampled_from(["sha256", "SHA256", "Sha256"]) | header_values


@dataclass
class Oracle:
    """What the incident may become from one input: per field, the values a valid mapped change gives."""

    ticket: Any
    counter: Any

    def fill(self, value: Any) -> Any:
        if value == NEXT_ID:
            return str(next(self.counter))
        if value == LINKED_BY_ID:
            return {"id": self.ticket.jira_id, "key": "NOPE-1"}
        if value == LINKED_BY_KEY:
            return {"id": "1", "key": self.ticket.key}
        return value

    def allowed(self, items: Any, author: Any, from_jira: set[str]) -> dict[str, set]:
        """The bot's own histories may only give its write back to a field whose current value came
        from Jira (`from_jira`), an older change that arrived after the write."""
        out: dict[str, set] = {name: set() for name in FIELDS}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            field, to, frm = (
                item.get("fieldId") or item.get("field"),
                item.get("toString"),
                item.get("fromString"),
            )
            if field == "status" and isinstance(to, str) and to.strip().lower() in MAPPED:
                status = MAPPED[to.strip().lower()]
                if status != "CLOSED" or (isinstance(frm, str) and frm.strip().lower() in MAPPED):
                    out["status"].add(status)
            elif field == "customfield_11064" and isinstance(to, str) and to.strip() in list("12345"):
                out["priority"].add(int(to.strip()))
            elif field == "summary" and isinstance(to, str):
                out["title"].add(clean(to).strip())
            elif field == "description" and (to is None or isinstance(to, str)):
                out["description"].add(strip_generated(clean(to) if to else None))
            elif field == "assignee":
                accounts = (item.get("to"), item.get("tmpToAccountId"))
                out["commander_id"] |= {
                    SLACK_USER[a] for a in accounts if isinstance(a, str) and a in SLACK_USER
                }
        if isinstance(author, dict) and author.get("accountId") == "acc-bot":
            return {name: values if name in from_jira else set() for name, values in out.items()}
        return out


def clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def set_from_jira(harness, incident_id: int) -> set[str]:
    """The fields whose current value came from a change made in Jira."""
    with harness.session() as session:
        origins = {name: incidents.last_change_source(session, incident_id, name) for name in FIELDS}
    return {name for name, origin in origins.items() if origin and origin[0] == "jira"}


def snapshot(harness, incident_id: int) -> dict[str, Any]:
    incident = harness.incident(incident_id)
    return {name: getattr(incident, name) for name in FIELDS}


def check(before: dict[str, Any], after: dict[str, Any], allowed: dict[str, set]) -> None:
    event("changed: " + (", ".join(n for n in FIELDS if after[n] != before[n]) or "nothing"))
    for name in FIELDS:
        if after[name] != before[name]:
            assert after[name] in allowed[name], (name, before[name], after[name], allowed[name])
    assert 10 <= len(after["title"]) <= 128 and after["priority"] in range(1, 6)
    if after["status"] == "CLOSED" != before["status"]:
        assert Status(before["status"]).rank >= Status.MITIGATED.rank, "closed against the rules"
        assert before["priority"] not in (1, 2), "a P1/P2 without post-mortem was closed"


def no_failed_jobs(harness) -> None:
    broken = [(j.kind, j.last_error) for j in harness.jobs() if j.last_error or j.state == "failed"]
    assert broken == []


@SETTINGS
@given(data=st.data())
def test_any_signed_json_at_the_route_is_answered_2xx_or_4xx_and_never_changes_wrongly(
    harness, webhook_url, data
) -> None:
    if not hasattr(harness, "case"):
        incident, ticket = declared(harness)
        harness.jira.clear_requests()
        harness.case = (incident.id, Oracle(ticket, itertools.count(5_000_000)))
    incident_id, oracle = harness.case
    payload = data.draw(payloads)
    for key in ("issue", "changelog"):
        if isinstance(payload.get(key), str):
            payload[key] = oracle.fill(payload[key])
    if isinstance(payload.get("changelog"), dict):
        payload["changelog"]["id"] = oracle.fill(payload["changelog"].get("id"))
    body = json.dumps(payload).encode()
    method = data.draw(signatures)
    good = method.lower() == "sha256"
    sent = {
        **data.draw(headers),
        "X-Hub-Signature": sign(body, method="sha256").replace("sha256", method, 1) if good else method,
    }
    before = snapshot(harness, incident_id)
    from_jira = set_from_jira(harness, incident_id)

    answer = SESSION.post(webhook_url, data=body, headers=sent, timeout=10)

    assert answer.status_code in ((200, 202) if good else (401,)), answer.text
    harness.drain()
    no_failed_jobs(harness)
    linked = payload.get("webhookEvent") == "jira:issue_updated" and isinstance(payload.get("issue"), dict)
    changelog = payload.get("changelog") if isinstance(payload.get("changelog"), dict) else {}
    allowed = oracle.allowed(changelog.get("items") if linked else None, payload.get("user"), from_jira)
    check(before, snapshot(harness, incident_id), allowed)
    assert jira_writes(harness) == []


@SETTINGS
@given(history=mostly(histories, anything))
def test_any_history_at_the_processor_changes_nothing_it_should_not(harness, history) -> None:
    if not hasattr(harness, "case"):
        incident, ticket = declared(harness, webhooks=False)
        harness.jira.clear_requests()
        harness.case = (incident.id, ticket.id, Oracle(ticket, itertools.count(5_000_000)))
    incident_id, ticket_id, oracle = harness.case
    if isinstance(history, dict):
        history["id"] = oracle.fill(history.get("id"))
    before = snapshot(harness, incident_id)
    from_jira = set_from_jira(harness, incident_id)

    processor_of(harness).apply(ticket_id=ticket_id, history=history, door="test")

    harness.drain()
    no_failed_jobs(harness)
    if isinstance(history, dict):
        allowed = oracle.allowed(history.get("items"), history.get("author"), from_jira)
    else:
        allowed = oracle.allowed(None, None, from_jira)
    check(before, snapshot(harness, incident_id), allowed)
    assert jira_writes(harness) == []

"""The post-mortem's Jira wiki fields, rendered from an incident's history (pure functions, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from bot.models import FollowUp, Incident, IncidentUpdate, KeyEvent
from bot.settings import Settings
from sync.postmortem_render import (
    PARTS,
    PostMortemInputs,
    cell,
    issue_fields,
    marked_incident,
    render_part,
    summary,
    wiki,
)

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
CHANNEL_URL = "https://sandbox.slack.com/archives/C0001"


@dataclass
class Ticket:
    key: str = "INC-1"
    url: str = "https://jira.example.com/browse/INC-1"


def make_incident(**overrides) -> Incident:
    values = dict(
        id=12,
        title="Checkout returns 500 errors",
        description="Payments fail at the last step.",
        status="POST_MORTEM",
        priority=1,
        environments=["PRD", "STG"],
        platform="platform-FR",
        impacts={"Customers": "Medium", "Sellers": "High"},
        zendesk_ticket_id="ZD-42",
        seller_contract_id="SC-7",
        zoho_desk_ticket_id="ZO-9",
        is_key_account=True,
        is_seller_in_golden_list=True,
        category="Availability",
        reporter_id="U0ALICE",
        commander_id="U0ALICE",
        channel_id="C0001",
        channel_name="inc-20250301-12-checkout-returns-500-errors",
        declared_at=T0,
    )
    values.update(overrides)
    return Incident(**values)


def update(minutes: float, event_type: str = "updated", source: str = "slack", message=None, **changes):
    return IncidentUpdate(
        incident_id=12,
        created_at=T0 + timedelta(minutes=minutes),
        source=source,
        event_type=event_type,
        changes=changes,
        message=message,
    )


def declared(priority: int = 1) -> IncidentUpdate:
    return update(0, "declared", status=[None, "OPEN"], priority=[None, priority])


def key_event(kind: str, minutes: float, message: str | None = None) -> KeyEvent:
    return KeyEvent(incident_id=12, kind=kind, at=T0 + timedelta(minutes=minutes), message=message)


def inputs(incident=None, updates=None, key_events=(), **kwargs) -> PostMortemInputs:
    return PostMortemInputs(
        incident=incident or make_incident(),
        updates=updates if updates is not None else [declared()],
        key_events=list(key_events),
        channel_url=kwargs.pop("channel_url", CHANNEL_URL),
        ticket=kwargs.pop("ticket", Ticket()),
        followups=kwargs.pop("followups", ()),
    )


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|") and not line.startswith("||")]


# ---- timeline ------------------------------------------------------------------------------------
def test_timeline_lists_creation_status_changes_and_key_events_ascending() -> None:
    updates = [
        declared(priority=2),
        update(5, status=["OPEN", "INVESTIGATING"], message="Looking at the logs"),
        update(12, priority=[2, 1]),  # not a status change: not in the timeline
        update(20, status=["INVESTIGATING", "MITIGATED"]),
        update(31, source="jira", status=["MITIGATED", "POST_MORTEM"], message="Changed from Jira"),
    ]
    events = [
        key_event("recovered", 18, "Traffic back to normal"),
        key_event("detected", -4, "Alert fired on 5xx rate"),
        key_event("started", -10),
    ]
    text = render_part("timeline", inputs(updates=updates, key_events=events))

    lines = text.splitlines()
    assert lines[0] == "h2. Timeline"
    assert "|| Time || Event ||" in lines
    assert table_rows(text) == [
        "| 2025-03-01 09:50 UTC | Key event: Started |",
        "| 2025-03-01 09:56 UTC | Key event: Detected - Alert fired on 5xx rate |",
        "| 2025-03-01 10:00 UTC | Incident created (P2) |",
        "| 2025-03-01 10:05 UTC | Status changed to: Investigating |",
        "| 2025-03-01 10:18 UTC | Key event: Recovered - Traffic back to normal |",
        "| 2025-03-01 10:20 UTC | Status changed to: Mitigated |",
        "| 2025-03-01 10:31 UTC | Status changed to: Post-mortem |",
    ]


def test_timeline_without_history_starts_at_the_declaration() -> None:
    text = render_part("timeline", inputs(updates=[]))
    assert table_rows(text) == ["| 2025-03-01 10:00 UTC | Incident created (P1) |"]


def test_timeline_keeps_equal_times_in_a_stable_order() -> None:
    updates = [declared(), update(0, status=["OPEN", "MITIGATING"])]
    events = [key_event("resolved", 0), key_event("mitigated", 0, "")]
    rows = table_rows(render_part("timeline", inputs(updates=updates, key_events=events)))
    assert [row.split(" | ")[1].removesuffix(" |") for row in rows] == [
        "Incident created (P1)",
        "Status changed to: Mitigating",
        "Key event: Mitigated",
        "Key event: Resolved",
    ]


def test_timeline_escapes_user_text_so_the_table_holds() -> None:
    events = [key_event("detected", 1, "a|b [link|http://evil] {code} *bold* -x-\nsecond | line")]
    [_, row] = table_rows(render_part("timeline", inputs(key_events=events)))
    assert row.count("|") == 3, row
    assert "[" not in row and "{" not in row
    assert row.endswith(" |")
    assert "second" in row and "\n" not in row


def test_timeline_times_are_utc() -> None:
    incident = make_incident(declared_at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC))
    event = KeyEvent(incident_id=12, kind="detected", at=datetime.fromisoformat("2025-03-02T01:15:00+02:00"))
    rows = table_rows(render_part("timeline", inputs(incident=incident, updates=[], key_events=[event])))
    assert rows == [
        "| 2025-03-01 23:15 UTC | Key event: Detected |",
        "| 2025-03-01 23:30 UTC | Incident created (P1) |",
    ]


# ---- incident summary ------------------------------------------------------------------------------
def test_summary_has_channel_priority_category_environments_description_and_no_status_or_created() -> None:
    text = render_part("incident_summary", inputs())
    assert f"[#inc-20250301-12-checkout-returns-500-errors|{CHANNEL_URL}]" in text
    assert "*Priority:* P1" in text
    assert "*Category:* Availability" in text
    assert "*Environments:* PRD, STG" in text
    assert "Payments fail at the last step." in text
    assert "[INC-1|https://jira.example.com/browse/INC-1]" in text
    for line in text.splitlines():
        assert not re.search(r"\bstatus\b|\bcreated\b", line, re.IGNORECASE), line


def test_summary_without_channel_category_or_description_says_so() -> None:
    incident = make_incident(channel_id=None, channel_name=None, category=None, description="")
    text = render_part("incident_summary", inputs(incident=incident, channel_url=None, ticket=None))
    assert "Slack channel" not in text and "Jira ticket" not in text
    assert "*Category:* Not set" in text
    assert "No description was given" in text


def test_summary_escapes_title_and_description() -> None:
    incident = make_incident(title="Cart [x|http://a] {panel}", description="h1. Big\n* item\n#1 | two")
    text = render_part("incident_summary", inputs(incident=incident))
    assert "[x|http://a]" not in text and "{panel}" not in text
    assert "\nh1. Big" not in text and "\n* item" not in text and "\n#1" not in text
    assert "&#124;" in text


def test_summary_carries_the_marker_of_its_incident() -> None:
    assert marked_incident(render_part("incident_summary", inputs())) == 12
    assert marked_incident("no marker here") is None
    assert marked_incident(None) is None


# ---- impact, mitigation actions, root causes --------------------------------------------------------
def test_impact_shows_the_highest_level_and_each_party_with_its_ids() -> None:
    text = render_part("impact", inputs())
    assert "*Business impact:* High" in text
    rows = table_rows(text)
    assert "| Customers | Medium | Zendesk ticket: ZD-42 |" in rows
    sellers = "Seller contract: SC-7, Zoho Desk ticket: ZO-9, Key account, Seller in golden list"
    assert f"| Sellers | High | {sellers} |" in rows
    assert len(rows) == 2


def test_impact_without_any_impact_says_none_was_recorded() -> None:
    incident = make_incident(
        impacts={},
        zendesk_ticket_id=None,
        seller_contract_id=None,
        zoho_desk_ticket_id=None,
        is_key_account=False,
        is_seller_in_golden_list=False,
    )
    text = render_part("impact", inputs(incident=incident))
    assert "*Business impact:* None recorded" in text
    assert table_rows(text) == []
    assert "No impacted party was recorded" in text


def test_mitigation_actions_come_from_the_updates_messages_plus_placeholders() -> None:
    updates = [
        declared(),
        update(3, message="Paged the payments team"),
        update(9, status=["OPEN", "MITIGATED"], message="Rolled back | release 42\nErrors dropped"),
        update(11, source="jira", status=["MITIGATED", "OPEN"], message="Status changed from Jira"),
        update(12, priority=[1, 2]),
    ]
    text = render_part("mitigation_actions", inputs(updates=updates))
    done = [line for line in text.splitlines() if line.startswith("* 2025")]
    assert done == [
        "* 2025-03-01 10:03 UTC: Paged the payments team",
        "* 2025-03-01 10:09 UTC (status: Mitigated): Rolled back &#124; release 42 \\\\ Errors dropped",
    ]
    assert "_Action to complete_" in text


def test_mitigation_actions_without_messages_ask_for_them() -> None:
    text = render_part("mitigation_actions", inputs())
    assert "No action was recorded" in text


def test_root_causes_is_a_placeholder() -> None:
    text = render_part("root_causes", inputs())
    assert text.startswith("h2. Root causes")
    assert "To be completed by the team" in text


# ---- the create-issue fields -------------------------------------------------------------------------
def test_issue_fields_follow_the_settings() -> None:
    settings = Settings(
        jira_postmortem_project_key="POSTMORTEM",
        jira_postmortem_issue_type="Post-mortem",
        jira_postmortem_fields={"timeline": "customfield_99999"},
    )
    fields = issue_fields(inputs(), settings)
    assert fields["project"] == {"key": "POSTMORTEM"}
    assert fields["issuetype"] == {"name": "Post-mortem"}
    assert fields["summary"] == "Post-mortem #12: Checkout returns 500 errors"
    assert fields["customfield_99999"].startswith("h2. Timeline")
    assert fields["customfield_12699"].startswith("h2. Incident summary")
    assert fields["customfield_12702"].startswith("h2. Impact")
    assert fields["customfield_12703"].startswith("h2. Mitigation actions")
    assert fields["customfield_12701"].startswith("h2. Root causes")
    assert fields["customfield_12369"] == {"value": "Availability"}


def test_issue_fields_leave_out_the_category_when_there_is_none() -> None:
    fields = issue_fields(inputs(incident=make_incident(category=None)), Settings())
    assert "customfield_12369" not in fields


def test_issue_summary_is_one_line_of_at_most_255_characters() -> None:
    text = summary(make_incident(title="Very long\ntitle " * 40))
    assert "\n" not in text and len(text) <= 255


def test_every_field_fits_in_a_jira_text_field() -> None:
    updates = [declared(), *(update(i, message="x" * 3000) for i in range(1, 30))]
    text = render_part("mitigation_actions", inputs(updates=updates))
    assert len(text) <= 32_000
    summary_text = render_part("incident_summary", inputs(incident=make_incident(description="y" * 40_000)))
    assert len(summary_text) <= 32_000 and marked_incident(summary_text) == 12


# ---- escaping ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a&#124;b"),
        ("[link|http://x]", "&#91;link&#124;http://x&#93;"),
        ("{code}", "&#123;code&#125;"),
        ("*bold* _it_ +ins+ ^sup^ ~sub~", "\\*bold\\* \\_it\\_ \\+ins\\+ \\^sup\\^ \\~sub\\~"),
        ("-strike- and checkout-service, snake_case", "\\-strike\\- and checkout-service, snake_case"),
        ("why? ??cite??", "why? \\?\\?cite\\?\\?"),
        ("!image.png! #1", "\\!image.png\\! \\#1"),
        ("h2. Title\nbq. quote", "h2&#46; Title\nbq&#46; quote"),
        ("back\\slash \\|", "back&#92;slash &#92;&#124;"),
        ("- item\n# item", "\\- item\n\\# item"),
    ],
)
def test_wiki_escapes_markup(raw: str, escaped: str) -> None:
    assert wiki(raw) == escaped


def test_cell_keeps_one_line() -> None:
    assert cell("one\r\n\ntwo | three\n") == "one \\\\ two &#124; three"


def test_templates_ship_as_package_data() -> None:
    folder = resources.files("sync").joinpath("templates/jira/postmortem")
    assert {f"{part}.txt" for part in PARTS} <= {item.name for item in folder.iterdir()}


def test_mitigation_actions_list_the_followups_created_in_jira() -> None:
    followups = [
        FollowUp(
            incident_id=12, summary="Add a retry | backoff", requested_by="U1", key="OPS-7", status="Done"
        ),
        FollowUp(incident_id=12, summary="Not created yet", requested_by="U1"),
    ]
    text = render_part("mitigation_actions", inputs(followups=followups))
    assert "* [OPS-7] Add a retry &#124; backoff — Done" in text
    assert "Not created yet" not in text and "_Action to complete_" not in text

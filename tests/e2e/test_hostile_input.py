"""Hostile and awkward input through Slack: markup, unicode, oversize values. Clear errors, no crash,
nothing wrong stored, nothing broken on either side."""

from __future__ import annotations

import pytest

from sandbox.slack.forms import InputRejected
from tests.e2e.slack_steps import announcement, declare, message_text, open_view, wait_for_jira_link
from views.ids import Callback

MARKUP_TITLE = "<!channel> *Checkout* <https://evil.example|login> {code}|[x]| ‮RTL 🔥"
UNICODE_TITLE = "Zahlungsausfall für 🇩🇪 Kunden – ＳＨＯＰ 支付失败 " + "é" * 60


def test_markup_and_unicode_titles_are_stored_as_typed_and_shown_harmlessly(rig) -> None:
    incident = declare(rig, title=MARKUP_TITLE, Description="Line one\n|| a || b ||\n{noformat}")
    message = wait_for_jira_link(rig, incident)
    shown = message_text(message)
    assert "<!channel>" not in shown and "<https://evil.example|login>" not in shown, "markup is escaped"
    assert "&lt;!channel&gt;" in shown
    issue = rig.jira.wait_for(lambda: rig.jira.issues.get("INC-1"), timeout=10)
    assert issue["fields"]["summary"] == MARKUP_TITLE, "Jira gets the title exactly as typed"
    assert issue["fields"]["description"].startswith("Line one\n|| a || b ||\n{noformat}")
    second = declare(rig, title=UNICODE_TITLE, priority="P2")
    rig.jira.wait_for(lambda: rig.jira.issues.get("INC-2"), timeout=10)
    assert rig.jira.issue("INC-2")["fields"]["summary"] == UNICODE_TITLE
    name = rig.slack.channels[second.channel]["name"]
    assert len(name) <= 80 and name.isascii() and "zahlungsausfall-fur" in name
    assert announcement(rig, second)
    assert "Traceback" not in rig.bot_log()


def test_oversize_and_invisible_values_get_field_errors_not_crashes(rig) -> None:
    alice = rig.slack_user("alice")
    view = open_view(rig, "alice", "open Checkout is down for everyone", Callback.DECLARE)
    for label, value in (("Description", "y" * 3001), ("Zendesk ticket ID", "9" * 65)):
        with pytest.raises(InputRejected):  # the modal's max_length: Slack itself refuses to submit
            alice.submit(view, {"Priority": "P1", label: value})
    cases = {
        "Title": ("x" * 129, "title"),
        "Zendesk ticket ID": ("ZD\u0000\u200b12", "zendesk_ticket_id"),
    }
    for label, (value, block) in cases.items():
        extra = {"Customers impact": "High"} if block == "zendesk_ticket_id" else {}
        ack = alice.submit(view, {"Priority": "P1", label: value, **extra})
        assert ack.errors and block in ack.errors, (label, ack.payload)
    assert rig.jira.issues == {} and not [
        c for c in rig.slack.channels.values() if c["name"].startswith("inc-")
    ]
    assert "Traceback" not in rig.bot_log()

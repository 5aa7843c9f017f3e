"""The bot's other messages as pure functions: summaries, recap, list, notices, with user text escaped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.models import Incident
from views import messages


@dataclass
class Link:
    key: str
    url: str


def incident(**overrides: Any) -> Incident:
    values: dict[str, Any] = {
        "id": 4,
        "title": "Search <returns> nothing",
        "status": "OPEN",
        "priority": 2,
        "environments": ["PRD"],
        "reporter_id": "U1",
        "commander_id": "U2",
        "channel_id": "C9",
    }
    return Incident(**{**values, **overrides})


def test_change_summary_is_one_line_per_submission() -> None:
    changes = {
        "status": ["OPEN", "POST_MORTEM"],
        "priority": [2, 1],
        "commander_id": ["U1", "U2"],
        "description": ["", "x" * 70],
    }
    line = messages.change_summary("U1", changes, "see <thread>")
    assert "\n" not in line
    assert line == (
        ":pencil2: <@U1> changed Status Open → Post-mortem, Priority P2 → P1, Commander <@U1> → <@U2>, "
        f"Description (none) → “{'x' * 60}…”: see &lt;thread&gt;"
    )
    assert messages.change_summary(None, {}, "from Jira") == ":speech_balloon: Someone: from Jira"


def test_key_events_summary_gives_times_in_utc_and_notes() -> None:
    changes = {
        "detected": [None, ["2024-05-01T09:30:00+00:00", "Alert <fired>"]],
        "started": [["2024-05-01T09:00:00+00:00", None], ["2024-05-01T11:12:00+02:00", None]],
        "resolved": [["2024-05-01T10:00:00+00:00", None], None],
    }
    assert messages.key_events_summary("U1", changes) == (
        ":clock3: <@U1> updated key events: Detected 2024-05-01 09:30 UTC (Alert &lt;fired&gt;); "
        "Started 2024-05-01 09:12 UTC; Resolved cleared"
    )


def test_declared_ack_says_what_comes_next() -> None:
    assert messages.declared_ack(incident(), jira_enabled=True) == (
        ":white_check_mark: Incident #4 *Search &lt;returns&gt; nothing* (P2) declared. "
        "Its channel is being created; you will be invited to it."
    )
    assert messages.declared_ack(incident(priority=4), jira_enabled=True).endswith(
        "Its Jira ticket is being created; I will send you its link."
    )
    assert messages.declared_ack(incident(priority=5), jira_enabled=False).endswith(
        "update it with `/incident update #4`."
    )


def test_status_recap_and_list() -> None:
    ticket = Link("INC-4", "https://jira/browse/INC-4")
    recap = messages.status_recap(incident(), ticket=ticket, postmortem=None, sync_state="in step")
    assert recap.splitlines() == [
        "*Incident #4: Search &lt;returns&gt; nothing*",
        "Channel: <#C9>",
        "Status: Open · Priority: P2 · Commander: <@U2>",
        "Jira: <https://jira/browse/INC-4|INC-4>",
        "Post-mortem: none",
        "Sync: in step",
    ]
    listing = messages.incident_list([(incident(), ticket), (incident(id=3, channel_id=None), None)])
    assert listing.splitlines() == [
        "*Open incidents, newest first:*",
        "• #4 P2 Open: Search &lt;returns&gt; nothing <#C9> <https://jira/browse/INC-4|INC-4>",
        "• #3 P2 Open: Search &lt;returns&gt; nothing",
    ]
    assert messages.incident_list([]) == "No open incidents. :tada:"


def test_jira_lines_keep_the_spec_format_and_escape_what_jira_sent() -> None:
    assert messages.jira_change("INC-4", "Priority", "P2", "P1", "Alice") == (
        "Jira INC-4: Priority changed from P2 to P1 by Alice"
    )
    assert messages.jira_change("INC-4", "Title", None, "<!here> x", "Eve <e>") == (
        "Jira INC-4: Title changed from (none) to &lt;!here&gt; x by Eve &lt;e&gt;"
    )


def test_unknown_command_quotes_the_text_safely_and_adds_help() -> None:
    text = messages.unknown_command("<!channel>")
    assert text.startswith("Unknown command `&lt;!channel&gt;`.\n\n")
    assert text.endswith(messages.HELP)

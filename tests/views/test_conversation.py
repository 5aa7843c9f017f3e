"""The conversation's messages: pure builders, their exact text, and what they keep from notifying."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import Incident
from bot.timeline import Entry
from views.conversation import JOINER, jira_comment, slack_text, timeline


def test_outside_text_can_neither_link_nor_notify() -> None:
    assert slack_text("<!channel> & <@U1> @here") == f"&lt;!channel&gt; &amp; &lt;@U1&gt; @{JOINER}here"


def test_the_comment_line_names_the_writer_and_links_the_ticket_when_cut() -> None:
    line = jira_comment(
        "INC-7", "Bob <!here>", "text", edited=False, cut=False, ticket_url="https://j/browse/INC-7"
    )
    assert line == "Jira INC-7: comment by Bob &lt;!here&gt;: text"
    edited = jira_comment(
        "INC-7", "Carol", "more", edited=True, cut=True, ticket_url="https://j/browse/INC-7"
    )
    assert edited == "Jira INC-7: comment by Carol edited: more… <https://j/browse/INC-7|INC-7>"


def test_the_timeline_lists_entries_under_their_day_with_hh_mm() -> None:
    incident = Incident(id=3, title="DB <down>", priority=2, reporter_id="U1", commander_id="U1")
    day1, day2 = datetime(2026, 1, 1, 23, 55, tzinfo=UTC), datetime(2026, 1, 2, 0, 5, tzinfo=UTC)
    rows = [
        Entry(day1, "created", priority=2),
        Entry(day1, "key_event", "Detected", "pager <!channel>"),
        Entry(day2, "status", "Mitigated"),
        Entry(day2, "note", "carol", "all green", link="https://s/p1"),
    ]
    assert timeline(incident, rows).splitlines() == [
        "*Timeline of incident #3: DB &lt;down&gt;* (times in UTC)",
        "_2026-01-01_",
        "• 23:55 Incident created (P2)",
        "• 23:55 Key event: Detected - pager &lt;!channel&gt;",
        "_2026-01-02_",
        "• 00:05 Status changed to: Mitigated",
        "• 00:05 Note: carol: all green (<https://s/p1|message>)",
    ]

"""The Home view builder: its sections, a friendly empty state, rows that say everything, the block limit
with many incidents, the 30-day figures with their units, and the one `Jira:` line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.enums import Status
from bot.models import Incident, JiraTicket
from bot.overview import Listing, Overview, PriorityFigures, Row, SyncHealth
from sandbox.slack.blockkit import MAX_VIEW_BLOCKS, button_text, buttons
from views.durations import clock, duration
from views.home import home_view, sync_line
from views.ids import Action

NO_FIGURES = [PriorityFigures(p, 0, None) for p in range(1, 6)]


def incident(
    n: int, priority: int = 1, status: Status = Status.INVESTIGATING, channel: bool = True
) -> Incident:
    return Incident(
        id=n,
        title=f"Checkout <fails> for {n}",
        priority=priority,
        status=status,
        reporter_id="UREP",
        commander_id="UCOM",
        channel_id=f"C{n}" if channel else None,
        declared_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def row(n: int, **kwargs) -> Row:
    ticket = JiraTicket(incident_id=n, key=f"INC-{n}", jira_id=str(n), url=f"https://jira/browse/INC-{n}")
    return Row(incident(n, **kwargs), ticket)


NOTHING = Listing([], 0)
IN_SYNC = SyncHealth(0, 0.0, 0)


def view(yours=NOTHING, open_=NOTHING, figures=NO_FIGURES, sync: SyncHealth | None = IN_SYNC) -> dict:
    return home_view(Overview(yours=yours, open=open_, last_30_days=figures, sync=sync))


def texts(blocks: list[dict]) -> list[str]:
    found = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        found += [e.get("text", "") for e in block.get("elements", []) if block["type"] == "context"]
    return found


def test_the_sections_in_order_with_declare_first() -> None:
    home = view()
    assert home["type"] == "home"
    headers = [b["text"]["text"] for b in home["blocks"] if b["type"] == "header"]
    assert headers == ["Your incidents", "Open incidents", "Your follow-ups", "Last 30 days"]
    [(_block, declare)] = list(buttons(home["blocks"][:1]))
    assert button_text(declare) == "Declare an incident" and declare["action_id"] == Action.DECLARE


def test_someone_in_no_incident_sees_a_friendly_empty_state() -> None:
    shown = "\n".join(texts(view()["blocks"]))
    assert "You are not running any open incident. :sunny:" in shown
    assert "No open incidents. :tada:" in shown


def test_each_open_incident_row_shows_everything_and_has_its_update_button() -> None:
    home = view(open_=Listing([row(12, priority=2), row(13, channel=False)], 2))
    rows = [b for b in home["blocks"] if b.get("accessory")]
    assert rows[0]["text"]["text"] == (
        "*P2* · #12 · *Checkout &lt;fails&gt; for 12*\n"
        "Investigating · <https://jira/browse/INC-12|INC-12> · <#C12>"
    )
    assert rows[1]["text"]["text"].endswith("Investigating · <https://jira/browse/INC-13|INC-13>"), (
        "no channel"
    )
    assert [(b["accessory"]["action_id"], b["accessory"]["value"]) for b in rows] == [
        (Action.UPDATE, "12"),
        (Action.UPDATE, "13"),
    ]


def test_many_open_incidents_stay_within_the_block_limit_and_say_how_many_are_hidden() -> None:
    home = view(
        yours=Listing([row(n) for n in range(10)], 300), open_=Listing([row(n) for n in range(20)], 500)
    )
    assert len(home["blocks"]) <= MAX_VIEW_BLOCKS
    shown = "\n".join(texts(home["blocks"]))
    assert "480 more open incidents not shown here" in shown
    assert "290 more of yours not shown here" in shown


def test_last_30_days_per_priority_with_units() -> None:
    figures = [
        PriorityFigures(1, 4, 1200.0),
        PriorityFigures(2, 1, 7500.0),
        PriorityFigures(3, 2, None),
        PriorityFigures(4, 0, None),
        PriorityFigures(5, 3, 3 * 86400.0),
    ]
    [section] = [
        b for b in view(figures=figures)["blocks"] if "declared" in b.get("text", {}).get("text", "")
    ]
    assert section["text"]["text"].splitlines() == [
        "*P1*: 4 incidents declared, median time to mitigate 20 min",
        "*P2*: 1 incident declared, median time to mitigate 2:05 h",
        "*P3*: 2 incidents declared, none mitigated yet",
        "*P4*: 0 incidents declared",
        "*P5*: 3 incidents declared, median time to mitigate 3 d",
    ]


@pytest.mark.parametrize(
    ("health", "line"),
    [
        (SyncHealth(0, 0.0, 0), "Jira: in sync"),
        (SyncHealth(3, 125.0, 0), "Jira: 3 changes waiting, the oldest for 2 min"),
        (SyncHealth(0, 0.0, 1), "Jira: 1 failed change: retry with `python -m bot jobs --retry`"),
        (
            SyncHealth(1, 30.0, 2),
            "Jira: 1 change waiting, the oldest for 30 s; "
            "2 failed changes: retry with `python -m bot jobs --retry`",
        ),
        (None, "Jira: sync is off"),
    ],
)
def test_one_sync_line_starting_with_jira(health: SyncHealth | None, line: str) -> None:
    assert sync_line(health) == line
    assert view(sync=health)["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": line}],
    }


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (3660, "1:01 h"),
        (7500, "2:05 h"),
        (86399, "23:59 h"),
        (86400, "1 d"),
        (129600, "1.5 d"),
    ],
)
def test_durations_carry_their_unit(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_clock_is_utc() -> None:
    assert clock(datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=2)))) == "21:30 UTC"

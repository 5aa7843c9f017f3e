"""The Home tab end to end: opening it publishes that person's view (again at every opening), with a
Declare button that declares, their own incidents, every open incident with an Update button on its row,
the last 30 days per priority, and one `Jira:` line that follows the queue; a person in no incident sees
a friendly empty state, and 500 open incidents still fit."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session

from bot import db
from bot.models import Incident, utcnow
from sandbox.rig import Rig, person
from sandbox.slack.blockkit import MAX_VIEW_BLOCKS, button_text, buttons
from tests.e2e.slack_steps import declare, wait_for_jira_link, wait_for_text
from views.ids import Callback

ALICE, BOB, DAVE = (person(name).slack_id for name in ("alice", "bob", "dave"))


def sections(view: dict) -> dict[str, list[str]]:
    """The view's texts under each header, in order (the blocks before the first header under "")."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for block in view["blocks"]:
        if block["type"] == "header":
            current = block["text"]["text"]
            found[current] = []
        elif isinstance(block.get("text"), dict):
            found[current].append(block["text"]["text"])
        elif block["type"] == "context":
            found[current] += [element["text"] for element in block["elements"]]
    return found


def jira_line(view: dict) -> str:
    [line] = [text for texts in sections(view).values() for text in texts if text.startswith("Jira:")]
    return line


def settled(rig: Rig, who: str, expected_jira: str = "Jira: in sync") -> dict:
    """Open the Home tab until its Jira line reads as expected (the bot's jobs finish in their own time)."""
    user = rig.slack_user(who)
    return rig.slack.wait_for(
        lambda: (view := user.open_home()) and jira_line(view) == expected_jira and view
    )


def test_someone_in_no_incident_sees_a_friendly_empty_home_with_every_section(rig: Rig) -> None:
    view = rig.slack_user("dave").open_home()
    assert rig.slack.home_view(DAVE) == view and rig.slack.home_view(ALICE) is None, "published for dave"
    shown = sections(view)
    assert list(shown) == ["", "Your incidents", "Open incidents", "Your follow-ups", "Last 30 days"]
    assert shown["Your follow-ups"] == ["No follow-up of yours is open. Those assigned to you show up here."]
    assert [button_text(e) for _, e in buttons(view["blocks"][:1])] == ["Declare an incident"]
    assert shown["Your incidents"] == [
        "You are not running any open incident. :sunny: Those you declare or command show up here."
    ]
    assert shown["Open incidents"] == ["No open incidents. :tada:"]
    assert shown["Last 30 days"][0].splitlines()[0] == "*P1*: 0 incidents declared"
    assert shown["Last 30 days"][-1] == "Jira: in sync"


def test_open_incidents_by_priority_each_row_complete_and_yours_apart(rig: Rig) -> None:
    p2 = declare(rig, "carol", "Search is slow for every user", "P2")
    p1 = declare(rig, "alice", "Checkout is down for everyone", "P1")
    for incident in (p1, p2):
        wait_for_jira_link(rig, incident)
    view = settled(rig, "alice")
    rows = sections(view)["Open incidents"]
    assert rows == [
        f"*P1* · #{p1.id} · *Checkout is down for everyone*\n"
        f"Open · <{rig.jira.url}/browse/INC-2|INC-2> · <#{p1.channel}>",
        f"*P2* · #{p2.id} · *Search is slow for every user*\n"
        f"Open · <{rig.jira.url}/browse/INC-1|INC-1> · <#{p2.channel}>",
    ]
    update_buttons = [e["value"] for b, e in buttons(view["blocks"]) if button_text(e) == "Update"]
    assert update_buttons == [str(p1.id), str(p1.id), str(p2.id)], "yours, then every open incident"
    assert sections(view)["Your incidents"] == rows[:1]
    assert sections(view)["Last 30 days"][0].splitlines()[:2] == [
        "*P1*: 1 incident declared, none mitigated yet",
        "*P2*: 1 incident declared, none mitigated yet",
    ]


def test_the_home_tab_is_published_again_at_each_opening_and_declare_works_from_it(rig: Rig) -> None:
    alice = rig.slack_user("alice")
    before = alice.open_home()
    alice.click_in_home("Declare an incident")
    modal = alice.wait_for_view(Callback.DECLARE)
    assert modal["title"]["text"] == "Declare an incident"
    assert alice.submit(modal, {"Title": "Login fails for some users", "Priority": "P3"}).errors is None
    told = rig.slack.wait_for(lambda: [m["text"] for m in rig.slack.dms(ALICE) if "declared" in m["text"]])
    assert "Incident #1 *Login fails for some users* (P3) declared" in told[0]
    after = rig.slack.wait_for(
        lambda: (
            (view := alice.open_home())
            and sections(view)["Open incidents"] != sections(before)["Open incidents"]
            and view
        )
    )
    assert after["id"] == before["id"] and rig.slack.home_publishes(ALICE) >= 2
    assert sections(after)["Open incidents"][0].startswith("*P3* · #1 · *Login fails for some users*")
    alice.open_messages_tab()
    publishes = rig.slack.home_publishes(ALICE)
    alice.open_home()
    assert rig.slack.home_publishes(ALICE) == publishes + 1, "the Messages tab published nothing"


def test_update_from_a_home_row_opens_the_modal_and_refuses_outsiders_by_dm(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P1")
    wait_for_jira_link(rig, incident)
    assert incident.channel
    alice = rig.slack_user("alice")
    alice.open_home()
    alice.click_in_home("Update", row=f"#{incident.id} ·")
    modal = alice.wait_for_view(Callback.UPDATE)
    assert alice.submit(modal, {"Status": "Mitigated"}).errors is None
    wait_for_text(rig, incident.channel, "Status Open → Mitigated")
    view = settled(rig, "alice")
    assert re.fullmatch(
        r"\*P1\*: 1 incident declared, median time to mitigate \d+ s",
        sections(view)["Last 30 days"][0].splitlines()[0],
    )
    dave = rig.slack_user("dave")
    dave.open_home()
    dave.click_in_home("Update", row=f"#{incident.id} ·")
    refusal = rig.slack.wait_for(
        lambda: [m["text"] for m in rig.slack.dms(DAVE) if "may update" in m["text"]]
    )
    assert refusal[0].startswith(f"Only members of <#{incident.channel}>")


def test_the_jira_line_counts_what_waits_and_what_failed(rig: Rig) -> None:
    incident = declare(rig, "alice", "Checkout is down for everyone", "P1")
    wait_for_jira_link(rig, incident)
    settled(rig, "alice")
    rig.jira.fail_with(503, seconds=None)  # Jira down: the change waits
    alice = rig.slack_user("alice")
    alice.click(incident.channel, "Update")
    alice.submit(alice.wait_for_view(Callback.UPDATE), {"Title": "Checkout is down for all users"})
    waiting = rig.slack.wait_for(
        lambda: re.fullmatch(r"Jira: 1 change waiting, the oldest for \d+ s", jira_line(alice.open_home()))
    )
    assert waiting
    rig.jira.fail_with(400, seconds=None)  # Jira refuses it: parked as failed
    settled(rig, "alice", "Jira: 1 failed change: retry with `python -m bot jobs --retry`")
    rig.jira.clear_faults()


def test_five_hundred_open_incidents_fit_in_the_home_tab_and_the_rest_is_counted(rig: Rig) -> None:
    engine = db.make_engine(rig.env["DATABASE_URL"])
    now = utcnow()
    with Session(engine) as session:
        for n in range(500):
            at = now - timedelta(minutes=n)
            session.add(
                Incident(
                    title=f"Seeded incident number {n}",
                    priority=n % 5 + 1,
                    reporter_id=BOB,
                    commander_id=BOB,
                    declared_at=at,
                    updated_at=at,
                )
            )
        session.commit()
    engine.dispose()
    for who in ("dave", "bob"):
        view = rig.slack_user(who).open_home()
        assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
        rows = sections(view)["Open incidents"]
        assert len(rows) == 21 and rows[-1].startswith("480 more open incidents not shown here")
        assert [row[:4] for row in rows[:20]] == ["*P1*"] * 20, "most urgent first"
        numbers = [int(re.search(r"#(\d+)", row).group(1)) for row in rows[:20]]
        assert numbers == sorted(numbers), "newest first within a priority (declared n minutes ago)"
    mine = sections(view)["Your incidents"]
    assert len(mine) == 11 and mine[-1].startswith("490 more of yours not shown here")
    assert (
        sections(view)["Last 30 days"][0].splitlines()[0]
        == "*P1*: 100 incidents declared, none mitigated yet"
    )

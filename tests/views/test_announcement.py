"""The pinned announcement and the topic: what they show, the five buttons, escaped user text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block as SdkBlock

from bot.models import Incident
from views.announcement import announcement, escape, topic
from views.ids import Action


@dataclass
class Link:
    key: str
    url: str


TICKET = Link("INC-7", "https://jira.example.com/browse/INC-7")
POSTMORTEM = Link("PM-3", "https://jira.example.com/browse/PM-3")


def incident(**overrides: Any) -> Incident:
    values: dict[str, Any] = {
        "id": 7,
        "title": "Checkout is down for everyone",
        "description": "Card payments fail",
        "status": "MITIGATING",
        "priority": 1,
        "environments": ["PRD", "STG"],
        "reporter_id": "U1",
        "commander_id": "U2",
    }
    return Incident(**{**values, **overrides})


def shown(blocks: list[dict]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [field["text"] for field in block.get("fields", [])]
        if block["type"] == "context":
            parts += [element["text"] for element in block["elements"]]
    return "\n".join(parts)


def test_announcement_shows_everything_with_links_and_five_buttons() -> None:
    fallback, blocks = announcement(incident(), ticket=TICKET, postmortem=POSTMORTEM)
    for block in SdkBlock.parse_all(blocks):
        block.validate_json()
    assert fallback == "P1 incident #7: Checkout is down for everyone (Mitigating)"
    assert shown(blocks) == "\n".join(
        [
            ":rotating_light: *Incident #7: Checkout is down for everyone*",
            "*Priority:* P1",
            "*Status:* Mitigating",
            "*Environments:* PRD, STG",
            "*Commander:* <@U2>",
            "*Jira:* <https://jira.example.com/browse/INC-7|INC-7>",
            "*Post-mortem:* <https://jira.example.com/browse/PM-3|PM-3>",
            "Card payments fail",
            "Declared by <@U1>",
        ]
    )
    actions = blocks[-1]
    assert actions["type"] == "actions"
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("Update", Action.UPDATE, "7"),
        ("Key events", Action.KEY_EVENTS, "7"),
        ("Post-mortem", Action.POSTMORTEM, "7"),
        ("Follow-up", Action.FOLLOWUP, "7"),
        ("Close", Action.CLOSE, "7"),
    ]


def test_links_appear_when_they_exist_and_jira_off_shows_none() -> None:
    _, creating = announcement(incident(description=""), ticket=None, postmortem=None)
    assert "*Jira:* _creating…_" in shown(creating)
    assert "Post-mortem:" not in shown(creating)
    assert "Card payments" not in shown(creating), "no empty description section"
    _, off = announcement(incident(), ticket=None, postmortem=None, jira_enabled=False)
    assert "Jira" not in shown(off)


def test_a_closed_incident_keeps_its_announcement_without_buttons() -> None:
    _, blocks = announcement(incident(status="CLOSED"), ticket=TICKET, postmortem=None)
    assert "*Status:* Closed" in shown(blocks)
    assert all(block["type"] != "actions" for block in blocks)


def test_user_text_cannot_fake_mentions_links_or_markup_entities() -> None:
    hostile = incident(
        title="<!channel> pay at <https://evil.example|bank> & co",
        description="<@U999> said 1 < 2 && 3 > 2",
    )
    fallback, blocks = announcement(hostile, ticket=None, postmortem=None)
    text = shown(blocks)
    assert "<!channel>" not in text and "<!channel>" not in fallback
    assert "<https://evil.example|bank>" not in text
    assert "<@U999>" not in text
    assert "&lt;!channel&gt; pay at &lt;https://evil.example|bank&gt; &amp; co" in text
    assert "&lt;@U999&gt; said 1 &lt; 2 &amp;&amp; 3 &gt; 2" in text
    assert (
        fallback
        == "P1 incident #7: &lt;!channel&gt; pay at &lt;https://evil.example|bank&gt; &amp; co (Mitigating)"
    )
    assert escape("a&b<c>d") == "a&amp;b&lt;c&gt;d"


def test_topic_follows_priority_status_and_key_within_slacks_limit() -> None:
    assert topic(incident(), ticket=TICKET) == "P1 | Mitigating | INC-7 | Checkout is down for everyone"
    assert topic(incident(status="OPEN"), ticket=None) == "P1 | Open | Checkout is down for everyone"
    assert len(topic(incident(title="x" * 300), ticket=TICKET)) == 250

"""Jira wiki markup as Slack mrkdwn and a Slack message as Jira wiki markup: what maps, what is escaped,
and that untrusted text can neither notify anyone nor keep a worker busy."""

from __future__ import annotations

import time

import pytest

from sync.jira_markup import JOINER, MAX_INPUT, jira_to_slack, slack_to_jira


def slack(text: str) -> str:
    return jira_to_slack(text).text


@pytest.mark.parametrize(
    ("wiki", "mrkdwn"),
    [
        ("h2. Root cause", "*Root cause*"),
        ("*bold* _italic_ -struck- +underlined+ ??cited??", "*bold* _italic_ ~struck~ underlined _cited_"),
        ("run {{kubectl get pods}} now", "run `kubectl get pods` now"),
        (
            "[the runbook|https://wiki.example.com/rb] or [https://x.example.com]",
            "<https://wiki.example.com/rb|the runbook> or <https://x.example.com>",
        ),
        ("* one\n** nested\n# first\n# second", "• one\n    • nested\n1. first\n2. second"),
        ("bq. quoted", "> quoted"),
        ("{quote}\nsaid\n{quote}", "> said"),
        ("||Host||State||\n|db-1|down|", "*Host* | *State*\ndb-1 | down"),
        ("{color:red}red{color} and {panel:title=x}boxed{panel}", "red and boxed"),
        ("line one\\\\line two", "line one\nline two"),
        ("checkout-service snake_case a*b*c", "checkout-service snake_case a*b*c"),
        ("!graph.png|thumbnail!", "(image graph.png)"),
        ("----", "──────────"),
    ],
)
def test_wiki_markup_maps_to_mrkdwn(wiki: str, mrkdwn: str) -> None:
    assert slack(wiki) == mrkdwn


def test_code_blocks_keep_their_text_escaped_and_unformatted() -> None:
    assert (
        slack("{code:python}\nif a < b and *c*:\n{code}\nafter") == "```\nif a &lt; b and *c*:\n```\n\nafter"
    )
    assert slack("{noformat}\n<!here>\n{noformat}") == "```\n&lt;!here&gt;\n```"
    assert slack("{code}never closed <x>") == "```\nnever closed &lt;x&gt;\n```"


@pytest.mark.parametrize(
    "wiki",
    [
        "<!channel> please look",
        "<!here|here>",
        "<!everyone>",
        "<!subteam^S0123|@oncall>",
        "<@U0ALICE> and <#C0GENERAL>",
        "{{<!channel>}}",
        "{code}<!channel>{code}",
        "[hello|<!channel>]",
        "[x|!here]",
    ],
)
def test_no_slack_mention_survives(wiki: str) -> None:
    text = slack(wiki)
    assert "<!" not in text and "<@" not in text and "<#" not in text
    assert "&lt;" in text or "[" in text


@pytest.mark.parametrize(
    "word", ["@channel", "@here", "@everyone", "@Channel", "[~channel]", "[~accountid:here]"]
)
def test_broadcast_words_are_disarmed_with_a_word_joiner(word: str) -> None:
    text = slack(f"hey {word} look")
    assert f"@{JOINER}" in text
    assert "@channel" not in text.lower() and "@here" not in text.lower()


def test_only_http_and_mailto_targets_become_links() -> None:
    assert slack("[x|javascript:alert(1)]") == "[x|javascript:alert(1)]"
    assert slack("[mail us|mailto:ops@example.com]") == "<mailto:ops@example.com|mail us>"
    assert slack("[a|https://x.example.com/?a=1&b=2]") == "<https://x.example.com/?a=1&amp;b=2|a>"


def test_a_user_mention_in_jira_is_plain_text() -> None:
    assert slack("[~accountid:5b10ac8d] please") == "@5b10ac8d please"


def test_long_text_is_cut_at_the_limit_outside_links_entities_and_code() -> None:
    long = "word " * 1000
    converted = jira_to_slack(long, limit=3000)
    assert converted.cut and len(converted.text) <= 3000
    link = jira_to_slack("x" * 2990 + " [label|https://example.com/long/path]", limit=3000)
    assert link.cut and "<https" not in link.text and not link.text.endswith("&")
    entity = jira_to_slack("y" * 2997 + "<<<<", limit=3000)
    assert entity.text.endswith("y") or entity.text.endswith(";")
    code = jira_to_slack("{code}" + "z" * 5000 + "{code}", limit=3000)
    assert code.text.count("```") == 2 and len(code.text) <= 3000


def test_short_text_is_not_cut() -> None:
    assert jira_to_slack("all good").cut is False


@pytest.mark.parametrize("unit", ["[", "{code", "*_-+", "{{", "[a|", "{code:", "<", "{quote", "\\\\"])
def test_hostile_input_converts_in_linear_time(unit: str) -> None:
    started = time.monotonic()
    converted = jira_to_slack(unit * 200_000)
    assert time.monotonic() - started < 1.0
    assert converted.cut and len(converted.text) <= 3000
    assert len(unit * 200_000) > MAX_INPUT


def test_empty_text_is_empty() -> None:
    assert slack("") == ""
    assert slack("   \n  ") == ""


# ---- Slack → Jira --------------------------------------------------------------------------------
def names(user_id: str) -> str:
    return {"U0ALICE": "Alice"}.get(user_id, user_id)


def test_slack_emphasis_code_links_people_and_channels_map_to_wiki() -> None:
    text = (
        "*bold* _it_ ~gone~ `kubectl *x*` <@U0ALICE> <#C1|inc-1> "
        "<https://a.example.com/?q=1&amp;r=2|the &lt;graph&gt;>"
    )
    assert slack_to_jira(text, name_of=names) == (
        "*bold* _it_ -gone- {{kubectl \\*x\\*}} @Alice \\#inc-1 [the <graph>|https://a.example.com/?q=1&r=2]"
    )


def test_slack_code_block_becomes_noformat_and_cannot_close_it_early() -> None:
    text = "```\n{noformat} *raw*\n```"
    assert slack_to_jira(text, name_of=names) == "{noformat}\n{\u200bnoformat} *raw*\n{noformat}"


@pytest.mark.parametrize(
    ("message", "not_in_jira"),
    [
        ("[~accountid:acc-bob] ping", "[~"),
        ("{panel}x{panel}", "{panel}"),
        ("[click|https://evil.example.com]", "[click|"),
    ],
)
def test_jira_markup_typed_in_slack_is_escaped(message: str, not_in_jira: str) -> None:
    assert not_in_jira not in slack_to_jira(message, name_of=names)


def test_an_image_typed_in_slack_stays_text_in_jira() -> None:
    assert slack_to_jira("!https://evil.example.com/x.png!", name_of=names).startswith("\\!https")


def test_broadcasts_in_slack_read_as_words_in_jira() -> None:
    assert slack_to_jira("<!here> look", name_of=names) == "@here look"

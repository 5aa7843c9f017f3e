"""The channel set-up job after a crash: a channel it made but never recorded is taken, not doubled."""

from __future__ import annotations

from slack_sdk import WebClient

from sandbox.rig import BOT_TOKEN
from sync.slack_channel import channel_name


def incident_channels(harness, prefix: str) -> list[str]:
    return sorted(c["name"] for c in harness.slack.channels.values() if c["name"].startswith(prefix))


def test_a_channel_made_by_a_run_that_died_before_recording_it_is_used(harness) -> None:
    incident = harness.declare(1)
    name = channel_name(incident)
    # the earlier run: conversations.create answered, then the process died before its commit
    bot = WebClient(token=BOT_TOKEN, base_url=harness.slack.api_url)
    made = bot.conversations_create(name=name)["channel"]["id"]
    harness.drain()
    now = harness.incident(incident.id)
    assert (now.channel_id, now.channel_name) == (made, name)
    assert incident_channels(harness, f"inc-{incident.declared_at:%Y%m%d}-{incident.id}-") == [name]
    assert harness.slack.pins(made) == [now.announcement_ts]


def test_a_channel_of_that_name_made_by_someone_else_or_earlier_is_left_alone(harness) -> None:
    first = harness.declare(1)
    taken = harness.slack.add_channel(channel_name(first), members=["U0DAVE"])  # made by a person
    harness.drain()
    assert harness.incident(first.id).channel_name == channel_name(first, 2)
    assert taken != harness.incident(first.id).channel_id

    second = harness.declare(1, title="Search returns no results")
    bot = WebClient(token=BOT_TOKEN, base_url=harness.slack.api_url)
    old = bot.conversations_create(name=channel_name(second))["channel"]["id"]
    with harness.slack.state.lock:  # the bot made it, but a day before this incident (say, an old database)
        harness.slack.state.conversations[old].created -= 86400
    harness.drain()
    assert harness.incident(second.id).channel_name == channel_name(second, 2)

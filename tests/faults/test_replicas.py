"""Two bot processes on one PostgreSQL and one Redis: nothing is done twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from sandbox.rig import start_rig
from tests.conftest import REDIS_TEST_URL, throwaway_postgres


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    with throwaway_postgres("bot_replicas") as url:
        yield url


def test_two_replicas_make_one_ticket_one_postmortem_and_one_message_each(tmp_path, fresh_postgres) -> None:
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    rig = start_rig(workdir=tmp_path, database_url=fresh_postgres, redis_url=REDIS_TEST_URL)
    try:
        rig.start_another_bot()
        assert rig.slack.connection_count == 2
        alice = rig.slack_user("alice")
        titles = [f"Replica test incident number {n}" for n in range(3)]
        for title in titles:
            alice.command("/incident", f"open {title}", channel_id=rig.general)
            assert alice.submit(alice.wait_for_view(), {"Priority": "P1"}).errors is None

        def ready_channels() -> list[str] | None:
            ready = [
                c["id"]
                for c in rig.slack.channels.values()
                if c["name"].startswith("inc-") and rig.slack.bookmarks(c["id"])
            ]
            return ready if len(ready) >= 3 else None

        channels = rig.slack.wait_for(ready_channels, timeout=30)
        assert len(channels) == 3
        for channel in channels:
            for status in ("Mitigated", "Post-mortem"):
                alice.click(channel, "Update")
                assert alice.submit(alice.wait_for_view(), {"Status": status}).errors is None
        rig.jira.wait_for(lambda: sum(k.startswith("PM-") for k in rig.jira.issues) >= 3, timeout=30)
        for channel in channels:
            rig.slack.wait_for(
                lambda ch=channel: any(b["title"] == "Post-mortem" for b in rig.slack.bookmarks(ch)),
                timeout=20,
            )
        keys = sorted(rig.jira.issues)
        assert [k for k in keys if k.startswith("INC-")] == ["INC-1", "INC-2", "INC-3"]
        assert [k for k in keys if k.startswith("PM-")] == ["PM-1", "PM-2", "PM-3"]
        for channel in channels:
            texts = Counter(m["text"] for m in rig.slack.messages(channel))
            assert max(texts.values()) == 1, f"a message was posted twice: {texts.most_common(1)}"
            assert sum("post-mortem is ready" in t for t in texts) == 1
            assert [b["title"] for b in rig.slack.bookmarks(channel)] == ["Jira ticket", "Post-mortem"]
        notices = Counter(m["text"] for m in rig.slack.messages(rig.announcements))
        assert max(notices.values()) == 1
        envelopes = {ack.envelope_id for ack in rig.slack.acks}
        assert len(envelopes) == len(rig.slack.acks), "each envelope acked once"
    finally:
        rig.stop()

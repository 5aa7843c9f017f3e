"""Two bot processes checking reminders five times a second on one PostgreSQL: each reminder is sent once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from bot import db
from sandbox.rig import start_rig
from tests.conftest import REDIS_TEST_URL, throwaway_postgres

QUIET = 2


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    with throwaway_postgres("bot_reminders") as url:
        yield url


def test_two_replicas_send_each_reminder_once(tmp_path, fresh_postgres) -> None:
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    env = {"REMINDER_UPDATE_SECONDS": f'{{"1": {QUIET}}}', "REMINDER_CHECK_SECONDS": "0.2"}
    rig = start_rig(workdir=tmp_path, database_url=fresh_postgres, redis_url=REDIS_TEST_URL, env=env)
    try:
        rig.start_another_bot()
        alice = rig.slack_user("alice")
        for title in ("Checkout is down for everyone", "Search is down for everyone"):
            alice.command("/incident", f"open {title}", channel_id=rig.general)
            assert alice.submit(alice.wait_for_view(), {"Priority": "P1"}).errors is None

        def reminded(channel: str) -> list[dict]:
            return [m for m in rig.slack.messages(channel) if "no update on incident" in m["text"]]

        def channels_with_three() -> list[str] | None:
            found = [c for c in rig.slack.channels if rig.slack.channels[c]["name"].startswith("inc-")]
            return found if len(found) == 2 and all(len(reminded(c)) >= 3 for c in found) else None

        channels = rig.slack.wait_for(channels_with_three, timeout=8 * QUIET + 20)
        for channel in channels:
            times = [float(m["ts"]) for m in reminded(channel)]
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert min(gaps) >= QUIET - 0.3, f"a reminder was sent twice (gaps {gaps})"
        engine = db.make_engine(fresh_postgres)
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT count(*), count(message_ts) FROM reminder")).one()
        engine.dispose()
        posted = sum(len(reminded(c)) for c in channels)
        assert rows[1] <= posted <= rows[0], "each message is one decided reminder"
    finally:
        rig.stop()

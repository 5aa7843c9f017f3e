"""A bot killed while a Slack call is in flight: its job is taken over within the lease, by the restarted
process (SQLite) or by another replica (PostgreSQL), and every later message of the incident follows."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from sandbox.rig import Rig, start_rig
from tests.conftest import REDIS_TEST_URL, throwaway_postgres
from tests.e2e.slack_steps import Declared, declare, texts, update

#: the promise: a killed process's jobs run again within 15 s; the margin covers a restart and the poll
TAKEOVER = 15.0
MARGIN = 5.0


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    with throwaway_postgres("bot_takeover") as url:
        yield url


def post_jobs(rig: Rig) -> list[tuple[str, int]]:
    engine = sa.create_engine(rig.env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT state, attempts FROM job WHERE kind = 'slack.post' ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    return [(row.state, row.attempts) for row in rows]


def hold_an_update_message(rig: Rig, incident: Declared, title: str):
    """Retitle the incident in Slack with the channel message's `chat.postMessage` held in flight."""
    rig.slack.wait_for(lambda: rig.slack.bookmarks(incident.channel), timeout=15)  # set-up finished
    rig.jira.wait_for(lambda: "INC-1" in rig.jira.issues, timeout=15)
    hold = rig.slack.hold("chat.postMessage")
    assert update(rig, "alice", incident, {"Title": title}).errors is None
    assert hold.wait_until_held(10), "the update's channel message was never sent"
    return hold


def assert_taken_over(rig: Rig, incident: Declared, title: str, killed_at: float, later: str) -> None:
    """The held message is posted again, and the message of a change made after the kill (`later` is in
    its text) follows it in order, both within the takeover promise."""
    deadline = killed_at + TAKEOVER + MARGIN

    def both_messages() -> list[str] | None:
        found = [t for t in texts(rig, incident.channel) if title in t or later in t]
        return found if len(found) >= 2 else None

    found = rig.slack.wait_for(both_messages, timeout=max(0.1, deadline - time.monotonic()))
    took = time.monotonic() - killed_at
    assert title in found[0] and later in found[1], found
    assert took <= TAKEOVER + MARGIN, f"the incident's messages resumed {took:.1f} s after the kill"


def test_a_job_in_flight_at_a_kill_is_taken_over_by_the_restarted_process(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path)  # the default lease
    hold = None
    try:
        incident = declare(rig, "alice", "Orders are not confirmed", "P2")
        title = "Orders are not confirmed in the EU"
        hold = hold_an_update_message(rig, incident, title)
        killed_at = time.monotonic()
        assert rig.stop_bot(kill=True) == -9
        rig.start_bot()
        rig.jira_user("bob").update("INC-1", summary="Orders fail at confirmation")  # applied at once
        assert_taken_over(rig, incident, title, killed_at, later="Summary changed from")
        rig.slack.wait_for(lambda: all(state == "done" for state, _ in post_jobs(rig)), timeout=10)
        assert max(attempts for _, attempts in post_jobs(rig)) == 2, "only the job held at the kill ran twice"
        assert "bot started" in rig.bot_log()
    finally:
        if hold is not None:
            hold.release()
        rig.stop()


def test_a_job_in_flight_at_a_kill_is_taken_over_by_another_replica(tmp_path, fresh_postgres) -> None:
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    rig = start_rig(workdir=tmp_path, database_url=fresh_postgres, redis_url=REDIS_TEST_URL)
    hold = None
    try:
        incident = declare(rig, "alice", "Orders are not confirmed", "P2")
        title = "Orders are not confirmed in the EU"
        hold = hold_an_update_message(rig, incident, title)  # held by the first process, the only one
        rig.start_another_bot()
        killed_at = time.monotonic()
        assert rig.stop_bot(kill=True) == -9  # not restarted: the other replica must take over
        assert update(rig, "alice", incident, {"Priority": "P1"}).errors is None  # served by the other
        assert_taken_over(rig, incident, title, killed_at, later="Priority P2 → P1")
        rig.slack.wait_for(lambda: all(state == "done" for state, _ in post_jobs(rig)), timeout=10)
        assert max(attempts for _, attempts in post_jobs(rig)) == 2
    finally:
        if hold is not None:
            hold.release()
        rig.stop()


def test_sigterm_still_lets_the_job_in_flight_finish_once(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path)
    hold = None
    try:
        incident = declare(rig, "alice", "Orders are not confirmed", "P2")
        title = "Orders are not confirmed in the EU"
        hold = hold_an_update_message(rig, incident, title)
        assert rig.process is not None
        rig.process.send_signal(signal.SIGTERM)
        rig.slack.wait_for(lambda: "received SIGTERM" in rig.bot_log(), timeout=10)
        hold.release()  # the stopping process gets its answer and records the job done
        assert rig.stop_bot() == 0
        assert sum(title in t for t in texts(rig, incident.channel)) == 1
        assert post_jobs(rig)[-1] == ("done", 1), "finished by the stopping process, not left to lapse"
    finally:
        if hold is not None:
            hold.release()
        rig.stop()

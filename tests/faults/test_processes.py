"""Fault injection on whole processes: a bot killed mid-job, Redis going away and coming back."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa

from sandbox.rig import Rig, free_port, start_rig


def job_states(rig: Rig, kind: str) -> list[tuple[str, int]]:
    engine = sa.create_engine(rig.env["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT state, attempts FROM job WHERE kind = :k ORDER BY id"), {"k": kind}
            ).all()
    finally:
        engine.dispose()
    return [(row.state, row.attempts) for row in rows]


def creations_in_flight(rig: Rig) -> list[dict]:
    """POST /issue requests Jira has received and not yet answered."""
    return [
        r
        for r in rig.jira.requests_to("POST", "/rest/api/2/issue")
        if r["path"].rstrip("/").endswith("/issue") and r["status"] is None
    ]


def declare(rig: Rig, user: str, priority: str, title: str, **extra: object) -> None:
    person = rig.slack_user(user)
    person.command("/incident", f"open {title}", channel_id=rig.general)
    ack = person.submit(person.wait_for_view(), {"Priority": priority, **extra})
    assert ack.errors is None, ack.errors


def test_a_bot_killed_mid_job_finishes_it_once_after_restart(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, env={"JOB_LEASE_SECONDS": "3"})
    try:
        declare(rig, "alice", "P4", "Search results are slow", **{"Suggested team": "Checkout"})
        rig.slack.wait_for(
            lambda: rig.slack.dms("U0ALICE"), timeout=15
        )  # Jira client and alice's account warm
        rig.jira.add_latency(seconds=2.0, duration=None)
        declare(rig, "alice", "P4", "Search results are still slow", **{"Suggested team": "Checkout"})
        # kill the bot while Jira is answering the second creation's POST (logged on arrival, status unset)
        rig.jira.wait_for(lambda: creations_in_flight(rig), timeout=15)
        assert rig.stop_bot(kill=True) == -9
        rig.jira.wait_for(lambda: len(rig.jira.issues) == 2, timeout=10)  # Jira finished the lost request
        rig.jira.clear_faults()
        rig.start_bot()
        rig.slack.wait_for(
            lambda: job_states(rig, "jira.create_ticket") == [("done", 1), ("done", 2)], timeout=20
        )
        rig.slack.wait_for(lambda: len(rig.slack.dms("U0ALICE")) == 2, timeout=10)
        assert len(rig.jira.issues) == 2, "the restarted job found the ticket instead of making a second"
        assert "INC-2" in rig.slack.dms("U0ALICE")[1]["text"]
    finally:
        rig.stop()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[tuple[int, callable]]:
    """A redis-server of our own, so stopping it cannot disturb anything else on the machine."""
    port = free_port()
    processes: list[subprocess.Popen] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmp_path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop() -> None:
        processes[-1].terminate()
        processes[-1].wait(10)

    start()
    yield port, start, stop
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def test_redis_going_away_degrades_and_its_return_resumes_the_guards(tmp_path, private_redis) -> None:
    port, start_redis, stop_redis = private_redis
    rig = start_rig(workdir=tmp_path, redis_url=f"redis://127.0.0.1:{port}/0")
    client = redis.Redis(port=port, decode_responses=True)
    alice = rig.slack_user("alice")
    try:
        declare(rig, "alice", "P2", "Orders are not confirmed")
        channel = rig.slack.wait_for(
            lambda: next(
                (c["id"] for c in rig.slack.channels.values() if c["name"].startswith("inc-")), None
            ),
            timeout=15,
        )
        rig.jira.wait_for(lambda: "INC-1" in rig.jira.issues, timeout=15)

        def update_title(title: str) -> None:
            alice.click(channel, "Update")
            assert alice.submit(alice.wait_for_view(), {"Title": title}).errors is None
            rig.jira.wait_for(lambda: rig.jira.issue("INC-1")["fields"]["summary"] == title, timeout=15)

        def guard_keys_after_update(title: str) -> list[str]:
            """Guard keys once the write is in Jira, its echo held: else the echo may consume the key."""
            rig.jira.pause_webhooks()
            update_title(title)
            keys = client.keys("sync:impact_to_jira:1:summary:*")
            rig.jira.resume_webhooks()
            return keys

        assert guard_keys_after_update("Orders are not confirmed (EU)")
        stop_redis()
        update_title("Orders are not confirmed (EU, mobile)")
        assert alice.command("/incident", "help", channel_id=channel).latency < 3
        assert "redis unavailable" in rig.bot_log()
        start_redis()
        client = redis.Redis(port=port, decode_responses=True)
        assert guard_keys_after_update("Orders are not confirmed anywhere"), "the bounce guard writes again"
        rig.jira_user("bob").update("INC-1", summary="Orders fail at confirmation")
        rig.slack.wait_for(
            lambda: any(
                "Summary changed from Orders are not confirmed anywhere to Orders fail" in m["text"]
                for m in rig.slack.messages(channel)
            ),
            timeout=15,
        )
        echoes = [
            m
            for m in rig.slack.messages(channel)
            if m["text"].startswith("Jira INC-1:") and "Incident Bot" in m["text"]
        ]
        assert echoes == [], "the bot's own writes never come back as changes"
    finally:
        rig.stop()

"""SQLite writers in one process take turns in arrival order (bot.db.WriterTurns)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from bot import db

HOLD = 0.03  # how long each of the busy writer's transactions keeps the write lock


@pytest.fixture
def engine(tmp_path) -> sa.Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER)"))
        connection.execute(sa.text("INSERT INTO counter VALUES ('busy', 0), ('late', 0)"))
    yield engine
    engine.dispose()


def bump(connection: sa.Connection, name: str) -> None:
    connection.execute(sa.text("UPDATE counter SET value = value + 1 WHERE name = :n"), {"n": name})


def test_a_writer_that_arrives_waits_for_one_transaction_not_for_a_busy_writer_to_stop(engine) -> None:
    """Without turns, a worker writing back to back keeps SQLite's lock while the latecomer sleeps in the
    busy handler: it would wait for all twenty transactions (~0.6 s), not for the one under way."""
    second_began = threading.Event()

    def busy_writer() -> None:
        for n in range(20):
            with engine.begin() as connection:
                bump(connection, "busy")
                if n == 1:
                    second_began.set()
                time.sleep(HOLD)

    worker = threading.Thread(target=busy_writer)
    worker.start()
    assert second_began.wait(5)
    asked = time.monotonic()
    with engine.begin() as connection:
        bump(connection, "late")
        waited = time.monotonic() - asked
        with engine.connect() as reader:
            busy_done = reader.execute(sa.text("SELECT value FROM counter WHERE name = 'busy'")).scalar_one()
    worker.join()
    assert busy_done <= 4, f"the latecomer wrote after {busy_done} of the busy writer's transactions"
    assert waited < 10 * HOLD


def test_a_rolled_back_or_abandoned_write_gives_its_turn_back(engine) -> None:
    with engine.connect() as connection:
        bump(connection, "busy")
        connection.rollback()
    connection = engine.connect()
    bump(connection, "busy")
    connection.close()  # never committed: closing rolls back
    started = time.monotonic()
    with engine.begin() as connection:
        bump(connection, "late")
    assert time.monotonic() - started < 1


def test_the_turn_is_given_back_at_commit_not_when_the_connection_is_closed(engine) -> None:
    with engine.connect() as connection:
        bump(connection, "busy")
        connection.commit()
        writer_done = threading.Event()

        def write() -> None:
            with engine.begin() as second:
                bump(second, "late")
            writer_done.set()

        other = threading.Thread(target=write)
        other.start()
        assert writer_done.wait(5), "the other writer waited for this connection to close"
        other.join()
        bump(connection, "busy")  # and this connection can take a turn again
        connection.commit()


def test_a_thread_waiting_for_itself_goes_on_after_the_timeout(caplog) -> None:
    turns = db.WriterTurns(timeout=0.1)
    assert turns.take()
    assert not turns.take(), "the turn is still taken"
    assert "writer's turn" in caplog.text
    turns.give_back()
    assert turns.take(), "free again"

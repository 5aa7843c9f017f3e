"""Database engine, sessions and the schema version check.

SQLite (the default) gets WAL and a busy timeout so worker threads and the listener threads can
share it, and its writers in this process take turns (`WriterTurns`); PostgreSQL is used as is.
Migrations are Alembic's, shipped inside the package so that `pip install .` then
`python -m bot db upgrade` works anywhere.
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutOfDate(Exception):
    """The database is behind the code's migrations."""


def make_engine(url: str) -> Engine:
    """An engine tuned for the bot's many short transactions from several threads."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_connect)
        WriterTurns().attach(engine)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class _Median:
    """SQLite's `median(x)` aggregate (PostgreSQL has `percentile_cont`): NULLs are left out."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Each new connection: the `median` aggregate, WAL, a busy timeout and foreign keys."""
    dbapi_connection.create_aggregate("median", 1, _Median)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class WriterTurns:
    """One SQLite writer at a time in this process, in the order they asked, instead of SQLite's busy handler.

    SQLite has one write lock. A writer that finds it taken sleeps in the busy handler, in steps growing
    to 100 ms, and whoever asks while it sleeps gets the lock first: under load a Declare submission's
    transaction lost the lock to worker after worker and waited 100-250 ms before it was acked. Here a
    transaction takes a turn at its first write, in first-come order, and hands it straight to the next
    writer once its COMMIT or ROLLBACK has returned (the dialect's own calls are wrapped: SQLAlchemy's
    commit event comes before the COMMIT) or its connection goes back to the pool. Other processes (the
    CLI, a second bot) still meet the busy handler.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self, timeout: float = 30.0) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._taken = False
        self._timeout = timeout
        self._holder: Any = None  # the DBAPI connection whose transaction has the turn
        self._went_on: set[int] = set()  # DBAPI connections that waited out the timeout in this transaction

    def attach(self, engine: Engine) -> None:
        sa.event.listen(engine, "before_cursor_execute", self._before_execute)
        sa.event.listen(engine, "checkin", lambda dbapi_connection, _record: self._ended(dbapi_connection))
        dialect = engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._ending(getattr(dialect, name)))

    def take(self) -> bool:
        """Wait for this thread's turn; False after the timeout (a thread writing on two connections at
        once would wait for itself: it goes on, and SQLite's busy handler decides)."""
        with self._mutex:
            if not self._taken:
                self._taken = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self._timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over as the wait timed out
                return True
            self._waiting.remove(turn)
        logger.warning("waited %.0f s for the SQLite writer's turn; going on without it", self._timeout)
        return False

    def give_back(self) -> None:
        """Hand the turn to the longest-waiting writer, or free it."""
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._taken = False

    def _before_execute(self, _conn: sa.Connection, cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_connection = cursor.connection
        if dbapi_connection is self._holder or id(dbapi_connection) in self._went_on:
            return
        if statement.lstrip()[:7].upper().startswith(self.WRITES):
            if self.take():
                self._holder = dbapi_connection
            else:
                self._went_on.add(id(dbapi_connection))

    def _ending(self, call: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapped(dbapi_connection: Any) -> None:
            try:
                call(dbapi_connection)
            finally:
                self._ended(dbapi_connection)

        return wrapped

    def _ended(self, connection: Any) -> None:
        dbapi_connection = getattr(connection, "dbapi_connection", connection)  # the pool's proxy, or itself
        self._went_on.discard(id(dbapi_connection))
        if dbapi_connection is self._holder:
            self._holder = None
            self.give_back()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `python -m bot db upgrade`"
        )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"

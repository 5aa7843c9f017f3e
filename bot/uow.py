"""The unit of work: the one way to open a session that changes the incident.

A use case changes rows and records domain events on the session; its caller (a listener, a job
handler, the changelog processor) commits once. At that commit the events go to the bus before the
COMMIT (their subscribers enqueue jobs in the same transaction), and once the COMMIT has returned an
idle worker is woken if jobs were added. Built by the composition root, so a process (or a test) may
hold several, each with its own bus and wake-up.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from bot import events
from bot.events import EventBus
from bot.jobs import Wakeup, enqueued_jobs


class UnitOfWork:
    def __init__(self, engine: Engine, *, bus: EventBus, wakeup: Wakeup) -> None:
        self.engine = engine
        self.bus = bus
        self.wakeup = wakeup
        self._maker = sessionmaker(engine, class_=Session, expire_on_commit=False)
        sa.event.listen(self._maker, "before_commit", self._publish)
        sa.event.listen(self._maker, "after_commit", self._wake)
        sa.event.listen(self._maker, "after_soft_rollback", self._forget)

    def session(self) -> Session:
        """A new session whose commit publishes its events and wakes a worker; use it in `with`."""
        session = self._maker()
        self.bus.attach(session)
        return session

    def _publish(self, session: Session) -> None:
        while pending := events.take_pending(session):
            for event in pending:
                self.bus.publish(session, event)

    def _wake(self, session: Session) -> None:
        if enqueued_jobs(session, clear=True):
            self.wakeup.notify()

    def _forget(self, session: Session, _previous: Any) -> None:
        events.take_pending(session)
        enqueued_jobs(session, clear=True)

"""The webhook route's cache of which Jira issues are incident tickets."""

from __future__ import annotations

import time

from sqlmodel import Session

from bot.models import Incident, JiraTicket, utcnow
from sync.webhook import LinkCache


def link(engine, key: str, jira_id: str) -> None:
    with Session(engine) as session:
        incident = Incident(
            title="Cache test incident",
            priority=3,
            reporter_id="U1",
            commander_id="U1",
            declared_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(incident)
        session.flush()
        session.add(
            JiraTicket(incident_id=incident.id, key=key, jira_id=jira_id, url=f"http://j/browse/{key}")
        )
        session.commit()


def test_found_links_are_kept_and_absent_ones_expire(engine) -> None:
    cache = LinkCache(engine, negative_ttl=0.2)
    assert cache.lookup("10001", "INC-1") is None
    link(engine, "INC-1", "10001")
    started = time.monotonic()
    assert cache.lookup("10001", "INC-1") is None, "'not linked' is remembered for a moment"
    found = None
    while found is None and time.monotonic() - started < 5:
        found = cache.lookup("10001", "INC-1")
    assert found is not None and found.key == "INC-1"
    assert time.monotonic() - started >= 0.15, "it was not looked up again before the TTL ran out"
    with engine.begin() as connection:  # a found link is kept: the database is not asked again
        connection.exec_driver_sql("DELETE FROM jira_ticket")
    assert cache.lookup("10001", "INC-1") == found


def test_a_moved_issue_is_found_by_its_id(engine) -> None:
    link(engine, "INC-7", "10007")
    found = LinkCache(engine).lookup("10007", "OPS-3")
    assert found is not None and found.key == "INC-7"

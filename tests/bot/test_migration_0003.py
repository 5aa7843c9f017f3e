"""Migration 0003 on a database already in use: each incident's mitigation time is read from its history."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from bot import db
from tests.conftest import throwaway_postgres

#: incident id → (current status, the status changes of its history in order)
HISTORIES = {
    1: ("MITIGATED", [[None, "OPEN"], ["OPEN", "INVESTIGATING"], ["INVESTIGATING", "MITIGATED"]]),
    2: (
        "CLOSED",
        [[None, "OPEN"], ["OPEN", "MITIGATED"], ["MITIGATED", "POST_MORTEM"], ["POST_MORTEM", "CLOSED"]],
    ),
    3: ("INVESTIGATING", [[None, "OPEN"], ["OPEN", "MITIGATED"], ["MITIGATED", "INVESTIGATING"]]),
    4: ("MITIGATED", [[None, "OPEN"], ["OPEN", "MITIGATED"], ["MITIGATED", "OPEN"], ["OPEN", "MITIGATED"]]),
    5: ("OPEN", [[None, "OPEN"]]),
}
#: incident id → the index in its history of the change whose time is its mitigation time
EXPECTED = {1: 2, 2: 1, 3: None, 4: 3, 5: None}


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0002(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.sqlite"
        return
    with throwaway_postgres("bot_migration", migrate=False) as url:
        yield url


def test_upgrade_fills_mitigated_at_from_the_status_history(url_at_0002: str) -> None:
    engine = db.make_engine(url_at_0002)
    command.upgrade(db.alembic_config(engine), "0002")
    with engine.begin() as connection:
        for incident_id, (status, changes) in HISTORIES.items():
            connection.execute(
                sa.text(
                    "INSERT INTO incident (id, title, description, status, priority, environments, platform,"
                    " impacts, is_key_account, is_seller_in_golden_list, reporter_id, commander_id,"
                    " jira_lagging, declared_at, updated_at) VALUES (:id, 'An incident title', '', :status,"
                    " 1, '[]', 'platform-All', '{}', false, false, 'U1', 'U1', false,"
                    " '2026-01-01 08:00:00', '2026-01-01 08:00:00')"
                ),
                {"id": incident_id, "status": status},
            )
            for n, change in enumerate(changes):
                connection.execute(
                    sa.text(
                        "INSERT INTO incident_update (incident_id, created_at, source, event_type, changes)"
                        " VALUES (:id, :at, 'slack', 'updated', :changes)"
                    ),
                    {
                        "id": incident_id,
                        "at": f"2026-01-01 {9 + n:02d}:00:00",
                        "changes": json.dumps({"status": change}),
                    },
                )
    db.upgrade(engine)
    with engine.connect() as connection:
        found = dict(connection.execute(sa.text("SELECT id, mitigated_at FROM incident")).all())
    engine.dispose()
    for incident_id, index in EXPECTED.items():
        value = found[incident_id]
        hour = None if value is None else str(value)[11:13]
        assert hour == (None if index is None else f"{9 + index:02d}"), f"incident {incident_id}: {value}"

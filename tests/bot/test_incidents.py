"""The incident service on SQLite and PostgreSQL: declare, update, key events, close rules, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import events, incidents
from bot.enums import Status
from bot.errors import CloseRefused, IncidentNotFound, InvalidInput, NotAllowed
from bot.events import EventBus
from bot.forms import CloseForm, DeclareForm, KeyEventInput, UpdateForm
from bot.jobs import Wakeup
from bot.models import IncidentUpdate, JiraPostMortem, JiraTicket
from bot.rules import JIRA, Actor, Policy, check_can_close, check_can_update
from bot.uow import UnitOfWork

POLICY = Policy(
    postmortem_required_for=frozenset({1, 2}),
    responders=frozenset({"UOPS"}),
    teams=("Payments", "Checkout"),
    categories=("Availability", "Data"),
)


@pytest.fixture
def uow(engine) -> UnitOfWork:
    return UnitOfWork(engine, bus=EventBus(), wakeup=Wakeup())


@pytest.fixture
def session(uow):
    with uow.session() as session:
        yield session


@pytest.fixture
def received(uow):
    """Every domain event published (at a commit) during the test, as (name, event)."""
    seen: list[tuple[str, object]] = []
    for event_type, name in (
        (events.IncidentDeclared, "incident-declared"),
        (events.IncidentUpdated, "incident-updated"),
        (events.KeyEventsUpdated, "key-events-updated"),
        (events.PostmortemRequested, "postmortem-requested"),
    ):
        uow.bus.subscribe(event_type, lambda _session, event, _name=name: seen.append((_name, event)))
    return seen


def declare(session, priority=1, **overrides):
    form = DeclareForm(title=overrides.pop("title", "Checkout returns 500s"), priority=priority, **overrides)
    if priority >= 4 and "suggested_team_routing" not in overrides:
        form.suggested_team_routing = "Payments"
    return incidents.declare(session=session, reporter_id="UREP", form=form, policy=POLICY)


def test_declare_records_incident_history_and_event(session, received) -> None:
    incident = declare(
        session, environments=["PRD", "STG"], impacts={"Customers": "High"}, zendesk_ticket_id="ZD-1"
    )
    assert incident.id is not None
    assert incident.status == Status.OPEN
    assert incident.commander_id == "UREP"
    assert incident.environments == ["PRD", "STG"]
    [update] = session.exec(select(IncidentUpdate)).all()
    assert update.event_type == "declared" and update.source == "slack" and update.author_id == "UREP"
    session.commit()
    assert [name for name, _ in received] == ["incident-declared"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "too short"}, "title"),
        ({"title": "x" * 129}, "title"),
        ({"priority": 7}, "priority"),
        ({"environments": []}, "environments"),
        ({"environments": ["PROD"]}, "environments"),
        ({"platform": "platform-US"}, "platform"),
        ({"seller_contract_id": "SC-1"}, "seller_contract_id"),
        ({"zendesk_ticket_id": "ZD-1"}, "zendesk_ticket_id"),
        ({"is_key_account": True}, "seller_flags"),
        ({"priority": 4, "suggested_team_routing": None}, "suggested_team_routing"),
        ({"priority": 5, "suggested_team_routing": "Nobody"}, "suggested_team_routing"),
        ({"category": "Astrology"}, "category"),
    ],
)
def test_declare_rejects_bad_input_by_field(session, overrides, field) -> None:
    overrides = dict(overrides)
    priority = overrides.pop("priority", 1)
    form = DeclareForm(title=overrides.pop("title", "Checkout returns 500s"), priority=priority, **overrides)
    with pytest.raises(InvalidInput) as excinfo:
        incidents.declare(session=session, reporter_id="U1", form=form, policy=POLICY)
    assert field in excinfo.value.errors
    assert session.exec(select(IncidentUpdate)).all() == []


def test_update_records_only_changed_fields(session, received) -> None:
    incident = declare(session, priority=2)
    update = incidents.update(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=UpdateForm(
            status="INVESTIGATING", priority=2, title=incident.title, commander_id="UCMD", message="looking"
        ),
    )
    assert update.changes == {"status": ["OPEN", "INVESTIGATING"], "commander_id": ["UREP", "UCMD"]}
    assert update.message == "looking"
    assert incidents.get(session, incident.id).commander_id == "UCMD"
    session.commit()
    assert received[-1][0] == "incident-updated"
    nothing = incidents.update(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=UpdateForm(status="INVESTIGATING", priority=2),
    )
    assert nothing is None
    assert len(incidents.history(session, incident.id)) == 2


def test_jira_sourced_update_has_no_author(session) -> None:
    incident = declare(session, priority=3)
    update = incidents.update(
        session=session,
        incident_id=incident.id,
        actor=JIRA,
        policy=POLICY,
        form=UpdateForm(title="Renamed from Jira side", message="from Jira"),
    )
    assert update.source == "jira" and update.author_id is None and "from Jira" in update.message


def test_close_rules(session) -> None:
    p1 = declare(session, priority=1)
    with pytest.raises(CloseRefused) as excinfo:
        incidents.close(
            session=session,
            incident_id=p1.id,
            actor=Actor("UREP"),
            form=CloseForm(reason="resolved"),
            policy=POLICY,
        )
    assert len(excinfo.value.reasons) == 2
    assert "Mitigated" in excinfo.value.reasons[0] and "post-mortem" in excinfo.value.reasons[1]
    incidents.update(
        session=session,
        incident_id=p1.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=UpdateForm(status="MITIGATED"),
    )
    with pytest.raises(CloseRefused) as excinfo:
        incidents.update(
            session=session,
            incident_id=p1.id,
            actor=Actor("UREP"),
            policy=POLICY,
            form=UpdateForm(status="CLOSED"),
        )
    assert excinfo.value.reasons == ["a P1 incident needs its post-mortem created first"]
    session.add(JiraPostMortem(incident_id=p1.id, key="PM-1", jira_id="1", url="http://j/browse/PM-1"))
    session.commit()
    update = incidents.close(
        session=session,
        incident_id=p1.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=CloseForm(reason="resolved", message="all good"),
    )
    closed = incidents.get(session, p1.id)
    assert closed.status == "CLOSED" and closed.closure_reason == "resolved" and closed.closed_at is not None
    assert update.changes["status"] == ["MITIGATED", "CLOSED"]


def test_p3_closes_once_mitigated_without_postmortem(session) -> None:
    p3 = declare(session, priority=3)
    incidents.update(
        session=session,
        incident_id=p3.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=UpdateForm(status="POST_MORTEM"),
    )
    incidents.update(
        session=session,
        incident_id=p3.id,
        actor=Actor("UREP"),
        policy=POLICY,
        form=UpdateForm(status="CLOSED"),
    )
    assert incidents.get(session, p3.id).status == "CLOSED"


def test_key_events_record_changes_only(session, received) -> None:
    incident = declare(session)
    at = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    first = incidents.set_key_events(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        events_in={
            "detected": KeyEventInput(at=at, message="alert fired"),
            "started": KeyEventInput(at=None),
        },
    )
    assert set(first.changes) == {"detected"}
    same = incidents.set_key_events(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        events_in={"detected": KeyEventInput(at=at, message="alert fired")},
    )
    assert same is None
    moved = incidents.set_key_events(
        session=session,
        incident_id=incident.id,
        actor=Actor("UREP"),
        events_in={
            "detected": KeyEventInput(at=at + timedelta(minutes=5), message=None),
            "recovered": KeyEventInput(at=at + timedelta(hours=1)),
        },
    )
    assert set(moved.changes) == {"detected", "recovered"}
    stored = incidents.key_events(session, incident.id)
    assert [(e.kind, e.at, e.message) for e in stored] == [
        ("detected", at + timedelta(minutes=5), None),
        ("recovered", at + timedelta(hours=1), None),
    ]
    session.commit()
    assert received[-1][0] == "key-events-updated"
    with pytest.raises(InvalidInput):
        incidents.set_key_events(
            session=session,
            incident_id=incident.id,
            actor=Actor("UREP"),
            events_in={"started": KeyEventInput(at=None, message="note without a time")},
        )


def test_find_by_number_and_jira_key(session) -> None:
    incident = declare(session)
    session.add(
        JiraTicket(incident_id=incident.id, key="INC-7", jira_id="10007", url="http://j/browse/INC-7")
    )
    session.commit()
    assert incidents.find(session, f"#{incident.id}").id == incident.id
    assert incidents.find(session, "inc-7").id == incident.id
    with pytest.raises(IncidentNotFound):
        incidents.find(session, "#999")
    with pytest.raises(IncidentNotFound):
        incidents.find(session, "OPS-1")


def test_open_incidents_newest_first(session) -> None:
    first, second = declare(session), declare(session, priority=4)
    assert [i.id for i in incidents.open_incidents(session)] == [second.id, first.id]


def test_permissions_say_who_may(session) -> None:
    incident = declare(session)
    incident.channel_id = "C1"
    check_can_update(incident, Actor("UREP"))
    check_can_update(incident, Actor("USOMEONE", in_channel=lambda _incident: True))
    with pytest.raises(NotAllowed, match="members of <#C1>, the commander and reporter <@UREP>"):
        check_can_update(incident, Actor("USTRANGER"))
    check_can_close(incident, Actor("UOPS"), policy=POLICY)
    incident.commander_id = "UCMD"
    with pytest.raises(
        NotAllowed, match="the commander <@UCMD> or the reporter <@UREP> or a member of the resp"
    ):
        check_can_close(incident, Actor("USTRANGER"), policy=POLICY)

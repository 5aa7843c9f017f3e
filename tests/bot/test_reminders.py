"""The reminder rule (`bot.reminders.due`) walked through time with an injected clock: no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.enums import ReminderKind, Source, Status, UpdateKind
from bot.models import Incident, IncidentUpdate, Reminder
from bot.reminders import Due, ReminderPolicy, Story, due

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = ReminderPolicy(
    update_seconds={1: 1800, 2: 3600, 3: 7200},
    postmortem_seconds=172800,
    postmortem_priorities=frozenset({1, 2}),
)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def incident(
    priority: int = 1, status: Status = Status.INVESTIGATING, channel: str | None = "C1"
) -> Incident:
    return Incident(
        id=7,
        title="Checkout returns 500s",
        priority=priority,
        status=status,
        reporter_id="UREP",
        commander_id="UCOM",
        channel_id=channel,
        declared_at=T0,
        updated_at=T0,
    )


def news(at: datetime, source: Source = Source.SLACK, **changes: list) -> IncidentUpdate:
    return IncidentUpdate(
        incident_id=7, created_at=at, source=source, event_type=UpdateKind.UPDATED, changes=changes
    )


DECLARED = IncidentUpdate(
    incident_id=7,
    created_at=T0,
    source=Source.SLACK,
    event_type=UpdateKind.DECLARED,
    changes={"status": [None, "OPEN"], "priority": [None, 1]},
)


def sent(
    kind: ReminderKind, start: datetime, at: datetime, snoozed_until: datetime | None = None
) -> Reminder:
    return Reminder(incident_id=7, kind=kind, period_start=start, decided_at=at, snoozed_until=snoozed_until)


def decide(
    inc: Incident,
    history: list,
    reminders: list,
    now: datetime,
    *,
    has_postmortem: bool = False,
    policy: ReminderPolicy = POLICY,
) -> list[Due]:
    return due(Story(inc, history, reminders, has_postmortem), now=now, policy=policy)


def walk(inc: Incident, history: list, start: datetime, end: datetime, step: timedelta) -> list[Reminder]:
    """The periodic check, run every `step` from `start` to `end`: each reminder it decides is recorded
    as the check records it, so the next steps see it."""
    reminders: list[Reminder] = []
    now = start
    while now <= end:
        for found in decide(inc, history, reminders, now):
            reminders.append(sent(found.kind, found.period_start, now))
        now += step
    return reminders


# ---- update reminders ---------------------------------------------------------------------------------


def test_a_quiet_incident_is_reminded_once_its_prioritys_interval_has_passed() -> None:
    inc = incident(priority=1)
    assert decide(inc, [DECLARED], [], T0 + minutes(29.99)) == []
    assert decide(inc, [DECLARED], [], T0 + minutes(30)) == [Due(ReminderKind.UPDATE, T0, minutes(30))]


@pytest.mark.parametrize(("priority", "quiet"), [(1, 30), (2, 60), (3, 120)])
def test_each_critical_priority_has_its_own_interval(priority: int, quiet: int) -> None:
    inc = incident(priority=priority)
    assert decide(inc, [DECLARED], [], T0 + minutes(quiet - 1)) == []
    assert [d.kind for d in decide(inc, [DECLARED], [], T0 + minutes(quiet))] == [ReminderKind.UPDATE]


@pytest.mark.parametrize("priority", [4, 5])
def test_normal_priorities_get_no_update_reminders_by_default(priority: int) -> None:
    assert decide(incident(priority=priority), [DECLARED], [], T0 + timedelta(days=30)) == []


def test_an_update_from_slack_or_from_jira_starts_the_quiet_period_again() -> None:
    inc = incident(priority=1)
    for source in (Source.SLACK, Source.JIRA):
        history = [DECLARED, news(T0 + minutes(20), source, title=["a", "b"])]
        assert decide(inc, history, [], T0 + minutes(49)) == []
        assert decide(inc, history, [], T0 + minutes(50)) == [
            Due(ReminderKind.UPDATE, T0 + minutes(20), minutes(30))
        ]


def test_a_change_the_system_made_is_no_news() -> None:
    history = [DECLARED, news(T0 + minutes(20), Source.SYSTEM, title=["a", "b"])]
    assert decide(incident(), history, [], T0 + minutes(30)) == [Due(ReminderKind.UPDATE, T0, minutes(30))]


def test_after_a_reminder_the_next_comes_after_another_full_quiet_interval() -> None:
    inc = incident(priority=1)
    first = sent(ReminderKind.UPDATE, T0, T0 + minutes(30))
    assert decide(inc, [DECLARED], [first], T0 + minutes(59)) == []
    assert decide(inc, [DECLARED], [first], T0 + minutes(60)) == [
        Due(ReminderKind.UPDATE, T0 + minutes(30), minutes(60))
    ], "the reminder does not count as news: the incident has been quiet for an hour"


def test_over_three_quiet_hours_a_p1_gets_one_reminder_per_half_hour_and_no_more() -> None:
    reminders = walk(incident(priority=1), [DECLARED], T0, T0 + minutes(180), step=timedelta(minutes=1))
    assert [r.decided_at for r in reminders] == [T0 + minutes(30 * n) for n in range(1, 7)]
    assert len({(r.kind, r.period_start) for r in reminders}) == 6, "each has its own key"


def test_a_check_that_runs_late_sends_one_reminder_not_the_ones_it_missed() -> None:
    """The bot was down for two hours: one reminder when it is back, then one per interval again."""
    back = T0 + minutes(150)
    reminders = walk(incident(priority=1), [DECLARED], back, back + minutes(45), step=timedelta(minutes=1))
    assert [r.decided_at for r in reminders] == [back, back + minutes(30)]


def test_news_in_between_moves_the_next_reminder() -> None:
    first = sent(ReminderKind.UPDATE, T0, T0 + minutes(30))
    history = [DECLARED, news(T0 + minutes(45), status=["INVESTIGATING", "MITIGATING"])]
    inc = incident(priority=1, status=Status.MITIGATING)
    assert decide(inc, history, [first], T0 + minutes(74)) == []
    assert decide(inc, history, [first], T0 + minutes(75)) == [
        Due(ReminderKind.UPDATE, T0 + minutes(45), minutes(30))
    ]


def test_a_snooze_silences_update_reminders_until_it_ends() -> None:
    inc = incident(priority=1)
    snoozed = sent(ReminderKind.UPDATE, T0, T0 + minutes(30), snoozed_until=T0 + minutes(32 + 120))
    assert decide(inc, [DECLARED], [snoozed], T0 + minutes(60)) == []
    assert decide(inc, [DECLARED], [snoozed], T0 + minutes(151)) == []
    assert decide(inc, [DECLARED], [snoozed], T0 + minutes(152)) == [
        Due(ReminderKind.UPDATE, T0 + minutes(30), minutes(152))
    ]


def test_a_snooze_holds_even_when_news_came_meanwhile() -> None:
    inc = incident(priority=1)
    snoozed = sent(ReminderKind.UPDATE, T0, T0 + minutes(30), snoozed_until=T0 + minutes(150))
    history = [DECLARED, news(T0 + minutes(40), title=["a", "b"])]
    assert decide(inc, history, [snoozed], T0 + minutes(149)) == []
    assert [d.period_start for d in decide(inc, history, [snoozed], T0 + minutes(150))] == [T0 + minutes(40)]


@pytest.mark.parametrize("status", [Status.MITIGATED, Status.POST_MORTEM, Status.CLOSED])
def test_incidents_past_mitigating_get_no_update_reminders(status: Status) -> None:
    reminders = decide(incident(priority=3, status=status), [DECLARED], [], T0 + timedelta(days=1))
    assert [d for d in reminders if d.kind == ReminderKind.UPDATE] == []


@pytest.mark.parametrize("status", [Status.OPEN, Status.INVESTIGATING, Status.MITIGATING])
def test_open_investigating_and_mitigating_incidents_are_reminded(status: Status) -> None:
    assert decide(incident(status=status), [DECLARED], [], T0 + minutes(30)) != []


def test_no_channel_yet_no_reminder() -> None:
    assert decide(incident(channel=None), [DECLARED], [], T0 + minutes(60)) == []


def test_intervals_are_configurable_per_priority() -> None:
    policy = ReminderPolicy(
        update_seconds={4: 600}, postmortem_seconds=60, postmortem_priorities=frozenset({1, 2})
    )
    assert decide(incident(priority=4), [DECLARED], [], T0 + minutes(10), policy=policy) != []
    assert decide(incident(priority=1), [DECLARED], [], T0 + minutes(600), policy=policy) == []


# ---- post-mortem reminders ----------------------------------------------------------------------------

MITIGATED_AT = T0 + minutes(90)
MITIGATION = news(MITIGATED_AT, status=["MITIGATING", "MITIGATED"])


def test_a_p1_or_p2_mitigated_for_two_days_without_a_postmortem_gets_one_reminder() -> None:
    for priority in (1, 2):
        inc = incident(priority=priority, status=Status.MITIGATED)
        history = [DECLARED, MITIGATION]
        assert decide(inc, history, [], MITIGATED_AT + timedelta(days=2) - minutes(1)) == []
        found = decide(inc, history, [], MITIGATED_AT + timedelta(days=2))
        assert found == [Due(ReminderKind.POSTMORTEM, MITIGATED_AT, timedelta(days=2))]
        reminded = sent(ReminderKind.POSTMORTEM, MITIGATED_AT, MITIGATED_AT + timedelta(days=2))
        assert decide(inc, history, [reminded], MITIGATED_AT + timedelta(days=9)) == [], "only one"


def test_no_postmortem_reminder_once_it_exists_or_for_p3_or_past_mitigated() -> None:
    later = MITIGATED_AT + timedelta(days=3)
    history = [DECLARED, MITIGATION]
    assert decide(incident(status=Status.MITIGATED), history, [], later, has_postmortem=True) == []
    assert decide(incident(priority=3, status=Status.MITIGATED), history, [], later) == []
    assert decide(incident(status=Status.POST_MORTEM), history, [], later) == []
    assert decide(incident(status=Status.CLOSED), history, [], later) == []


def test_no_postmortem_reminder_without_jira() -> None:
    policy = ReminderPolicy(
        update_seconds={},
        postmortem_seconds=60,
        postmortem_priorities=frozenset({1}),
        postmortems_enabled=False,
    )
    later = MITIGATED_AT + timedelta(days=3)
    assert decide(incident(status=Status.MITIGATED), [DECLARED, MITIGATION], [], later, policy=policy) == []


def test_mitigated_again_after_falling_back_is_a_new_period() -> None:
    again = MITIGATED_AT + timedelta(days=1)
    history = [
        DECLARED,
        MITIGATION,
        news(MITIGATED_AT + minutes(10), status=["MITIGATED", "INVESTIGATING"]),
        news(again, status=["INVESTIGATING", "MITIGATED"]),
    ]
    inc = incident(status=Status.MITIGATED)
    assert decide(inc, history, [], MITIGATED_AT + timedelta(days=2, minutes=30)) == []
    assert decide(inc, history, [], again + timedelta(days=2)) == [
        Due(ReminderKind.POSTMORTEM, again, timedelta(days=2))
    ]

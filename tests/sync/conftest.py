"""In-process sync harness: the real runtime (queue, handlers, webhook route) against both emulators.

Jobs run on the test's thread via `harness.drain()`, so a test controls exactly when Slack and Jira
are called, and asserts on what the emulators received.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import incidents
from bot.app import Runtime, build_runtime
from bot.forms import DeclareForm, UpdateForm
from bot.http_server import HttpServer, build_app
from bot.models import Incident, JiraTicket, Job
from bot.rules import Actor
from bot.settings import load_settings
from bot.workers import run_one
from sandbox.jira import JiraEmulator, JiraUser
from sandbox.rig import APP_TOKEN, BOT_TOKEN, JIRA_BOT, JIRA_EMAIL, JIRA_TOKEN, PEOPLE, WEBHOOK_SECRET, person
from sandbox.slack import SlackEmulator


@dataclass
class Harness:
    runtime: Runtime
    slack: SlackEmulator
    jira: JiraEmulator
    announcements: str

    def session(self) -> Session:
        return self.runtime.uow.session()

    def drain(self, *, timeout: float = 15.0, until_idle: bool = True) -> None:
        """Run jobs until none is runnable now; jobs waiting for a later attempt are left alone."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not run_one(self.runtime.queue, self.runtime.registry, "test-worker"):
                return
        raise AssertionError("jobs kept coming until the timeout")

    def drain_all(self, *, timeout: float = 20.0) -> None:
        """Run jobs until none is left at all, waiting out backoffs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(timeout=timeout)
            if not self.jobs(state="pending") and not self.jobs(state="running"):
                return
            time.sleep(0.05)
        raise AssertionError(f"jobs left: {[(j.kind, j.state, j.last_error) for j in self.jobs()]}")

    def jobs(self, *, state: str | None = None) -> list[Job]:
        with self.session() as session:
            query = select(Job).order_by(Job.id)
            if state:
                query = query.where(Job.state == state)
            return list(session.exec(query))

    def declare(self, priority: int = 1, reporter: str = "alice", **fields: Any) -> Incident:
        fields.setdefault("title", "Checkout returns 500 errors")
        if priority >= 4:
            fields.setdefault("suggested_team_routing", "Checkout")
        with self.session() as session:
            incident = incidents.declare(
                session=session,
                reporter_id=person(reporter).slack_id,
                form=DeclareForm(priority=priority, **fields),
                policy=self.runtime.policy,
            )
            session.commit()
            return incident

    def update(self, incident: Incident, actor: str = "alice", **fields: Any) -> None:
        with self.session() as session:
            incidents.update(
                session=session,
                incident_id=incident.id,
                actor=Actor(person(actor).slack_id),
                form=UpdateForm(**fields),
                policy=self.runtime.policy,
            )
            session.commit()

    def incident(self, incident_id: int) -> Incident:
        with self.session() as session:
            return incidents.get(session, incident_id)

    def ticket(self, incident: Incident) -> JiraTicket:
        with self.session() as session:
            return session.exec(select(JiraTicket).where(JiraTicket.incident_id == incident.id)).one()

    def jira_user(self, name: str) -> JiraUser:
        return JiraUser(self.jira, account_id=person(name).jira_account)

    def channel_texts(self, incident: Incident) -> list[str]:
        return [m["text"] for m in self.slack.messages(self.incident(incident.id).channel_id)]


@contextmanager
def running_emulators(
    deployment: str = "cloud", pat: str | None = None
) -> Iterator[tuple[SlackEmulator, JiraEmulator, str]]:
    """Both emulators seeded with the people, and the announcements channel (Jira Cloud unless told)."""
    slack = SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    jira = JiraEmulator(
        bot_email=JIRA_EMAIL,
        bot_token=JIRA_TOKEN,
        bot_account_id=JIRA_BOT,
        projects=("INC", "PM", "TEAM"),
        pat=pat,
        webhook_retry_delays=(0.05,),
        deployment=deployment,
    ).start()
    try:
        for p in PEOPLE:
            slack.add_user(p.slack_id, name=p.name, email=p.email, real_name=p.real_name)
            jira.add_user(account_id=p.jira_account, email=p.email, display_name=p.real_name)
        announcements = slack.add_channel("incidents", members=[p.slack_id for p in PEOPLE])
        yield slack, jira, announcements
    finally:
        jira.stop()
        slack.stop()


@pytest.fixture
def emulators() -> Iterator[tuple[SlackEmulator, JiraEmulator, str]]:
    with running_emulators() as running:
        yield running


#: the harness's body limit: smaller than the default, so the limit's tests send small bodies
HARNESS_WEBHOOK_MAX_BYTES = 1024 * 1024


def harness_settings(
    database_url: str, slack: SlackEmulator, jira: JiraEmulator, announcements: str, **extra: Any
):
    values: dict[str, Any] = dict(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
        slack_announcements_channel=announcements,
        jira_url=jira.url,
        jira_user=JIRA_EMAIL,
        jira_api_token=JIRA_TOKEN,
        jira_webhook_secret=WEBHOOK_SECRET,
        jira_timeout_seconds=3,
        raid_jira_project_key="INC",
        jira_postmortem_project_key="PM",
        raid_jira_incident_category_field="customfield_12369",
        teams={"Payments": "TEAM", "Checkout": None},
        responders_by_priority={1: ["U0CAROL"]},
        responders_group=["U0CAROL"],
        job_backoff_base_seconds=0.05,
        job_backoff_max_seconds=0.2,
        jira_max_requests_per_second=1000,  # tests of the budget itself set theirs
        webhook_max_bytes=HARNESS_WEBHOOK_MAX_BYTES,
    )
    values.update(extra)
    return load_settings(**values)


@contextmanager
def build_harness(database_url: str, emulators, **extra: Any) -> Iterator[Harness]:
    """A runtime over the emulators, with `extra` settings."""
    slack, jira, announcements = emulators
    runtime = build_runtime(harness_settings(database_url, slack, jira, announcements, **extra))
    try:
        yield Harness(runtime, slack, jira, announcements)
    finally:
        runtime.engine.dispose()


@pytest.fixture
def harness(database_url: str, emulators) -> Iterator[Harness]:
    with build_harness(database_url, emulators) as harness:
        yield harness


@contextmanager
def serving(harness: Harness) -> Iterator[str]:
    """The runtime's HTTP server (webhook route included) on a free port; Jira's webhooks point at it."""
    runtime = harness.runtime
    server = HttpServer(
        build_app(health=runtime.health, refresh_metrics=runtime.refresh_metrics, routes=runtime.routes),
        host="127.0.0.1",
        port=0,
    )
    server.start()
    url = f"http://127.0.0.1:{server.port}/jira/webhook"
    harness.jira.set_webhook(url, WEBHOOK_SECRET)
    try:
        yield url
    finally:
        harness.jira.set_webhook(None, None)
        server.stop()


@pytest.fixture
def webhook_url(harness: Harness) -> Iterator[str]:
    with serving(harness) as url:
        yield url

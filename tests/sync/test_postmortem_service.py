"""The post-mortem service against the Jira and Slack emulators, on SQLite and PostgreSQL.

The real runtime (queue, registry, Outbox subscribers, Slack and Jira clients) runs jobs on the test's
thread, so each test decides when Slack and Jira are called and asserts on what the emulators received.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import incidents
from bot.app import Runtime, build_runtime
from bot.forms import DeclareForm, KeyEventInput, UpdateForm
from bot.jobs import RetryLater, enqueue
from bot.models import Incident, JiraPostMortem, Job, User
from bot.rules import Actor
from bot.settings import Settings, load_settings
from bot.workers import run_one
from sandbox.jira import JiraEmulator
from sandbox.rig import APP_TOKEN, BOT_TOKEN, JIRA_BOT, JIRA_EMAIL, JIRA_TOKEN, PEOPLE, person
from sandbox.slack import SlackEmulator
from sync.context import SyncContext
from sync.directory import Directory
from sync.jira_client import JiraGateway
from sync.outbox import Kind
from sync.postmortem import PostMortems

TIMELINE, SUMMARY, CATEGORY = "customfield_12700", "customfield_12699", "customfield_12369"


@dataclass
class Rig:
    runtime: Runtime
    ctx: SyncContext
    slack: SlackEmulator
    jira: JiraEmulator

    def session(self) -> Session:
        return self.runtime.uow.session()

    def drain(self, timeout: float = 20.0) -> None:
        """Run jobs until none is left, waiting out backoffs."""
        self.run_until(lambda: not self.jobs("pending", "running"), timeout)

    def run_until(self, predicate: Callable[[], Any], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                left = [(j.kind, j.state, j.last_error) for j in self.jobs()]
                raise AssertionError(f"condition not met in {timeout}s; jobs: {left}")
            if not run_one(self.runtime.queue, self.runtime.registry, "test-worker"):
                time.sleep(0.05)

    def jobs(self, *states: str, kind: str | None = None) -> list[Job]:
        with self.session() as session:
            query = select(Job).order_by(Job.id)
            if states:
                query = query.where(Job.state.in_(states))
            if kind:
                query = query.where(Job.kind == kind)
            return list(session.exec(query))

    def declare(self, **fields: Any) -> Incident:
        fields.setdefault("title", "Checkout returns 500 errors")
        fields.setdefault("priority", 1)
        with self.session() as session:
            incident = incidents.declare(
                session=session,
                reporter_id=person("alice").slack_id,
                form=DeclareForm(**fields),
                policy=self.runtime.policy,
            )
            session.commit()
            return incident

    def update(self, incident: Incident, **fields: Any) -> None:
        with self.session() as session:
            incidents.update(
                session=session,
                incident_id=incident.id,
                actor=Actor(person("alice").slack_id),
                form=UpdateForm(**fields),
                policy=self.runtime.policy,
            )
            session.commit()

    def request_postmortem(self, incident: Incident) -> None:
        with self.session() as session:
            incidents.request_postmortem(
                session=session, incident_id=incident.id, actor=Actor("U0ALICE"), policy=self.runtime.policy
            )
            session.commit()

    def key_events(self, incident: Incident, **events: KeyEventInput) -> None:
        with self.session() as session:
            incidents.set_key_events(
                session=session, incident_id=incident.id, actor=Actor("U0ALICE"), events_in=events
            )
            session.commit()

    def incident(self, incident: Incident) -> Incident:
        with self.session() as session:
            return incidents.get(session, incident.id)

    def postmortem(self, incident: Incident) -> JiraPostMortem | None:
        with self.session() as session:
            return incidents.postmortem(session, incident.id)

    def pm_issues(self) -> list[dict[str, Any]]:
        return [issue for key, issue in self.jira.issues.items() if key.startswith("PM-")]

    def pm_creations(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.jira.requests_to("POST", "/rest/api/2/issue")
            if r["path"].endswith("/issue")
            and (r["json"] or {}).get("fields", {}).get("project") == {"key": "PM"}
        ]

    def channel_texts(self, incident: Incident) -> list[str]:
        return [m["text"] for m in self.slack.messages(self.incident(incident).channel_id)]

    def ready(self, **fields: Any) -> Incident:
        """A P1 incident with its channel, announcement and Jira ticket."""
        incident = self.declare(**fields)
        self.drain()
        assert incidents.ticket(self.session(), incident.id) is not None
        return self.incident(incident)


def settings_for(database_url: str, slack: SlackEmulator, jira: JiraEmulator) -> Settings:
    return load_settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
        jira_url=jira.url,
        jira_user=JIRA_EMAIL,
        jira_api_token=JIRA_TOKEN,
        jira_timeout_seconds=3,
        raid_jira_project_key="INC",
        raid_jira_incident_category_field=CATEGORY,
        jira_postmortem_project_key="PM",
        jira_postmortem_issue_type="Post-mortem",
        job_backoff_base_seconds=0.05,
        job_backoff_max_seconds=0.2,
    )


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    slack = SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    jira = JiraEmulator(
        bot_email=JIRA_EMAIL, bot_token=JIRA_TOKEN, bot_account_id=JIRA_BOT, projects=("INC", "PM")
    ).start()
    for p in PEOPLE:
        slack.add_user(p.slack_id, name=p.name, email=p.email, real_name=p.real_name)
        jira.add_user(account_id=p.jira_account, email=p.email, display_name=p.real_name)
    runtime = build_runtime(settings_for(database_url, slack, jira))
    ctx = SyncContext(
        settings=runtime.settings,
        uow=runtime.uow,
        kv=runtime.kv,
        policy=runtime.policy,
        slack=runtime.slack,
        jira=runtime.jira,
    )
    yield Rig(runtime, ctx, slack, jira)
    runtime.engine.dispose()
    jira.stop()
    slack.stop()


def test_moving_to_post_mortem_creates_a_complete_linked_assigned_post_mortem(rig: Rig) -> None:
    incident = rig.ready(
        description="Payments fail | at the last step",
        impacts={"Customers": "High"},
        zendesk_ticket_id="ZD-42",
        category="Availability",
        environments=["PRD", "STG"],
    )
    ticket = incidents.ticket(rig.session(), incident.id)
    rig.update(incident, status="MITIGATED", message="Rolled back release 42")
    rig.update(incident, status="POST_MORTEM")
    rig.drain()

    [issue] = rig.pm_issues()
    postmortem = rig.postmortem(incident)
    assert postmortem is not None and postmortem.key == issue["key"] == "PM-1"
    assert postmortem.url == f"{rig.jira.url}/browse/PM-1"
    fields = issue["fields"]
    assert fields["issuetype"]["name"] == "Post-mortem"
    assert fields["summary"] == f"Post-mortem #{incident.id}: Checkout returns 500 errors"
    assert fields[CATEGORY]["value"] == "Availability"
    assert "*Priority:* P1" in fields[SUMMARY] and "/archives/" in fields[SUMMARY]
    assert "Payments fail &#124; at the last step" in fields[SUMMARY]
    assert "| Incident created (P1) |" in fields[TIMELINE]
    assert "| Status changed to: Mitigated |" in fields[TIMELINE]
    assert "| Status changed to: Post-mortem |" in fields[TIMELINE]
    assert "*Business impact:* High" in fields["customfield_12702"]
    assert "Rolled back release 42" in fields["customfield_12703"]
    assert fields["customfield_12701"].startswith("h2. Root causes")

    [link] = issue["links"]
    assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] == ticket.key
    assert fields["assignee"]["accountId"] == "acc-alice", "the commander is the assignee"

    channel = incident.channel_id
    [notice] = [m for m in rig.slack.messages(channel) if "post-mortem is ready" in m["text"]]
    assert "PM-1" in notice["text"] and postmortem.url in notice["text"]
    assert notice["ts"] in rig.slack.pins(channel)
    bookmarks = {b["title"]: b["link"] for b in rig.slack.bookmarks(channel)}
    assert bookmarks["Post-mortem"] == postmortem.url
    [announcement] = [m for m in rig.slack.messages(channel) if m["ts"] == incident.announcement_ts]
    assert f"<{postmortem.url}|PM-1>" in str(announcement["blocks"])
    assert not rig.jobs("failed")


def test_link_falls_back_to_blocks_when_relates_is_missing(rig: Rig) -> None:
    rig.jira.set_link_types(["Blocks", "Duplicate"])
    incident = rig.ready()
    rig.update(incident, status="POST_MORTEM")
    rig.drain()

    [issue] = rig.pm_issues()
    [link] = issue["links"]
    assert link["type"]["name"] == "Blocks"
    tried = [r["json"]["type"]["name"] for r in rig.jira.requests_to("POST", "/rest/api/2/issueLink")]
    assert tried == ["Relates", "Blocks"]
    assert not rig.jobs("failed")

    with rig.session() as session:  # a link job run again (a lost reply) finds the link and adds none
        enqueue(session, Kind.POSTMORTEM_LINK, lane="jira", incident_id=incident.id)
        session.commit()
    rig.drain()
    assert len(rig.jira.issue("PM-1")["links"]) == 1
    assert len(rig.jira.requests_to("POST", "/rest/api/2/issueLink")) == 2


def test_post_mortem_stays_when_no_link_type_works(rig: Rig) -> None:
    rig.jira.set_link_types(["Duplicate"])
    incident = rig.ready()
    rig.update(incident, status="POST_MORTEM")
    rig.drain()

    [issue] = rig.pm_issues()
    assert issue["links"] == []
    tried = [r["json"]["type"]["name"] for r in rig.jira.requests_to("POST", "/rest/api/2/issueLink")]
    assert tried == ["Relates", "Blocks", "Relates to"]
    assert rig.postmortem(incident) is not None
    assert issue["fields"]["assignee"]["accountId"] == "acc-alice", "the other follow-ups still ran"
    assert [b["title"] for b in rig.slack.bookmarks(incident.channel_id)] == ["Jira ticket", "Post-mortem"]
    assert not rig.jobs("failed")
    assert not any("refused" in text for text in rig.channel_texts(incident))


def test_assignment_failure_is_tolerated(rig: Rig) -> None:
    incident = rig.ready()
    with rig.session() as session:  # the commander's Jira account was deactivated since it was cached
        user = session.get(User, incident.commander_id)
        user.jira_account_id = "acc-left-the-company"
        session.add(user)
        session.commit()
    rig.update(incident, status="POST_MORTEM")
    rig.drain()

    [issue] = rig.pm_issues()
    assert issue["fields"]["assignee"] is None
    [assign] = rig.jira.requests_to("PUT", "/rest/api/2/issue/PM-1/assignee")
    assert assign["status"] == 400
    assert len(issue["links"]) == 1
    assert [j.state for j in rig.jobs(kind=Kind.POSTMORTEM_ASSIGN)] == ["done"]
    assert rig.slack.bookmarks(incident.channel_id)[-1]["title"] == "Post-mortem"
    assert not rig.jobs("failed")


def test_double_trigger_creates_one_post_mortem(rig: Rig) -> None:
    incident = rig.ready()
    rig.update(incident, status="POST_MORTEM")
    rig.request_postmortem(incident)  # the announcement's button, clicked twice
    rig.request_postmortem(incident)
    assert len(rig.jobs("pending", kind=Kind.CREATE_POSTMORTEM)) == 3
    rig.drain()

    assert len(rig.pm_issues()) == 1
    assert len(rig.pm_creations()) == 1
    with rig.session() as session:
        assert len(session.exec(select(JiraPostMortem)).all()) == 1
    notices = [m for m in rig.slack.messages(incident.channel_id) if "post-mortem is ready" in m["text"]]
    assert len(notices) == 1
    assert [b["title"] for b in rig.slack.bookmarks(incident.channel_id)].count("Post-mortem") == 1


def test_jira_down_during_creation_creates_it_after_recovery(rig: Rig) -> None:
    incident = rig.ready()

    def create_failed_with(text: str) -> Callable[[], bool]:
        def check() -> bool:
            return any(text in (j.last_error or "") for j in rig.jobs(kind=Kind.CREATE_POSTMORTEM))

        return check

    rig.jira.fail_with(503, retry_after=1, seconds=None)
    rig.request_postmortem(incident)
    rig.run_until(create_failed_with("HTTP 503"))
    rig.jira.clear_faults()
    rig.jira.refuse_connections(seconds=None)
    rig.run_until(create_failed_with("unreachable"))
    assert rig.pm_issues() == [] and rig.postmortem(incident) is None
    rig.jira.clear_faults()
    rig.drain()

    assert len(rig.pm_issues()) == 1 and len(rig.pm_creations()) == 1
    assert rig.postmortem(incident).key == "PM-1"
    texts = rig.channel_texts(incident)
    assert any("Jira is not answering" in text for text in texts)
    assert any("Jira has caught up" in text for text in texts)
    assert any("post-mortem is ready" in text for text in texts)
    assert not rig.jobs("failed")


class ReplyLost(JiraGateway):
    """Jira saves the issue, but its answer never arrives (a timeout after the write)."""

    def create_issue(self, fields: dict[str, Any]) -> tuple[str, str]:
        super().create_issue(fields)
        raise RetryLater("Jira POST issue failed: ReadTimeout (Jira unreachable)")


def test_a_lost_reply_is_found_in_jira_instead_of_creating_again(rig: Rig) -> None:
    incident = rig.ready()
    rig.request_postmortem(incident)
    lossy = PostMortems(
        SyncContext(
            settings=rig.ctx.settings,
            uow=rig.ctx.uow,
            kv=rig.ctx.kv,
            policy=rig.ctx.policy,
            slack=rig.ctx.slack,
            jira=ReplyLost(rig.ctx.settings),
        ),
        Directory(rig.ctx),
    )
    job = rig.runtime.queue.claim("test-worker")
    assert job is not None and job.kind == Kind.CREATE_POSTMORTEM
    with pytest.raises(RetryLater):
        lossy.create(job)
    rig.runtime.queue.fail(job, RetryLater("reply lost"))
    assert len(rig.pm_issues()) == 1 and rig.postmortem(incident) is None
    rig.drain()

    assert len(rig.pm_creations()) == 1, "the retry found the issue by its marker"
    [issue] = rig.pm_issues()
    assert rig.postmortem(incident).key == issue["key"]
    assert len(issue["links"]) == 1
    assert rig.jira.requests_to("GET", "/rest/api/2/search/jql")


def timeline_edits(rig: Rig) -> list[dict[str, Any]]:
    return [r for r in rig.jira.requests_to("PUT", "/rest/api/2/issue/PM-1") if r["path"].endswith("/PM-1")]


def test_key_events_update_the_timeline_once_the_post_mortem_exists(rig: Rig) -> None:
    incident = rig.ready()
    detected = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    rig.key_events(incident, detected=KeyEventInput(at=detected, message="Alert | 5xx rate"))
    rig.drain()
    assert [j.state for j in rig.jobs(kind=Kind.UPDATE_TIMELINE)] == ["done"], "no post-mortem yet: no-op"

    rig.update(incident, status="POST_MORTEM")
    rig.drain()
    timeline = rig.jira.issue("PM-1")["fields"][TIMELINE]
    assert f"| {detected:%Y-%m-%d %H:%M} UTC | Key event: Detected - Alert &#124; 5xx rate |" in timeline
    assert not timeline_edits(rig)

    recovered = detected + timedelta(minutes=20)
    rig.key_events(incident, recovered=KeyEventInput(at=recovered, message=None))
    rig.drain()
    [edit] = timeline_edits(rig)
    assert list(edit["json"]["fields"]) == [TIMELINE]
    timeline = rig.jira.issue("PM-1")["fields"][TIMELINE]
    rows = [line for line in timeline.splitlines() if line.startswith("| ")]
    assert rows[0].endswith("| Key event: Detected - Alert &#124; 5xx rate |")
    assert rows[1].endswith("| Key event: Recovered |")
    assert rows[2].endswith("| Incident created (P1) |")
    assert rows[-1].endswith("| Status changed to: Post-mortem |")
    assert not rig.jobs("failed")


def test_without_a_channel_the_commander_gets_the_link_by_dm(rig: Rig) -> None:
    incident = rig.declare(priority=4, suggested_team_routing="Payments")
    rig.drain()
    rig.request_postmortem(incident)
    rig.drain()

    [issue] = rig.pm_issues()
    assert issue["fields"]["assignee"]["accountId"] == "acc-alice"
    assert len(issue["links"]) == 1
    assert any("post-mortem is ready" in m["text"] for m in rig.slack.dms("U0ALICE"))
    assert not rig.jobs(kind=Kind.BOOKMARK) and not rig.jobs(kind=Kind.POSTMORTEM_PIN)
    assert not rig.jobs("failed")

"""A model of Slack, the bot and Jira under faults, for a randomized search of interleavings.

Each example declares one incident (with its channel and ticket), then runs a random sequence of steps:
people editing the incident in Slack and its ticket in Jira (the status forward, back and to Post-mortem),
an Update modal opened before other changes and submitted after them, channel messages sent to Jira (some
twice), comments written and edited in Jira, webhooks held, reordered, lost and duplicated (under the same
identifier or a new one), Jira down or throttling, a worker killed mid-job, the reconciler, and the bot's
workers doing some of their queued work. At the end everything recovers and settles, and the invariants
must hold:

- the incident, its announcement and its Jira ticket agree on every synced field;
- where every edit of a field came from one side, its last value is the one both sides show;
- `/incident status` says "in step";
- once quiet, nothing more happens (no echo loop), there is one ticket, and every Jira history of the
  ticket has been seen exactly once;
- each Slack change is announced once in the channel, and no write of the bot's comes back as a change
  from Jira but the corrections (a post in flight when its worker was killed may appear twice);
- each message sent to Jira is one comment on the ticket and has its ✅; each person's comment reaches the
  channel in its latest version, no version twice and none after a newer one, and no comment of the
  bot's comes back;
- there is one post-mortem once the incident has been in Post-mortem, and none otherwise.

The real bot code runs in process (the sync harness's runtime), against the Slack and Jira emulators;
jobs run when a step says so, which is what makes the interleavings reproducible.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlmodel import select

from bot import conversation, incidents
from bot.enums import Source, Status, UpdateKind
from bot.forms import UpdateForm
from bot.jobs import RetryLater
from bot.models import AppliedChangelog
from bot.rules import Actor
from bot.workers import run_one
from listeners.recap import sync_state
from sandbox.jira import JiraUser
from sandbox.jira.errors import JiraEmulatorError
from sandbox.rig import person
from sandbox.slack.user import SlackUser
from sync.jira_fields import strip_generated
from sync.workflow import DEFAULT_STATUS_MAP
from tests.sync.conftest import Harness
from tests.sync.webhook_support import reconciler_of, settle

PRIORITY_FIELD = "customfield_11064"
TITLES = ("Checkout returns 500 errors", "Checkout returns 502 errors", "Payments fail at the last step")
DESCRIPTIONS = ("", "Card payments fail", "Card payments fail\n\nfor everyone in FR")
PEOPLE = ("alice", "bob", "carol")
SLACK_STATUSES = (Status.INVESTIGATING, Status.MITIGATING, Status.MITIGATED, Status.POST_MORTEM)
JIRA_STATUSES = ("in progress", "Reporter validation")
FIELDS = ("title", "description", "priority", "commander_id", "status")
#: which value of a field a step sets (taken modulo the field's choices)
PICKS = st.integers(0, 3)
DONE = "white_check_mark"
QUIET_SECONDS = 0.5


@dataclass
class Edits:
    """Who edited each field during the example, and the last value each side set."""

    sides: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in FIELDS})
    last: dict[str, Any] = field(default_factory=dict)

    def made(self, side: str, name: str, value: Any) -> None:
        self.sides[name].add(side)
        self.last[name] = value

    def unambiguous(self, name: str) -> str | None:
        """The one side that edited the field, when only one did (its last value must win)."""
        return next(iter(self.sides[name])) if len(self.sides[name]) == 1 else None


class ConvergenceMachine(RuleBasedStateMachine):
    """One incident, one ticket, and everything that can happen to them between Slack and Jira."""

    harness: Harness
    #: examples and steps run by this class, for the soak's report
    examples = 0
    steps = 0
    #: the story of the example running now in this process (or of the one that failed), for a report
    #: outside pytest, whose failures show it as hypothesis notes
    story: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.edits = Edits()
        self.modal: dict[str, Any] | None = None
        self.holding = False
        self.outage = False
        self.incident_id = 0
        self.key = ""
        # channel posts whose worker was killed after posting may appear twice: comment lines, and the rest
        self.comment_reposts = 0
        self.reposts = 0
        self.sent: dict[str, str] = {}  # the channel messages sent to Jira: ts → text
        self.comments: dict[str, list[str]] = {}  # bob's Jira comments: id → its versions, oldest first
        self.postmortems_before: set[str] = set()
        self.postmortem_reached = False  # a Slack edit took the incident to Post-mortem
        ConvergenceMachine.story = []

    # set-up ------------------------------------------------------------------------------------------
    @initialize()
    def declare(self) -> None:
        harness = self.harness
        incident = harness.declare(3, title=TITLES[0], description=DESCRIPTIONS[1])
        settle(harness)
        self.incident_id = incident.id
        self.key = harness.ticket(incident).key
        ConvergenceMachine.story.append(f"declared #{incident.id} ({self.key})")
        self.postmortems_before = {k for k in harness.jira.issues if k.startswith("PM-")}
        note(f"declared #{incident.id} ({self.key})")

    # people ------------------------------------------------------------------------------------------
    @rule(name=st.sampled_from(FIELDS), pick=PICKS)
    def slack_edit(self, name: str, pick: int) -> None:
        value = _slack_value(name, pick)
        self._say(f"Slack: alice sets {name} = {value!r}")
        self._update(UpdateForm(**{name: value}))
        self.edits.made("slack", name, value)

    @rule(name=st.sampled_from(FIELDS), pick=PICKS)
    def jira_edit(self, name: str, pick: int) -> None:
        bob = self._bob()
        if name == "status":
            target = JIRA_STATUSES[pick % len(JIRA_STATUSES)]
            try:
                bob.transition(self.key, target)
            except JiraEmulatorError:
                self._say(f"Jira: bob cannot move {self.key} to {target!r} from where it is")
                return
            self._say(f"Jira: bob moves {self.key} to {target!r}")
            self.edits.made("jira", name, target)
            return
        value = _slack_value(name, pick)
        self._say(f"Jira: bob sets {name} = {value!r}")
        if name == "commander_id":
            bob.assign(self.key, person(PEOPLE[pick % len(PEOPLE)]).jira_account)
        elif name == "priority":
            bob.update(self.key, **{PRIORITY_FIELD: {"value": str(value)}})
        elif name == "title":
            bob.update(self.key, summary=value)
        else:
            bob.update(self.key, description=value or None)
        self.edits.made("jira", name, value)

    @precondition(lambda self: self.modal is None)
    @rule()
    def open_update_modal(self) -> None:
        incident = self.harness.incident(self.incident_id)
        self.modal = {name: getattr(incident, name) for name in FIELDS}
        self._say(f"Slack: alice opens the Update modal, which shows {self.modal}")

    @precondition(lambda self: self.modal is not None)
    @rule(name=st.sampled_from(FIELDS), pick=PICKS)
    def submit_update_modal(self, name: str, pick: int) -> None:
        assert self.modal is not None
        shown, self.modal = self.modal, None
        value = _slack_value(name, pick)
        self._say(f"Slack: alice submits the modal opened earlier, changing {name} to {value!r}")
        self._update(UpdateForm(**{**shown, name: value}), shown=shown)
        if value != shown[name]:
            self.edits.made("slack", name, value)

    # the conversation --------------------------------------------------------------------------------
    @rule()
    def message_sent_to_jira(self) -> None:
        text = f"Slack message {len(self.sent) + 1}: the gateway pool is exhausted"
        channel = self.harness.incident(self.incident_id).channel_id
        ts = SlackUser(self.harness.slack, person("alice").slack_id).say(channel, text)
        self._say(f"Slack: alice writes {text!r} and sends it to Jira")
        self.sent[ts] = text
        self._send(ts)

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(0, 2**16))
    def message_sent_again(self, pick: int) -> None:
        ts = sorted(self.sent)[pick % len(self.sent)]
        self._say(f"Slack: alice sends {self.sent[ts]!r} to Jira again")
        self._send(ts)

    @rule()
    def jira_comment(self) -> None:
        text = f"Jira comment {len(self.comments) + 1}: the pool size was halved on Monday"
        self._say(f"Jira: bob comments {text!r}")
        comment = self._bob().comment(self.key, text)
        self.comments[str(comment["id"])] = [text]

    @precondition(lambda self: self.comments)
    @rule(pick=st.integers(0, 2**16))
    def jira_comment_edited(self, pick: int) -> None:
        comment_id = sorted(self.comments)[pick % len(self.comments)]
        versions = self.comments[comment_id]
        text = f"{versions[0]} (edit {len(versions)})"
        self._say(f"Jira: bob edits comment {comment_id} to {text!r}")
        self._bob().edit_comment(self.key, comment_id, text)
        versions.append(text)

    # the bot at work ---------------------------------------------------------------------------------
    @rule(count=st.integers(1, 6))
    def bot_works(self, count: int) -> None:
        ran = sum(
            run_one(self.harness.runtime.queue, self.harness.runtime.registry, "model") for _ in range(count)
        )
        self._say(f"the bot runs {ran} job(s)")

    @rule(after_work=st.booleans())
    def worker_killed(self, after_work: bool) -> None:
        """A worker dies holding a job: before doing it, or after doing it but before recording so."""
        runtime = self.harness.runtime
        job = runtime.queue.claim("killed-worker")
        if job is None:
            self._say("a worker is killed while it holds no job")
            return
        moment = "after" if after_work else "before"
        self._say(f"a worker is killed holding {job.kind} #{job.id} ({moment} its work)")
        if after_work and job.kind == "slack.post":
            if str(job.payload.get("text", "")).startswith(f"Jira {self.key}: comment by "):
                self.comment_reposts += 1
            else:
                self.reposts += 1
        if after_work:
            try:
                runtime.registry.handler(job.kind)(job)
            except Exception as exc:  # the process would have died anyway
                note(f"  (the job had failed: {exc!r})")

    @rule()
    def reconciler_runs(self) -> None:
        try:
            report = reconciler_of(self.harness).run()
        except RetryLater as exc:  # Jira down: the scheduled run logs it and tries at the next interval
            self._say(f"the reconciler runs and fails: {exc}")
            return
        self._say(f"the reconciler runs: {report.issues_seen} issue(s) seen")

    # webhooks ----------------------------------------------------------------------------------------
    @precondition(lambda self: not self.holding)
    @rule()
    def webhooks_held(self) -> None:
        self._say("Jira's webhooks are held back")
        self.harness.jira.hold_webhooks()
        self.holding = True

    # Choices over things the emulators hold are drawn as plain numbers first (`seed`, `pick`): what is
    # drawn must not depend on outside state, or hypothesis cannot replay or shrink an example.
    @precondition(lambda self: self.holding)
    @rule(seed=st.integers(0, 2**32))
    def webhooks_released(self, seed: int) -> None:
        order = [h["index"] for h in self.harness.jira.held_webhooks()]
        random.Random(seed).shuffle(order)
        self._say(f"held webhooks released in the order {order}")
        self.harness.jira.release_all_webhooks(order=order)
        self.holding = False

    @precondition(lambda self: self.holding)
    @rule(pick=st.integers(0, 2**16))
    def webhook_lost(self, pick: int) -> None:
        held = [h["index"] for h in self.harness.jira.held_webhooks()]
        if not held:
            self._say("no held webhook to lose")
            return
        index = held[pick % len(held)]
        self._say(f"held webhook {index} is lost")
        self.harness.jira.drop_webhook(index)

    @rule(pick=st.integers(0, 2**16), new_identifier=st.booleans())
    def webhook_duplicated(self, pick: int, new_identifier: bool) -> None:
        deliveries = self.harness.jira.webhook_deliveries
        if not deliveries:
            self._say("no webhook delivered yet to deliver again")
            return
        index = len(deliveries) - 1 - pick % min(len(deliveries), 8)  # one of the recent ones
        under = "a new identifier" if new_identifier else "the same identifier"
        self._say(f"webhook delivery {index} is delivered again under {under}")
        self.harness.jira.redeliver(index, new_identifier=new_identifier)

    # Jira faults -------------------------------------------------------------------------------------
    @precondition(lambda self: not self.outage)
    @rule()
    def jira_goes_down(self) -> None:
        self._say("Jira goes down (503)")
        self.harness.jira.fail_with(503, seconds=None)
        self.outage = True

    @precondition(lambda self: self.outage)
    @rule()
    def jira_comes_back(self) -> None:
        self._say("Jira comes back")
        self.harness.jira.clear_faults()
        self.outage = False

    @rule(times=st.integers(1, 3))
    def jira_throttles_writes(self, times: int) -> None:
        self._say(f"Jira answers 429 to the next {times} issue write(s)")
        self.harness.jira.throttle_issue_writes(times=times, retry_after=0)

    # the end of an example ---------------------------------------------------------------------------
    def teardown(self) -> None:
        if not self.incident_id:
            return
        type(self).examples += 1
        harness = self.harness
        self._recover()
        before = _activity(harness)
        _quiet_for(harness, QUIET_SECONDS)
        assert _activity(harness) == before, "an echo loop: Slack or Jira kept being written to"
        self._check()

    def _recover(self) -> None:
        harness = self.harness
        harness.jira.clear_faults()
        if self.holding:
            harness.jira.release_all_webhooks()
        harness.drain_all(timeout=60)
        settle(harness, timeout=30)
        reconciler_of(harness).run()
        harness.drain_all(timeout=60)
        settle(harness, timeout=30)

    def _check(self) -> None:
        harness = self.harness
        incident = harness.incident(self.incident_id)
        issue = harness.jira.issue(self.key)["fields"]
        jira = {
            "title": issue["summary"],
            "description": strip_generated((issue.get("description") or "").replace("\r\n", "\n")),
            "priority": int(issue[PRIORITY_FIELD]["value"]),
            "commander_id": _slack_of(issue.get("assignee")),
            "status": issue["status"]["name"],
        }
        note(f"end: incident {[getattr(incident, n) for n in FIELDS]}, Jira {list(jira.values())}")
        for name in FIELDS:
            assert _agree(name, getattr(incident, name), jira[name]), (
                name,
                getattr(incident, name),
                jira[name],
            )
            if side := self.edits.unambiguous(name):
                expected = self.edits.last[name]
                shown = jira[name] if name == "status" and side == "jira" else getattr(incident, name)
                assert shown == expected, f"{name}: the last edit {expected!r}, both sides show {shown!r}"
        announced = harness.slack.messages(incident.channel_id)
        announcement = next(m for m in announced if m.get("ts") == incident.announcement_ts)
        text = _blocks_text(announcement)
        assert incident.title in text and f"P{incident.priority}" in text, text
        assert Status(incident.status).label in text, text
        with harness.session() as session:
            state = sync_state(session, incident)
            jobs_left = [(j.kind, j.state, j.last_error) for j in harness.jobs() if j.state != "done"]
            assert state == "in step", (state, jobs_left, harness.ticket(incident).jira_values)
            applied = set(session.exec(select(AppliedChangelog.changelog_id)).all())
        histories = {str(h["id"]) for h in harness.jira.issue(self.key)["changelog"]}
        assert histories <= applied, f"histories never applied: {sorted(histories - applied)}"
        tickets = [k for k, v in harness.jira.issues.items() if f"Incident #{incident.id}," in str(v)]
        assert tickets == [self.key], tickets
        self._check_channel(incident)
        self._check_conversation(incident)
        self._check_postmortem()

    def _check_channel(self, incident: Any) -> None:
        """Each Slack change said once; the bot's own writes seen from Jira only as corrections."""
        with self.harness.session() as session:
            history = incidents.history(session, self.incident_id)
        slack_changes = sum(u.source == Source.SLACK and u.event_type == UpdateKind.UPDATED for u in history)
        corrections = sum(len(u.changes) for u in history if u.event_type == UpdateKind.CORRECTED)
        lines = [m["text"] for m in self.harness.slack.messages(incident.channel_id) if not m.get("blocks")]
        summaries = sum(line.startswith(":pencil2:") for line in lines)
        assert slack_changes <= summaries <= slack_changes + self.reposts, (slack_changes, summaries)
        bot_writes = [
            line for line in lines if line.startswith(f"Jira {self.key}:") and "by Incident Bot" in line
        ]
        assert len(bot_writes) <= corrections + self.reposts, (
            "echoes in the channel",
            bot_writes,
            corrections,
        )

    def _check_conversation(self, incident: Any) -> None:
        """Each message sent to Jira is one comment with its ✅; each comment of bob's reaches the channel,
        no version twice, none after a newer one, and the bot's own comments never come back."""
        harness = self.harness
        comments = [str(c.get("body")) for c in harness.jira.issue(self.key)["comments"]]
        for ts, text in self.sent.items():
            made = sum(text in body for body in comments)
            assert made == 1, f"{text!r} sent to Jira became {made} comment(s)"
            reactions = harness.slack.reactions(incident.channel_id, ts)
            assert harness.slack.bot_user_id in reactions.get(DONE, []), f"no ✅ on {text!r}: {reactions}"
        lines = [m["text"] for m in harness.slack.messages(incident.channel_id) if not m.get("blocks")]
        said = [line for line in lines if line.startswith(f"Jira {self.key}: comment by ")]
        assert not [line for line in said if "by Incident Bot" in line], (
            "a comment of the bot's came back",
            said,
        )
        repeats = 0
        for comment_id, versions in self.comments.items():
            shown = [_version(line, versions) for line in said if _version(line, versions) is not None]
            assert shown and shown[-1] == len(versions) - 1, (comment_id, versions, said)
            assert shown == sorted(shown), ("an older version after a newer one", comment_id, said)
            repeats += len(shown) - len(set(shown))
        assert repeats <= self.comment_reposts, ("a comment version posted twice", said)

    def _check_postmortem(self) -> None:
        """One post-mortem once the incident has been in Post-mortem (it stays, whatever came after)."""
        made = {k for k in self.harness.jira.issues if k.startswith("PM-")} - self.postmortems_before
        with self.harness.session() as session:
            recorded = incidents.postmortem(session, self.incident_id)
        assert len(made) <= 1, f"post-mortems made: {sorted(made)}"
        assert (recorded.key if recorded else None) == (next(iter(made)) if made else None), (recorded, made)
        if self.postmortem_reached:
            assert recorded is not None, "the incident was in Post-mortem, but no post-mortem exists"
        else:
            assert recorded is None, f"a post-mortem ({recorded.key}) for an incident never in Post-mortem"

    def _bob(self) -> JiraUser:
        return JiraUser(self.harness.jira, account_id=person("bob").jira_account)

    def _send(self, ts: str) -> None:
        """Send to Jira, as the message shortcut does for alice."""
        incident = self.harness.incident(self.incident_id)
        message = {"ts": ts, "user": person("alice").slack_id, "text": self.sent[ts]}
        with self.harness.session() as session:
            conversation.send_to_jira(
                session=session,
                incident_id=self.incident_id,
                actor=Actor(person("alice").slack_id),
                message=conversation.message_of(incident.channel_id, message),
            )
            session.commit()

    def _say(self, text: str) -> None:
        """One line of the example's story, per step (and the step counted for the soak's report)."""
        type(self).steps += 1
        ConvergenceMachine.story.append(text)
        note(text)

    def _update(self, form: UpdateForm, shown: dict[str, Any] | None = None) -> None:
        with self.harness.session() as session:
            incidents.update(
                session=session,
                incident_id=self.incident_id,
                actor=Actor(person("alice").slack_id),
                form=form,
                policy=self.harness.runtime.policy,
                shown=shown,
            )
            session.commit()
        if Status(self.harness.incident(self.incident_id).status) is Status.POST_MORTEM:
            self.postmortem_reached = True


def _slack_value(name: str, pick: int) -> Any:
    choices: tuple[Any, ...] = {
        "title": TITLES,
        "description": DESCRIPTIONS,
        "priority": (1, 2, 3),
        "commander_id": tuple(person(p).slack_id for p in PEOPLE),
        "status": SLACK_STATUSES,
    }[name]
    return choices[pick % len(choices)]


def _version(line: str, versions: list[str]) -> int | None:
    """Which version of a comment a channel line shows (the newest whose text it ends with), if any."""
    return next((i for i in reversed(range(len(versions))) if line.endswith(f": {versions[i]}")), None)


def _slack_of(assignee: dict[str, Any] | None) -> str | None:
    account = (assignee or {}).get("accountId")
    return next((person(p).slack_id for p in PEOPLE if person(p).jira_account == account), None)


def _agree(name: str, incident_value: Any, jira_value: Any) -> bool:
    if name == "status":
        return DEFAULT_STATUS_MAP.target(Status(incident_value)).lower() == str(jira_value).lower()
    return incident_value == jira_value


def _blocks_text(message: dict[str, Any]) -> str:
    return str(message.get("blocks") or "") + str(message.get("text") or "")


def _activity(harness: Harness) -> tuple[int, int]:
    """Writes to Jira and Slack calls so far."""
    writes = sum(r["method"] in ("POST", "PUT", "DELETE") for r in harness.jira.requests)
    return writes, len(harness.slack.calls)


def _quiet_for(harness: Harness, seconds: float) -> None:
    """Let the bot run whatever it has for `seconds` (nothing, if it has settled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not run_one(harness.runtime.queue, harness.runtime.registry, "quiet"):
            time.sleep(0.05)


def machine_for(harness: Harness) -> type[ConvergenceMachine]:
    """The state machine class bound to a harness (hypothesis builds one instance per example)."""
    return type("Convergence", (ConvergenceMachine,), {"harness": harness})

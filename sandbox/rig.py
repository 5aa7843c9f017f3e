"""The end-to-end rig: both emulators, seeded people, and the real bot started as `python -m bot run`.

Tests, benchmarks and `python -m bot sandbox` all stand on this: the bot runs as its own process,
configured only through its documented environment variables, and is reached only through Slack and Jira.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from sandbox.jira import JiraEmulator, JiraUser
from sandbox.shapes import SHAPES, JiraShape
from sandbox.slack import SlackEmulator, SlackUser

BOT_TOKEN, APP_TOKEN = "xoxb-sandbox", "xapp-sandbox"
JIRA_EMAIL, JIRA_TOKEN, JIRA_BOT = "bot@example.com", "jira-sandbox-token", "acc-bot"
JIRA_PAT = "jira-sandbox-pat"  # the bot's personal access token on the Data Center site
WEBHOOK_SECRET = "sandbox-webhook-secret"


@dataclass(frozen=True)
class Person:
    slack_id: str
    name: str
    email: str
    jira_account: str

    @property
    def real_name(self) -> str:
        return self.name.capitalize()


PEOPLE = (
    Person("U0ALICE", "alice", "alice@example.com", "acc-alice"),
    Person("U0BOB", "bob", "bob@example.com", "acc-bob"),
    Person("U0CAROL", "carol", "carol@example.com", "acc-carol"),
    Person("U0DAVE", "dave", "dave@example.com", "acc-dave"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Rig:
    """Running emulators and bot; `stop()` ends the bot cleanly, then the emulators."""

    slack: SlackEmulator
    jira: JiraEmulator
    env: dict[str, str]
    workdir: Path
    announcements: str
    general: str
    http_url: str
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)
    shape: JiraShape = SHAPES["default"]  # the Jira site's workflow and priority scheme

    def slack_user(self, name: str) -> SlackUser:
        return SlackUser(self.slack, person(name).slack_id)

    def jira_user(self, name: str) -> JiraUser:
        return JiraUser(self.jira, account_id=person(name).jira_account)

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def bot_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start_bot(self, timeout: float = 30.0) -> None:
        """Start `python -m bot run` and wait until its Socket Mode connection and HTTP server are up."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=self.env,
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the bot exited with {self.process.returncode}:\n{self.bot_log()[-4000:]}"
                )
            if self.slack.connected and _healthy(self.http_url):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the bot did not come up in {timeout} s:\n{self.bot_log()[-4000:]}")

    def stop_bot(self, *, kill: bool = False, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        connections = self.slack.connection_count
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        if self._log:
            self._log.close()
        # its Socket Mode connection is gone (replicas started by `start_another_bot` keep theirs)
        self.slack.wait_for(lambda: self.slack.connection_count < max(connections, 1), timeout=10)
        return code

    def start_another_bot(self, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        """A second replica on the same database and Redis (its own HTTP port), for multi-process tests."""
        connections = self.slack.connection_count
        port = free_port()
        log = (self.workdir / f"bot-{len(self.others) + 2}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env={**self.env, "HTTP_PORT": str(port)},
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.others.append(process)
        self.slack.wait_for(lambda: self.slack.connection_count > connections, timeout=timeout)
        return process

    def reconcile_once(self, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`python -m bot reconcile --once` on the bot's environment, as an operator runs it; its output."""
        return subprocess.run(
            [sys.executable, "-m", "bot", "reconcile", "--once"],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        for other in self.others:
            other.terminate()
            other.wait(15)
        self.stop_bot()
        self.slack.stop()
        self.jira.stop()


def person(name: str) -> Person:
    return next(p for p in PEOPLE if p.name == name)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start_rig(
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
    start_bot: bool = True,
    jira_workflow: str = "default",
    jira: str = "cloud",
) -> Rig:
    """Start Slack and Jira emulators seeded with people and channels, then (by default) the bot.

    `jira_workflow` picks the Jira site's shape (`sandbox.shapes`): the emulator takes it, and the bot
    gets the settings that match it. `jira` is the deployment (`cloud`, or `datacenter`: the bot then
    authenticates with a personal access token, `JIRA_PAT`)."""
    shape = SHAPES[jira_workflow]
    slack = SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN).start()
    deployment = jira
    jira = JiraEmulator(
        bot_email=JIRA_EMAIL,
        bot_token=JIRA_TOKEN,
        bot_account_id=JIRA_BOT,
        projects=("INC", "PM", "TEAM"),
        pat=JIRA_PAT,
        deployment=deployment,
    ).start()
    if shape.env:
        jira.use_preset(shape.preset)
    for p in PEOPLE:
        slack.add_user(p.slack_id, name=p.name, email=p.email, real_name=p.real_name)
        jira.add_user(account_id=p.jira_account, email=p.email, display_name=p.real_name)
    announcements = slack.add_channel("incidents", members=[p.slack_id for p in PEOPLE])
    general = slack.add_channel("general", members=[p.slack_id for p in PEOPLE])
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bot-rig-"))
    port = free_port()
    jira.set_webhook(f"http://127.0.0.1:{port}/jira/webhook", WEBHOOK_SECRET)
    bot_env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    bot_env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.api_url,
            "SLACK_ANNOUNCEMENTS_CHANNEL": announcements,
            "JIRA_URL": jira.url,
            "JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "JIRA_TIMEOUT_SECONDS": "5",
            "RAID_JIRA_PROJECT_KEY": "INC",
            "RAID_JIRA_INCIDENT_CATEGORY_FIELD": "customfield_12369",
            "JIRA_POSTMORTEM_PROJECT_KEY": "PM",
            "DATABASE_URL": database_url or f"sqlite:///{workdir}/bot.sqlite",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(port),
            "RESPONDERS_BY_PRIORITY": '{"1": ["U0CAROL"], "2": ["U0CAROL"]}',
            "RESPONDERS_GROUP": "U0CAROL",
            "TEAMS": '{"Payments": "TEAM", "Checkout": null}',
            "JOB_BACKOFF_BASE_SECONDS": "0.2",
            "JOB_BACKOFF_MAX_SECONDS": "2",
            "LOG_LEVEL": "INFO",
        }
    )
    if deployment == "datacenter":
        bot_env["JIRA_PAT"] = JIRA_PAT
    else:
        bot_env.update({"JIRA_USER": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN})
    if redis_url:
        bot_env["REDIS_URL"] = redis_url
    else:
        bot_env.pop("REDIS_URL", None)
    bot_env.update(shape.env)
    bot_env.update(env or {})
    rig = Rig(
        slack=slack,
        jira=jira,
        env=bot_env,
        workdir=workdir,
        announcements=announcements,
        general=general,
        http_url=f"http://127.0.0.1:{port}",
        shape=shape,
    )
    if start_bot:
        try:
            rig.start_bot()
        except Exception:
            slack.stop()
            jira.stop()
            raise
    return rig

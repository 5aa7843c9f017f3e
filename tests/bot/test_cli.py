"""The CLI as a user runs it: help, a missing-credentials start, migrations, jobs, doctor."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import Session

from bot import db
from bot.jobs import enqueue
from tests.conftest import throwaway_postgres

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bot(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "JIRA_", "DATABASE_", "REDIS_", "HTTP_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    result = bot("--help")
    assert result.returncode == 0
    for command in ("run", "sandbox", "doctor", "db", "reconcile", "jobs"):
        assert command in result.stdout


def test_run_without_credentials_says_what_is_missing(tmp_path) -> None:
    result = bot("run", cwd=str(tmp_path))
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    assert "JIRA_URL" in result.stderr and "sandbox" in result.stderr


def test_bad_variable_is_named(tmp_path) -> None:
    result = bot("run", env={"HTTP_PORT": "eighty"}, cwd=str(tmp_path))
    assert result.returncode == 2 and "HTTP_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_refuses_an_out_of_date_postgres_schema(tmp_path) -> None:
    with throwaway_postgres("bot_empty", migrate=False) as url:
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "ENABLE_JIRA": "false",
        }
        result = bot("run", env=env, cwd=str(tmp_path))
        assert result.returncode == 2 and "python -m bot db upgrade" in result.stderr
        assert bot("db", "upgrade", env={"DATABASE_URL": url}).returncode == 0
        engine = db.make_engine(url)
        db.check_schema(engine)
        engine.dispose()


def test_jobs_lists_and_retries(database_url) -> None:
    engine = db.make_engine(database_url)
    with Session(engine) as session:
        job = enqueue(session, "jira.push", lane="jira", incident_id=4)
        session.commit()
        job.state, job.last_error = "failed", "RetryLater: Jira unreachable"
        session.add(job)
        session.commit()
    engine.dispose()
    listing = bot("jobs", env={"DATABASE_URL": database_url})
    assert listing.returncode == 0
    assert (
        "failed" in listing.stdout and "jira.push" in listing.stdout and "Jira unreachable" in listing.stdout
    )
    retried = bot("jobs", "--retry", env={"DATABASE_URL": database_url})
    assert "1 failed job(s) put back" in retried.stdout
    assert "pending" in bot("jobs", env={"DATABASE_URL": database_url}).stdout


@pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/15"])
def test_doctor_reports_each_check(tmp_path, redis_url) -> None:
    url = f"sqlite:///{tmp_path}/doctor.sqlite"
    env = {"DATABASE_URL": url, "ENABLE_JIRA": "false", **({"REDIS_URL": redis_url} if redis_url else {})}
    before = bot("doctor", env=env, cwd=str(tmp_path))
    assert before.returncode == 1
    assert "FAIL database" in before.stdout and "FAIL credentials" in before.stdout
    assert "ok   redis" in before.stdout
    bot("db", "upgrade", env=env)
    after = bot("doctor", env=env, cwd=str(tmp_path))
    assert "ok   database" in after.stdout

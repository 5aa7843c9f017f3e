"""`python -m bot doctor` against the emulators: every check passes; a wrong field id or project is named."""

from __future__ import annotations

import subprocess
import sys

from sandbox.rig import start_rig


def doctor(rig, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        env={**rig.env, **env},
        cwd=rig.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_doctor_checks_slack_jira_and_the_field_ids(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, start_bot=False)
    try:
        subprocess.run(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            env=rig.env,
            cwd=rig.workdir,
            check=True,
            capture_output=True,
            timeout=60,
        )
        healthy = doctor(rig)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        for check in (
            "database",
            "slack: auth.test ok",
            "jira: /myself ok",
            "jira fields: all",
            "jira projects: all",
        ):
            assert f"ok   {check}" in healthy.stdout
        wrong = doctor(
            rig,
            JIRA_FIELD_PRIORITY="customfield_99999",
            SLACK_BOT_TOKEN="xoxb-not-the-token",
            TEAMS='{"Payments": "TEAM", "Ghost": "NOPE"}',
        )
        assert wrong.returncode == 1
        assert "FAIL jira fields" in wrong.stdout and "JIRA_FIELD_PRIORITY=customfield_99999" in wrong.stdout
        assert "FAIL jira projects" in wrong.stdout and "TEAMS[Ghost]=NOPE" in wrong.stdout
        assert "FAIL slack" in wrong.stdout and "invalid_auth" in wrong.stdout
        assert "xoxb-not-the-token" not in wrong.stdout + wrong.stderr, "secrets never printed"
    finally:
        rig.stop()

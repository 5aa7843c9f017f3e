"""`python -m bot doctor` against the emulators: every check passes; a wrong field id or project, a
status, a priority value or a field the create screen lacks is named with its fix; a bad setting names
its variable."""

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


def upgrade(rig) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=rig.env,
        cwd=rig.workdir,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_doctor_checks_slack_jira_and_the_field_ids(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, start_bot=False)
    try:
        upgrade(rig)
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
            FOLLOWUP_JIRA_PROJECT_KEY="GONE",
        )
        assert wrong.returncode == 1
        assert "FAIL jira fields" in wrong.stdout and "JIRA_FIELD_PRIORITY=customfield_99999" in wrong.stdout
        assert "FAIL jira projects" in wrong.stdout and "TEAMS[Ghost]=NOPE" in wrong.stdout
        assert "FOLLOWUP_JIRA_PROJECT_KEY=GONE" in wrong.stdout
        chore = doctor(rig, FOLLOWUP_JIRA_ISSUE_TYPE="Chore")
        assert chore.returncode == 1 and "FAIL jira create screens" in chore.stdout
        assert "FOLLOWUP_JIRA_ISSUE_TYPE" in chore.stdout and "Chore" in chore.stdout
        assert "FAIL slack" in wrong.stdout and "invalid_auth" in wrong.stdout
        assert "xoxb-not-the-token" not in wrong.stdout + wrong.stderr, "secrets never printed"
    finally:
        rig.stop()


def test_doctor_proves_a_team_s_jira_matches_the_mappings(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, start_bot=False, jira_workflow="simple")
    try:
        upgrade(rig)
        healthy = doctor(rig)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        for check in ("jira statuses", "jira create screens", "jira priority: priority", "jira link types"):
            assert f"ok   {check}" in healthy.stdout

        mistyped = doctor(
            rig,
            JIRA_STATUS_TO_JIRA=rig.env["JIRA_STATUS_TO_JIRA"].replace("In Review", "In Reveiw"),
            JIRA_STATUS_FROM_JIRA=rig.env["JIRA_STATUS_FROM_JIRA"].replace("In Review", "In Reveiw"),
            JIRA_PRIORITY_VALUES='{"1": "Urgent", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}',
        )
        assert mistyped.returncode == 1
        assert (
            "FAIL jira statuses: 2 problems:\n"
            "    - JIRA_STATUS_TO_JIRA sends MITIGATED, POST_MORTEM to 'In Reveiw', a status the "
            "Incident workflow of INC does not have (it has To Do, In Progress, In Review, Done) → set it "
            "to one of those"
        ) in mistyped.stdout, "named with its fix, once per project tickets go to (INC, TEAM)"
        assert (
            "JIRA_PRIORITY_VALUES gives P1 the value 'Urgent', which priority does not offer in INC "
            "(it offers Highest, High, Medium, Low, Lowest) → use one of those"
        ) in mistyped.stdout
        assert "FAIL jira priority" in mistyped.stdout

        rig.jira.remove_from_create_screen("customfield_10201")
        missing = doctor(rig)
        assert missing.returncode == 1
        assert (
            "FAIL jira create screens: 2 problems:\n"
            "    - JIRA_FIELD_PLATFORM=customfield_10201 is not on the create screen of Incident in INC "
            "→ add the field to that screen in Jira, or set JIRA_FIELD_PLATFORM to a field that is on it"
        ) in missing.stdout
        assert "ok   jira statuses" in missing.stdout and "ok   jira priority" in missing.stdout

        unset = {k: v for k, v in rig.env.items() if k not in rig.shape.env}  # the seed's defaults
        wrong_site = subprocess.run(
            [sys.executable, "-m", "bot", "doctor"],
            env=unset,
            cwd=rig.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert wrong_site.returncode == 1, "the seed's defaults do not fit this site"
        assert "to 'Incoming', a status the Incident workflow of INC does not have" in wrong_site.stdout
        assert "JIRA_FIELD_PRIORITY=customfield_11064 is not on the create screen" in wrong_site.stdout

        invalid = doctor(rig, JIRA_SYNC_FIELDS='{"title": "sideways"}', JIRA_USER_MAP='{"acc-x": "x@y"}')
        assert invalid.returncode == 2
        assert (
            "JIRA_SYNC_FIELDS: title: 'sideways' is not one of both, to_jira, from_jira, off"
            in invalid.stderr
        )
        assert "JIRA_USER_MAP: acc-x: 'x@y' is not a Slack user id" in invalid.stderr
    finally:
        rig.stop()


def test_doctor_on_jira_data_center_names_the_deployment_and_the_bots_name(tmp_path) -> None:
    rig = start_rig(workdir=tmp_path, start_bot=False, jira="datacenter")
    try:
        upgrade(rig)
        healthy = doctor(rig)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert (
            "ok   jira: /myself ok on Jira Data Center: Incident Bot (JIRAUSER10000, acc-bot)"
            in healthy.stdout
        )
        assert "ok   jira fields: all" in healthy.stdout
        wrong = doctor(rig, JIRA_BOT_ACCOUNT_ID="someone-else", JIRA_PAT="not-the-pat")
        assert wrong.returncode == 1 and "not-the-pat" not in wrong.stdout + wrong.stderr
    finally:
        rig.stop()

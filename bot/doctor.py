"""`python -m bot doctor`: one line per check, so the first thing to run when something is wrong says what.

Against the live Jira it also proves the site is shaped as configured: the mapped statuses, the priority
field and its values, the create screens, the issue and link types; each problem comes with its fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import db, lanes
from bot.app import build_core
from bot.enums import Lane
from bot.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings) -> Iterator[Check]:
    """Each check runs even when an earlier one failed; errors are reported, never raised."""
    core = build_core(settings)
    yield Check("configuration", True, "settings loaded")
    missing = settings.missing_credentials()
    yield Check(
        "credentials", not missing, "all present" if not missing else "missing: " + "; ".join(missing)
    )
    yield _guarded("database", lambda: _database(core.engine))
    yield Check("redis", core.kv.ping(), "embedded in-process store" if core.kv.embedded else "PING answered")
    if settings.slack_bot_token is not None:
        yield _guarded("slack", lambda: _slack(settings))
    if settings.jira_enabled:
        yield _guarded("jira credentials", lambda: _jira_lane(core.engine))
        yield _guarded("jira", lambda: _jira_account(settings))
        yield _guarded("jira fields", lambda: _jira_fields(settings))
        yield _guarded("jira projects", lambda: _jira_projects(settings))
        yield from _jira_shape(settings)


class Problems(Exception):
    """A check's findings, one per line, each with its fix."""

    def __init__(self, problems: list[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        super().__init__(count + ":" + "".join(f"\n    - {problem}" for problem in problems))


def _guarded(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except Problems as exc:
        return Check(name, False, str(exc))
    except Exception as exc:
        return Check(name, False, f"{type(exc).__name__}: {str(exc)[:300]}")


def _database(engine: object) -> str:
    db.check_schema(engine)  # type: ignore[arg-type]
    return "reachable, schema up to date"


def _slack(settings: Settings) -> str:
    from slack_sdk import WebClient

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    answer = WebClient(token=token, base_url=settings.slack_api_url, timeout=10).auth_test()
    return f"auth.test ok: bot user {answer['user_id']} in team {answer.get('team_id')}"


def _jira_lane(engine: Engine) -> str:
    """What the running bot learnt: refused credentials (a 401, or Data Center's CAPTCHA 403) pause its
    Jira lane until they work again."""
    with Session(engine) as session:
        since = lanes.paused_since(session, Lane.JIRA)
        waiting = lanes.waiting(session, Lane.JIRA)
    if since is not None:
        raise ValueError(
            f"Jira has refused the bot's credentials since {since:%Y-%m-%d %H:%M} UTC; "
            f"{waiting} Jira job(s) wait: renew JIRA_API_TOKEN / JIRA_PAT (or, after a CAPTCHA, log in "
            "once in a browser as JIRA_USER)"
        )
    return f"accepted ({waiting} Jira job(s) queued)"


def _jira_account(settings: Settings) -> str:
    from sync.jira_client import JiraGateway
    from sync.jira_people import person_ids

    gateway = JiraGateway(settings)
    me = gateway.myself()
    ids = ", ".join(sorted(person_ids(me)))  # accountId on Cloud; name and key on Data Center
    configured = settings.jira_bot_account_id
    if configured and configured not in person_ids(me):
        raise ValueError(f"JIRA_BOT_ACCOUNT_ID is {configured} but the credentials belong to {ids}")
    deployment = "Jira Cloud" if gateway.cloud else "Jira Data Center"
    return f"/myself ok on {deployment}: {me.get('displayName')} ({ids})"


def _jira_fields(settings: Settings) -> str:
    from sync.jira_client import JiraGateway

    known = JiraGateway(settings).field_ids()
    wanted = {**settings.jira_incident_fields(), **settings.jira_postmortem_field_ids()}
    missing = [f"{name}={field_id}" for name, field_id in wanted.items() if field_id not in known]
    if missing:
        raise ValueError("unknown in Jira's /field: " + ", ".join(missing))
    return f"all {len(wanted)} configured field ids exist"


def _jira_projects(settings: Settings) -> str:
    from sync.jira_client import JiraGateway

    jira = JiraGateway(settings)
    wanted = settings.jira_projects()
    missing = [f"{name}={key}" for name, key in wanted.items() if not jira.has_project(key)]
    if missing:
        raise ValueError("no such project in Jira (or hidden from this account): " + ", ".join(missing))
    return f"all {len(wanted)} configured projects exist"


def _jira_shape(settings: Settings) -> Iterator[Check]:
    """The site as the mappings expect it (JIRA_STATUS_*, JIRA_FIELD_PRIORITY, JIRA_PRIORITY_VALUES, …)."""
    from sync import jira_checks
    from sync.jira_client import JiraGateway
    from sync.jira_mapping import JiraMapping

    jira, mapping = JiraGateway(settings), JiraMapping.from_settings(settings)
    for name, find, passed in (
        ("jira statuses", lambda: jira_checks.status_problems(jira, settings), "every mapped status exists"),
        (
            "jira create screens",
            lambda: jira_checks.screen_problems(jira, settings),
            "the issue types exist and every configured field is on their create screen",
        ),
        (
            "jira priority",
            lambda: jira_checks.priority_problems(jira, settings, mapping),
            f"{settings.jira_field_priority} offers every mapped value",
        ),
        ("jira link types", lambda: jira_checks.link_type_problems(jira), "a post-mortem link type exists"),
    ):
        yield _guarded(name, lambda find=find, passed=passed: _passed(find(), passed))


def _passed(problems: list[str], passed: str) -> str:
    if problems:
        raise Problems(problems)
    return passed

"""`python -m bot`: run the bot, run the sandbox, check the configuration, migrate, inspect jobs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot import db, logs
from bot.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logs.configure(settings.log_level)
    if args.command is None:
        return _start(settings, args)
    return args.handler(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Slack-first incident bot with Jira sync. With no command: run the bot when Slack and "
        "Jira credentials are configured, otherwise run the sandbox.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run", help="run the bot (Socket Mode, HTTP server, scheduler, workers)"
    ).set_defaults(handler=_run)
    sandbox = commands.add_parser(
        "sandbox", help="run the bot against local Slack and Jira emulators and walk one incident through"
    )
    sandbox.add_argument(
        "--jira-workflow",
        choices=["default", "simple"],
        default="default",
        help="the emulated Jira's shape: default (Incoming … Closed, priority in customfield_11064) or "
        "simple (To Do → In Progress → In Review → Done, Jira's own priority field)",
    )
    sandbox.add_argument(
        "--jira",
        choices=["cloud", "datacenter"],
        default="cloud",
        help="the emulated Jira deployment: cloud (accountIds, search/jql) or datacenter (a personal "
        "access token, people by name, search with startAt, changelogs without fieldId, CRLF text)",
    )
    sandbox.set_defaults(handler=_sandbox)
    commands.add_parser("doctor", help="check configuration, database, Redis, Slack and Jira").set_defaults(
        handler=_doctor
    )
    database = commands.add_parser("db", help="database schema")
    database.add_argument("action", choices=["upgrade"], help="upgrade: apply all migrations")
    database.set_defaults(handler=_db)
    reconcile = commands.add_parser("reconcile", help="replay Jira changes the bot has not applied")
    reconcile.add_argument("--once", action="store_true", required=True, help="run one reconciliation now")
    reconcile.set_defaults(handler=_reconcile)
    jobs = commands.add_parser("jobs", help="list pending and failed jobs")
    jobs.add_argument(
        "--retry",
        nargs="*",
        type=int,
        metavar="ID",
        help="put failed jobs back in the queue (all, or the given ids)",
    )
    jobs.set_defaults(handler=_jobs)
    return parser


def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.app import build_runtime
    from bot.runner import BotProcess, ensure_schema, run_until_signalled

    if missing := settings.missing_credentials():
        print("error: cannot start: missing configuration:", file=sys.stderr)
        for item in missing:
            print(f"  - {item}", file=sys.stderr)
        print(
            "Set them in the environment or in .env, or run `python -m bot sandbox` to try the bot "
            "against local emulators.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    runtime = build_runtime(settings)
    try:
        ensure_schema(runtime)
    except db.SchemaOutOfDate as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    run_until_signalled(BotProcess(runtime))
    return 0


def _start(settings: Settings, args: argparse.Namespace) -> int:
    """No command: run the bot when it is configured, else explain and run the sandbox."""
    if missing := settings.missing_credentials():
        names = ", ".join(item.split(" ")[0].rstrip(":") for item in missing)
        print(f"No Slack/Jira credentials configured ({names}):", file=sys.stderr)
        print(
            "running the sandbox against local emulators instead. See README.md to connect real ones.",
            file=sys.stderr,
        )
        return _sandbox(settings, args)
    return _run(settings, args)


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from sandbox.walk import run_sandbox

    return run_sandbox(
        jira_workflow=getattr(args, "jira_workflow", "default"), jira=getattr(args, "jira", "cloud")
    )


def _doctor(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.doctor import run_checks

    failures = 0
    for check in run_checks(settings):
        failures += not check.ok
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 1 if failures else 0


def _db(settings: Settings, _args: argparse.Namespace) -> int:
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    print("database schema is up to date")
    return 0


def _reconcile(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.app import build_runtime

    runtime = build_runtime(settings)
    if runtime.reconcile is None:
        print("error: Jira sync is not configured (JIRA_URL, ENABLE_JIRA, ENABLE_RAID)", file=sys.stderr)
        return EXIT_CONFIG
    if runtime.kv.embedded:
        print(
            "note: REDIS_URL is unset, so the reconciler lock covers this process only; the Slack "
            "messages it queues are sent by the running bot.",
            file=sys.stderr,
        )
    print(runtime.reconcile())
    return 0


def _jobs(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_core

    queue = build_core(settings).queue
    if args.retry is not None:
        print(f"{queue.retry_failed(args.retry)} failed job(s) put back in the queue")
        return 0
    jobs = queue.listing()
    if not jobs:
        print("no pending or failed jobs")
    for job in jobs:
        when = job.next_attempt_at.isoformat(timespec="seconds")
        print(
            f"#{job.id} {job.state:<8} {job.kind:<28} incident={job.incident_id} attempts={job.attempts} "
            f"next={when} {job.last_error or ''}".rstrip()
        )
    return 0

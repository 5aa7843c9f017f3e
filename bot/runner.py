"""The process runner behind `python -m bot run`: start every part, stop them cleanly on a signal.

Start order: schema check, workers, HTTP server, scheduler, then Socket Mode last, so that the first
Slack interaction finds everything ready. Stop order is the reverse; in-flight jobs get a few seconds
to finish and otherwise keep their lease, so another process (or this one, restarted) runs them.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from bot import db
from bot.app import Runtime
from bot.http_server import HttpServer, build_app
from bot.socket_mode import SocketModeHandler
from bot.workers import WorkerPool

logger = logging.getLogger(__name__)


def ensure_schema(runtime: Runtime) -> None:
    """SQLite upgrades itself (it is the single-process default); other databases must be upgraded."""
    if db.is_sqlite(runtime.engine):
        db.upgrade(runtime.engine)
    db.check_schema(runtime.engine)


class BotProcess:
    """The running parts of one bot process."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.workers = WorkerPool(runtime.queue, runtime.registry, threads=settings.worker_threads)
        self.http = HttpServer(
            build_app(health=runtime.health, refresh_metrics=runtime.refresh_metrics, routes=runtime.routes),
            host=settings.http_host,
            port=settings.http_port,
        )
        self.scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )
        for task in runtime.periodic:
            self.scheduler.add_job(
                task.run, "interval", seconds=task.seconds, id=task.name, replace_existing=True
            )
        self.socket_mode: SocketModeHandler | None = None

    def start(self) -> None:
        # Everything made so far (modules, clients, metadata) lives as long as the process: after one last
        # collection, keep it out of the collector's full passes, which paused every thread for 50-80 ms.
        gc.collect()
        gc.freeze()
        self.workers.start()
        self.http.start()
        self.scheduler.start()
        settings = self.runtime.settings
        if self.runtime.bolt is not None and settings.slack_app_token is not None:
            self.socket_mode = SocketModeHandler(
                self.runtime.bolt, app_token=settings.slack_app_token.get_secret_value()
            )
            self.socket_mode.connect()
        logger.info(
            "bot started: http on %s:%s, %s workers",
            settings.http_host,
            self.http.port,
            settings.worker_threads,
        )

    def stop(self) -> None:
        started = time.monotonic()
        if self.socket_mode is not None:
            self.socket_mode.close()
        self.scheduler.shutdown(wait=False)
        self.http.stop()
        self.workers.stop(timeout=max(1.0, 8.0 - (time.monotonic() - started)))
        logger.info("bot stopped in %.1f s", time.monotonic() - started)


def run_until_signalled(process: BotProcess) -> None:
    """Block until SIGTERM or SIGINT, then stop."""
    stop = threading.Event()

    def _handle(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    process.start()
    stop.wait()
    process.stop()

"""The embedded HTTP server (Starlette on uvicorn, in a thread): health, metrics, and sync's routes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

logger = logging.getLogger(__name__)


def build_app(
    *,
    health: Callable[[], dict[str, bool]],
    refresh_metrics: Callable[[], None],
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """`/healthz` answers 200 only when every check passes; `/metrics` is Prometheus text."""

    def healthz(_request: Request) -> Response:
        checks = health()
        return JSONResponse(
            {"ok": all(checks.values()), "checks": checks}, status_code=200 if all(checks.values()) else 503
        )

    def metrics(_request: Request) -> Response:
        refresh_metrics()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics), *routes])


class HttpServer:
    """uvicorn serving one Starlette app from a daemon thread, with a clean stop."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    "the embedded HTTP server did not start (is the port in use? see HTTP_PORT)"
                )
            time.sleep(0.01)

    @property
    def port(self) -> int:
        return self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

"""The embedded HTTP server: health and Prometheus metrics over a real socket."""

from __future__ import annotations

import requests
from sqlmodel import Session

from bot.app import build_core
from bot.http_server import HttpServer, build_app
from bot.jobs import enqueue
from bot.settings import load_settings


def test_healthz_and_metrics(database_url) -> None:
    runtime = build_core(load_settings(database_url=database_url))
    with Session(runtime.engine) as session:
        enqueue(session, "jira.push", lane="jira", incident_id=1)
        session.commit()
    server = HttpServer(
        build_app(health=runtime.health, refresh_metrics=runtime.refresh_metrics), host="127.0.0.1", port=0
    )
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["checks"] == {"database": True, "redis": True}
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert 'bot_job_backlog{state="pending"} 1.0' in metrics
        assert "bot_job_oldest_pending_seconds" in metrics
        assert requests.get(f"{base}/nope", timeout=5).status_code == 404
    finally:
        server.stop()
    runtime.engine.dispose()

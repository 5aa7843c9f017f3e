"""End-to-end fixtures: the real bot process between the Slack and Jira emulators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.rig import Rig, start_rig


@pytest.fixture
def rig(tmp_path, request) -> Iterator[Rig]:
    """A fresh rig per test (SQLite, embedded store); `@pytest.mark.rig_env(...)` adds variables."""
    marker = request.node.get_closest_marker("rig_env")
    rig = start_rig(workdir=tmp_path, env=marker.kwargs if marker else None)
    try:
        yield rig
    finally:
        rig.stop()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(rig.bot_log()[-8000:])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rig_env(**env): extra environment variables for the bot process")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

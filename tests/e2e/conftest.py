"""End-to-end fixtures: the real bot process between the Slack and Jira emulators.

The Jira emulator stands up Jira Cloud unless a test asks otherwise: `@pytest.mark.both_jiras` (on a
test, or as a module's `pytestmark`) runs it once per deployment, ids `[cloud]` and `[datacenter]`;
`@pytest.mark.parametrize("jira_deployment", [...], indirect=True)` picks the deployments by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.jira.emulator import DEPLOYMENTS
from sandbox.rig import Rig
from tests.e2e.rigs import running_rig


@pytest.fixture
def jira_deployment(request: pytest.FixtureRequest) -> str:
    """The Jira deployment the rig starts: `cloud`, or the test's parameter."""
    return getattr(request, "param", "cloud")


@pytest.fixture
def rig(tmp_path, request: pytest.FixtureRequest, jira_deployment: str) -> Iterator[Rig]:
    """A fresh rig per test (SQLite, embedded store) on the chosen Jira deployment."""
    with running_rig(request, tmp_path, jira=jira_deployment) as started:
        yield started


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rig_env(**env): extra environment variables for the bot process")
    config.addinivalue_line(
        "markers", "both_jiras: run the test against Jira Cloud and against Jira Data Center"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "jira_deployment" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_jiras"):
        metafunc.parametrize("jira_deployment", DEPLOYMENTS, indirect=True)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)

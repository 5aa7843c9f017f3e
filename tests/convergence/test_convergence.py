"""The sync converges: random interleavings of people, webhooks, outages and crashes end with Slack, the
bot and Jira agreeing (see `machine.py` for the model and its invariants).

CI runs a bounded number of examples (`CONVERGENCE_EXAMPLES`, default 12 per database and account
set-up); `python -m bench.convergence` runs the long soak. A failing example prints its steps as a
story and the seed to replay it with `pytest tests/convergence --hypothesis-seed=N`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.convergence.machine import machine_for
from tests.sync.conftest import Harness, build_harness, serving

EXAMPLES = int(os.environ.get("CONVERGENCE_EXAMPLES", "12"))


@pytest.fixture(params=["own account known", "own account unknown"])
def model_harness(request: pytest.FixtureRequest, database_url: str, emulators) -> Iterator[Harness]:
    """A killed worker's job is taken over once its lease runs out: short here, so examples stay short.
    With the bot's own Jira account unknown (as when Jira names it differently), the bounce keys alone
    must keep its writes from coming back."""
    extra = {"jira_bot_account_id": "acc-not-the-bot"} if request.param == "own account unknown" else {}
    with build_harness(database_url, emulators, job_lease_seconds=0.5, **extra) as harness, serving(harness):
        yield harness


@pytest.mark.timeout(900)
def test_slack_the_bot_and_jira_agree_once_things_calm_down(model_harness: Harness) -> None:
    run_state_machine_as_test(
        machine_for(model_harness),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        ),
    )

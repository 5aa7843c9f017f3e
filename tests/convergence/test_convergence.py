"""The sync converges: random interleavings of people, webhooks, outages and crashes end with Slack, the
bot and Jira agreeing (see `machine.py` for the model and its invariants).

CI runs a bounded number of examples (`CONVERGENCE_EXAMPLES`, default 20 per database); `python -m
bench.convergence` runs the long soak. A failing example prints its steps as a story and the seed to
replay it with `pytest tests/convergence --hypothesis-seed=N`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.convergence.machine import machine_for
from tests.sync.conftest import Harness, build_harness, serving

EXAMPLES = int(os.environ.get("CONVERGENCE_EXAMPLES", "20"))


@pytest.fixture
def model_harness(database_url: str, emulators) -> Iterator[Harness]:
    """A killed worker's job is taken over once its lease runs out: short here, so examples stay short.

    The bot knows its own Jira account, as it must: with the bounce keys alone (`python -m
    bench.convergence --own-account unknown`) a person who sets the very value the bot is writing, at
    that moment, is taken for its echo, and the real echo then comes back as a change from Jira."""
    with build_harness(database_url, emulators, job_lease_seconds=0.5) as harness, serving(harness):
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

"""The long soak of the convergence model: many random examples of people, webhooks, outages and crashes.

`tests/convergence` runs a few examples in CI; this runs as many as asked (`--examples 2000`) in batches,
each batch on fresh emulators and a fresh database (so the reconciler's window stays small), and prints
how many examples and steps passed and how long it took. A failure prints the example's story and its
seed, as the test does, and the script exits 1.

    python -m bench.convergence --examples 2000 [--db sqlite|postgresql] [--batch 200]
        [--own-account known|unknown] [--shrink] [--seed N]

Each batch runs on a seed (`--seed` for the first, then one more per batch); a failure prints the
batch's seed and the command that runs that batch again.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import hypothesis.core
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from bench._common import database, machine, print_table
from tests.convergence.machine import ConvergenceMachine, machine_for
from tests.sync.conftest import build_harness, running_emulators, serving


def run_batch(
    db: str, examples: int, steps: int, *, own_account_known: bool, shrink: bool, seed: int
) -> type[ConvergenceMachine]:
    extra = {} if own_account_known else {"jira_bot_account_id": "acc-not-the-bot"}
    with (
        tempfile.TemporaryDirectory(prefix="bench-convergence-") as workdir,
        database(db, Path(workdir)) as url,
        running_emulators() as emulators,
        build_harness(url, emulators, job_lease_seconds=0.5, **extra) as harness,
        serving(harness),
    ):
        model = machine_for(harness)
        hypothesis.core.global_force_seed = seed  # what `pytest --hypothesis-seed` sets
        run_state_machine_as_test(
            model,
            settings=settings(
                max_examples=examples,
                stateful_step_count=steps,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
                database=None,
                phases=list(Phase) if shrink else [Phase.generate],
            ),
        )
        return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200, help="examples per fresh harness")
    parser.add_argument("--steps", type=int, default=20, help="steps per example, at most")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--own-account",
        choices=("known", "unknown"),
        default="known",
        help="whether the bot recognises its own Jira account (unknown: only the bounce keys guard)",
    )
    parser.add_argument(
        "--shrink", action="store_true", help="shrink a failing example (slow: each example is a few seconds)"
    )
    parser.add_argument("--seed", type=int, help="the first batch's seed (default: a random one)")
    options = parser.parse_args()
    print(machine())
    started = time.monotonic()
    examples = steps = 0
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    while examples < options.examples:
        size = min(options.batch, options.examples - examples)
        try:
            model = run_batch(
                options.db,
                size,
                options.steps,
                own_account_known=options.own_account == "known",
                shrink=options.shrink,
                seed=seed,
            )
        except Exception as exc:
            seconds = time.monotonic() - started
            print(
                f"FAILED after {seconds:.0f} s, in batch from example {examples} (seed {seed}): "
                f"{type(exc).__name__}: {exc}\nThe failing example's story:"
            )
            print("\n".join(f"  {line}" for line in ConvergenceMachine.story))
            again = f"--seed {seed} --examples {size} --batch {size} --db {options.db}"
            print(
                f"This batch again: python -m bench.convergence {again} --own-account {options.own_account}"
            )
            return 1
        seed += 1
        examples += model.examples
        steps += model.steps
        print(f"  {examples} examples, {steps} steps, {time.monotonic() - started:.0f} s", flush=True)
    seconds = time.monotonic() - started
    print_table(
        f"Convergence soak ({options.db}, own Jira account {options.own_account})",
        ["examples", "steps", "seconds", "examples/min"],
        [[examples, steps, f"{seconds:.0f}", f"{examples / seconds * 60:.1f}"]],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

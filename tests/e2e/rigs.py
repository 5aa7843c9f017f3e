"""Starting the rig for one end-to-end test, whichever fixture asks (shared so none repeats it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.rig import Rig, start_rig


@contextmanager
def running_rig(request: pytest.FixtureRequest, tmp_path, **options: Any) -> Iterator[Rig]:
    """A rig with the variables of the test's `rig_env` marker, stopped afterwards; when the test
    failed, the end of the bot's log is printed."""
    marker = request.node.get_closest_marker("rig_env")
    rig = start_rig(workdir=tmp_path, env=marker.kwargs if marker else None, **options)
    try:
        yield rig
    finally:
        rig.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(rig.bot_log()[-8000:])

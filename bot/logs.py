"""Structured logs: one line per event, `key=value` pairs, with the incident, job and Jira key in context.

The worker binds the job it runs (and handlers bind the Jira key they touch), so every line logged
while handling it carries them without each call site repeating them.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_context", default=None)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Add fields to every log line emitted inside the block (on this thread)."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**values: Any) -> None:
    """Add fields for the rest of the current `bound` block (or of this thread's context)."""
    current = _context.get()
    if current is None:
        current = {}
        _context.set(current)
    current.update({k: v for k, v in values.items() if v is not None})


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=… logger=… msg="…" incident=… job=… jira=…`, exceptions on the following lines."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **(_context.get() or {}),
        }
        line = " ".join(f"{key}={_quote(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = KeyValueFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("slack_sdk", "slack_bolt", "urllib3", "apscheduler", "websockets", "uvicorn", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

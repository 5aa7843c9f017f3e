"""Fault tests reuse the in-process sync harness."""

from tests.sync.conftest import emulators, harness, webhook_url  # noqa: F401

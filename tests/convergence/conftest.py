"""The model reuses the in-process sync harness's emulators."""

from tests.sync.conftest import emulators  # noqa: F401

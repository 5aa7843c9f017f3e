"""`Hold`: one Web API call kept in flight inside the emulator, so a test can kill the bot mid-call.

The held call has been received and logged but gets no answer until `release()`; then it runs as usual.
Whether its client is still there by then does not matter: Slack finishes work it has received, and an
answer to a client that went away is simply lost.
"""

from __future__ import annotations

import threading


class Hold:
    """Blocks the next call of `method` inside the emulator until `release()`."""

    def __init__(self, method: str) -> None:
        self.method = method
        self._held = threading.Event()
        self._released = threading.Event()

    def wait_until_held(self, timeout: float = 5.0) -> bool:
        """True once a call is blocked here (it stays True after the release); False on timeout."""
        return self._held.wait(timeout)

    def release(self) -> None:
        """Let the held call complete; released before any call came, the next one goes straight through."""
        self._released.set()

    def block(self) -> None:
        """On the request's own thread: report the call as held, then wait for `release()`."""
        self._held.set()
        self._released.wait()

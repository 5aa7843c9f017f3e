"""The Socket Mode side of Slack: a WebSocket server at /link that pushes envelopes and collects acks.

Speaks what slack_sdk's SocketModeClient expects: `hello` on connect, envelopes
`{"envelope_id","type","accepts_response_payload","payload"}`, acks `{"envelope_id","payload"}`, and
`{"type":"disconnect"}` to make a client reconnect. Envelopes go round robin over open connections, as
Slack spreads them over an app's connections.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

log = logging.getLogger(__name__)
ACKED_TYPES = frozenset({"slash_commands", "interactive"})
# Frequent pings wake slack_sdk's reader thread, which blocks in recv() for up to 3 s; without them
# `SocketModeHandler.close()` takes 3 s because it joins that thread.
PING_INTERVAL = 0.2


@dataclass
class Ack:
    """A client's answer to one envelope; `latency` is seconds from sending the envelope to the ack."""

    envelope_id: str
    payload: dict[str, Any] | None
    latency: float

    @property
    def errors(self) -> dict[str, str] | None:
        """`ack(response_action="errors", errors=...)` of a view_submission listener."""
        if self.payload and self.payload.get("response_action") == "errors":
            return self.payload.get("errors")
        return None

    @property
    def text(self) -> str | None:
        return (self.payload or {}).get("text")


@dataclass
class _Pending:
    sent_at: float
    done: threading.Event
    ack: Ack | None = None


class SocketModeServer:
    """websockets.sync server on an ephemeral port; every method is safe to call from any thread."""

    def __init__(self, host: str, app_id: str) -> None:
        self.host = host
        self.app_id = app_id
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._connections: list[ServerConnection] = []
        self._pending: dict[str, _Pending] = {}
        self._round_robin = itertools.count()
        self._envelope_ids = itertools.count(1)
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.acks: list[Ack] = []

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._server = serve(
            self._handle,
            self.host,
            0,
            compression=None,
            close_timeout=0.5,
            open_timeout=5,
            ping_interval=PING_INTERVAL,
            ping_timeout=10,
            logger=log,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-socket-mode", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        assert self._server is not None, "SocketModeServer not started"
        return f"ws://{self.host}:{self._server.socket.getsockname()[1]}/link"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self._changed:
            for pending in self._pending.values():
                pending.done.set()

    # ---- connections ----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        with self._lock:
            return bool(self._connections)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def wait_connected(self, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._connections), timeout=timeout):
                raise AssertionError(f"no Socket Mode client connected within {timeout}s")

    def _handle(self, websocket: ServerConnection) -> None:
        path = websocket.request.path if websocket.request else ""
        if not path.startswith("/link"):
            websocket.close(code=1008, reason="unknown path")
            return
        with self._lock:
            count = len(self._connections) + 1
        hello = {
            "type": "hello",
            "num_connections": count,
            "connection_info": {"app_id": self.app_id},
            "debug_info": {"host": "sandbox", "approximate_connection_time": 18060},
        }
        try:
            websocket.send(json.dumps(hello))
            with self._changed:
                self._connections.append(websocket)
                self._changed.notify_all()
            for message in websocket:
                self._on_message(message)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if websocket in self._connections:
                    self._connections.remove(websocket)
                self._changed.notify_all()

    def _on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
            envelope_id = data["envelope_id"]
        except (ValueError, KeyError, TypeError):
            log.warning("Socket Mode: ignoring a frame that is not an ack: %r", message)
            return
        with self._lock:
            pending = self._pending.pop(envelope_id, None)
            if pending is None:
                log.warning("Socket Mode: ack for unknown envelope %s", envelope_id)
                return
            pending.ack = Ack(envelope_id, data.get("payload"), time.monotonic() - pending.sent_at)
            self.acks.append(pending.ack)
        pending.done.set()

    def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does before it retires a connection."""
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}})
        with self._lock:
            connections = list(self._connections)
        for websocket in connections:
            with contextlib.suppress(ConnectionClosed):
                websocket.send(message)

    # ---- envelopes ------------------------------------------------------------------------------
    def send_envelope(self, type_: str, payload: dict[str, Any], timeout: float) -> Ack:
        """Deliver one envelope to one connected client and wait for its ack."""
        envelope_id = f"env-{next(self._envelope_ids)}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "accepts_response_payload": type_ in ACKED_TYPES,
            "payload": payload,
        }
        if type_ == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        pending = _Pending(sent_at=0.0, done=threading.Event())
        self._deliver(envelope, pending)
        if not pending.done.wait(timeout) or pending.ack is None:
            with self._lock:
                self._pending.pop(envelope_id, None)
            raise TimeoutError(f"no ack for {type_} envelope {envelope_id} within {timeout}s")
        return pending.ack

    def _deliver(self, envelope: dict[str, Any], pending: _Pending) -> None:
        text = json.dumps(envelope)
        while True:
            with self._lock:
                if not self._connections:
                    raise ConnectionError("no Socket Mode client is connected to the Slack emulator")
                websocket = self._connections[next(self._round_robin) % len(self._connections)]
                pending.sent_at = time.monotonic()
                self._pending[envelope["envelope_id"]] = pending
            try:
                websocket.send(text)
                return
            except ConnectionClosed:
                with self._lock:
                    if websocket in self._connections:
                        self._connections.remove(websocket)

"""The Socket Mode connection to Slack: Bolt's built-in handler, with Nagle's algorithm turned off.

Acks are small writes. With Nagle on, an ack written while the previous frame is still unacknowledged
waits for the peer's delayed ACK (40 ms on Linux): about 5% of acks took 40-50 ms instead of ~12 ms
(bench/ack_latency). slack_sdk only sets TCP_NODELAY on proxied sockets, so every socket the client opens,
reconnections included, gets it here.
"""

from __future__ import annotations

import socket

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler as BoltSocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient


class NoDelaySocketModeClient(SocketModeClient):
    """slack_sdk's built-in client; `connect` (also used to reconnect) disables Nagle on the new socket."""

    def connect(self) -> None:
        super().connect()
        session = self.current_session
        sock = session.sock if session is not None else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class SocketModeHandler(BoltSocketModeHandler):
    """Bolt's handler (same `handle`, `connect`, `close`) over `NoDelaySocketModeClient`.

    It does not call the parent constructor, which would start a second client's threads only to drop it;
    the arguments are Bolt's defaults.
    """

    def __init__(self, app: App, app_token: str) -> None:
        self.app = app
        self.app_token = app_token
        self.client = NoDelaySocketModeClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            ping_interval=10,
            concurrency=10,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

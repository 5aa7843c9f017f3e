"""The bot's Socket Mode handler: Bolt's, with Nagle off on every socket, reconnections included."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.socket_mode import SocketModeHandler
from sandbox.slack import SlackEmulator, SlackUser


@pytest.fixture
def connected() -> Iterator[tuple[SlackEmulator, SocketModeHandler]]:
    """(The proxy variables WebClient would follow are removed for the whole run in tests/conftest.py.)"""
    emulator = SlackEmulator().start()
    emulator.add_user("U1", name="alice", email="alice@example.com", real_name="Alice")
    app = App(token="xoxb-sandbox", client=WebClient(token="xoxb-sandbox", base_url=emulator.api_url))

    @app.command("/incident")
    def incident(ack: Any) -> None:
        ack(text="Here to help")

    handler = SocketModeHandler(app, app_token="xapp-sandbox")
    handler.connect()
    emulator.wait_connected(timeout=5)
    yield emulator, handler
    handler.close()
    emulator.stop()


def nodelay(handler: SocketModeHandler) -> int:
    return handler.client.current_session.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_acks_travel_over_a_socket_without_nagle(connected) -> None:
    emulator, handler = connected
    assert nodelay(handler)
    ack = SlackUser(emulator, "U1").command("/incident", "help", channel_id=emulator.add_channel("general"))
    assert ack.payload == {"text": "Here to help"}


def test_a_reconnected_socket_has_nagle_off_too(connected) -> None:
    emulator, handler = connected
    first = handler.client.current_session
    emulator.disconnect_clients()
    emulator.wait_for(lambda: handler.client.current_session is not first and emulator.connected, timeout=15)
    assert nodelay(handler)
    ack = SlackUser(emulator, "U1").command("/incident", "help", channel_id=emulator.add_channel("general"))
    assert ack.payload == {"text": "Here to help"}

"""The loopback HTTP listener: a thin stdlib adapter over `Api`, closable and reopenable on one port.

HTTP/1.1 keep-alive is served (the `requests` session reuses connections), so closing the listener
also shuts the open connections; otherwise a client would keep talking over an old socket while
"connections are refused".
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .rest import Api, Response

logger = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by `refuse_connections`/`stop` are expected; anything else is logged."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            logger.error("Jira emulator connection from %s failed", client_address, exc_info=error)

    def close_connections(self) -> None:
        """Cut every open client connection."""
        with self.connections_lock:
            open_connections = list(self.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "JiraSandbox/1.0"
    timeout = 30  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._body()
        except ValueError:
            response = Response(400, {"errorMessages": ["Malformed request body framing."], "errors": {}})
            self.close_connection = True
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            response = self.server.api.handle(self.command, self.path, headers, body)
        payload = response.encoded()
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator keeps its own request log."""


class Listener:
    """Serves `api` on (host, port); `close()` then `open()` comes back on the same port."""

    def __init__(self, api: Api, host: str, port: int) -> None:
        self.api = api
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        """Whether the socket is listening."""
        return self._server is not None

    def open(self, retry_for: float = 2.0) -> None:
        """Bind and serve; a reopen retries briefly if the old socket is still being released."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                server = _Server((self.host, self.port), self.api)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="jira-emulator-http",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening and cut open connections (clients then see ConnectionRefused)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

"""The bare endpoint `webhook_intake` compares the bot against: the same server, nothing behind it.

Starlette on uvicorn, started exactly as the bot starts its own (`bot.http_server.HttpServer`: same
uvicorn config, served from a thread of its own process), with one route that reads the body and answers
200. The ratio bot/bare is then the cost of the webhook route itself — signature, JSON, the database —
on this machine in this run, whatever the machine's raw speed.

    python -m bench._bare --port 8099     # serves until SIGTERM/SIGINT
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.http_server import HttpServer

PATH = "/jira/webhook"


async def bare(request: Request) -> Response:
    await request.body()
    return Response(b'{"status":"ok"}', media_type="application/json")


def main() -> int:
    parser = argparse.ArgumentParser(description="a bare Starlette/uvicorn endpoint for webhook_intake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = HttpServer(
        Starlette(routes=[Route(PATH, bare, methods=["GET", "POST"])]), host=args.host, port=args.port
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Latency of kept-alive requests to the local API (issue 13 item 5): the site's software polls
``GET /api/status`` over one HTTP/1.1 connection, so each request's time is what it waits between polls.

Two servers, the same app, the same uvicorn settings, one difference: "before" listens on a socket
created with protocol 0 (as agent.api.server.bind_loopback made it before the fix: asyncio then never
sets TCP_NODELAY on the accepted connection, and Nagle's algorithm meets the client's delayed ACK);
"after" is the agent's own LoopbackServer (IPPROTO_TCP, TCP_NODELAY). The client is http.client with one
kept-alive connection; each request's wall time is measured, median and p95 over N requests after a
warm-up.

    .venv/bin/python benchmarks/api_keepalive.py [--requests N]

Writes benchmarks/results/api_keepalive.json. Aim: about 1 ms per kept-alive request.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.api.app import create_api  # noqa: E402
from agent.api.server import LoopbackServer  # noqa: E402
from tests.api.desk_fakes import make_desk  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "api_keepalive.json"
TOKEN = "benchmark-token-0123456789"
WARM_UP = 20
AIM_MS = 1.0


def _protocol_zero_socket(port: int) -> socket.socket:
    """The listening socket as it was made before the fix: protocol 0, so asyncio skips TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def measure(server: LoopbackServer, requests: int) -> dict[str, Any]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    headers = {"X-Agent-Token": TOKEN}
    times: list[float] = []
    try:
        for index in range(WARM_UP + requests):
            started = time.perf_counter()
            connection.request("GET", "/api/status", headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
            if index >= WARM_UP:
                times.append(elapsed * 1000)
    finally:
        connection.close()
    times.sort()
    return {
        "requests": requests,
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
        "max_ms": round(times[-1], 3),
    }


def run(requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        desk = make_desk(Path(directory))
        try:
            app = create_api(desk.service, token=TOKEN)
            after = LoopbackServer(app, port=0).start_in_thread()
            try:
                fixed = measure(after, requests)
                nodelay = after.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            finally:
                after.stop()
            before = LoopbackServer(app, port=0)
            before.socket.close()
            before.socket = _protocol_zero_socket(before.port)
            before.start_in_thread()
            try:
                old = measure(before, requests)
            finally:
                before.stop()
        finally:
            desk.close()
    return {"before_protocol_0": old, "after_ipproto_tcp": {**fixed, "listening_socket_nodelay": bool(nodelay)}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    figures = run(args.requests)
    report = {
        "benchmark": "api_keepalive",
        "command": " ".join([".venv/bin/python", "benchmarks/api_keepalive.py", *sys.argv[1:]]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "system": platform.platform()},
        "aim_ms": AIM_MS,
        **figures,
        "aim_met": figures["after_ipproto_tcp"]["p95_ms"] <= 2 * AIM_MS,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

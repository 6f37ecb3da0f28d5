"""``python -m agent serve`` as its own process, for the tests that need the real thing: started with the
reader and camera off, its page address read from what it prints, its API polled until it answers."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BANNER = re.compile(r"Desk page \((\w+)\): (http://127\.0\.0\.1:\d+)/#token=(\S+)")


@dataclasses.dataclass
class Served:
    process: subprocess.Popen[str]
    url: str
    profile: str  # the site kind the banner names
    output: list[str]  # what it printed up to the banner

    def status(self, token: str, *, within_s: float = 10) -> httpx.Response:
        """``GET /api/status``, retried while the server is not yet accepting connections."""
        deadline = time.monotonic() + within_s
        while True:
            try:
                return httpx.get(f"{self.url}/api/status", headers={"X-Agent-Token": token}, timeout=2)
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)


@contextlib.contextmanager
def serve(env: Mapping[str, str], token: str) -> Iterator[Served]:
    """``serve --port 0 --no-reader --no-camera --token TOKEN`` until its banner; killed on the way out if
    the test has not stopped it."""
    process = subprocess.Popen([sys.executable, "-m", "agent", "serve", "--port", "0", "--no-reader", "--no-camera",
                                "--token", token], cwd=ROOT, env=dict(env), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    try:
        assert process.stdout is not None
        banner = None
        for line in process.stdout:
            output.append(line)
            banner = BANNER.search(line)
            if banner and banner.group(3) == token:
                break
        assert banner, "serve did not print the page address:\n" + "".join(output)
        yield Served(process, banner.group(2), banner.group(1), output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

"""The smoke test an installed agent must pass, whatever installed it (the wheel in a fresh virtual
environment, the frozen one-folder application): run from a folder outside the checkout, with a home,
data, settings and log directories of its own and nothing of the checkout on the path."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

import agent
from agent.doctor import STATUSES

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "smoke-test-token"  # the smoke test's own API token, loopback only
BANNER = re.compile(r"Desk page \((\w+)\): (http://127\.0\.0\.1:\d+)/#token=")


def clean_environment(work: Path) -> dict[str, str]:
    """What a desk PC's shell would have: no PYTHONPATH, no virtual environment, per-user dirs of its own."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8",
           "XDG_DATA_HOME": str(work / "home" / "data"), "XDG_CONFIG_HOME": str(work / "home" / "config"),
           "XDG_STATE_HOME": str(work / "home" / "state"), "XDG_CONFIG_DIRS": str(work / "etc-xdg"),
           "PYTHONUNBUFFERED": "1"}
    for name in ("PIP_FIND_LINKS", "PIP_DEFAULT_TIMEOUT", "PIP_CERT", "PIP_DISABLE_PIP_VERSION_CHECK",
                 "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        if name in os.environ:
            env[name] = os.environ[name]
    # The suite's own pip cache (filled by `make deps`), not the empty one of the made-up home.
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    return env


def run(command: Sequence[str], work: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], cwd=work, env=clean_environment(work), capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def smoke(command: Sequence[str], work: Path, *, installed_under: Path) -> dict[str, float]:
    """Run the installed agent the way a technician first would; returns how long each step took."""
    work.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}

    def timed(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = run(command, work, *args)
        times[name] = round(time.monotonic() - started, 2)
        return done

    version = timed("version", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith(f"cccd-agent {agent.__version__} ")

    config = timed("config", "config", "--json")
    assert config.returncode == 0, config.stderr
    chain = json.loads(config.stdout)["chain"]
    defaults = Path(chain[0]["source"])
    assert defaults.name == "default.toml" and installed_under in defaults.parents, defaults
    assert ROOT not in defaults.parents  # not the checkout's files
    assert [link["layer"] for link in chain[:4]] == ["defaults", "profile", "user", "site"]

    read = timed("read", "read", "--simulate", "normal", "--json")
    assert read.returncode == 0, read.stdout + read.stderr
    evidence = json.loads(read.stdout)["authenticity"]
    assert (evidence["passive"], evidence["chip"]) == ("ok", "ok")

    times["serve"] = serve_and_stop(command, work)

    # The day-to-day commands, on the store and audit log serve left behind.
    for name, args, codes in (("trust", ("trust", "list", "--json"), (0,)),
                              ("sync-status", ("sync", "--status", "--json"), (0,)),
                              ("audit", ("audit", "verify", "--json"), (0,)),
                              ("receipt-key", ("receipt-key",), (0,)),
                              ("readers", ("readers", "--json"), (0, 69))):  # 69: no PC/SC here
        done = timed(name, *args)
        assert done.returncode in codes, (name, done.stdout, done.stderr)
        if "--json" in args:
            json.loads(done.stdout)
    times["demo"] = demo_starts_and_stops(command, work)

    doctor = timed("doctor", "doctor", "--json")
    assert doctor.returncode in (0, 1), doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["status"] in STATUSES and len(report["items"]) >= 15
    assert {"versions", "store.integrity", "audit", "log"} <= {item["item"] for item in report["items"]}
    store = next(item for item in report["items"] if item["item"] == "store.integrity")
    assert store["status"] == "ok", store  # the store serve made, opened again

    # serve's records reached the log file in the platform's log directory (here: its warning that no
    # CSCA is loaded yet).
    (log_file,) = (work / "home" / "state").rglob("agent.log")
    assert "trust anchor unknown" in log_file.read_text(encoding="utf-8")
    return times


def serve_and_stop(command: Sequence[str], work: Path) -> float:
    """``serve`` answers /api/status and the desk page, and stops on SIGTERM with exit 0, auditing it."""
    started = time.monotonic()
    process = subprocess.Popen([*command, "serve", "--port", "0", "--token", TOKEN, "--no-reader", "--no-camera"],
                               cwd=work, env=clean_environment(work), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in process.stdout or ()),
                              daemon=True)
    reader.start()
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and process.poll() is None:
            match = next((m for m in map(BANNER.search, list(lines)) if m), None)
            url = match.group(2) if match else None
            time.sleep(0.05)
        assert url, "serve printed no address:\n" + "\n".join(lines)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        status = httpx.get(url + "/api/status", headers=headers, timeout=10)
        assert status.status_code == 200, status.text
        assert {"readers", "sync", "site_profile"} <= set(status.json())
        page = httpx.get(url + "/", timeout=10)
        assert page.status_code == 200 and "desk.js" in page.text
        assert httpx.get(url + "/static/desk.js", timeout=10).status_code == 200
        took = time.monotonic() - started
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, "\n".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    reader.join(5)
    audit = next((work / "home" / "data").rglob("audit.jsonl"))
    actions = [json.loads(line)["action"] for line in audit.read_text().splitlines()]
    assert actions[-2:] == ["agent_started", "agent_stopped"], actions
    return round(took, 2)


def demo_starts_and_stops(command: Sequence[str], work: Path) -> float:
    """The demo (simulated cards and backends) comes up with its desk page and stops on Ctrl-C."""
    started = time.monotonic()
    process = subprocess.Popen([*command, "demo", "--simulator", "in-process", "--port", "0", "--token", TOKEN],
                               cwd=work, env=clean_environment(work), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in process.stdout or ()),
                              daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            url = next((m.group(1) for m in map(DEMO_BANNER.search, list(lines)) if m), None)
            time.sleep(0.05)
        assert url, "the demo printed no address:\n" + "\n".join(lines)
        assert "desk.js" in httpx.get(url + "/", timeout=10).text
        took = time.monotonic() - started
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, "\n".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return round(took, 2)


DEMO_BANNER = re.compile(r"Desk page \(\w+, demo\): (http://127\.0\.0\.1:\d+)/#token=")

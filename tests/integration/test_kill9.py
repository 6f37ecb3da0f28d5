"""Kill -9 of the agent at random points, while it records checks (``verify``) and while it syncs
(``sync --once``), against the real mock backend over loopback and a real SQLite file: afterwards
nothing is lost (every recorded check reaches the backend after one clean sync, every ``verify`` that
answered was recorded, no result without its event) and nothing is duplicated (each check exactly
once on the backend, as ``/_admin/events`` shows), and the database is intact.

The two kill loops run side by side on the same store, as a desk's ``verify`` and its sync service
would; this also keeps the test well under two minutes.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from agent.models import Verdict
from agent.settings import load_settings
from agent.wiring.production import build_backends, build_service, open_audit, open_store
from simulators.backends.data import build_world
from simulators.backends.server import MockBackends

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-kill9"
VERIFY_KILLS = 26
SYNC_KILLS = 26
PER_ROUND = 8  # checks queued before each sync round: 8 uploads (batch_size 1), 20 ms each


def test_kill9_while_recording_and_while_syncing(tmp_path):
    world = build_world(9, today=date.today())
    people = sorted(world.citizens)
    verify_people, offline_people = people[:VERIFY_KILLS + 1], iter(people[VERIFY_KILLS + 1:])
    database = tmp_path / "agent.sqlite3"
    config = tmp_path / "agent.toml"

    with MockBackends(token=TOKEN, world=world) as backends:
        backends.set_faults(latency_ms=20)  # every backend call takes a while: more places to be killed
        config.write_text(
            "[backends]\n"
            f'insurance_url = "{backends.insurance_url}"\nlicensing_url = "{backends.licensing_url}"\n'
            f'token = "{TOKEN}"\nretries = 1\nconnect_timeout_s = 0.5\nread_timeout_s = 2.0\n'
            "[store]\n"
            f'path = "{database}"\nkey_file = "{tmp_path / "store.key"}"\n'
            "[sync]\nbatch_size = 1\n",
            encoding="utf-8",
        )

        def agent(*args: str) -> subprocess.Popen[str]:
            return subprocess.Popen([sys.executable, "-m", "agent", args[0], "--config", str(config), *args[1:]],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def timed(*args: str) -> tuple[float, str]:
            started = time.monotonic()
            process = agent(*args)
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            return time.monotonic() - started, out

        def run_and_kill(rng: random.Random, args: tuple[str, ...], window: list[float]) -> tuple[bool, str]:
            """Start the agent, SIGKILL it after a random delay in ``window``: (finished by itself, stdout).

            A run that ends before its kill moves the window's end towards its duration, so the kills
            keep landing inside the work when the machine gets faster or slower than at calibration.
            """
            started = time.monotonic()
            process = agent(*args)
            deadline = started + rng.uniform(*window)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.005)
            finished = process.poll() is not None
            if finished:
                window[1] = max(window[0] + 0.05, 0.7 * window[1] + 0.3 * (time.monotonic() - started))
            process.kill()
            out, _err = process.communicate(timeout=30)
            return finished and process.returncode == 0, out

        # Checks made while the backend cannot be reached are queued by an in-process agent whose
        # backend address is dead, so the real backend stays up for the processes being killed.
        offline_settings = load_settings(environ={}, overrides={
            "backends": {"insurance_url": "http://127.0.0.1:9/insurance", "licensing_url": "http://127.0.0.1:9/l",
                         "retries": 0},
            "store": {"path": str(database), "key_file": str(tmp_path / "store.key")},
        })

        def queue_offline(count: int) -> None:
            with open_store(offline_settings) as store:
                desk = build_service(offline_settings, store=store, audit=open_audit(offline_settings),
                                     backends=build_backends(offline_settings), profile="clinic")
                for _ in range(count):
                    assert desk.verify_manual(next(offline_people)).result.verdict is Verdict.CANNOT_CHECK

        # Calibrate so that the kills land inside the work, not before it starts or after it ends.
        verify_s, out = timed("verify", "--id", verify_people[0], "--json")
        answered = {json.loads(out)["result"]["result_id"]}
        startup_s, _ = timed("sync", "--status")
        queue_offline(PER_ROUND)
        sync_s = max(timed("sync", "--once")[0], startup_s + 0.05)

        outcomes: dict[str, list[bool]] = {"verify": [], "sync": []}

        def verify_loop() -> None:  # killed while looking up, recording and queueing, or sending
            rng, window = random.Random(1), [0.8 * startup_s, 1.1 * verify_s]
            for id_number in verify_people[1:]:
                done, out = run_and_kill(rng, ("verify", "--id", id_number, "--json"), window)
                outcomes["verify"].append(done)
                if done:
                    answered.add(json.loads(out)["result"]["result_id"])

        def sync_loop() -> None:  # killed between a batch's upload, the backend's answer and our commit
            rng, window = random.Random(2), [0.9 * startup_s, 1.05 * sync_s]
            for _ in range(SYNC_KILLS):
                queue_offline(PER_ROUND)
                done, _out = run_and_kill(rng, ("sync", "--once"), window)
                outcomes["sync"].append(done)

        loops = [threading.Thread(target=verify_loop), threading.Thread(target=sync_loop)]
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()

        # One clean sync, then count.
        backends.clear_faults()
        timed("sync", "--once", "--json")
        events = backends.events()

    assert len(outcomes["verify"]) + len(outcomes["sync"]) >= 50
    assert outcomes["sync"].count(False) >= SYNC_KILLS // 4, "the sync kills should land inside a sync"
    assert outcomes["verify"].count(False) >= VERIFY_KILLS // 4
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        results = {row[0] for row in conn.execute("SELECT result_id FROM results")}
        outbox = dict(conn.execute("SELECT event_id, state FROM outbox").fetchall())
    assert set(outbox) == results, "a result without its event, or an event without its result"
    assert set(outbox.values()) == {"sent"}, Counter(outbox.values())
    assert answered <= results, "a verify answered but its result was not kept"
    assert len(results) >= (SYNC_KILLS + 1) * PER_ROUND + len(answered)

    on_backend = Counter(e["event_id"] for e in events)
    assert set(on_backend) == results, "lost, or unknown to the store"
    assert max(on_backend.values()) == 1
    per_person = Counter(e["data"]["id_number"] for e in events)
    assert max(per_person.values()) == 1, "one check stored twice under two event ids"

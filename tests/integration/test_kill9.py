"""Kill -9 of the agent at random points, while it records checks (``verify``) and while it syncs
(``sync --once``), against the real mock backend over loopback and a real SQLite file: afterwards
nothing is lost (every recorded check reaches the backend after one clean sync, every ``verify`` that
answered was recorded) and nothing is duplicated (each check exactly once on the backend, as seen
in ``/_admin/events``), and the database is intact."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from agent.entitlement import build_backends, build_entitlement, open_store
from agent.models import Identity
from agent.settings import load_settings
from simulators.backends.data import build_world
from simulators.backends.server import MockBackends

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-kill9"
VERIFY_KILLS = 28
SYNC_KILLS = 28
PER_ROUND = 8  # checks queued before each sync round: 8 uploads (batch_size 1) at 20 ms each


def test_kill9_while_recording_and_while_syncing(tmp_path):
    rng = random.Random(20240701)
    world = build_world(9, today=date.today())
    people = iter(sorted(world.citizens))
    database = tmp_path / "agent.sqlite3"
    config = tmp_path / "agent.toml"

    with MockBackends(token=TOKEN, world=world) as backends:
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

        def run_and_kill(args: tuple[str, ...], low: float, high: float) -> tuple[bool, str]:
            """Start the agent, SIGKILL it after a random delay; (finished by itself, its stdout)."""
            process = agent(*args)
            time.sleep(rng.uniform(low, high))
            finished = process.poll() is not None
            process.kill()
            out, _err = process.communicate(timeout=30)
            return finished and process.returncode == 0, out

        # Calibrate: how long one verify and one sync take here, so the kills land inside them.
        backends.set_faults(latency_ms=20)  # every backend call takes a while: more places to be killed
        started = time.monotonic()
        first = agent("verify", "--id", next(people), "--json")
        out, err = first.communicate(timeout=60)
        verify_s = time.monotonic() - started
        print("verify_s", verify_s)
        assert first.returncode == 0, err
        answered = {json.loads(out)["result"]["result_id"]}

        # 1. Killed while recording: verify = start-up, lookup, record + queue, immediate send.
        verified_ids: list[str] = []
        for _ in range(VERIFY_KILLS):
            id_number = next(people)
            verified_ids.append(id_number)
            done, out = run_and_kill(("verify", "--id", id_number, "--json"), 0.3 * verify_s, 1.1 * verify_s)
            if done:
                answered.add(json.loads(out)["result"]["result_id"])

        # 2. Killed while syncing: queue checks made while the backend is down, then drain slowly.
        settings = load_settings(environ={}, overrides={
            "backends": {"insurance_url": backends.insurance_url, "licensing_url": backends.licensing_url,
                         "token": TOKEN, "retries": 0, "breaker_failures": 0},
            "store": {"path": str(database), "key_file": str(tmp_path / "store.key")},
        })

        def queue_offline(count: int) -> None:
            backends.set_faults(down=True)
            with open_store(settings) as store:
                entitlement = build_entitlement(settings, store, build_backends(settings))
                for _ in range(count):
                    entitlement.check(Identity(next(people)), "clinic")
            backends.set_faults(down=False, latency_ms=20)

        # Calibrate: start-up alone (``sync --status``), and a whole sync of one round's worth.
        queue_offline(PER_ROUND)
        started = time.monotonic()
        agent("sync", "--status").communicate(timeout=60)
        startup_s = time.monotonic() - started
        started = time.monotonic()
        agent("sync", "--once").communicate(timeout=60)
        sync_s = max(time.monotonic() - started, startup_s + 0.05)
        print("startup_s", startup_s, "sync_s", sync_s)
        kills_mid_sync = 0
        for _ in range(SYNC_KILLS):
            queue_offline(PER_ROUND)
            done, _out = run_and_kill(("sync", "--once"), 0.9 * startup_s, 1.05 * sync_s)
            kills_mid_sync += not done
        print("end", time.monotonic())
        # 3. One clean sync, then count.
        backends.clear_faults()
        final = agent("sync", "--once", "--json")
        out, err = final.communicate(timeout=60)
        assert final.returncode == 0, (out, err)

        events = backends.events()

    assert kills_mid_sync >= SYNC_KILLS // 3, "the kills should mostly land inside a sync"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        results = {row[0] for row in conn.execute("SELECT result_id FROM results")}
        outbox = dict(conn.execute("SELECT event_id, state FROM outbox").fetchall())
    assert set(outbox) == results, "a result without its event, or an event without its result"
    assert set(outbox.values()) == {"sent"}, Counter(outbox.values())
    assert answered <= results, "a verify answered but its result was not kept"

    on_backend = Counter(e["event_id"] for e in events)
    assert set(on_backend) == results, "lost, or unknown to the store"
    assert max(on_backend.values()) == 1
    per_person = Counter(e["data"]["id_number"] for e in events)
    assert max(per_person.values()) == 1, "one check was stored twice under two ids"
    killed_before_recording = VERIFY_KILLS + 1 - sum(1 for i in verified_ids if i in per_person) - 1
    assert 0 <= killed_before_recording < VERIFY_KILLS  # the kills were spread over the run, not all too early

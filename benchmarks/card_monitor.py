"""Card monitoring through pcscd + vpcd: how long after a card is put on (a vpcd client connects) or
taken off (it disconnects) each monitor reports it, and how long stopping the monitor takes, for
agent.nfc.monitor.CardMonitor and for pyscard's own CardMonitor/CardObserver.

Needs pcscd with the vpcd driver (it starts ``pcscd -f`` as root when none runs, and stops it after).
Writes benchmarks/results/card_monitor.json.   Usage: .venv/bin/python benchmarks/card_monitor.py [N]
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.errors import AgentError  # noqa: E402
from agent.nfc.monitor import CardEventKind, CardMonitor  # noqa: E402
from agent.nfc.pcsc import PcscSystem  # noqa: E402
from tests.nfc.fake_vpcd_card import ScriptedCard, VpcdCard  # noqa: E402

READER = "Virtual PCD 00 00"
PORT = int(os.environ.get("CCCD_VPCD_PORT", "35963"), 0)
STOP_CAP = 10.0


def ensure_pcscd() -> subprocess.Popen[bytes] | None:
    try:
        PcscSystem().readers()
        return None
    except AgentError:  # no usable pcscd yet
        pass
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    process = subprocess.Popen([binary, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if any(r.name == READER for r in PcscSystem().readers()):
                return process
        except AgentError:
            pass
        time.sleep(0.01)
    process.terminate()
    raise SystemExit("pcscd with the vpcd driver did not come up")


def wait_absent() -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not next(r for r in PcscSystem().readers() if r.name == READER).card_present:
            return
        time.sleep(0.01)


def measure_ours(cycles: int) -> dict[str, object]:
    inserts, removals = [], []
    monitor = CardMonitor(readers=[READER], report_present=False)
    monitor.start()
    for _ in range(cycles):
        card = VpcdCard(PORT, ScriptedCard())
        start = time.perf_counter()
        card.insert()
        event = monitor.events.get(timeout=5)
        assert event.kind is CardEventKind.INSERTED
        inserts.append(time.perf_counter() - start)
        start = time.perf_counter()
        card.remove()
        event = monitor.events.get(timeout=5)
        assert event.kind is CardEventKind.REMOVED
        removals.append(time.perf_counter() - start)
    start = time.perf_counter()
    monitor.stop()
    stop = time.perf_counter() - start
    return summary(inserts, removals, stop)


def measure_pyscard(cycles: int) -> dict[str, object]:
    from smartcard.CardMonitoring import CardMonitor as PyscardMonitor
    from smartcard.CardMonitoring import CardObserver

    changes: queue.Queue[tuple[int, int]] = queue.Queue()

    class Observer(CardObserver):  # type: ignore[misc]
        def update(self, observable: object, handlers: tuple[list[object], list[object]]) -> None:
            added, removed = handlers
            changes.put((len(added), len(removed)))

    monitor = PyscardMonitor()
    observer = Observer()
    monitor.addObserver(observer)
    time.sleep(0.5)  # its first scan
    while not changes.empty():
        changes.get()
    inserts, removals = [], []
    for _ in range(cycles):
        card = VpcdCard(PORT, ScriptedCard())
        start = time.perf_counter()
        card.insert()
        assert changes.get(timeout=5)[0] == 1
        inserts.append(time.perf_counter() - start)
        start = time.perf_counter()
        card.remove()
        assert changes.get(timeout=5)[1] == 1
        removals.append(time.perf_counter() - start)
    from smartcard.CardMonitoring import CardMonitoringThread

    thread = CardMonitoringThread.instance
    start = time.perf_counter()
    monitor.deleteObserver(observer)
    if thread is not None:
        thread.join(STOP_CAP)
    stop = time.perf_counter() - start
    result = summary(inserts, removals, stop)
    # pyscard 2.3.1 (_START_ON_DEMAND_ = False): removing the last observer leaves its thread running,
    # blocked in a 60 s wait, until the process ends; there is no way to stop it.
    result["thread_still_running_after_stop"] = thread is not None and thread.is_alive()
    return result


def summary(inserts: list[float], removals: list[float], stop: float) -> dict[str, object]:
    def stats(values: list[float]) -> dict[str, float]:
        ms = sorted(v * 1000 for v in values)
        return {
            "median_ms": round(statistics.median(ms), 1),
            "min_ms": round(ms[0], 1),
            "max_ms": round(ms[-1], 1),
        }

    return {"insert": stats(inserts), "remove": stats(removals), "stop_ms": round(stop * 1000, 1)}


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    process = ensure_pcscd()
    try:
        wait_absent()
        ours = measure_ours(cycles)
        wait_absent()
        theirs = measure_pyscard(cycles)
    finally:
        if process is not None:
            process.terminate()
            process.wait(5)
    result = {
        "cycles": cycles,
        "reader": READER,
        "note": "latency from the vpcd client connecting / disconnecting to the monitor's report; "
        "pcscd polls vpcd for presence about every 400 ms, which dominates both",
        "agent.nfc.monitor.CardMonitor": ours,
        "pyscard CardMonitor": theirs,
        "stop_cap_s": STOP_CAP,
    }
    out = ROOT / "benchmarks" / "results" / "card_monitor.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""The local store under load: check-cache lookups (keyed hash + AES-GCM open) at 10k, 100k and 1M
rows, outbox drain throughput to the mock backend served by another process over loopback, and the
database size per 1,000 verification results (result + queued event + cache entry, as ``verify``
writes them).

The 1M-row fill goes through ``store.cache.put_many`` (one transaction, chunked executemany), so
every row is sealed and hashed exactly as in production. Lookups are timed one by one with
perf_counter on a warm cache (the desk's steady state), 90% hits and 10% misses.

Writes benchmarks/results/store.json.   Usage: .venv/bin/python benchmarks/store.py [--quick]
Aims (issue 6): lookup p99 <= 2 ms at 1M rows; drain >= 1,000 results/s.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.checks.http import BackendHttp, new_session  # noqa: E402
from agent.checks.insurance import InsuranceClient  # noqa: E402
from agent.checks.licensing import LicensingClient  # noqa: E402
from agent.checks.uploader import BackendUploader  # noqa: E402
from agent.models import (  # noqa: E402
    BackendCheck,
    ChipEvidence,
    Identity,
    SiteKind,
    Source,
    Status,
    Verdict,
    VerificationResult,
)
from sync.keys import KeyFile  # noqa: E402
from sync.store import OutboundEvent, Store  # noqa: E402
from sync.syncer import Syncer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "store.json"
AIM_LOOKUP_P99_MS = 2.0
AIM_DRAIN_PER_S = 1000.0
TOKEN = "bench-token"
LOOKUPS = 3000


def id_of(n: int) -> str:
    return f"038{n:09d}"


def card_check(n: int, at: datetime) -> BackendCheck:
    return BackendCheck("insurance", "valid", {
        "card_number": f"GD438{n:010d}", "valid_from": "2025-01-01", "valid_to": "2025-12-31",
        "benefit_level": 4, "benefit_rate": 80, "facility_code": "38001",
        "facility_name": "Bệnh viện Đa khoa tỉnh Thanh Hóa",
    }, checked_at=at)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cache_lookups(folder: Path, sizes: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    store = Store.open(folder / "cache.sqlite3", KeyFile(folder / "cache.key"))
    filled = 0
    rng = random.Random(6)
    try:
        for size in sizes:
            started = time.perf_counter()
            store.cache.put_many((id_of(n), card_check(n, now)) for n in range(filled, size))
            fill_s = time.perf_counter() - started
            filled = size
            store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            probes = [id_of(rng.randrange(size)) if rng.random() < 0.9 else id_of(size + rng.randrange(10**6))
                      for _ in range(LOOKUPS)]
            for probe in probes[:200]:  # warm up
                store.cache.get("insurance", probe, max_age_s=86400)
            timings, hits = [], 0
            for probe in probes:
                t0 = time.perf_counter()
                answer = store.cache.get("insurance", probe, max_age_s=86400)
                timings.append((time.perf_counter() - t0) * 1000)
                hits += answer is not None
            rows.append({
                "rows": size,
                "fill_s": round(fill_s, 2),
                "fill_rows_per_s": round((size - (rows[-1]["rows"] if rows else 0)) / fill_s),
                "lookups": LOOKUPS,
                "hits": hits,
                "p50_ms": round(statistics.median(timings), 4),
                "p99_ms": round(percentile(timings, 0.99), 4),
                "max_ms": round(max(timings), 3),
                "file_mb": round((folder / "cache.sqlite3").stat().st_size / 1e6, 1),
            })
            print(f"cache {size:>9,} rows: p50 {rows[-1]['p50_ms']:.3f} ms  p99 {rows[-1]['p99_ms']:.3f} ms  "
                  f"(fill {fill_s:.1f} s)", flush=True)
    finally:
        store.close()
    return rows


def result_for(n: int, at: datetime) -> VerificationResult:
    person = Identity(id_number=id_of(n), full_name="Nguyễn Thị Thu Hằng", date_of_birth=datetime(1987, 5, 6).date(),
                      sex="Nữ", address="Số 12, đường Lê Lợi, phường Điện Biên, thành phố Thanh Hóa, tỉnh Thanh Hóa",
                      place_of_origin="xã Quảng Tâm, huyện Quảng Xương, Thanh Hóa", nationality="Việt Nam")
    evidence = ChipEvidence(passive=Status.OK, chip=Status.OK, passive_checks={"sod_signature": Status.OK,
                                                                              "chain": Status.OK})
    return VerificationResult(str(uuid.uuid4()), Source.CHIP, person, at, Verdict.VERIFIED, ("insurance: valid",),
                              evidence, (card_check(n, at),), SiteKind.CLINIC, "le-tan-1")


def event_for(result: VerificationResult) -> OutboundEvent:
    return OutboundEvent(result.result_id, "insurance", {
        "event_id": result.result_id, "type": "insurance_checkin", "occurred_at": result.created_at.isoformat(),
        "site_id": "bv-38001", "operator": "le-tan-1", "id_number": result.identity.id_number,
        "verdict": "verified", "check_status": "valid", "from_cache": False, "card_number": "GD4380000000001",
        "facility_code": "38001",
    })


def size_per_thousand(folder: Path, count: int = 1000) -> dict[str, Any]:
    path = folder / "size.sqlite3"
    now = datetime.now(UTC)
    store = Store.open(path, KeyFile(folder / "size.key"))
    store.close()
    empty = path.stat().st_size
    store = Store.open(path, KeyFile(folder / "size.key"))
    for n in range(count):
        result = result_for(n, now)
        store.record(result, [event_for(result)], cache=[(result.identity.id_number, result.checks[0])])
    store.close()  # checkpoints the WAL into the file
    full = path.stat().st_size
    return {"results": count, "empty_store_bytes": empty, "bytes": full,
            "bytes_per_1000_results": round((full - empty) * 1000 / count),
            "each_result_includes": "the result, its queued event and a cache entry (what verify writes)"}


def drain_throughput(folder: Path, events: int, batch_sizes: list[int]) -> list[dict[str, Any]]:
    server = subprocess.Popen(
        [sys.executable, "-m", "simulators", "backends", "--port", "0", "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    rows = []
    try:
        assert server.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:(\d+)", server.stdout.readline())
        if not match:
            raise RuntimeError("the mock backends did not start")
        url = f"http://127.0.0.1:{match.group(1)}"
        session = new_session()
        uploader = BackendUploader(
            InsuranceClient(BackendHttp(session, url + "/insurance", name="insurance", token=TOKEN, read_timeout_s=10)),
            LicensingClient(BackendHttp(session, url + "/licensing", name="licensing", token=TOKEN, read_timeout_s=10)),
        )
        now = datetime.now(UTC)
        for batch_size in batch_sizes:
            path = folder / f"drain-{batch_size}.sqlite3"
            store = Store.open(path, KeyFile(folder / "drain.key"))
            store.outbox.enqueue([event_for(result_for(n, now)) for n in range(events)])
            syncer = Syncer(store, uploader, batch_size=batch_size)
            started = time.perf_counter()
            report = syncer.drain()
            seconds = time.perf_counter() - started
            store.close()
            if not report.complete:
                raise RuntimeError(f"drain incomplete: {report}")
            rows.append({"batch_size": batch_size, "events": events, "seconds": round(seconds, 3),
                         "results_per_s": round(events / seconds)})
            print(f"drain batch {batch_size:>4}: {events / seconds:,.0f} results/s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows only (no 1M), fewer events")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    folder = Path(tempfile.mkdtemp(prefix="store-bench-"))
    try:
        lookups = cache_lookups(folder, sizes)
        drain = drain_throughput(folder, 2000 if args.quick else 5000, [50, 200])
        size = size_per_thousand(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    largest = lookups[-1]
    default_batch = next(r for r in drain if r["batch_size"] == 50)
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                        "machine": platform.machine(), "cpus": __import__("os").cpu_count(),
                        "quick": args.quick},
        "aims": {"lookup_p99_ms_at_1m_rows": AIM_LOOKUP_P99_MS, "drain_results_per_s": AIM_DRAIN_PER_S},
        "cache_lookup": lookups,
        "outbox_drain": drain,
        "db_size": size,
        "meets_aims": {
            "lookup_p99": largest["rows"] >= 1_000_000 and largest["p99_ms"] <= AIM_LOOKUP_P99_MS,
            "drain": default_batch["results_per_s"] >= AIM_DRAIN_PER_S,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"size: {size['bytes_per_1000_results']:,} bytes per 1,000 results; wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

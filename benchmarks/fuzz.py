"""The fuzz campaign (issue 13): every target of tests/fuzz/targets.py (one per parser that sees outside
data: BER-TLV, each LDS file, SecurityInfos, CMS / EF.SOD and passive authentication, certificates, CRLs,
master lists and trust files, MRZ, the QR payload, secure-messaging unwrap, APDUs, receipts, the backend
clients' answers, the face image) run for many executions, to check the contract: only the agent's typed
errors (agent.errors.AgentError), no hang, no unbounded memory.

Each execution draws one structure-aware input from the target's Hypothesis strategy through
``fuzz_one_input`` (Hypothesis reads its choices from a random buffer: no shrinking, no database, one
call per buffer), so the campaign and the suite's bounded run exercise the same generators. Targets run
in worker processes (one per core); in each, every execution has a wall-clock limit (SIGALRM: a slower
input is a "hang" finding) and the process an address-space limit (a MemoryError is a finding too).
A finding is any other exception: its type, the innermost agent frame, the message and the input's
repr (cut short), one per distinct (type, place).

    .venv/bin/python benchmarks/fuzz.py [--executions N] [--targets a,b] [--workers 2] [--seed 1]

``--executions`` is per target (default 40,000: 1,040,000 over the 26 targets). Writes
benchmarks/results/fuzz.json: executions, inputs Hypothesis rejected, time, slowest input and peak RSS per
target, the findings, the command and the totals. Exit 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hypothesis  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzz import targets as fuzz_targets  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fuzz.json"
DEFAULT_EXECUTIONS = 40_000
HANG_S = 5.0  # one input: far beyond any parser's worst honest case (a 20 KB DG2, an RSA-4096 signature)
MEMORY_LIMIT_BYTES = 3 * 1024**3  # per worker: a parser that tries to hold more is a finding
BUFFER_SIZES = (64, 512, 4096, 16384)
CHUNK = 5_000  # executions per task, so that both workers stay busy to the end
MAX_EXAMPLE_REPR = 600


class HangError(BaseException):
    """Raised by the alarm in the middle of a slow execution (a BaseException: no parser catches it)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise HangError


def _place(error: BaseException) -> str:
    """The innermost frame in the project's code (agent/, sync/), else the innermost frame at all."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/agent/" in f.filename or "/sync/" in f.filename]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    return f"{os.path.relpath(frame.filename, ROOT)}:{frame.lineno} in {frame.name}"


def run_chunk(task: tuple[str, int, int]) -> dict[str, Any]:
    """``executions`` inputs of one target, from random buffers seeded by ``seed``."""
    name, executions, seed = task
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    signal.signal(signal.SIGALRM, _on_alarm)
    target = fuzz_targets.BY_NAME[name]
    counts = {"executions": 0, "slowest_s": 0.0}
    findings: dict[str, dict[str, Any]] = {}

    @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(target.inputs())
    def one(value: Any) -> None:
        counts["executions"] += 1
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            fuzz_targets.exercise(target, value)
        except HangError:
            _record(findings, "hang", f"an input took more than {HANG_S} s", "(interrupted)", value)
        except MemoryError as error:
            _record(findings, "MemoryError", str(error), _place(error), value)
        except Exception as error:
            _record(findings, type(error).__name__, str(error)[:300], _place(error), value)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts["slowest_s"] = max(counts["slowest_s"], time.perf_counter() - started)

    rng = random.Random(seed)
    buffers = 0
    started = time.perf_counter()
    while counts["executions"] < executions and buffers < executions * 20:
        buffers += 1
        one.hypothesis.fuzz_one_input(rng.randbytes(rng.choice(BUFFER_SIZES)))  # type: ignore[attr-defined]
    return {
        "name": name,
        "executions": counts["executions"],
        "rejected_buffers": buffers - counts["executions"],
        "seconds": time.perf_counter() - started,
        "slowest_s": counts["slowest_s"],
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "findings": list(findings.values()),
    }


def _record(findings: dict[str, dict[str, Any]], kind: str, message: str, place: str, value: Any) -> None:
    key = f"{kind} at {place}"
    if key in findings:
        findings[key]["count"] += 1
        return
    shown = repr(value)
    findings[key] = {"kind": kind, "place": place, "message": message, "count": 1,
                     "example": shown[:MAX_EXAMPLE_REPR] + ("..." if len(shown) > MAX_EXAMPLE_REPR else "")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=DEFAULT_EXECUTIONS, help="executions per target")
    parser.add_argument("--targets", default="", help="comma-separated target names (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    names = [n for n in args.targets.split(",") if n] or [t.name for t in fuzz_targets.TARGETS]
    unknown = [n for n in names if n not in fuzz_targets.BY_NAME]
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)}")
    tasks = []
    for index, name in enumerate(names):
        for start in range(0, args.executions, CHUNK):
            tasks.append((name, min(CHUNK, args.executions - start), args.seed * 1_000_003 + index * 1009 + start))
    started = time.perf_counter()
    per_target: dict[str, dict[str, Any]] = {}
    # fork: each worker builds the seeds once and keeps them for every chunk it is given
    with multiprocessing.get_context("fork").Pool(args.workers, maxtasksperchild=None) as pool:
        for result in pool.imap_unordered(run_chunk, tasks):
            merged = per_target.setdefault(result["name"], {"executions": 0, "rejected_buffers": 0, "cpu_seconds": 0.0,
                                                            "slowest_s": 0.0, "max_rss_mb": 0.0, "findings": {}})
            merged["executions"] += result["executions"]
            merged["rejected_buffers"] += result["rejected_buffers"]
            merged["cpu_seconds"] += result["seconds"]
            merged["slowest_s"] = max(merged["slowest_s"], result["slowest_s"])
            merged["max_rss_mb"] = max(merged["max_rss_mb"], result["max_rss_mb"])
            for finding in result["findings"]:
                key = f"{finding['kind']} at {finding['place']}"
                if key in merged["findings"]:
                    merged["findings"][key]["count"] += finding["count"]
                else:
                    merged["findings"][key] = finding
            print(f"{result['name']:<26} +{result['executions']:>6} in {result['seconds']:6.1f} s"
                  f"  findings {len(merged['findings'])}", flush=True)
    elapsed = time.perf_counter() - started
    targets_out = {
        name: {**data, "cpu_seconds": round(data["cpu_seconds"], 1), "slowest_s": round(data["slowest_s"], 3),
               "max_rss_mb": round(data["max_rss_mb"], 1),
               "executions_per_s": round(data["executions"] / data["cpu_seconds"]) if data["cpu_seconds"] else 0,
               "findings": list(data["findings"].values())}
        for name, data in sorted(per_target.items())
    }
    total = sum(data["executions"] for data in targets_out.values())
    findings = sum(len(data["findings"]) for data in targets_out.values())
    report = {
        "benchmark": "fuzz",
        "command": " ".join([".venv/bin/python", "benchmarks/fuzz.py", *sys.argv[1:]]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "hypothesis": hypothesis.__version__,
                    "cpus": os.cpu_count(), "workers": args.workers},
        "contract": "only agent.errors.AgentError subclasses escape; no input over "
                    f"{HANG_S} s; under {MEMORY_LIMIT_BYTES // 1024**3} GiB of address space per worker",
        "total_executions": total,
        "wall_seconds": round(elapsed, 1),
        "targets": targets_out,
        "findings_total": findings,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{total:,} executions over {len(targets_out)} targets in {elapsed:.0f} s; {findings} findings "
          f"-> {args.output}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

"""Passive authentication time per document (issue 3): parse EF.SOD and run every check (SOD signature,
message digest, DSC -> CSCA chain, validity, CRL, five data-group hashes including a 20 KB DG2) for
RSA-2048, ECDSA P-256 and ECDSA brainpoolP256r1 signers. Process CPU time, median of N runs.

    .venv/bin/python benchmarks/passive_auth.py [--runs N]

Writes benchmarks/results/passive_auth.json. Goal: <= 10 ms per document.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from agent.icao import pki  # noqa: E402
from agent.icao.lds.sod import parse_sod  # noqa: E402
from agent.icao.passive_auth import passive_authentication  # noqa: E402
from agent.icao.trust import TrustStore, parse_crl  # noqa: E402
from tests.icao import lds_fixtures as lds  # noqa: E402
from tests.icao import pki_fixtures as fixtures  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "passive_auth.json"
GOAL_MS = 10.0
DG2_BYTES = 20 * 1024
SIGNERS = {
    "RSA-2048": ("rsa2048", "sha256"),
    "ECDSA P-256": ("p256", "sha256"),
    "ECDSA brainpoolP256r1": ("brainpoolP256r1", "sha256"),
}


def face_of_about(size: int) -> bytes:
    """A noisy JPEG padded (after its end marker, as some issuers do) to exactly ``size`` bytes."""
    image = lds.make_image("JPEG", 120, 160, noise=True, quality=75)
    if len(image) > size:
        raise SystemExit(f"test face of {len(image)} bytes is larger than {size}")
    return image + bytes(size - len(image))


def document(kind: str, hash_name: str) -> tuple[bytes, dict[int, bytes], TrustStore]:
    world = fixtures.test_pki(kind, kind, label="bench", hash_name=hash_name)
    aa_key = fixtures.private_key("rsa1024", "bench-aa").public_key()
    face = face_of_about(DG2_BYTES - 64)
    groups = {
        1: lds.encode_dg1(),
        2: lds.dg2_with_image(face, 0, 120, 160),
        13: lds.encode_dg13(),
        14: lds.encode_dg14(),
        15: lds.encode_dg15(aa_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)),
    }
    sod = fixtures.make_sod(groups, world.dsc_key, world.dsc, hash_name=hash_name)
    store = TrustStore.of(
        [pki.parse_certificate(world.csca, file="bench")],
        [parse_crl(fixtures.make_crl(world.csca_key, world.csca_name, (1, 2, 3)))],
    )
    return sod, groups, store


def measure(runs: int, action: object) -> list[float]:
    timings: list[float] = []
    for _ in range(runs):
        start = time.process_time_ns()
        action()  # type: ignore[operator]
        timings.append((time.process_time_ns() - start) / 1e6)
    return timings


def summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "min_ms": round(ordered[0], 3),
        "max_ms": round(ordered[-1], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    results = []
    for label, (kind, hash_name) in SIGNERS.items():
        sod, groups, store = document(kind, hash_name)
        at = fixtures.NOW
        check = passive_authentication(sod, groups, store, at=at)
        if not check.overall.is_ok:
            raise SystemExit(f"{label}: the benchmark document does not verify: {check.reasons}")
        parsed = parse_sod(sod)
        for _ in range(10):  # warm-up
            passive_authentication(sod, groups, store, at=at)
        whole = measure(args.runs, lambda: passive_authentication(sod, groups, store, at=at))  # noqa: B023
        checks_only = measure(args.runs, lambda: passive_authentication(parsed, groups, store, at=at))  # noqa: B023
        parse_only = measure(args.runs, lambda: parse_sod(sod))  # noqa: B023
        results.append(
            {
                "signer": label,
                "hash": hash_name,
                "sod_bytes": len(sod),
                "dg2_bytes": len(groups[2]),
                "data_groups": sorted(groups),
                "per_document": summary(whole),
                "checks_with_parsed_sod": summary(checks_only),
                "parse_sod": summary(parse_only),
                "meets_goal": statistics.median(whole) <= GOAL_MS,
            }
        )
        print(f"{label:24s} median {results[-1]['per_document']['median_ms']:7.3f} ms per document "
              f"(parse {results[-1]['parse_sod']['median_ms']:.3f} ms, checks "
              f"{results[-1]['checks_with_parsed_sod']['median_ms']:.3f} ms)")
    payload = {
        "benchmark": "passive_auth",
        "what": "parse EF.SOD + passive authentication (signature, digest, chain, validity, CRL, 5 DG hashes)",
        "clock": "time.process_time_ns (process CPU)",
        "runs": args.runs,
        "goal_ms": GOAL_MS,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "results": results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

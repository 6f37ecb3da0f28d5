"""Passive authentication time per document (issue 3): parse EF.SOD and run every check (SOD signature,
message digest, DSC -> CSCA chain, validity, CRL, five data-group hashes including a 20 KB DG2) for
RSA-2048, ECDSA P-256 and ECDSA brainpoolP256r1 signers (``cryptography``), and for brainpoolP224r1 and
brainpoolP320r1 signers (the project's own EC arithmetic, issue 12). Process CPU time, median of N runs.

The trust store (issue 12): loading a trust directory holding the real German and Dutch CSCA master
lists with their roots (../shared/realdata; a generated list of 1,000 CSCAs when that folder is absent)
in a fresh process, as ``serve`` does at its start, and the time of looking up a signer's CSCA in stores
of 10 to 1,000+ CSCAs (a dictionary lookup by RFC 5280 name key: it must not grow with the store).

    .venv/bin/python benchmarks/passive_auth.py [--runs N]

Writes benchmarks/results/passive_auth.json. Goals: <= 10 ms per document; loading ~1,000 CSCAs adds
<= 1 s to the start; a lookup does not scan the store.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from agent.icao import ec, pki  # noqa: E402
from agent.icao.lds.sod import parse_sod  # noqa: E402
from agent.icao.passive_auth import passive_authentication  # noqa: E402
from agent.icao.trust import TrustStore, parse_crl  # noqa: E402
from agent.trust_files import load_trust_directory  # noqa: E402
from tests.icao import lds_fixtures as lds  # noqa: E402
from tests.icao import pki_fixtures as fixtures  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "passive_auth.json"
GOAL_MS = 10.0
DG2_BYTES = 20 * 1024
SIGNERS = {
    "RSA-2048": ("rsa2048", "sha256"),
    "ECDSA P-256": ("p256", "sha256"),
    "ECDSA brainpoolP256r1": ("brainpoolP256r1", "sha256"),
    # No cryptography support: verified by agent.icao.ec.ecdsa_verify (pure Python)
    "ECDSA brainpoolP224r1 (own arithmetic)": ("own:brainpoolP224r1", "sha256"),
    "ECDSA brainpoolP320r1 (own arithmetic)": ("own:brainpoolP320r1", "sha256"),
}
REALDATA = ROOT / ".." / "shared" / "realdata"
REAL_FILES = ("DE_ML_2026-05-28-08-28-45.ml", "DE_ML_signer_root.cer", "NL_ML_2026-07-22.ml", "NL_ML_signer_root.cer")
GOAL_LOAD_S = 1.0
LOAD_RUNS = 3
STORE_SIZES = (10, 100, 1000)


def face_of_about(size: int) -> bytes:
    """A noisy JPEG padded (after its end marker, as some issuers do) to exactly ``size`` bytes."""
    image = lds.make_image("JPEG", 120, 160, noise=True, quality=75)
    if len(image) > size:
        raise SystemExit(f"test face of {len(image)} bytes is larger than {size}")
    return image + bytes(size - len(image))


def document(kind: str, hash_name: str) -> tuple[bytes, dict[int, bytes], TrustStore]:
    aa_key = fixtures.private_key("rsa1024", "bench-aa").public_key()
    face = face_of_about(DG2_BYTES - 64)
    groups = {
        1: lds.encode_dg1(),
        2: lds.dg2_with_image(face, 0, 120, 160),
        13: lds.encode_dg13(),
        14: lds.encode_dg14(),
        15: lds.encode_dg15(aa_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)),
    }
    if kind.startswith("own:"):
        # a DSC on a curve cryptography lacks, under an RSA CSCA (tests/icao/test_ecdsa.py builds the same)
        world = fixtures.test_pki("rsa2048", "rsa2048", label="bench-own", hash_name=hash_name)
        dsc_key = fixtures.ArithmeticEcKey(ec.CURVES_BY_NAME[kind[4:]], 0x5EED + len(kind))
        csca_spki = pki.parse_certificate(world.csca, file="bench").public_key.der
        dsc = fixtures.resigned(world.dsc, world.csca_key, spki=dsc_key.spki(), issuer_spki=csca_spki)
        sod = fixtures.make_sod(groups, dsc_key, dsc, hash_name=hash_name)
    else:
        world = fixtures.test_pki(kind, kind, label="bench", hash_name=hash_name)
        sod = fixtures.make_sod(groups, world.dsc_key, world.dsc, hash_name=hash_name)
    store = TrustStore.of(
        [pki.parse_certificate(world.csca, file="bench")],
        [parse_crl(fixtures.make_crl(world.csca_key, world.csca_name, (1, 2, 3)))],
    )
    return sod, groups, store


# --- the trust store --------------------------------------------------------------------------------

LOAD_SNIPPET = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
started = time.perf_counter()
cpu = time.process_time()
from agent.trust_files import load_trust_directory
store, report = load_trust_directory(Path({directory!r}))
print(json.dumps({{"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
                  "certificates": len(store), "master_lists": len(store.master_lists),
                  "listed": sum(len(m.master_list.certificates) + len(m.master_list.rejected)
                                for m in store.master_lists),
                  "problems": len(report.problems)}}))
"""


def synthetic_master_list(directory: Path, count: int) -> None:
    """A master list of ``count`` generated CSCAs (P-256) and its root, for machines without the real data."""
    root_key = fixtures.private_key("p256", "bench-ml-root")
    root_name = fixtures.name("Bench ML Root", "ZZ")
    root = fixtures.make_certificate(root_key, root_name, root_key, root_name, ca=True)
    signer_key = fixtures.private_key("p256", "bench-ml-signer")
    signer = fixtures.make_certificate(signer_key, fixtures.name("Bench ML Signer", "ZZ"), root_key, root_name,
                                       ca=False)  # fmt: skip
    cscas = []
    for index in range(count):
        key = fixtures.private_key("p256", f"bench-csca-{index}")
        name = fixtures.name(f"Bench CSCA {index}", "ZZ")
        cscas.append(fixtures.make_certificate(key, name, key, name, ca=True))
    (directory / "bench.ml").write_bytes(fixtures.make_master_list(cscas, signer_key, signer))
    (directory / "bench-root.der").write_bytes(root)


def trust_directory_load() -> dict[str, object]:
    """Load the trust directory in fresh processes (imports and an empty verification cache, as at the
    start of ``serve``); the minimum and median of a few runs, wall and CPU."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        real = all((REALDATA / name).is_file() for name in REAL_FILES)
        if real:
            for name in REAL_FILES:
                shutil.copy(REALDATA / name, directory / name)
        else:
            synthetic_master_list(directory, 1000)
        imports_only = _fresh_process("import sys, json, time\nstarted = time.perf_counter()\n"
                                      f"sys.path.insert(0, {str(ROOT)!r})\nimport agent.trust_files\n"
                                      "print(json.dumps({'wall_s': time.perf_counter() - started}))")  # fmt: skip
        runs = [_fresh_process(LOAD_SNIPPET.format(root=str(ROOT), directory=str(directory))) for _ in range(LOAD_RUNS)]
        in_process = []
        for _ in range(LOAD_RUNS):  # the same load again in this process: the verification cache is warm
            started = time.perf_counter()
            store, _report = load_trust_directory(directory)
            in_process.append(time.perf_counter() - started)
    walls = sorted(float(run["wall_s"]) for run in runs)  # type: ignore[arg-type]
    cpus = sorted(float(run["cpu_s"]) for run in runs)  # type: ignore[arg-type]
    return {
        "data": "real: German and Dutch master lists with their roots" if real else "generated: 1,000 P-256 CSCAs",
        "certificates_distinct": runs[0]["certificates"],
        "certificates_in_the_lists": runs[0]["listed"],
        "master_lists": runs[0]["master_lists"],
        "problems": runs[0]["problems"],
        "fresh_process_load_wall_s": {"min": round(walls[0], 3), "median": round(statistics.median(walls), 3)},
        "fresh_process_load_cpu_s": {"min": round(cpus[0], 3), "median": round(statistics.median(cpus), 3)},
        "of_which_importing_the_modules_s": round(float(imports_only["wall_s"]), 3),  # type: ignore[arg-type]
        "same_process_reload_wall_s": round(min(in_process), 3),
        "goal_s": GOAL_LOAD_S,
        "meets_goal": statistics.median(walls) <= GOAL_LOAD_S,
        "store": store,
    }


def _fresh_process(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def lookups(real_store: TrustStore | None) -> list[dict[str, object]]:
    """Median time of ``issuers_of`` for one signer, in stores of growing size: a dictionary lookup."""
    world = fixtures.test_pki("p256", "p256", label="bench-lookup")
    target = pki.parse_certificate(world.csca, file="bench")
    signer = pki.parse_certificate(world.dsc, file="bench")
    others = []
    for index in range(max(STORE_SIZES)):
        key = fixtures.private_key("p256", f"bench-csca-{index}")
        name = fixtures.name(f"Bench CSCA {index}", "ZZ")
        others.append(pki.parse_certificate(fixtures.make_certificate(key, name, key, name, ca=True), file="bench"))
    stores: list[tuple[str, TrustStore]] = [(str(size), TrustStore.of([target, *others[: size - 1]]))
                                            for size in STORE_SIZES]  # fmt: skip
    if real_store is not None:
        real_store.add_certificate(target, source="bench")
        stores.append((f"{len(real_store)} (the real lists + 1)", real_store))
    found = []
    for label, store in stores:
        assert store.issuers_of(signer) == [target]
        timings = []
        for _ in range(2000):
            started = time.perf_counter_ns()
            store.issuers_of(signer)
            timings.append((time.perf_counter_ns() - started) / 1000)
        found.append({"store_size": label, "issuers_of_median_us": round(statistics.median(timings), 2)})
    return found


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
    load = trust_directory_load()
    real_store = load.pop("store")
    lookup = lookups(real_store if isinstance(real_store, TrustStore) else None)
    print(f"trust directory ({load['data']}, {load['certificates_in_the_lists']} listed, "
          f"{load['certificates_distinct']} distinct CSCAs): fresh-process load "
          f"{load['fresh_process_load_wall_s']} s (goal <= {GOAL_LOAD_S} s)")
    for row in lookup:
        print(f"  issuers_of with {row['store_size']:>26} CSCAs: {row['issuers_of_median_us']} us")
    payload = {
        "benchmark": "passive_auth",
        "trust_store_load": load,
        "trust_store_lookup": lookup,
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

"""``python -m simulators backends``: serve the mock insurance (BHYT) portal and licensing service
on 127.0.0.1 until interrupted, printing where they are, the token and a few sample ID numbers."""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

DEFAULT_PORT = 8765  # matches backends.insurance_url / licensing_url in agent/config/default.toml
DEFAULT_TOKEN = "demo-token"  # noqa: S105 - a test-only listener on loopback


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backends", help="serve the mock insurance and licensing backends (loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT})")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated people, cards and rosters")
    parser.add_argument(
        "--token",
        default=os.environ.get("CCCD_MOCK_TOKEN", DEFAULT_TOKEN),
        help="bearer token the clients must send (default: $CCCD_MOCK_TOKEN or demo-token)",
    )
    parser.add_argument("--latency", type=latency_range, metavar="S[-S]",
                        help="seconds each answer waits, e.g. 1.0-3.0 like the BHXH gateway (default none)")
    parser.add_argument("--token-life", type=float, default=3600.0, metavar="S",
                        help="how long a BHXH gateway token lives (default 3600 s)")
    parser.set_defaults(handler=run)


def latency_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        start, end = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of seconds or a range like 1.0-3.0") from None
    if not 0 <= start <= end <= 600:
        raise argparse.ArgumentTypeError("a range of 0 to 600 seconds, the smaller first")
    return start, end


def run(args: argparse.Namespace) -> int:
    from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_USERNAME
    from simulators.backends.server import MockBackends

    backends = MockBackends(seed=args.seed, token=args.token, port=args.port, token_life_s=args.token_life).start()
    if args.latency:
        backends.set_faults(latency_ms=args.latency[0] * 1000, latency_max_ms=args.latency[1] * 1000)
    samples = backends.services.samples(per_status=2)
    print(f"mock backends on {backends.url}  "
          f"(insurance: {backends.insurance_url}, licensing: {backends.licensing_url})")
    print(f"token: {args.token}   admin: {backends.url}/_admin/events, /_admin/faults, /_admin/samples")
    for status, ids in samples["insurance"].items():
        print(f"  insurance {status:<9} {' '.join(ids)}")
    print(f"  exam sessions: {' '.join(samples['sessions'])}")
    print(f"BHXH gateway: {backends.gateway_url}  account {DEFAULT_USERNAME} / {DEFAULT_PASSWORD}, staff "
          f"{', '.join(backends.gateway.staff)}; HIS webhook: {backends.his_url}")
    for code in ("000", "001", "003", "004", "010", "050", "110", "120", "130"):
        print(f"  gateway {code} {' '.join(backends.gateway.ids_with_code(code)[:2])}")
    print("", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        backends.stop()
    return 0

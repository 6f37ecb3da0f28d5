"""``python -m simulators backends``: serve the mock insurance (BHYT) portal and licensing service
on 127.0.0.1 until interrupted, printing where they are, the token and a few sample ID numbers."""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

DEFAULT_PORT = 8765  # matches backends.insurance_url / licensing_url in config/default.toml
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from simulators.backends.server import MockBackends

    backends = MockBackends(seed=args.seed, token=args.token, port=args.port).start()
    samples = backends.services.samples(per_status=2)
    print(f"mock backends on {backends.url}  "
          f"(insurance: {backends.insurance_url}, licensing: {backends.licensing_url})")
    print(f"token: {args.token}   admin: {backends.url}/_admin/events, /_admin/faults, /_admin/samples")
    for status, ids in samples["insurance"].items():
        print(f"  insurance {status:<9} {' '.join(ids)}")
    print(f"  exam sessions: {' '.join(samples['sessions'])}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        backends.stop()
    return 0

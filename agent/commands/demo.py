"""``python -m agent demo [--profile clinic|notary|exam] [--port N] [--token T]``: the whole desk on one
machine with no hardware, for a newcomer's first minute: the mock backends with a few demo citizens,
simulated CCCDs on pcscd's virtual reader (vpcd) when the machine has pcscd and the vpcd driver
(starting pcscd itself when it is installed but not running and it may), or else served in process with
a banner saying so; the agent with its desk page; then the outcomes of the site kind, one after the other
(agent.wiring.demo). Prints the address and the access token. Ctrl-C or SIGTERM stops everything it
started, child processes by pid.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from agent.commands.serve import announce, port_number
from agent.errors import ConfigError
from agent.settings import PROFILES, Settings
from agent.wiring.demo import (
    DEFAULT_PROFILE,
    DEMO_PORT,
    SIMULATOR_AUTO,
    SIMULATOR_IN_PROCESS,
    SIMULATOR_PCSC,
    STEP_S,
    DemoDriver,
    simulated_site,
)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("demo", parents=[common], help="the desk with simulated cards and backends")
    parser.add_argument("--profile", choices=PROFILES, default=str(DEFAULT_PROFILE),
                        help=f"site kind whose outcomes are played (default {DEFAULT_PROFILE})")
    parser.add_argument("--port", type=port_number, default=DEMO_PORT,
                        help=f"desk page / API port on 127.0.0.1 (default {DEMO_PORT}; 0 = any free port)")
    parser.add_argument("--token", help="access token (default: a new one)")
    parser.add_argument("--backend-port", type=port_number, default=0, help="mock backends port (default: free)")
    parser.add_argument("--simulator", choices=(SIMULATOR_AUTO, SIMULATOR_PCSC, SIMULATOR_IN_PROCESS),
                        default=SIMULATOR_AUTO, help="where the simulated card sits (default: pcscd+vpcd if present)")
    parser.add_argument("--step-seconds", type=float, default=STEP_S, help=f"pause between outcomes (default {STEP_S})")
    parser.add_argument("--cycles", type=int, default=0, help="stop cycling after N rounds (default: never)")
    parser.add_argument("--keep-data", action="store_true", help="keep the demo's store and audit log on exit")
    parser.set_defaults(handler=run)


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, settings: Settings) -> int:
    def say(text: str) -> None:
        print(text, flush=True)

    if args.step_seconds <= 0:
        raise ConfigError("must be greater than zero", key="--step-seconds")
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)  # until uvicorn takes the signals over
    work = Path(tempfile.mkdtemp(prefix="cccd-demo-"))
    try:
        with simulated_site(work, port=args.port, token=args.token, backend_port=args.backend_port,
                            simulator=args.simulator, config=getattr(args, "config", None),
                            profile=args.profile, say=say) as site:
            driver = DemoDriver(site, step_s=args.step_seconds, cycles=args.cycles, say=say)
            try:
                announce(site.server.url, site.agent.token, f"{args.profile}, demo")
                say(f"[demo] data in {work}" + ("" if args.keep_data else " (removed on exit)"))
                driver.start()
                site.server.run()
            finally:
                say("[demo] stopping")
                driver.stop()
    except KeyboardInterrupt:
        say("[demo] stopping")
    finally:
        _remove_work(work, args.keep_data, say)
        signal.signal(signal.SIGTERM, previous_term)
    say("[demo] stopped")
    return 0


def _remove_work(work: Path, keep: bool, say: Callable[[str], None]) -> None:
    if keep:
        say(f"[demo] data kept in {work}")
        return
    shutil.rmtree(work, ignore_errors=True)

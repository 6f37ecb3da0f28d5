"""``python -m simulators profiles`` lists the card profiles with the access data a reader needs;
``python -m simulators card --profile NAME`` personalises that card and serves it to pcscd through the
vpcd driver ("Virtual PCD 00 00"), inserting and removing it on command: stdin lines ``insert``,
``remove``, ``toggle``, ``status``, ``quit``, and SIGUSR1 toggles. Status lines go to stdout. End of
stdin does not stop the card (so it can run in the background); SIGTERM, SIGINT or ``quit`` do.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from agent.errors import AgentError
from simulators.card.people import DEFAULT_SEED
from simulators.card.vpcd import DEFAULT_HOST, DEFAULT_PORT, VirtualCard, VpcdBridge

# The profiles, personalisation and PKI modules load Pillow and the crypto libraries: they are imported
# inside the handlers, so that every other ``python -m simulators`` command starts fast.

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    profiles = subparsers.add_parser("profiles", help="list the simulated card profiles and their access data")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")
    profiles.add_argument("--seed", help="personalisation seed (default: the built-in one)")
    profiles.set_defaults(handler=run_profiles)

    card = subparsers.add_parser("card", help="serve a simulated card to pcscd through vpcd")
    card.add_argument("--profile", default="normal", help="card profile (see 'profiles'); default: normal")
    card.add_argument("--vpcd-host", default=DEFAULT_HOST, help=f"vpcd host (default {DEFAULT_HOST})")
    card.add_argument("--vpcd-port", type=int, default=DEFAULT_PORT, help=f"vpcd port (default {DEFAULT_PORT})")
    card.add_argument("--seed", help="personalisation seed (default: the built-in one)")
    card.add_argument("--remove-after", type=int, metavar="N", help="leave the field after N APDUs of each insertion")
    card.add_argument("--receive-limit", type=int, metavar="BYTES",
                      help="a reader whose buffer takes at most BYTES of one response APDU (larger transfers fail)")
    card.add_argument("--removed", action="store_true", help="start with the card out of the field")
    card.add_argument("--trust-dir", type=Path, metavar="DIR", help="also write the test CSCAs and CRLs into DIR")
    card.set_defaults(handler=run_card)


def _seed(value: str | None) -> bytes:
    return DEFAULT_SEED if value is None else value.encode("utf-8")


def run_profiles(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    from simulators.card.profiles import PROFILES

    stream = out or sys.stdout
    seed = _seed(args.seed)
    summaries = [_summary(name, seed) for name in PROFILES]
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False, indent=2), file=stream)
        return 0
    print(f"{'PROFILE':<22} {'ID NUMBER':<13} {'CAN':<7} {'MRZ (DOCNO,DOB,EXPIRY)':<27} DESCRIPTION", file=stream)
    for summary in summaries:
        access = summary["access"]
        if access is None:
            columns = f"{'-':<13} {'-':<7} {'-':<27}"
        else:
            columns = f"{access['id_number']:<13} {access['can']:<7} {access['mrz']['argument']:<27}"
        print(f"{summary['name']:<22} {columns} {summary['description']}", file=stream)
    return 0


def _summary(name: str, seed: bytes) -> dict[str, Any]:
    from simulators.card.profiles import get_profile, profile_summary

    profile = get_profile(name)
    summary = profile_summary(profile, seed)
    if profile.kind == "ndef":
        from simulators.card.personalise import NDEF_TOKEN_URI_PREFIX, ndef_token

        token = ndef_token(seed, profile.person_index)
        summary["ndef"] = {"text": token, "uri": NDEF_TOKEN_URI_PREFIX + token}
    return summary


def _make_card(profile_name: str, seed: bytes) -> VirtualCard:
    from simulators.card.card import SimulatedCard
    from simulators.card.personalise import build_card_image

    return SimulatedCard(build_card_image(profile_name, seed=seed))


def run_card(
    args: argparse.Namespace,
    *,
    make_card: Callable[[str, bytes], VirtualCard] = _make_card,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    from simulators.card.profiles import get_profile, profile_access

    stream = out or sys.stdout

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    seed = _seed(args.seed)
    try:
        profile = get_profile(args.profile)
        card = make_card(profile.name, seed)
        if args.trust_dir is not None:
            from simulators.card.pki import write_trust_dir

            for path in write_trust_dir(args.trust_dir, seed=seed):
                say(f"trust: wrote {path}")
    except AgentError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    access = profile_access(profile, seed)
    if access is not None:
        say(f"profile {profile.name}: ID {access.id_number} CAN {access.can} MRZ {access.mrz_argument}")
    else:
        say(f"profile {profile.name}: {profile.description}")

    quit_requested = threading.Event()
    toggle_requested = threading.Event()
    bridge = VpcdBridge(
        card,
        host=args.vpcd_host,
        port=args.vpcd_port,
        remove_after=args.remove_after,
        receive_limit=getattr(args, "receive_limit", None),
        inserted=not args.removed,
        on_status=lambda text: say(f"card: {text}"),
    )
    restore = _install_signals(toggle_requested, quit_requested)
    say(f"vpcd: {args.vpcd_host}:{args.vpcd_port}, card {'inserted' if bridge.inserted else 'removed'}")
    bridge.start()
    reader = threading.Thread(
        target=_read_commands, args=(stdin or sys.stdin, bridge, quit_requested, say), name="card-stdin", daemon=True
    )
    reader.start()
    try:
        while not quit_requested.wait(0.1):
            if toggle_requested.is_set():
                toggle_requested.clear()
                bridge.toggle()
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
        restore()
        say(f"card: stopped after {bridge.total_apdus} APDUs")
    return 0


def _read_commands(
    stdin: TextIO, bridge: VpcdBridge, quit_requested: threading.Event, say: Callable[[str], None]
) -> None:
    for line in stdin:
        command = line.strip().lower()
        if command == "insert":
            bridge.insert()
        elif command == "remove":
            bridge.remove()
        elif command == "toggle":
            bridge.toggle()
        elif command == "status":
            state = "inserted" if bridge.inserted else "removed"
            link = "connected" if bridge.connected else "not connected"
            say(f"card: {state}, vpcd {link}, {bridge.apdu_count} APDUs this insertion")
        elif command in ("quit", "exit"):
            quit_requested.set()
            return
        elif command:
            say(f"card: unknown command {command!r} (insert, remove, toggle, status, quit)")


def _install_signals(toggle_requested: threading.Event, quit_requested: threading.Event) -> Callable[[], None]:
    """SIGUSR1 asks for the card to be toggled, SIGTERM to quit (the main loop acts on both, so that no
    output happens inside a signal handler); returns a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers can only be set from the main thread
    previous: dict[int, Any] = {}

    def on_toggle(_signum: int, _frame: FrameType | None) -> None:
        toggle_requested.set()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        quit_requested.set()

    usr1 = getattr(signal, "SIGUSR1", None)  # POSIX only
    if usr1 is not None:
        previous[usr1] = signal.signal(usr1, on_toggle)
    previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, on_term)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore

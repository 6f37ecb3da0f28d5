"""The command line (``python -m agent`` / ``cccd-agent``): parses arguments, loads settings and
turns AgentErrors into exit codes and operator messages (Vietnamese, then English).

Each subcommand lives in its own module under :mod:`agent.commands` with a ``register(subparsers,
common)`` function; heavy imports happen inside the command handlers so that ``--help`` stays fast.

Exit status, the same for every command (a service manager or a script may act on it):

====  ==============================================================================================
0     done; for ``read`` / ``verify-receipt`` / ``doctor``: no check failed
1     a check failed (a chip check, a changed receipt, a doctor item) or an unexpected error
2     bad command-line arguments
65    bad data (a card, a document, a QR code, typed input)
69    something needed is unavailable (reader, camera, backend); trying again later may work
74    the store or the audit log cannot be read or written
75    a temporary failure (the outbox could not all be delivered)
78    the settings are wrong: restarting will not help until they are fixed
130   interrupted (Ctrl-C)
====  ==============================================================================================

A service (``serve``) stops cleanly and exits 0 on SIGTERM, Ctrl-C and, on Windows, Ctrl-Break.
It needs no console: with no stdout or stderr (a windowed or service process) output is discarded and
the log file still gets every record.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from collections.abc import Sequence

from agent import __version__, messages
from agent.errors import AgentError
from agent.logs import configure_logging
from agent.settings import load_settings

COMMAND_MODULES: tuple[str, ...] = ("agent.commands.config", "agent.commands.readers", "agent.commands.trust",
                                     "agent.commands.verify", "agent.commands.sync", "agent.commands.qr",
                                     "agent.commands.read", "agent.commands.verify_receipt",
                                     "agent.commands.serve", "agent.commands.demo", "agent.commands.audit",
                                     "agent.commands.receipt_key", "agent.commands.doctor",
                                     "agent.commands.operators")
# Commands that write no log file: they only show settings, and must work where the log cannot be written.
NO_LOG_FILE = frozenset({"config"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cccd-agent",
        description="CCCD edge reader agent: reads and verifies Vietnamese chip ID cards and QR codes.",
    )
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--config", metavar="FILE",
                        help="settings file over every other one (also: CCCD_AGENT_CONFIG); see 'config'")
    # Every subcommand accepts --config too; SUPPRESS keeps a value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers, common)
    return parser


def version_text() -> str:
    return f"cccd-agent {__version__} (Python {platform.python_version()}, {sys.platform})"


def _ensure_streams() -> None:
    # A windowed build or a service has no console: sys.stdout / sys.stderr are None there, and a
    # print() that flushes, or argparse's error, would fail. Output is then discarded (the log file
    # keeps the records).
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    _ensure_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    wants_json = bool(getattr(args, "json", False))
    try:
        settings = load_settings(args.config)
        configure_logging(settings, to_file=args.command not in NO_LOG_FILE)
        result: int = args.handler(args, settings)
        return result
    except AgentError as error:
        report_error(error, wants_json)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def report_error(error: AgentError, wants_json: bool) -> None:
    if wants_json:
        payload = {
            "error": {
                "type": type(error).__name__,
                "code": error.message_key,
                "message": error.message,
                "message_vi": messages.text(error.message_key, "vi"),
                "message_en": messages.text(error.message_key, "en"),
                "retryable": error.retryable,
            }
        }
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(messages.both(error.message_key), file=sys.stderr)
        print(f"({type(error).__name__}: {error.message})", file=sys.stderr)

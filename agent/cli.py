"""The command line (``python -m agent`` / ``cccd-agent``): parses arguments, loads settings and
turns AgentErrors into exit codes and operator messages (Vietnamese, then English).

Each subcommand lives in its own module under :mod:`agent.commands` with a ``register(subparsers,
common)`` function; heavy imports happen inside the command handlers so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from agent import messages
from agent.errors import AgentError
from agent.settings import load_settings

COMMAND_MODULES: tuple[str, ...] = ("agent.commands.config", "agent.commands.readers", "agent.commands.trust",
                                     "agent.commands.verify", "agent.commands.sync", "agent.commands.qr",
                                     "agent.commands.read", "agent.commands.verify_receipt",
                                     "agent.commands.serve", "agent.commands.demo", "agent.commands.audit",
                                     "agent.commands.receipt_key")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cccd-agent",
        description="CCCD edge reader agent: reads and verifies Vietnamese chip ID cards and QR codes.",
    )
    parser.add_argument("--config", metavar="FILE", help="settings file that overrides config/default.toml")
    # Every subcommand accepts --config too; SUPPRESS keeps a value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    wants_json = bool(getattr(args, "json", False))
    try:
        settings = load_settings(args.config)
        logging.basicConfig(level=settings.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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

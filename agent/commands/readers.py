"""``python -m agent readers [--json]``: list the PC/SC readers, whether each holds a card, and the
card's ATR. No reader, or no PC/SC service, ends with the error's operator message and exit code 69."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent import messages
from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("readers", parents=[common], help="list card readers and the cards on them")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.nfc.pcsc import PcscSystem

    readers = PcscSystem().readers()
    if args.json:
        print(json.dumps({"readers": [reader.as_json() for reader in readers]}, ensure_ascii=False, indent=2))
        return 0
    for reader in readers:
        if reader.mute:
            state = _both("readers.card_mute")
        elif reader.card_present:
            state = _both("readers.card_present")
        else:
            state = _both("readers.no_card")
        line = f"{reader.name}: {state}"
        if reader.atr:
            line += f"  ATR {reader.atr.hex(' ').upper()}"
        print(line)
    return 0


def _both(key: str) -> str:
    return f"{messages.text(key, 'vi')} / {messages.text(key, 'en')}"

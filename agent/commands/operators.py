"""``python -m agent operators [--json]``: the operators who may sign in at this desk (``[site]
operators_file``: names, masked CCCD numbers, whether a PIN is asked); ``python -m agent operators
hash-pin``: the ``pin_hash`` line of a new PIN for that file (the PIN is read twice from the terminal,
or once from standard input with ``--stdin``, and never printed)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("operators", parents=[common], help="the operators of this desk; PIN hashes")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    pin = actions.add_parser("hash-pin", parents=[common], help="the pin_hash of a new PIN (4-12 digits)")
    pin.add_argument("--stdin", action="store_true", help="read the PIN once from standard input")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import ConfigError
    from agent.operators import hash_pin, load_operators
    from agent.privacy import mask_id

    if args.action == "hash-pin":
        if args.stdin:
            pin = sys.stdin.readline().strip()
        else:
            pin = getpass.getpass("PIN: ")
            if getpass.getpass("PIN again / nhập lại: ") != pin:
                raise ConfigError("the two PINs differ", key="pin")
        print(f'pin_hash = "{hash_pin(pin)}"')
        return 0
    if not settings.site.operators_file:
        raise ConfigError("is empty: this desk lists no operators", key="site.operators_file")
    operators = load_operators(Path(settings.site.operators_file))
    listed = [{"number": n, "name": o.name, "cccd": mask_id(o.cccd), "pin": o.needs_pin}
              for n, o in enumerate(operators, start=1)]
    if args.json:
        print(json.dumps({"operators": listed}, ensure_ascii=False, indent=2))
        return 0
    for row in listed:
        print(f"{row['number']:>3}  {row['name']}  {row['cccd']}  {'PIN' if row['pin'] else '-'}")
    return 0

"""``python -m agent receipt-key [--out FILE]``: the site's receipt public key (PEM) and its key id,
for an auditor or a notary's archive to check receipts with ``verify-receipt --public-key``. The
signing key is made on first use and kept beside the store key (``[receipts] key_file``); only its
public half ever leaves this command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("receipt-key", parents=[common], help="export the site's receipt public key")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the PEM here instead of printing it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import ConfigError
    from agent.wiring.production import open_receipt_key

    key = open_receipt_key(settings)
    pem = key.public_pem()
    if args.out is None:
        print(pem, end="")
    else:
        try:
            args.out.write_text(pem, encoding="ascii")
        except OSError as exc:
            raise ConfigError(f"cannot write the public key: {exc.strerror}", source=str(args.out)) from exc
    # The key id goes to stderr, so that "receipt-key > site.pem" writes nothing but the PEM.
    print(f"key id: {key.key_id}" + (f" (written to {args.out})" if args.out else ""), file=sys.stderr, flush=True)
    return 0

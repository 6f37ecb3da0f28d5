"""``python -m agent verify-receipt FILE [--public-key PEM ...] [--json]``: check a saved verification
receipt offline, whichever way it was saved (``read --receipt`` or the desk's download): its signature
against the site's receipt key (this machine's, and any ``--public-key`` an auditor was given, as
exported by ``python -m agent receipt-key``), and its chip evidence recomputed against the trust store.
It says which part no longer verifies: the signature (the verdict, time, operator or anything else was
edited), the chip evidence (a file or a check changed), or both.

Exit status: 0 the receipt is as it was issued; 1 something changed (named in the output); 65 the file
is not a readable receipt (or a given public key is not readable).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent.settings import Settings

EXIT_SAME = 0
EXIT_CHANGED = 1


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "verify-receipt", parents=[common], help="re-verify a saved verification receipt offline"
    )
    parser.add_argument("file", type=Path, help="the receipt (JSON) from 'read --receipt' or the desk's download")
    parser.add_argument("--public-key", action="append", type=Path, default=[], metavar="PEM",
                        help="a site's receipt public key (repeatable; default: this site's own)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import StoreError
    from agent.receipt import load_public_key, load_receipt, verify_receipt
    from agent.trust_files import load_trust_directory
    from agent.wiring.production import open_receipt_key

    receipt = load_receipt(args.file)
    keys = [load_public_key(path) for path in args.public_key]
    try:
        keys.append(open_receipt_key(settings, create=False).public)
    except StoreError:
        pass  # no receipt key on this machine: only the keys given can vouch for a signature
    trust, _report = load_trust_directory(settings.trust_dir())
    verification = verify_receipt(receipt, trust, keys)
    if args.json:
        print(json.dumps(verification.to_json(), ensure_ascii=False, indent=2))
        return EXIT_SAME if verification.consistent else EXIT_CHANGED
    issued = receipt.get("issued_at") or (receipt.get("chip") or receipt).get("read_at")
    print(f"Biên nhận / Receipt: {args.file} ({verification.format}, {issued})")
    signature = verification.signature
    print(f" {'=' if signature.status != 'failed' else '!'} signature: {signature.status}"
          + (f" ({signature.reason})" if signature.reason else ""))
    chip = verification.chip
    if chip is not None:
        for check in chip.comparisons:
            mark = "=" if check.same else "!"
            line = f" {mark} {check.name}: {check.recorded} -> {check.now}"
            print(line + (f" ({check.reason})" if not check.same and check.reason else ""))
        for note in chip.notes:
            print(f"   {note}")
    if verification.consistent:
        print("Kết quả khớp với biên nhận. / Every check verifies as recorded.")
        return EXIT_SAME
    print("KHÔNG còn khớp / Changed: " + ", ".join(verification.changed_parts))
    if chip is not None and chip.changed:
        print(f"KHÔNG còn khớp / No longer as recorded: {', '.join(c.name for c in chip.changed)}")
    return EXIT_CHANGED

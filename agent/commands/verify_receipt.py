"""``python -m agent verify-receipt FILE``: re-verify a saved verification receipt offline against
the trust store and report the same outcomes, or name exactly what no longer verifies.

Exit status: 0 when every recomputed check matches the receipt, 1 when something changed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "verify-receipt", parents=[common], help="re-verify a saved verification receipt offline"
    )
    parser.add_argument("file", type=Path, help="the receipt (JSON) written by 'read --receipt'")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.receipt import load_receipt, verify_receipt
    from agent.trust_files import load_trust_directory

    receipt = load_receipt(args.file)
    trust, _report = load_trust_directory(settings.trust_dir())
    verification = verify_receipt(receipt, trust)
    if args.json:
        print(json.dumps(verification.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"Biên nhận / Receipt: {args.file} (đọc lúc / read at {receipt.get('read_at')})")
        for check in verification.comparisons:
            mark = "=" if check.same else "!"
            line = f" {mark} {check.name}: {check.recorded} -> {check.now}"
            print(line + (f" ({check.reason})" if not check.same and check.reason else ""))
        for note in verification.notes:
            print(f"   {note}")
        if verification.consistent:
            print("Kết quả khớp với biên nhận. / Every check verifies as recorded.")
        else:
            names = ", ".join(check.name for check in verification.changed)
            print(f"KHÔNG còn khớp / No longer as recorded: {names}")
    return 0 if verification.consistent else 1

"""``python -m agent audit verify [--file F] [--json]``: check the hash chain (and, with the store's
key, the MAC) of every audit entry, and the log's end against the head the store recorded (entries
removed from the tail), and report the first broken link; exit 0 when intact, 65 when not.
``python -m agent audit show [--operator NAME] [--last N] [--json]``: list the entries (they hold no
personal data in clear)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent.settings import Settings

EXIT_BROKEN = 65  # EX_DATAERR


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("audit", parents=[common], help="check or list the audit trail")
    actions = parser.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", parents=[common], help="check the hash chain of the audit log")
    verify.add_argument("--file", type=Path, help="audit log (default: audit.path from the settings)")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(handler=run_verify)
    show = actions.add_parser("show", parents=[common], help="list audit entries")
    show.add_argument("--file", type=Path, help="audit log (default: audit.path from the settings)")
    show.add_argument("--operator", help="only this operator's entries")
    show.add_argument("--last", type=int, default=50, metavar="N", help="the last N entries (default 50)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)


def _keys(settings: Settings) -> Any:
    from agent.audit import AuditKeys
    from agent.errors import StoreError
    from agent.wiring.production import store_key_source

    try:
        return AuditKeys(store_key_source(settings).load(create=False))
    except StoreError:
        return None


def _recorded_head(settings: Settings) -> str | None:
    """The log's running head as the store recorded it; None when the store cannot be opened here."""
    from agent.errors import StoreError
    from agent.wiring.production import open_store

    if not settings.store_path().is_file():
        return None
    try:
        with open_store(settings) as store:
            return store.audit_head.load()
    except StoreError:
        return None


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    from agent.audit import verify_log

    path = args.file or settings.audit_path()
    # The store's head belongs to the site's own log: another file given with --file is checked alone.
    head = _recorded_head(settings) if args.file is None or Path(args.file) == settings.audit_path() else None
    report = verify_log(path, _keys(settings), head)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return 0 if report.ok else EXIT_BROKEN
    print(f"{path}")
    span = f"  ({report.first_at} → {report.last_at})" if report.first_at else ""
    print(f"  {report.entries} mục / entries{span}")
    for operator, count in sorted(report.operators.items()):
        print(f"  {operator}: {count}")
    if not report.macs_checked:
        print("  Không có khóa của kho dữ liệu: chỉ kiểm tra chuỗi băm, không kiểm tra MAC.\n"
              "  The store key is not available: the hash chain is checked, the MACs are not.")
    if not report.head_checked:
        print("  Kho dữ liệu không ghi điểm cuối của nhật ký: không kiểm tra được việc xóa các mục cuối.\n"
              "  The store holds no record of the log's end: removal of the last entries cannot be checked.")
    if report.ok:
        print("NHẬT KÝ NGUYÊN VẸN / AUDIT LOG INTACT")
        return 0
    problem = report.first_problem
    assert problem is not None
    seq = f" (seq {problem.seq})" if problem.seq is not None else ""
    print(f"NHẬT KÝ BỊ SỬA ĐỔI / AUDIT LOG BROKEN at line {problem.line}{seq}: {problem.problem}")
    return EXIT_BROKEN


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    from agent.audit import read_entries
    from agent.errors import StoreError

    path = args.file or settings.audit_path()
    if not path.is_file():
        raise StoreError(f"there is no audit log at {path}")
    entries = [e for e in read_entries(path) if not args.operator or e.get("operator") == args.operator]
    entries = entries[-max(0, args.last):] if args.last else entries
    if args.json:
        print(json.dumps({"entries": entries}, ensure_ascii=False, indent=2))
        return 0
    for entry in entries:
        data = entry.get("data") or {}
        summary = " ".join(f"{k}={data[k]}" for k in ("result_id", "source", "verdict", "id_masked", "error")
                           if data.get(k))
        print(f"{entry.get('seq'):>6} {entry.get('at')} {entry.get('operator')} {entry.get('action')} {summary}")
    return 0

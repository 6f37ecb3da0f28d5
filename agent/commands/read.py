"""``python -m agent read``: read and check a CCCD chip on a reader (or a simulated card), print
what it says in Vietnamese and English (or JSON), and optionally save the verification receipt.

Exit status: 0 when the read finished and no check failed (an unknown trust anchor is not a
failure), 1 when a check failed, and the error's code when the read could not finish.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import AgentError, ConfigError
from agent.icao.lds_registry import DG2
from agent.ports import ChipKeys
from agent.privacy import mask_id
from agent.settings import Settings

EXIT_CHECK_FAILED = 1
STATUS_WORDS_VI = {"ok": "đạt", "failed": "KHÔNG ĐẠT", "unknown": "chưa xác định", "not_supported": "không hỗ trợ"}


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("read", parents=[common], help="read and verify a CCCD chip")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--reader", metavar="NAME", help="PC/SC reader name (default: the reader holding a card)")
    where.add_argument("--simulate", metavar="PROFILE", help="read a simulated card (python -m simulators profiles)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--id", dest="id_number", metavar="12DIGITS", help="the 12-digit ID number (CAN = last 6 digits)")
    key.add_argument("--can", metavar="6DIGITS", help="the card access number")
    key.add_argument("--mrz", metavar="DOCNO,YYMMDD,YYMMDD", help="document number, birth and expiry dates")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--receipt", metavar="FILE", type=Path, help="save the verification receipt here")
    parser.set_defaults(handler=run)


def parse_keys(args: argparse.Namespace) -> ChipKeys | None:
    from agent.icao.keys import MrzKey

    if args.id_number is not None:
        digits = args.id_number.strip()
        if len(digits) != 12 or not digits.isdigit():
            raise ConfigError("must be 12 digits", source="--id")
        return ChipKeys(id_number=digits)
    if args.can is not None:
        can = args.can.strip()
        if len(can) != 6 or not can.isdigit():
            raise ConfigError("must be 6 digits", source="--can")
        return ChipKeys(can=can)
    if args.mrz is not None:
        parts = [part.strip() for part in args.mrz.split(",")]
        if len(parts) != 3:
            raise ConfigError("expected DOCNO,YYMMDD,YYMMDD", source="--mrz")
        return ChipKeys(mrz=MrzKey(parts[0], parts[1], parts[2]))
    return None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.chip import ConfiguredChipReader
    from agent.trust_files import load_trust_directory
    from agent.wiring.simulated import open_simulated_reader, simulator_trust_dir

    keys = parse_keys(args)
    trust, _report = load_trust_directory(settings.trust_dir())
    transaction_id = str(uuid.uuid4())
    progress = None if args.json else _ProgressBar()
    if args.simulate:
        keys = keys or _simulated_keys(args.simulate)
        with tempfile.TemporaryDirectory() as directory:
            simulator_trust_dir(directory)
            extra, _ = load_trust_directory(Path(directory))
            for entry in extra.certificates:
                trust.add_certificate(entry.certificate, source="simulator test CSCA")
            for listed_crl in extra.crls:
                trust.add_crl(listed_crl.crl, source="simulator test CRL")
        reader = ConfiguredChipReader(settings, trust)
        with open_simulated_reader(args.simulate) as simulated:
            if simulated.banner and not args.json:
                print(simulated.banner, file=sys.stderr)
            result = reader.read(simulated.connection, keys, transaction_id=transaction_id, progress=progress)
            reader_name, mode = simulated.reader_name, simulated.mode
    else:
        from agent.nfc.pcsc import PcscSystem

        if keys is None:
            raise ConfigError("give the card's key: --id 12DIGITS, --can 6DIGITS or --mrz DOCNO,YYMMDD,YYMMDD")
        transport = PcscSystem().connect(args.reader, exclusive=settings.reader.exclusive)
        reader_name, mode = transport.reader, "pcsc"
        try:
            result = ConfiguredChipReader(settings, trust).read(transport, keys, transaction_id=transaction_id,
                                                                 progress=progress)
        finally:
            transport.close()
    if progress is not None:
        progress.finish()
    if args.receipt is not None:
        _save_receipt(settings, result.receipt, args.receipt)
    payload = result.to_json() | {"reader": reader_name, "transport": mode, "transaction_id": transaction_id}
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        _print_human(payload, args.receipt)
    return EXIT_CHECK_FAILED if result.evidence.failed else 0


def _save_receipt(settings: Settings, chip: Mapping[str, Any], path: Path) -> None:
    """The signed receipt of a bare read: the same envelope the desk hands out, without a desk result."""
    from agent.receipt import build_receipt, write_receipt
    from agent.wiring.production import open_receipt_key

    receipt = build_receipt(site_id=settings.site.site_id, issued_at=datetime.fromisoformat(chip["read_at"]),
                            key=open_receipt_key(settings), chip=chip)
    try:
        write_receipt(receipt, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the receipt: {exc.strerror}", source=str(path)) from exc


def _simulated_keys(profile: str) -> ChipKeys:
    from agent.icao.keys import MrzKey
    from simulators.card.profiles import get_profile, profile_access

    access = profile_access(get_profile(profile))
    if access is None:
        raise AgentError(f"profile {profile!r} is not a CCCD")
    # Both keys, as the holder of the card has both: a chip without PACE (legacy-3des) opens with BAC.
    mrz = MrzKey(access.document_number, access.date_of_birth, access.date_of_expiry)
    return ChipKeys(id_number=access.id_number, mrz=mrz)


def _print_human(payload: dict[str, Any], receipt: Path | None) -> None:
    identity = payload["identity"]
    authenticity = payload["authenticity"]
    stats = payload["stats"]
    lines = [
        f"Họ và tên / Name:            {identity['full_name']}",
        f"Số định danh / ID number:    {mask_id(identity['id_number'])}",
        f"Ngày sinh / Date of birth:   {identity['date_of_birth'] or '-'}",
        f"Giới tính / Sex:             {identity['sex'] or '-'}",
        f"Xác thực dữ liệu / Passive authentication: "
        f"{STATUS_WORDS_VI.get(authenticity['passive'], authenticity['passive'])} / {authenticity['passive']}",
        f"Chống sao chép chip / Chip authentication: "
        f"{STATUS_WORDS_VI.get(authenticity['chip'], authenticity['chip'])} / {authenticity['chip']}",
    ]
    lines += [f"  - {reason}" for reason in authenticity["reasons"]]
    estimate = stats.get("link_estimate_ms")
    lines.append(
        f"Đọc qua / Read via {payload['access_method']} on {payload['reader']}: {stats['apdus']} APDUs, "
        f"{stats['bytes']} bytes, {stats['elapsed_ms']:.0f} ms"
        + (f" (ước tính đầu đọc thật / real-reader estimate {estimate:.0f} ms)" if estimate is not None else "")
    )
    if receipt is not None:
        lines.append(f"Biên nhận đã lưu / Receipt saved: {receipt}")
    print("\n".join(lines))


class _ProgressBar:
    """A one-line progress bar on stderr while the face image (DG2) is read."""

    WIDTH = 30

    def __init__(self) -> None:
        self.shown = False
        self.interactive = sys.stderr.isatty()

    def __call__(self, name: str, done: int, total: int) -> None:
        if name != DG2.name or total <= 0:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        end = "\r" if self.interactive else "\n"
        if self.interactive or done == total:
            print(f"Đang đọc ảnh / Reading photo [{bar}] {done}/{total} B", end=end, file=sys.stderr, flush=True)
            self.shown = True

    def finish(self) -> None:
        if self.shown and self.interactive:
            print(file=sys.stderr)

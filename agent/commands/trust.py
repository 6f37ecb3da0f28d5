"""``python -m agent trust list`` shows the CSCA certificates, master lists and CRLs loaded from the
trust directory (settings ``trust.csca_dir``) and which expire within ``trust.expiry_warning_days``;
``python -m agent trust import FILE`` validates a certificate, master list or CRL and copies it in.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent import messages
from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("trust", parents=[common], help="CSCA certificates, master lists and CRLs")
    actions = parser.add_subparsers(dest="trust_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="show what is loaded and what expires soon")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=run_list)
    importing = actions.add_parser("import", parents=[common], help="validate a file and copy it into the trust dir")
    importing.add_argument("file", metavar="FILE", help="DER/PEM certificate, .ml master list or CRL")
    importing.add_argument("--json", action="store_true", help="machine-readable output")
    importing.set_defaults(handler=run_import)


def _both(key: str, **params: Any) -> str:
    return f"{messages.text(key, 'vi', **params)} / {messages.text(key, 'en', **params)}"


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "-"


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from agent.trust_files import load_trust_directory

    now = datetime.now(UTC)
    warning = timedelta(days=settings.trust.expiry_warning_days)
    directory = settings.trust_dir()
    store, report = load_trust_directory(directory)
    certificates = []
    for entry in sorted(store.certificates, key=lambda e: (e.certificate.subject.country, e.certificate.not_after)):
        certificate = entry.certificate
        if certificate.not_after < now:
            status = "expired"
        elif certificate.not_after <= now + warning:
            status = "expires_soon"
        elif certificate.not_before > now:
            status = "not_yet_valid"
        else:
            status = "valid"
        certificates.append(
            {
                "subject": certificate.subject.text,
                "country": certificate.subject.country,
                "serial": f"{certificate.serial_number:X}",
                "not_before": certificate.not_before.isoformat(),
                "not_after": certificate.not_after.isoformat(),
                "days_left": (certificate.not_after - now).days,
                "key": certificate.public_key.description,
                "fingerprint_sha256": certificate.fingerprint,
                "source": entry.source,
                "status": status,
            }
        )
    crls = []
    for trusted in store.crls:
        crl = trusted.crl
        issuers = [e.certificate for e in store.certificates if e.certificate.subject.key == crl.issuer.key]
        if not issuers:
            signature = "issuer_not_loaded"
        elif any(crl.verify_issued_by(issuer.public_key).is_ok for issuer in issuers):
            signature = "verified"
        else:
            signature = "failed"
        crls.append(
            {
                "issuer": crl.issuer.text,
                "this_update": crl.this_update.isoformat(),
                "next_update": crl.next_update.isoformat() if crl.next_update else None,
                "outdated": crl.outdated_at(now),
                "revoked": len(crl.revoked),
                "signature": signature,
                "source": trusted.source,
            }
        )
    master_lists = [
        {
            "source": loaded.source,
            "signature": {
                "status": str(loaded.master_list.signature.status),
                "reason": loaded.master_list.signature.reason,
            },
            "signer_chain": {
                "status": str(loaded.master_list.signer_chain.status),
                "reason": loaded.master_list.signer_chain.reason,
            },
            "signer": loaded.master_list.signer.subject.text if loaded.master_list.signer else None,
            "certificates": len(loaded.master_list.certificates),
            "added": loaded.added,
            "rejected": [
                {"index": r.index, "subject": r.subject, "reason": r.reason} for r in loaded.master_list.rejected
            ],
        }
        for loaded in store.master_lists
    ]
    payload = {
        "directory": str(directory),
        "exists": report.exists,
        "checked_at": now.isoformat(),
        "expiry_warning_days": settings.trust.expiry_warning_days,
        "certificates": certificates,
        "crls": crls,
        "master_lists": master_lists,
        "problems": [{"file": p.path, "problem": p.problem} for p in report.problems],
        "skipped": report.skipped,
    }
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    _print_list(payload)
    return 0


def _print_list(payload: dict[str, Any]) -> None:
    print(f"{_both('trust.directory')}: {payload['directory']}")
    if not payload["certificates"]:
        print(_both("trust.empty"))
    else:
        print(f"{_both('trust.certificates')} ({len(payload['certificates'])}):")
    labels = {
        "expired": _both("trust.expired"),
        "expires_soon": _both("trust.expires_soon", days=payload["expiry_warning_days"]),
        "not_yet_valid": _both("trust.not_yet_valid"),
        "valid": "",
    }
    for item in payload["certificates"]:
        flag = labels[item["status"]]
        print(
            f"  {item['subject']}\n"
            f"    serial {item['serial']}  {item['not_before'][:10]} .. {item['not_after'][:10]}"
            f"  {item['key']}  [{item['source']}]" + (f"  <- {flag}" if flag else "")
        )
    if payload["crls"]:
        print(f"{_both('trust.crls')} ({len(payload['crls'])}):")
    for item in payload["crls"]:
        next_update = (item["next_update"] or "-")[:10]
        print(
            f"  {item['issuer']}\n    {item['this_update'][:10]} .. {next_update}  {item['revoked']} revoked"
            f"  signature {item['signature']}" + ("  OUTDATED" if item["outdated"] else "") + f"  [{item['source']}]"
        )
    for item in payload["master_lists"]:
        print(
            f"{_both('trust.master_list')} [{item['source']}]: signature {item['signature']['status']}"
            f" {item['signature']['reason']}; signer chain {item['signer_chain']['status']}"
            f" {item['signer_chain']['reason']}; {item['certificates']} certificates, {item['added']} new"
        )
        for rejected in item["rejected"]:
            print(f"    rejected #{rejected['index']} {rejected['subject']}: {rejected['reason']}")
    expiring = [item for item in payload["certificates"] if item["status"] in ("expired", "expires_soon")]
    if expiring:
        print(_both("trust.expiring_heading", days=payload["expiry_warning_days"]) + ":")
        for item in expiring:
            print(f"  {item['not_after'][:10]}  {item['subject']}  [{item['source']}]")
    if payload["problems"]:
        print(_both("trust.problems") + ":")
        for problem in payload["problems"]:
            print(f"  {problem['file']}: {problem['problem']}")


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    from agent.trust_files import import_trust_file

    result = import_trust_file(Path(args.file), settings.trust_dir())
    payload: dict[str, Any] = {
        "kind": result.kind,
        "destination": result.destination,
        "already_present": result.already_present,
        "certificates": [
            {
                "subject": c.subject.text,
                "not_after": c.not_after.isoformat(),
                "key": c.public_key.description,
                "fingerprint_sha256": c.fingerprint,
            }
            for c in result.certificates
        ],
        "notes": list(result.notes),
    }
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    key = "trust.already_present" if result.already_present else "trust.imported"
    print(f"{_both(key)}: {result.destination}")
    for certificate in payload["certificates"]:
        print(f"  {certificate['subject']}  .. {certificate['not_after'][:10]}  {certificate['key']}")
    for note in result.notes:
        print(f"  note: {note}")
    return 0

"""Verification receipts (agent.receipt) and ``python -m agent verify-receipt``: a chip receipt re-verifies
offline as recorded, and every kind of change is named exactly: a data group byte (dgN_hash), the Active
Authentication signature, the transaction it was bound to, a trust store without the CSCA
(certificate_chain ok -> unknown), and a damaged file (DocumentError and its exit code); the signed
envelope says whether its signature, its chip evidence or both changed, and older unsigned receipts
are still verified."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.chip import read_chip
from agent.cli import main
from agent.errors import DocumentError
from agent.icao.trust import TrustStore
from agent.receipt import (
    CHIP_RECEIPT_FORMAT,
    RECEIPT_FORMAT,
    ReceiptKey,
    SignatureStatus,
    build_receipt,
    load_receipt,
    verify_chip_receipt,
    verify_receipt,
    write_receipt,
)
from agent.settings import load_settings
from simulators.card.transport import InProcessTransport
from tests.chip_support import READ_AT, access_of, config_file, make_card, simulator_trust, write_simulator_trust

ROOT = Path(__file__).resolve().parent.parent
EXIT_DOCUMENT_ERROR = 65


@pytest.fixture(scope="module")
def receipt() -> dict[str, Any]:
    """The receipt of one genuine read (copied by each test before it changes anything)."""
    result = read_chip(
        InProcessTransport(make_card("normal")),
        settings=load_settings(None, environ={}),
        trust_store=simulator_trust(),
        transaction_id="check-in-42",
        id_number=access_of("normal").id_number,
        at=READ_AT,
    )
    return result.receipt


def copy_of(receipt: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(receipt))
    return copied


def flip_last_byte(receipt: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy_of(receipt)
    data = bytearray(base64.b64decode(changed["files"][name]))
    data[-1] ^= 0x01
    changed["files"][name] = base64.b64encode(bytes(data)).decode("ascii")
    return changed


@pytest.fixture
def trust_dir(tmp_path: Path) -> Path:
    return write_simulator_trust(tmp_path / "trust")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    return subprocess.run(
        [sys.executable, "-m", "agent", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip


def test_a_receipt_verifies_as_recorded(receipt: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "receipt.json"
    write_receipt(receipt, path)
    loaded = load_receipt(path)
    assert loaded == receipt and loaded["format"] == CHIP_RECEIPT_FORMAT
    verification = verify_chip_receipt(loaded, simulator_trust())
    assert verification.consistent, verification.to_json()
    assert (verification.passive, verification.chip) == ("ok", "ok")
    names = [check.name for check in verification.comparisons]
    assert {"sod_signature", "certificate_chain", "dg1_hash", "dg2_hash", "dg13_hash", "active_authentication"} <= set(
        names
    )
    assert any("not re-verifiable" in note for note in verification.notes)  # CA is interactive


@pytest.mark.parametrize("group", [1, 2, 13, 14])
def test_a_changed_data_group_byte_is_named(receipt: dict[str, Any], group: int) -> None:
    verification = verify_chip_receipt(flip_last_byte(receipt, f"DG{group}"), simulator_trust())
    assert [check.name for check in verification.changed] == [f"dg{group}_hash"]
    assert verification.changed[0].recorded == "ok" and verification.changed[0].now == "failed"
    assert verification.passive == "failed"


def test_a_changed_active_authentication_signature_is_named(receipt: dict[str, Any]) -> None:
    changed = copy_of(receipt)
    signature = bytearray.fromhex(changed["active_authentication"]["signature"])
    signature[len(signature) // 2] ^= 0x80
    changed["active_authentication"]["signature"] = signature.hex()
    verification = verify_chip_receipt(changed, simulator_trust())
    assert [check.name for check in verification.changed] == ["active_authentication"]
    assert verification.changed[0].now == "failed"


def test_a_receipt_moved_to_another_transaction_is_named(receipt: dict[str, Any]) -> None:
    changed = copy_of(receipt)
    changed["transaction_id"] = "check-in-43"
    verification = verify_chip_receipt(changed, simulator_trust())
    assert [check.name for check in verification.changed] == ["active_authentication_binding"]


def test_without_the_csca_the_chain_becomes_unknown(receipt: dict[str, Any]) -> None:
    verification = verify_chip_receipt(copy_of(receipt), TrustStore())
    changed = {check.name: check for check in verification.changed}
    assert "certificate_chain" in changed
    assert (changed["certificate_chain"].recorded, changed["certificate_chain"].now) == ("ok", "unknown")
    assert "unknown trust anchor" in changed["certificate_chain"].reason
    assert all(check.now != "failed" for check in verification.comparisons)  # unknown, never failed
    assert verification.passive == "unknown"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "cccd-agent-receipt/1", "files": {', "cannot read the receipt"),
        ("\xff\xfe not utf-8", "cannot read the receipt"),
        ('{"format": "something-else"}', "not a cccd-agent receipt"),
        ("[1, 2, 3]", "not a cccd-agent receipt"),
    ],
)
def test_a_damaged_file_is_a_document_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "receipt.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(DocumentError, match=message) as caught:
        load_receipt(path)
    assert caught.value.file == str(path)


def test_a_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read the receipt"):
        load_receipt(tmp_path / "absent.json")


@pytest.mark.parametrize("damage", ["no files", "bad base64", "bad date", "no outcome"])
def test_an_incomplete_receipt_is_a_document_error(receipt: dict[str, Any], damage: str) -> None:
    changed = copy_of(receipt)
    if damage == "no files":
        del changed["files"]
    elif damage == "bad base64":
        changed["files"]["DG1"] = "not base64!"
    elif damage == "bad date":
        changed["read_at"] = "yesterday"
    else:
        del changed["outcome"]
    with pytest.raises(DocumentError, match="incomplete or damaged"):
        verify_chip_receipt(changed, simulator_trust())


# --- the command line, as a notary's office would run it ----------------------------------------


def test_read_then_verify_receipt_on_the_command_line(tmp_path: Path, trust_dir: Path) -> None:
    config = config_file(tmp_path, trust_dir)
    path = tmp_path / "receipt.json"
    read = run_cli("read", "--simulate", "normal", "--json", "--receipt", path, "--config", config)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["authenticity"]["passive"] == "ok"
    verified = run_cli("verify-receipt", path, "--json", "--config", config)
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["consistent"] is True and report["changed"] == []
    assert (report["passive"], report["chip"]) == ("ok", "ok")

    human = run_cli("verify-receipt", path, "--config", config)
    assert human.returncode == 0
    assert "Every check verifies as recorded." in human.stdout
    assert access_of("normal").id_number not in human.stdout + human.stderr


def test_verify_receipt_names_a_changed_group_and_exits_1(receipt: dict[str, Any], tmp_path: Path,
                                                          trust_dir: Path) -> None:
    path = tmp_path / "receipt.json"
    write_receipt(flip_last_byte(receipt, "DG2"), path)
    result = run_cli("verify-receipt", path, "--config", config_file(tmp_path, trust_dir))
    assert result.returncode == 1
    assert " ! dg2_hash: ok -> failed (DG2 does not match its hash in the SOD)" in result.stdout
    assert "No longer as recorded: dg2_hash" in result.stdout


def test_verify_receipt_without_the_csca_names_the_chain(receipt: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "receipt.json"
    write_receipt(receipt, path)
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    result = run_cli("verify-receipt", path, "--json", "--config", config_file(tmp_path, empty))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert "certificate_chain" in report["changed"] and report["passive"] == "unknown"


def test_verify_receipt_of_a_damaged_file_exits_with_the_document_error(tmp_path: Path, trust_dir: Path) -> None:
    path = tmp_path / "receipt.json"
    path.write_text('{"format": "cccd-agent-receipt/1", "files": {"DG1": "', encoding="utf-8")
    config = config_file(tmp_path, trust_dir)
    result = run_cli("verify-receipt", path, "--json", "--config", config)
    assert result.returncode == EXIT_DOCUMENT_ERROR
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DocumentError" and error["code"] == "error.document"
    assert "cannot read the receipt" in error["message"] and error["message_vi"]


def test_verify_receipt_human_error_and_a_changed_signature_in_process(
    receipt: dict[str, Any], tmp_path: Path, trust_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(config_file(tmp_path, trust_dir))
    damaged = tmp_path / "damaged.json"
    damaged.write_text("{", encoding="utf-8")
    assert main(["verify-receipt", str(damaged), "--config", config]) == EXIT_DOCUMENT_ERROR
    assert "DocumentError" in capsys.readouterr().err

    changed = copy_of(receipt)
    changed["active_authentication"]["signature"] = "00" * 128
    path = tmp_path / "receipt.json"
    write_receipt(changed, path)
    assert main(["verify-receipt", str(path), "--json", "--config", config]) == 1
    assert json.loads(capsys.readouterr().out)["changed"] == ["active_authentication"]


# --- the signed envelope -----------------------------------------------------------------------------

SITE_KEY = ReceiptKey(bytes(range(32)))
OTHER_KEY = ReceiptKey(bytes(range(1, 33)))


def envelope(chip: dict[str, Any], key: ReceiptKey = SITE_KEY, **result: Any) -> dict[str, Any]:
    signed = build_receipt(site_id="vp-cong-chung-1", issued_at=READ_AT, key=key, chip=chip)
    if result:  # a desk result in the envelope: only its JSON matters to the signature
        signed = _resign({k: v for k, v in signed.items() if k != "signature"} | {"result": result}, key)
    return copy_of(signed)


def _resign(body: dict[str, Any], key: ReceiptKey) -> dict[str, Any]:
    from agent.receipt import SIGNATURE_ALGORITHM, _canonical

    return {**body, "signature": {"algorithm": SIGNATURE_ALGORITHM, "key_id": key.key_id,
                                  "value": base64.b64encode(key.sign(_canonical(body))).decode()}}


def test_an_envelope_verifies_as_issued(receipt: dict[str, Any]) -> None:
    signed = envelope(receipt, verdict="verified", operator="cong-chung-vien-2")
    assert signed["format"] == RECEIPT_FORMAT and signed["signature"]["key_id"] == SITE_KEY.key_id
    verification = verify_receipt(signed, simulator_trust(), [SITE_KEY.public])
    assert verification.consistent and verification.changed_parts == ()
    assert verification.signature.status is SignatureStatus.OK
    assert verification.chip is not None and verification.chip.consistent
    assert verification.to_json()["verdict"] == "verified"


def test_an_edited_verdict_breaks_the_signature_only(receipt: dict[str, Any]) -> None:
    signed = envelope(receipt, verdict="rejected")
    signed["result"]["verdict"] = "verified"
    verification = verify_receipt(signed, simulator_trust(), [SITE_KEY.public])
    assert verification.changed_parts == ("signature",)
    assert verification.chip is not None and verification.chip.consistent  # the chip part still re-verifies
    assert "changed after it was signed" in verification.signature.reason


@pytest.mark.parametrize("field", ["issued_at", "site_id"])
def test_an_edited_time_or_site_breaks_the_signature(receipt: dict[str, Any], field: str) -> None:
    signed = envelope(receipt)
    signed[field] = "2020-01-01T00:00:00+00:00"
    assert verify_receipt(signed, simulator_trust(), [SITE_KEY.public]).changed_parts == ("signature",)


def test_an_edited_chip_file_breaks_both(receipt: dict[str, Any]) -> None:
    signed = envelope(receipt)
    signed["chip"] = flip_last_byte(signed["chip"], "DG13")
    verification = verify_receipt(signed, simulator_trust(), [SITE_KEY.public])
    assert verification.changed_parts == ("signature", "chip evidence")
    assert [c.name for c in verification.chip.changed] == ["dg13_hash"]


def test_a_receipt_re_signed_by_another_key_is_not_the_sites(receipt: dict[str, Any]) -> None:
    forged = envelope(receipt, key=OTHER_KEY)
    verification = verify_receipt(forged, simulator_trust(), [SITE_KEY.public])
    assert verification.signature.status is SignatureStatus.FAILED
    assert OTHER_KEY.key_id in verification.signature.reason and SITE_KEY.key_id in verification.signature.reason
    assert verify_receipt(forged, simulator_trust(), [OTHER_KEY.public]).consistent


def test_without_a_key_the_signature_is_unknown_not_changed(receipt: dict[str, Any]) -> None:
    verification = verify_receipt(envelope(receipt), simulator_trust())
    assert verification.signature.status is SignatureStatus.UNKNOWN and verification.consistent


@pytest.mark.parametrize("signature", [None, {"algorithm": "RSA"}, {"algorithm": "Ed25519", "value": "%%"}])
def test_a_missing_or_unreadable_signature_is_a_change(receipt: dict[str, Any], signature: Any) -> None:
    signed = envelope(receipt)
    if signature is None:
        del signed["signature"]
    else:
        signed["signature"] = {**signed["signature"], **signature}
    assert verify_receipt(signed, simulator_trust(), [SITE_KEY.public]).changed_parts == ("signature",)


def test_the_desks_first_download_format_is_still_verified(receipt: dict[str, Any]) -> None:
    import hashlib

    from agent.receipt import _canonical

    older = {"receipt_version": 1, "site_id": "bv-test", "result": {"verdict": "verified"}, "chip_receipt": receipt}
    older["digest_sha256"] = hashlib.sha256(_canonical(older)).hexdigest()
    verification = verify_receipt(copy_of(older), simulator_trust())
    assert verification.format == "desk-v1" and verification.consistent
    assert verification.signature.status is SignatureStatus.ABSENT
    older["result"]["verdict"] = "rejected"
    assert verify_receipt(copy_of(older), simulator_trust()).changed_parts == ("signature",)


def test_read_writes_a_signed_receipt_that_verify_receipt_checks(tmp_path: Path, trust_dir: Path) -> None:
    config = config_file(tmp_path, trust_dir)
    path = tmp_path / "receipt.json"
    assert run_cli("read", "--simulate", "normal", "--json", "--receipt", path, "--config", config).returncode == 0
    signed = json.loads(path.read_text(encoding="utf-8"))
    assert signed["format"] == RECEIPT_FORMAT and signed["chip"]["format"] == CHIP_RECEIPT_FORMAT
    report = run_cli("verify-receipt", path, "--json", "--config", config)
    assert report.returncode == 0 and json.loads(report.stdout)["signature"]["status"] == "ok"

    signed["site_id"] = "somewhere-else"
    write_receipt(signed, path)
    changed = run_cli("verify-receipt", path, "--config", config)
    assert changed.returncode == 1 and "Changed: signature" in changed.stdout

    # An auditor elsewhere: no receipt key of their own, the site's public key given.
    exported = tmp_path / "site.pem"
    assert run_cli("receipt-key", "--out", exported, "--config", config).returncode == 0
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    auditor = config_file(elsewhere, trust_dir)
    write_receipt(json.loads(path.read_text(encoding="utf-8")) | {"site_id": read_site(tmp_path, config)}, path)
    unknown = run_cli("verify-receipt", path, "--json", "--config", auditor)
    assert unknown.returncode == 0 and json.loads(unknown.stdout)["signature"]["status"] == "unknown"
    given = run_cli("verify-receipt", path, "--json", "--public-key", exported, "--config", auditor)
    assert given.returncode == 0 and json.loads(given.stdout)["signature"]["status"] == "ok"
    printed = run_cli("receipt-key", "--config", config)
    assert printed.stdout == exported.read_text(encoding="ascii") and "key id:" in printed.stderr


def read_site(tmp_path: Path, config: Path) -> str:
    """The site id a receipt written with ``config`` carries (the default settings' one)."""
    return load_settings(config, environ={}).site.site_id


# --- damaged receipts on the command line (issue 13 item 6) -----------------------------------------------

EXIT_SAME, EXIT_CHANGED = 0, 1
# damage -> the exit code: 65 where the receipt cannot be read as one, 1 where a check no longer verifies as
# recorded, 0 where the damage touches nothing that is re-verified (a note, an extra file, the summary).
DAMAGES: dict[str, tuple[Any, int]] = {
    "files is a list": (lambda r: r.update(files=[]), EXIT_DOCUMENT_ERROR),
    "a file is a number": (lambda r: r["files"].update(DG1=5), EXIT_DOCUMENT_ERROR),
    "a file name is empty": (lambda r: r["files"].update({"": r["files"]["DG1"]}), EXIT_SAME),
    "DG14 holds the SecurityInfos of issue 13": (
        lambda r: r["files"].update(DG14=base64.b64encode(bytes.fromhex(
            "6e3631343032060904007f000702020401302206072a8648ce3e02013017021500f518aa8781a8df278aba4e7d64b7cb9d49"
            "462353020121")).decode()), EXIT_CHANGED),
    "read_at is a number": (lambda r: r.update(read_at=12), EXIT_DOCUMENT_ERROR),
    "read_at is a list": (lambda r: r.update(read_at=["2025"]), EXIT_DOCUMENT_ERROR),
    "outcome is a list": (lambda r: r.update(outcome=[]), EXIT_DOCUMENT_ERROR),
    "checks is a list": (lambda r: r["passive_authentication"].update(checks=[1, 2]), EXIT_DOCUMENT_ERROR),
    "a check is a number": (lambda r: r["passive_authentication"].update(checks={"dg1_hash": 5}), EXIT_DOCUMENT_ERROR),
    "passive_authentication is text": (lambda r: r.update(passive_authentication="ok"), EXIT_CHANGED),
    "challenge is not hex": (lambda r: r["active_authentication"].update(challenge="zz"), EXIT_DOCUMENT_ERROR),
    "challenge is a list": (lambda r: r["active_authentication"].update(challenge=[1]), EXIT_DOCUMENT_ERROR),
    "chip_authentication status is a list": (lambda r: r.update(chip_authentication={"status": ["ok"]}), EXIT_SAME),
    "transaction_id is an object": (lambda r: r.update(transaction_id={"a": 1}), EXIT_CHANGED),
    "no transaction_id": (lambda r: r.pop("transaction_id"), EXIT_DOCUMENT_ERROR),
}
ENVELOPE_DAMAGES: dict[str, tuple[Any, int]] = {
    "chip is a list": (lambda r: r.update(chip=[1]), EXIT_DOCUMENT_ERROR),
    "result is text": (lambda r: r.update(result="verified"), EXIT_DOCUMENT_ERROR),
    "signature value is a number": (lambda r: r["signature"].update(value=5), EXIT_CHANGED),
    "signature is a list": (lambda r: r.update(signature=[]), EXIT_CHANGED),
    "issued_at is an object": (lambda r: r.update(issued_at={}), EXIT_CHANGED),
}
RAW_DAMAGES = {
    "a 5,000-digit number": b'{"format": "cccd-agent-receipt/1", "read_at": ' + b"9" * 5000 + b"}",
    "nested 100,000 deep": b'{"format": "cccd-agent-receipt/1", "files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "not UTF-8": b'{"format": "\xff"}',
    "empty": b"",
}


def _verify_file(path: Path, config: str, capsys: pytest.CaptureFixture[str], *extra: str) -> int:
    code = main(["verify-receipt", str(path), "--json", "--config", config, *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_chip_receipt_is_unreadable_or_changed_never_a_crash(
    receipt: dict[str, Any], damage: str, tmp_path: Path, trust_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = copy_of(receipt)
    apply, expected = DAMAGES[damage]
    apply(changed)
    path = tmp_path / "receipt.json"
    write_receipt(changed, path)
    assert _verify_file(path, str(config_file(tmp_path, trust_dir)), capsys) == expected


@pytest.mark.parametrize("damage", sorted(ENVELOPE_DAMAGES))
def test_a_damaged_envelope_is_unreadable_or_changed_never_a_crash(
    receipt: dict[str, Any], damage: str, tmp_path: Path, trust_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = envelope(receipt)
    apply, expected = ENVELOPE_DAMAGES[damage]
    apply(changed)
    path = tmp_path / "receipt.json"
    write_receipt(changed, path)
    site_key = tmp_path / "site.pem"
    site_key.write_text(SITE_KEY.public_pem(), encoding="utf-8")
    code = _verify_file(path, str(config_file(tmp_path, trust_dir)), capsys, "--public-key", str(site_key))
    assert code == expected


@pytest.mark.parametrize("damage", sorted(RAW_DAMAGES))
def test_an_unreadable_receipt_file_exits_65(damage: str, tmp_path: Path, trust_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "receipt.json"
    path.write_bytes(RAW_DAMAGES[damage])
    assert _verify_file(path, str(config_file(tmp_path, trust_dir)), capsys) == EXIT_DOCUMENT_ERROR


def test_the_three_outcomes_have_three_exit_codes(receipt: dict[str, Any], tmp_path: Path, trust_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = str(config_file(tmp_path, trust_dir))
    same, changed, unreadable = tmp_path / "same.json", tmp_path / "changed.json", tmp_path / "unreadable.json"
    write_receipt(receipt, same)
    write_receipt(flip_last_byte(receipt, "DG1"), changed)
    unreadable.write_text("{", encoding="utf-8")
    codes = [_verify_file(path, config, capsys) for path in (same, changed, unreadable)]
    assert codes == [EXIT_SAME, EXIT_CHANGED, EXIT_DOCUMENT_ERROR]

"""Verification receipts (agent.receipt) and ``python -m agent verify-receipt``: a receipt re-verifies
offline as recorded, and every kind of change is named exactly: a data group byte (dgN_hash), the Active
Authentication signature, the transaction it was bound to, a trust store without the CSCA
(certificate_chain ok -> unknown), and a damaged file (DocumentError and its exit code)."""

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
from agent.receipt import RECEIPT_FORMAT, load_receipt, verify_receipt, write_receipt
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
    assert loaded == receipt and loaded["format"] == RECEIPT_FORMAT
    verification = verify_receipt(loaded, simulator_trust())
    assert verification.consistent, verification.to_json()
    assert (verification.passive, verification.chip) == ("ok", "ok")
    names = [check.name for check in verification.comparisons]
    assert {"sod_signature", "certificate_chain", "dg1_hash", "dg2_hash", "dg13_hash", "active_authentication"} <= set(
        names
    )
    assert any("not re-verifiable" in note for note in verification.notes)  # CA is interactive


@pytest.mark.parametrize("group", [1, 2, 13, 14])
def test_a_changed_data_group_byte_is_named(receipt: dict[str, Any], group: int) -> None:
    verification = verify_receipt(flip_last_byte(receipt, f"DG{group}"), simulator_trust())
    assert [check.name for check in verification.changed] == [f"dg{group}_hash"]
    assert verification.changed[0].recorded == "ok" and verification.changed[0].now == "failed"
    assert verification.passive == "failed"


def test_a_changed_active_authentication_signature_is_named(receipt: dict[str, Any]) -> None:
    changed = copy_of(receipt)
    signature = bytearray.fromhex(changed["active_authentication"]["signature"])
    signature[len(signature) // 2] ^= 0x80
    changed["active_authentication"]["signature"] = signature.hex()
    verification = verify_receipt(changed, simulator_trust())
    assert [check.name for check in verification.changed] == ["active_authentication"]
    assert verification.changed[0].now == "failed"


def test_a_receipt_moved_to_another_transaction_is_named(receipt: dict[str, Any]) -> None:
    changed = copy_of(receipt)
    changed["transaction_id"] = "check-in-43"
    verification = verify_receipt(changed, simulator_trust())
    assert [check.name for check in verification.changed] == ["active_authentication_binding"]


def test_without_the_csca_the_chain_becomes_unknown(receipt: dict[str, Any]) -> None:
    verification = verify_receipt(copy_of(receipt), TrustStore())
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
        ('{"format": "something-else"}', "not a cccd-agent-receipt/1 receipt"),
        ("[1, 2, 3]", "not a cccd-agent-receipt/1 receipt"),
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
        verify_receipt(changed, simulator_trust())


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

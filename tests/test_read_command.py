"""``python -m agent read``: the operator's lines in Vietnamese and English with the ID number masked,
the progress bar, the --json shape, exit codes, and the errors for missing, malformed and wrong keys.
Run in process through agent.cli.main (the simulated card goes through pcscd + vpcd when the machine
has them, else in process: the output is the same either way)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from agent.cli import main
from agent.privacy import mask_id
from tests.chip_support import access_of, config_file, write_simulator_trust

EXIT_CHECK_FAILED = 1
EXIT_CONFIG = 78
EXIT_CARD = 65


@pytest.fixture
def config(tmp_path: Path) -> str:
    # An empty trust store of its own: `read --simulate` adds the simulator's test CSCA by itself.
    empty = tmp_path / "trust"
    empty.mkdir()
    return str(config_file(tmp_path, empty))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_human_output_in_vietnamese_and_english_with_the_id_masked(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    access = access_of("normal")
    code, out, err = run(capsys, "read", "--simulate", "normal", "--config", config)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Họ và tên / Name:            Võ Văn Đức Phúc"
    assert lines[1] == f"Số định danh / ID number:    {mask_id(access.id_number)}"
    assert lines[2] == "Ngày sinh / Date of birth:   1989-12-16"
    assert lines[3] == "Giới tính / Sex:             Nam"
    assert lines[4] == "Xác thực dữ liệu / Passive authentication: đạt / ok"
    assert lines[5] == "Chống sao chép chip / Chip authentication: đạt / ok"
    assert re.fullmatch(
        r"Đọc qua / Read via pace-can on .+: \d+ APDUs, \d+ bytes, \d+ ms "
        r"\(ước tính đầu đọc thật / real-reader estimate \d+ ms\)",
        lines[6],
    ), lines[6]
    assert len(lines) == 7
    assert access.id_number not in out + err and access.can not in out + err
    # the progress bar of the face image, on stderr
    assert f"Đang đọc ảnh / Reading photo [{'#' * 30}]" in err


def test_human_output_of_a_failed_check_gives_its_reason_and_exit_1(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = tmp_path / "receipt.json"
    code, out, _ = run(capsys, "read", "--simulate", "tampered-dg13", "--receipt", str(receipt), "--config", config)
    assert code == EXIT_CHECK_FAILED
    assert "Xác thực dữ liệu / Passive authentication: KHÔNG ĐẠT / failed" in out
    assert "  - passive: dg13_hash: DG13 does not match its hash in the SOD" in out
    assert f"Biên nhận đã lưu / Receipt saved: {receipt}" in out
    assert json.loads(receipt.read_text(encoding="utf-8"))["chip"]["outcome"]["passive"] == "failed"


def test_an_unknown_trust_anchor_is_not_a_failure(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "read", "--simulate", "unknown-csca", "--config", config)
    assert code == 0
    assert "Xác thực dữ liệu / Passive authentication: chưa xác định / unknown" in out
    assert "  - passive: certificate_chain: unknown trust anchor" in out


def test_json_shape(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    access = access_of("normal")
    code, out, err = run(capsys, "read", "--simulate", "normal", "--json", "--config", config)
    assert code == 0
    assert "Reading photo" not in err  # no progress bar in JSON mode
    payload = json.loads(out)
    assert set(payload) == {"identity", "authenticity", "access_method", "stats", "face", "reader", "transport",
                            "transaction_id"}
    assert payload["identity"]["id_number"] == access.id_number
    assert payload["identity"]["full_name"] == "Võ Văn Đức Phúc"
    assert {"passive", "chip", "reasons", "passive_checks", "chip_authentication", "active_authentication",
            "trust_anchor", "skipped_files"} <= set(payload["authenticity"])
    assert (payload["authenticity"]["passive"], payload["authenticity"]["chip"]) == ("ok", "ok")
    assert payload["access_method"] == "pace-can"
    stats = payload["stats"]
    assert isinstance(stats["apdus"], int) and stats["apdus"] > 20
    assert stats["bytes"] == stats["bytes_sent"] + stats["bytes_received"]
    assert stats["elapsed_ms"] > 0 and stats["link_estimate_ms"] > 0
    assert payload["face"]["mime_type"] == "image/jpeg" and payload["face"]["bytes"] > 10_000
    assert payload["transport"] in ("pcsc", "in-process")
    uuid.UUID(payload["transaction_id"])


def test_reader_without_a_key_is_a_config_error(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "read", "--reader", "Any Reader 00 00", "--config", config)
    assert code == EXIT_CONFIG
    assert out == ""
    assert "ConfigError: give the card's key: --id 12DIGITS, --can 6DIGITS or --mrz DOCNO,YYMMDD,YYMMDD" in err

    code, out, _ = run(capsys, "read", "--reader", "Any Reader 00 00", "--json", "--config", config)
    assert code == EXIT_CONFIG
    error = json.loads(out)["error"]
    assert error["type"] == "ConfigError" and error["code"] == "error.config"
    assert "--id 12DIGITS" in error["message"] and error["message_vi"] and error["message_en"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "12345"], "--id: must be 12 digits"),
        (["--id", "04808975254x"], "--id: must be 12 digits"),
        (["--can", "1234567"], "--can: must be 6 digits"),
        (["--mrz", "089752546,891216"], "--mrz: expected DOCNO,YYMMDD,YYMMDD"),
    ],
)
def test_malformed_keys_are_config_errors(
    config: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, _ = run(capsys, "read", "--simulate", "normal", *args, "--json", "--config", config)
    assert code == EXIT_CONFIG
    assert message in json.loads(out)["error"]["message"]


def test_an_impossible_mrz_date_is_an_mrz_format_error(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "read", "--simulate", "normal", "--mrz", "089752546,891399,291216", "--json",
                       "--config", config)  # fmt: skip
    assert code == EXIT_CARD
    assert json.loads(out)["error"]["type"] == "MrzFormatError"


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [("--can", "000000", "CAN"), ("--mrz", "089752546,010101,291216", "MRZ"), ("--id", "048089000000", "CAN")],
)
def test_a_wrong_key_exits_with_the_authentication_error(
    config: str, capsys: pytest.CaptureFixture[str], key: str, value: str, kind: str
) -> None:
    code, out, _ = run(capsys, "read", "--simulate", "normal", key, value, "--json", "--config", config)
    assert code == EXIT_CARD
    error = json.loads(out)["error"]
    assert error["type"] == "AuthenticationFailedError" and error["code"] == "error.authentication_failed"
    assert error["message"].endswith(f"({kind})")
    assert error["retryable"] is False
    assert value.split(",")[0] not in out and "000000" not in out


def test_a_wrong_key_in_human_form(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "read", "--simulate", "normal", "--can", "000000", "--config", config)
    assert code == EXIT_CARD
    assert out == ""
    assert "Không mở được chip" in err and "Could not open the chip" in err
    assert "AuthenticationFailedError: the chip refused every access method tried (CAN)" in err


def test_unknown_and_non_cccd_profiles(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "read", "--simulate", "no-such-card", "--config", config)
    assert code == EXIT_CONFIG and "unknown card profile 'no-such-card'" in err
    code, _, err = run(capsys, "read", "--simulate", "ndef-tag", "--config", config)
    assert code == 1 and "profile 'ndef-tag' is not a CCCD" in err


def test_a_receipt_that_cannot_be_written_is_a_config_error(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "receipt.json"
    code, out, _ = run(capsys, "read", "--simulate", "normal", "--receipt", str(target), "--json", "--config", config)
    assert code == EXIT_CONFIG
    assert "cannot write the receipt" in json.loads(out)["error"]["message"]


def test_the_config_trust_directory_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trust = write_simulator_trust(tmp_path / "trust")
    config = str(config_file(tmp_path, trust))
    code, out, _ = run(capsys, "read", "--simulate", "rsa-signer", "--json", "--config", config)
    assert code == 0
    assert "TEST CSCA" in json.loads(out)["authenticity"]["trust_anchor"]

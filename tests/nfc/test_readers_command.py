"""``python -m agent readers``: in a subprocess against real pcscd + vpcd, and in-process against
the fake scard module for the error paths (no PC/SC service, no reader)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent import cli, messages
from agent.nfc import pcsc
from tests.nfc.conftest import InsertCard
from tests.nfc.fake_scard import FakeScard
from tests.nfc.fake_vpcd_card import DEFAULT_ATR, ScriptedCard
from tests.pcsc_env import VpcdSlot

ROOT = Path(__file__).resolve().parents[2]


def run_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.pcsc
def test_readers_json_with_and_without_a_card(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    result = run_agent("readers", "--json")
    assert result.returncode == 0, result.stderr
    listed = {reader["name"]: reader for reader in json.loads(result.stdout)["readers"]}
    assert listed[vpcd_slot.reader]["card_present"] is False and listed[vpcd_slot.reader]["atr"] is None

    insert_card(ScriptedCard())
    result = run_agent("readers", "--json")
    assert result.returncode == 0, result.stderr
    listed = {reader["name"]: reader for reader in json.loads(result.stdout)["readers"]}
    assert listed[vpcd_slot.reader]["card_present"] is True
    assert listed[vpcd_slot.reader]["atr"] == DEFAULT_ATR.hex(" ").upper()


@pytest.mark.pcsc
def test_readers_human_output(insert_card: InsertCard, vpcd_slot: VpcdSlot) -> None:
    insert_card(ScriptedCard())
    result = run_agent("readers")
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(vpcd_slot.reader)]
    assert messages.text("readers.card_present", "vi") in line and "card present" in line
    assert DEFAULT_ATR.hex(" ").upper() in line


@pytest.fixture
def fake_scard(monkeypatch: pytest.MonkeyPatch) -> FakeScard:
    fake = FakeScard()
    monkeypatch.setattr(pcsc, "load_scard", lambda: fake)
    return fake


def test_readers_json_when_pcsc_service_is_down(fake_scard: FakeScard, capsys: pytest.CaptureFixture[str]) -> None:
    fake_scard.service_error = pcsc.SCARD_E_NO_SERVICE
    assert cli.main(["readers", "--json"]) == 69
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["type"] == "ReaderUnavailableError" and error["code"] == "error.pcsc_service_down"
    assert error["message_vi"] == messages.text("error.pcsc_service_down", "vi")
    assert error["retryable"] is True


def test_readers_human_when_no_reader(fake_scard: FakeScard, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["readers"]) == 69
    err = capsys.readouterr().err
    assert messages.text("error.no_reader", "vi") in err and messages.text("error.no_reader", "en") in err


def test_readers_human_lists_mute_and_empty_readers(
    fake_scard: FakeScard, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_scard.add_reader("Mute PICC 00 00", lambda apdu: b"\x90\x00", mute=True)
    fake_scard.add_reader("Empty 00 00")
    assert cli.main(["readers"]) == 0
    out = capsys.readouterr().out
    assert "Mute PICC 00 00: " + messages.text("readers.card_mute", "vi") in out
    assert "Empty 00 00: " + messages.text("readers.no_card", "vi") in out

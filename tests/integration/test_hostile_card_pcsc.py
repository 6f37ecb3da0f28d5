"""A card that sends hostile bytes, through the real PC/SC stack (issue 13 item 1): pyscard -> pcscd -> the
vpcd reader driver -> a simulated CCCD personalised with the 56 bytes of SecurityInfos that crashed the
read (a DH PACEDomainParameterInfo with p only: the parser checked one field fewer than it read). In
EF.CardAccess, readable before any access control, they are reported and the read goes on; in DG14 they
fail Chip Authentication and the DG14 hash, as a malformed file must, and ``verify-receipt`` on that
read's receipt answers with an exit code, not a traceback."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.chip import read_chip
from agent.nfc.pcsc import PcscTransport
from agent.ports import ChipRead
from agent.settings import load_settings
from simulators.card.card import SimulatedCard
from simulators.card.personalise import build_card_image
from simulators.card.vpcd import VpcdBridge
from tests.chip_support import READ_AT, access_of, config_file, mrz_of, simulator_trust, write_simulator_trust
from tests.fuzz.targets import DEFECT_1
from tests.icao.pki_fixtures import wrap
from tests.pcsc_env import PcscEnvironment, VpcdSlot

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parents[2]
FID_CARD_ACCESS = 0x011C
FID_DG14 = 0x010E


def hostile_card(fid: int, data: bytes) -> SimulatedCard:
    image = build_card_image("normal")
    return SimulatedCard(dataclasses.replace(image, files={**image.files, fid: data}))


def read_over_pcsc(card: SimulatedCard, pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot) -> ChipRead:
    with VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port) as bridge:
        pcsc_env.wait_for_card(vpcd_slot.reader)
        with PcscTransport(vpcd_slot.reader) as transport:
            result = read_chip(transport, settings=load_settings(None, environ={}), trust_store=simulator_trust(),
                               transaction_id="hostile", at=READ_AT, id_number=access_of("normal").id_number,
                               mrz=mrz_of("normal"))
        bridge.remove()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
    return result


def test_the_bytes_are_the_ones_of_the_issue() -> None:
    assert DEFECT_1.startswith(bytes.fromhex("3134")) and len(DEFECT_1) == 54  # SET of 52 bytes


def test_hostile_card_access_does_not_crash_the_read(pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot) -> None:
    result = read_over_pcsc(hostile_card(FID_CARD_ACCESS, DEFECT_1), pcsc_env, vpcd_slot)
    # The file is reported; the chip is still opened (BAC or PACE with the standard parameters) and proven.
    assert (result.evidence.passive, result.evidence.chip) == ("ok", "ok")
    assert result.identity.id_number == access_of("normal").id_number


def test_hostile_dg14_fails_its_checks_and_its_receipt_re_verifies(
    pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, tmp_path: Path
) -> None:
    result = read_over_pcsc(hostile_card(FID_DG14, wrap(0x6E, DEFECT_1)), pcsc_env, vpcd_slot)
    assert (result.evidence.passive, result.evidence.chip) == ("failed", "failed")
    assert any("DG14" in reason and "malformed SecurityInfos" in reason for reason in result.evidence.reasons)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(result.receipt), encoding="utf-8")
    trust = write_simulator_trust(tmp_path / "trust")
    config = config_file(tmp_path, trust)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    checked = subprocess.run([sys.executable, "-m", "agent", "verify-receipt", str(receipt), "--config", str(config),
                              "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # recomputed exactly as recorded
    assert "Traceback" not in checked.stderr
    assert json.loads(checked.stdout)["passive"] == "failed"

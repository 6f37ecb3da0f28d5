"""The whole chip path through a real PC/SC stack, as a clinic PC reads a card: pyscard -> pcscd -> the
vpcd reader driver -> the simulated CCCD, for the main profiles, both through ``python -m agent read
--simulate PROFILE --json`` (a subprocess) and through the API (read_chip over PcscTransport with a
VpcdBridge on the test's vpcd slot). The same read done in process gives the reference numbers: the
APDUs, bytes and link-model estimate must match exactly, so the PC/SC path carried the same exchanges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.chip import ConfiguredChipReader, read_chip
from agent.nfc.pcsc import PcscTransport
from agent.ports import ChipKeys, ChipRead
from agent.settings import Settings, load_settings
from simulators.card.transport import InProcessTransport
from simulators.card.vpcd import VpcdBridge
from tests.chip_support import READ_AT, access_of, config_file, make_card, mrz_of, simulator_trust
from tests.pcsc_env import PcscEnvironment, VpcdSlot

pytestmark = pytest.mark.pcsc

ROOT = Path(__file__).resolve().parent.parent.parent

# profile: passive, chip, access method, the start of a reason that must be given (or None), exit code
EXPECTED: dict[str, tuple[str, str, str, str | None, int]] = {
    "normal": ("ok", "ok", "pace-can", None, 0),
    "refuse-pace-mrz": ("ok", "ok", "pace-can", None, 0),
    "select-mf-6d00": ("ok", "ok", "pace-can", None, 0),
    "no-extended-length": ("ok", "ok", "pace-can", None, 0),
    "legacy-3des": ("ok", "ok", "bac", None, 0),
    "tampered-dg13": ("failed", "ok", "pace-can", "passive: dg13_hash: DG13 does not match its hash in the SOD", 1),
    "clone": ("ok", "failed", "pace-can", "chip: the chip could not continue with the Chip Authentication keys", 1),
    "unknown-csca": ("unknown", "ok", "pace-can", "passive: certificate_chain: unknown trust anchor", 0),
}
PROFILES = list(EXPECTED)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(None, environ={})


def keys_of(profile: str) -> dict[str, Any]:
    """What `read --simulate` gives a profile's card: the ID number (PACE-CAN) and the MRZ (BAC)."""
    return {"id_number": access_of(profile).id_number, "mrz": mrz_of(profile)}


def in_process_reference(profile: str, settings: Settings) -> ChipRead:
    transport = InProcessTransport(make_card(profile))
    return read_chip(
        transport, settings=settings, trust_store=simulator_trust(), transaction_id="reference", at=READ_AT,
        link_estimate=lambda: transport.link_estimate_ms, **keys_of(profile),
    )  # fmt: skip


def check_common(profile: str, payload: dict[str, Any], reference: ChipRead) -> None:
    passive, chip, method, reason, _ = EXPECTED[profile]
    access = access_of(profile)
    identity = payload["identity"]
    assert identity["id_number"] == access.id_number
    assert identity["full_name"] == access.full_name
    assert not identity["full_name"].isascii()  # DG13's Vietnamese diacritics, not the MRZ's ASCII
    authenticity = payload["authenticity"]
    assert (authenticity["passive"], authenticity["chip"]) == (passive, chip)
    if reason is None:
        assert authenticity["reasons"] == []
    else:
        assert any(line.startswith(reason) for line in authenticity["reasons"]), authenticity["reasons"]
    assert authenticity["skipped_files"] == {}
    assert payload["access_method"] == method
    stats = payload["stats"]
    expected = reference.stats.to_json()
    assert (stats["apdus"], stats["bytes"]) == (expected["apdus"], expected["bytes"])
    assert stats["link_estimate_ms"] == pytest.approx(expected["link_estimate_ms"], abs=0.2)
    assert stats["elapsed_ms"] > 0
    assert payload["face"]["bytes"] > 10_000


@pytest.mark.parametrize("profile", PROFILES)
def test_read_command_through_pcscd_and_vpcd(
    profile: str, pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, settings: Settings, tmp_path: Path
) -> None:
    empty_trust = tmp_path / "trust"
    empty_trust.mkdir()  # `read --simulate` adds the simulator's test CSCA itself
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    completed = subprocess.run(
        [sys.executable, "-m", "agent", "read", "--simulate", profile, "--json",
         "--config", str(config_file(tmp_path, empty_trust))],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == EXPECTED[profile][4], completed.stderr + completed.stdout
    payload = json.loads(completed.stdout)
    assert payload["transport"] == "pcsc", "the simulated card did not go through pcscd + vpcd"
    assert payload["reader"].startswith("Virtual PCD")
    check_common(profile, payload, in_process_reference(profile, settings))


@pytest.mark.parametrize("profile", PROFILES)
def test_read_chip_over_pcsc_transport(
    profile: str, pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, settings: Settings
) -> None:
    card = make_card(profile)
    with VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port) as bridge:
        pcsc_env.wait_for_card(vpcd_slot.reader)
        with PcscTransport(vpcd_slot.reader) as transport:
            assert transport.protocol == "T=1" and transport.extended_length_possible
            result = read_chip(
                transport, settings=settings, trust_store=simulator_trust(), transaction_id="pcsc-api", at=READ_AT,
                link_estimate=lambda: card.link_estimate_ms, **keys_of(profile),
            )  # fmt: skip
            assert result.stats.to_json()["apdus"] == transport.apdu_count
        assert bridge.total_apdus == card.apdu_count == result.stats.to_json()["apdus"]
        bridge.remove()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
    check_common(profile, result.to_json(), in_process_reference(profile, settings))
    assert result.stats.to_json()["link_estimate_ms"] == round(card.link_estimate_ms, 1)
    assert result.receipt["outcome"] == {"passive": EXPECTED[profile][0], "chip": EXPECTED[profile][1]}


# --- a reader that fails a transfer (issue 12 item 10) ------------------------------------------------


RECEIVE_LIMIT = 1024  # the simulated reader's buffer: smaller than the card's 2 KB answers


def _recoveries(result: ChipRead) -> list[str]:
    assert result.reading is not None
    return [step.note for step in result.reading.document.steps if step.step.startswith("access control again")]


def test_a_reader_whose_buffer_is_too_small_recovers_and_the_next_read_needs_no_recovery(
    pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, settings: Settings
) -> None:
    reader = ConfiguredChipReader(settings, simulator_trust())
    access = access_of("normal")
    results = []
    for _ in range(2):  # the same reader (its ReadLimits kept by name), the card tapped twice
        card = make_card("normal")
        with VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port, receive_limit=RECEIVE_LIMIT) as bridge:
            pcsc_env.wait_for_card(vpcd_slot.reader)
            with PcscTransport(vpcd_slot.reader) as transport:
                results.append(reader.read(transport, ChipKeys(id_number=access.id_number), transaction_id="buffer"))
            failures = bridge.transfer_failures
            bridge.remove()
            pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
        assert (results[-1].evidence.passive, results[-1].evidence.chip) == ("ok", "ok")
        if len(results) == 1:
            assert failures == 1  # the first answer over 1 KB (EF.SOD's) never got through
            (note,) = _recoveries(results[0])
            assert "a transfer failed while reading EF.SOD" in note
            assert reader.memory.get(vpcd_slot.reader).max_response == RECEIVE_LIMIT  # type: ignore[union-attr]
        else:
            assert failures == 0 and _recoveries(results[1]) == []
    assert results[1].stats.apdus < results[0].stats.apdus  # no failed answer, no second access control


def test_a_response_lost_mid_read_through_pcscd_is_recovered(
    pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, settings: Settings
) -> None:
    card = make_card("normal")
    armed: list[bool] = []

    def lose_one(name: str, done: int, total: int) -> None:
        if name == "DG2" and done > 0 and not armed:
            card.faults.lose_next_response = True
            armed.append(True)

    with VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port) as bridge:
        pcsc_env.wait_for_card(vpcd_slot.reader)
        with PcscTransport(vpcd_slot.reader) as transport:
            result = read_chip(transport, settings=settings, trust_store=simulator_trust(), transaction_id="lost",
                               at=READ_AT, progress=lose_one, **keys_of("normal"))  # fmt: skip
        assert bridge.transfer_failures == 1
        bridge.remove()
        pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
    assert (result.evidence.passive, result.evidence.chip) == ("ok", "ok")
    assert result.reading is not None
    assert result.reading.document.files["DG2"] == card.image.files[0x0102]
    assert len(_recoveries(result)) == 1

"""Faults in the middle of a whole chip read: the card pulled away after each APDU in turn (in process for
every position, through pcscd + vpcd for a sample), a corrupted secure-messaging MAC, and a chosen status
word on one file. A torn read ends in CardRemovedError and nothing else, never in a result; the next read
of the card works; a refused file is skipped and reported while the read finishes."""

from __future__ import annotations

from typing import Any

import pytest

from agent.chip import read_chip
from agent.errors import CardRemovedError, SecureMessagingError
from agent.icao.files import ReadLimits
from agent.models import Status
from agent.nfc.pcsc import PcscTransport
from agent.ports import ChipRead
from agent.settings import Settings, load_settings
from simulators.card.card import SimulatedCard
from simulators.card.transport import InProcessTransport
from simulators.card.vpcd import VpcdBridge
from tests.chip_support import READ_AT, access_of, arm_after, make_card, read_profile, simulator_trust
from tests.pcsc_env import PcscEnvironment, VpcdSlot

PROFILE = "normal"
PCSC_SAMPLE_STEP = 5


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(None, environ={})


@pytest.fixture(scope="module")
def full_read_apdus() -> int:
    """How many APDUs a whole read of the profile takes (the positions of the sweep)."""
    result = read_profile(PROFILE)
    assert result.reading.passive_outcome.status is Status.OK
    return len(result.wire.exchanges)


def read_in_process(card: SimulatedCard, settings: Settings, **options: Any) -> ChipRead:
    return read_chip(
        InProcessTransport(card),
        settings=settings,
        trust_store=simulator_trust(),
        transaction_id="tearing",
        id_number=access_of(PROFILE).id_number,
        at=READ_AT,
        **options,
    )


def assert_reads_fine(card: SimulatedCard, settings: Settings) -> None:
    result = read_in_process(card, settings)
    assert (result.evidence.passive, result.evidence.chip) == ("ok", "ok")


@pytest.mark.slow
def test_tearing_at_every_apdu_in_process(settings: Settings, full_read_apdus: int) -> None:
    assert full_read_apdus > 20
    card = make_card(PROFILE)
    outcomes: dict[int, str] = {}
    for answered in range(full_read_apdus):  # the card leaves the field at APDU answered + 1
        card.faults.remove_after_apdus = answered
        try:
            read_in_process(card, settings)
        except CardRemovedError:
            outcomes[answered] = "removed"
        except Exception as exc:  # anything else is the failure this test looks for
            outcomes[answered] = f"{type(exc).__name__}: {exc}"
        else:
            outcomes[answered] = "RESULT"
        assert card.apdu_count >= answered
        card.insert()
        assert_reads_fine(card, settings)  # the same card, back on the reader
    wrong = {position: outcome for position, outcome in outcomes.items() if outcome != "removed"}
    assert wrong == {}


@pytest.mark.slow
@pytest.mark.pcsc
def test_tearing_through_pcscd_and_vpcd(
    pcsc_env: PcscEnvironment, vpcd_slot: VpcdSlot, settings: Settings, full_read_apdus: int
) -> None:
    positions = sorted({*range(1, full_read_apdus, PCSC_SAMPLE_STEP), full_read_apdus - 1})
    card = make_card(PROFILE)
    outcomes: dict[int, str] = {}
    for answered in [*positions, full_read_apdus]:
        bridge = VpcdBridge(card, host=vpcd_slot.host, port=vpcd_slot.port, remove_after=answered)
        try:
            bridge.start()
            pcsc_env.wait_for_card(vpcd_slot.reader)
            try:
                transport = PcscTransport(vpcd_slot.reader)
                try:
                    result = read_chip(
                        transport, settings=settings, trust_store=simulator_trust(), transaction_id="tearing",
                        id_number=access_of(PROFILE).id_number, at=READ_AT,
                    )  # fmt: skip
                finally:
                    transport.close()
            except CardRemovedError:
                outcomes[answered] = "removed"
            except Exception as exc:  # anything else is the failure this test looks for
                outcomes[answered] = f"{type(exc).__name__}: {exc}"
            else:
                outcomes[answered] = f"result {result.evidence.passive}/{result.evidence.chip}"
            pcsc_env.wait_for_card(vpcd_slot.reader, present=False)
        finally:
            bridge.stop()
        card.insert()
    # Torn anywhere: removed. Left on the reader for the whole read (the last entry): a verified result.
    assert outcomes == {**{position: "removed" for position in positions}, full_read_apdus: "result ok/ok"}


def test_a_corrupted_mac_mid_read_is_a_secure_messaging_error(settings: Settings) -> None:
    card = make_card(PROFILE)
    corrupted = False

    def progress(name: str, done: int, total: int) -> None:
        nonlocal corrupted
        if name == "DG2" and done >= 4096 and not corrupted:  # in the middle of the face image
            card.faults.corrupt_next_mac = True
            corrupted = True

    with pytest.raises(SecureMessagingError, match="MAC"):
        read_in_process(card, settings, progress=progress)
    assert corrupted
    assert_reads_fine(card, settings)


def test_macs_corrupted_from_some_point_on_stop_the_read_at_once(settings: Settings) -> None:
    card = make_card(PROFILE)
    answered: list[int] = []

    def corrupt_from_now_on() -> None:
        answered.append(card.apdu_count)
        card.faults.corrupt_every_mac = True

    with pytest.raises(SecureMessagingError):
        read_in_process(card, settings, progress=arm_after("EF.COM", corrupt_from_now_on))
    assert card.apdu_count == answered[0] + 1  # the first bad answer ends the read: no retry, no next file
    card.faults.corrupt_every_mac = False
    assert_reads_fine(card, settings)


@pytest.mark.parametrize(
    ("before", "file", "sw"),
    [
        ("EF.SOD", "DG14", 0x6982),  # then no Chip Authentication: AA alone speaks for the chip
        ("DG14", "DG1", 0x6A82),  # the first read after Chip Authentication: the next file proves the keys
        # who the holder is comes first, right after EF.COM; DG1 before the face (agent.icao.read_sequence)
        ("EF.COM", "DG13", 0x6982),
        ("DG1", "DG2", 0x6A82),
        ("DG2", "DG15", 0x6A82),
    ],
)
def test_a_chosen_status_word_skips_that_file_and_says_so(
    settings: Settings, before: str, file: str, sw: int
) -> None:
    card = make_card(PROFILE)
    # armed once the previous file is read whole: the next READ BINARY is this file's first (by its short
    # EF identifier, which selects it: there is no SELECT any more to refuse)
    progress = arm_after(before, lambda: card.faults.inject(sw, ins=0xB0))
    result = read_in_process(card, settings, progress=progress)
    authenticity = result.evidence.to_json()
    assert authenticity["skipped_files"] == {file: f"SW {sw:04X}"}
    reading = result.reading
    assert reading is not None
    assert file not in reading.document.files
    step = next(step for step in reading.document.steps if step.step == f"read {file}")
    assert step.sw == sw
    # The groups that were read still verify; the one not read is not claimed as verified.
    checks = authenticity["passive_checks"]
    assert f"{file.lower()}_hash" not in checks or checks[f"{file.lower()}_hash"] != "ok"
    assert all(status == "ok" for name, status in checks.items() if name != f"{file.lower()}_hash")
    if file == "DG2":
        assert result.face_image is None
    if file == "DG13":  # the identity falls back on the MRZ of DG1: ASCII name, ID from the optional data
        identity = result.identity
        assert identity.id_number == access_of(PROFILE).id_number
        assert identity.full_name == "VO VAN DUC PHUC"
    if file == "DG14":
        assert authenticity["chip_authentication"] == "not_supported"
        assert authenticity["active_authentication"] == "ok"
    if file == "DG15":
        assert authenticity["active_authentication"] == "not_supported"
        assert authenticity["chip_authentication"] == "ok"


def test_a_torn_extended_read_does_not_cost_the_reader_its_extended_length() -> None:
    limits = ReadLimits()  # kept per reader (agent.nfc.pcsc.ReaderMemory)
    clean = read_profile(PROFILE, limits=ReadLimits())
    card = make_card(PROFILE)
    dg2_started = False

    def progress(name: str, done: int, total: int) -> None:
        nonlocal dg2_started
        if name == "DG2" and not dg2_started:  # header read: the next APDUs are extended reads
            dg2_started = True
            card.faults.remove_after_apdus = 1

    with pytest.raises(CardRemovedError):
        read_profile(PROFILE, card=card, limits=limits, progress=progress)
    card.insert()
    again = read_profile(PROFILE, card=card, limits=limits)
    assert len(again.wire.exchanges) == len(clean.wire.exchanges)

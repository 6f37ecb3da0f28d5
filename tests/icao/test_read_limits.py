"""The read sequence on cards as stingy as real ones (issue 12, items 8-11), in process: reads sized
from EF.ATR/INFO, files read by short EF identifier (and by SELECT, once per reader, on a card that
refuses them), a failed transfer under secure messaging recovered by a new session (never by a guessed
counter) with the smaller limit kept for that reader, and SELECT before BAC."""

from __future__ import annotations

from typing import Any

import pytest

from agent.errors import TransferError
from agent.icao.files import ReadLimits
from agent.icao.read_sequence import MAX_TRANSFER_RECOVERIES, ChipReading, read_document
from agent.icao.transport import build_send
from agent.models import Status
from simulators.card.card import SimulatedCard
from simulators.card.transport import InProcessTransport
from tests.chip_support import (
    AA_CHALLENGE,
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    INS_READ_BINARY,
    INS_SELECT,
    READ_AT,
    WireLog,
    can_of,
    make_card,
    mrz_of,
    read_profile,
    simulator_trust,
)

CLA_SM = 0x0C
LDS_FIDS = {0x011E, 0x011D, 0x0101, 0x0102, 0x010D, 0x010E, 0x010F}


def read(card: SimulatedCard, profile: str, limits: ReadLimits, **transport: Any) -> tuple[ChipReading, WireLog]:
    wire = WireLog(InProcessTransport(card, **transport))
    reading = read_document(build_send(wire), can=can_of(profile), mrz=mrz_of(profile), trust=simulator_trust(),
                            at=READ_AT, aa_challenge=AA_CHALLENGE, limits=limits)  # fmt: skip
    return reading, wire


def plain_selects(card: Any) -> list[int]:
    return [int.from_bytes(c.data, "big") for c in card.plain_commands if c.ins == INS_SELECT and c.p1 in (0, 2)]


def assert_verified(reading: ChipReading) -> None:
    assert (reading.passive_outcome.status, reading.chip_outcome.status) == (Status.OK, Status.OK), (
        reading.passive_outcome, reading.chip_outcome)  # fmt: skip


# --- reads sized from EF.ATR/INFO ----------------------------------------------------------------


def test_reads_are_sized_from_ef_atr_info() -> None:
    result = read_profile("normal")
    assert_verified(result.reading)
    step = result.reading.document.steps[0]
    assert step.step == "read EF.ATR/INFO" and "responses up to 2048 bytes" in step.note
    responses = [len(response.data) + 2 for _, response in result.wire.exchanges]
    # the largest answer: 2015 plain bytes under AES secure messaging, 2035 + SW, within one block of 2048
    assert 2048 - 16 - 2 < max(responses) <= 2048
    refused = [response for _, response in result.wire.exchanges if response.sw == 0x6700]
    assert refused == []  # no read was ever too large for the card
    dg2 = len(result.reading.document.files["DG2"])
    large = [response for apdu, response in result.wire.exchanges if apdu[1] == INS_READ_BINARY
             and len(response.data) > 1000]  # fmt: skip
    assert len(large) >= dg2 // 2048


def test_the_generous_card_without_ef_atr_info_is_read_as_before() -> None:
    result = read_profile("generous")
    assert_verified(result.reading)
    assert result.reading.document.steps[0].note == "absent"
    dg2_reads = [response for apdu, response in result.wire.exchanges if len(response.data) > 15_000]
    assert len(dg2_reads) == 1  # all of DG2 in one READ BINARY


def test_a_short_only_card_is_not_asked_for_extended_length() -> None:
    result = read_profile("no-extended-length")
    assert_verified(result.reading)
    assert "short APDUs only" in result.reading.document.steps[0].note
    assert all(len(apdu) <= 261 for apdu, _ in result.wire.exchanges)  # EF.ATR/INFO said so: no probe
    assert all(response.sw != 0x6700 for _, response in result.wire.exchanges)


# --- short EF identifiers ------------------------------------------------------------------------


def test_the_lds_files_are_read_by_short_ef_identifier_without_a_select() -> None:
    result = read_profile("normal", recording=True)
    assert_verified(result.reading)
    assert plain_selects(result.card) == [0x2F01]  # only EF.ATR/INFO, which has no SFI
    requested = result.card.files_requested()  # type: ignore[attr-defined]
    assert LDS_FIDS <= requested


def test_short_ef_identifiers_save_at_least_six_apdus_per_read() -> None:
    with_sfi = read_profile("normal", limits=ReadLimits())
    without = read_profile("normal", limits=ReadLimits(sfi_ok=False))
    assert_verified(with_sfi.reading)
    assert_verified(without.reading)
    saved = len(without.wire.exchanges) - len(with_sfi.wire.exchanges)
    # one SELECT per file: EF.CardAccess, EF.COM, EF.SOD, DG1, DG2, DG13, DG14, DG15
    assert saved == 8 >= 6


def test_a_card_without_short_ef_identifiers_falls_back_once_and_the_reader_remembers() -> None:
    limits = ReadLimits()
    card = make_card("no-sfi", recording=True)
    first, wire = read(card, "no-sfi", limits)
    assert_verified(first)
    assert limits.sfi_ok is False
    sfi_reads = [apdu for apdu, _ in wire.exchanges if apdu[1] == INS_READ_BINARY and apdu[2] & 0x80]
    assert len(sfi_reads) == 1  # the first file tried it, once
    again, wire = read(make_card("no-sfi"), "no-sfi", limits)
    assert_verified(again)
    assert not [apdu for apdu, _ in wire.exchanges if apdu[1] == INS_READ_BINARY and apdu[2] & 0x80]


# --- SELECT before BAC ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["bac-after-select", "bac-any-order", "legacy-3des"])
def test_bac_runs_after_the_select_of_the_application_on_either_kind_of_card(profile: str) -> None:
    result = read_profile(profile)
    assert_verified(result.reading)
    assert result.reading.access_method == "bac"
    instructions = result.wire.instructions
    challenge = instructions.index(INS_GET_CHALLENGE)
    assert instructions[challenge + 1] == INS_EXTERNAL_AUTHENTICATE
    select = result.wire.exchanges[challenge - 1][0]
    assert select == bytes.fromhex("00A4040C07A0000002471001")


# --- failed transfers under secure messaging ------------------------------------------------------


def test_a_reader_with_a_small_buffer_recovers_by_a_new_session_and_remembers_its_limit() -> None:
    limits = ReadLimits()
    card = make_card("normal", recording=True)
    reading, wire = read(card, "normal", limits, receive_limit=1024)
    assert_verified(reading)
    steps = [step.step for step in reading.document.steps]
    assert steps.count("access control again (pace-can)") == 1  # EF.SOD's 1.2 KB answer did not fit
    assert limits.max_response == 1024
    note = next(step.note for step in reading.document.steps if step.step == "access control again (pace-can)")
    assert "a transfer failed while reading" in note
    assert max(len(response.data) + 2 for _, response in wire.exchanges) <= 1024
    # the second read on that reader: no failure, no recovery
    again, wire = read(make_card("normal"), "normal", limits, receive_limit=1024)
    assert_verified(again)
    assert not any(step.step.startswith("access control again") for step in again.document.steps)
    assert wire.inner.transfer_failures == 0


def test_after_a_lost_response_the_next_protected_command_comes_after_new_access_control() -> None:
    card = make_card("normal", recording=True)
    lost_at: list[int] = []
    wire_at: list[int] = []

    def lose_in_dg2(name: str, done: int, total: int) -> None:
        if name == "DG2" and done >= 4000 and not lost_at:
            card.faults.lose_next_response = True
            lost_at.append(len(card.plain_commands))
            wire_at.append(len(wire.exchanges))

    wire = WireLog(InProcessTransport(card))
    reading = read_document(build_send(wire), can=can_of("normal"), trust=simulator_trust(), at=READ_AT,
                            aa_challenge=AA_CHALLENGE, progress=lose_in_dg2)  # fmt: skip
    assert_verified(reading)
    assert reading.document.files["DG2"] == card.image.files[0x0102]
    steps = [step.step for step in reading.document.steps]
    # after Chip Authentication: its keys were in use, so it ran again and the read stayed under them
    assert steps.index("access control again (pace-can)") + 1 == steps.index("chip authentication again")
    # the lost command is the READ BINARY after the progress report; the next one the card sees is the
    # plain start of access control (EF.CardAccess, then PACE), not a protected retry
    after = card.plain_commands[lost_at[0] + 1 :]
    first_protected = next(i for i, c in enumerate(after) if c.ins == 0x86)  # PACE GENERAL AUTHENTICATE
    assert all(c.ins != INS_READ_BINARY or c.p1 & 0x80 for c in after[:first_protected])
    # on the wire (the lost exchange never reached it): the first command after the loss is plain
    assert wire.exchanges[wire_at[0]][0][0] & CLA_SM == 0
    assert any(apdu[0] & CLA_SM for apdu, _ in wire.exchanges[-3:])  # and the read went on under SM


def test_a_link_that_keeps_failing_ends_in_a_transfer_error() -> None:
    card = make_card("normal")

    class AlwaysLosing(InProcessTransport):
        def transmit(self, apdu: bytes) -> Any:
            if apdu[0] & CLA_SM and apdu[1] == INS_READ_BINARY:
                card.faults.lose_next_response = True
            return super().transmit(apdu)

    with pytest.raises(TransferError):
        read_document(build_send(AlwaysLosing(card)), can=can_of("normal"), trust=simulator_trust(), at=READ_AT,
                      aa_challenge=AA_CHALLENGE)  # fmt: skip
    assert MAX_TRANSFER_RECOVERIES == 3

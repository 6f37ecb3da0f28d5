"""The link model (ISO/IEC 14443-4 framing, bit rate, turnaround, chip crypto time) and the running
estimate the simulated card keeps of the same exchange on a real reader."""

from __future__ import annotations

import dataclasses

import pytest

from agent.errors import ConfigError
from simulators.card.card import link_model_for
from simulators.card.link import SLOW_LINK, LinkModel
from tests.simulators.test_card_fixtures import bac, make_card, pace_can


def test_bytes_on_air_at_424_kbit() -> None:
    model = LinkModel(turnaround_ms=0, chip_dispatch_ms=0, frame_delay_ms=0, frame_overhead_bits=0)
    # 5 + 3 command bytes and 2 + 3 response bytes, 9 bits each, at 424 kbit/s.
    assert model.estimate_ms(5, 2) == pytest.approx((8 + 5) * 9 / 424)


def test_larger_apdus_and_slower_links_take_longer() -> None:
    model = LinkModel()
    assert model.estimate_ms(5, 258) > model.estimate_ms(5, 100) > model.estimate_ms(5, 2)
    assert LinkModel(bit_rate=106_000).estimate_ms(5, 258) > model.estimate_ms(5, 258)
    assert SLOW_LINK.estimate_ms(5, 258) > LinkModel(bit_rate=106_000).estimate_ms(5, 258)


def test_frame_chaining_adds_blocks_and_acknowledgements() -> None:
    model = LinkModel(fsd=64)
    assert model.blocks(61, 64) == 1 and model.blocks(62, 64) == 2
    single = model.transfer_ms(61, 64)
    double = model.transfer_ms(62, 64)
    # One more block header and one R(ACK) frame with its frame delay.
    assert double - single > model.frame_ms(3)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("ec_mult/256", 90.0),
        ("ec_mult/512", 720.0),
        ("modexp/2048/224", 90.0),
        ("modexp/1024/160", 90.0 * 160 / 224 / 4),
        ("rsa_sign/1024", 250.0 / 8),
        ("sm", 0.5),
        ("sym/33", 0.06),
        ("bac", 2.0),
    ],
)
def test_operation_costs(operation: str, expected: float) -> None:
    assert LinkModel().operation_ms(operation) == pytest.approx(expected)


def test_operations_add_to_the_estimate() -> None:
    model = LinkModel()
    base = model.estimate_ms(10, 10)
    assert model.estimate_ms(10, 10, "ec_mult/256") == pytest.approx(base + 90.0)
    assert model.estimate_ms(10, 10, ["sm", "sm"]) == pytest.approx(base + 1.0)
    assert model.estimate_ms(10, 10, {"ec_mult/256": 2}) == pytest.approx(base + 180.0)


@pytest.mark.parametrize("operation", ["warp_drive", "ec_mult/abc", "modexp/2048", "sm/3"])
def test_unknown_or_malformed_operations_are_config_errors(operation: str) -> None:
    with pytest.raises(ConfigError):
        LinkModel().estimate_ms(1, 1, operation)


def test_invalid_models_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        LinkModel(bit_rate=0)
    with pytest.raises(ConfigError):
        LinkModel(fsc=3)
    with pytest.raises(ConfigError):
        LinkModel().estimate_ms(-1, 2)


def test_card_accumulates_the_estimate() -> None:
    bac_card = make_card()
    bac(bac_card)
    pace_card = make_card()
    pace_can(pace_card)
    assert 10 < bac_card.link_estimate_ms < 40  # 4 APDUs, symmetric crypto only
    # PACE on brainpoolP256r1: 5 chip scalar multiplications at ~90 ms each dominate.
    assert 400 < pace_card.link_estimate_ms < 600
    assert pace_card.apdu_count == 5


def test_a_real_time_card_takes_the_modelled_time_for_real() -> None:
    slept: list[float] = []
    card = make_card()
    card._sleep = slept.append  # the clock a real-time card waits on
    bac(card)
    assert slept == []  # off by default: tests run at the speed of the CPU
    timed = make_card()
    timed._sleep = slept.append
    timed.real_time = True
    bac(timed)
    assert len(slept) == timed.apdu_count
    assert sum(slept) * 1000 == pytest.approx(timed.link_estimate_ms)


def test_card_uses_the_image_link_model() -> None:
    assert make_card(link=SLOW_LINK).link is SLOW_LINK
    assert make_card().link == LinkModel()
    slow, fast = make_card(link=SLOW_LINK), make_card()
    bac(slow)
    bac(fast)
    assert slow.link_estimate_ms > fast.link_estimate_ms


def test_link_model_from_another_timing_record() -> None:
    @dataclasses.dataclass
    class Record:
        bit_rate: int = 106_000
        max_frame_size: int = 64
        frame_overhead_bytes: int = 3
        bits_per_byte: int = 9
        apdu_turnaround_ms: float = 1.5

    model = link_model_for(Record())
    assert (model.bit_rate, model.fsc, model.fsd, model.turnaround_ms) == (106_000, 64, 64, 1.5)
    assert link_model_for(None) == LinkModel()
    mine = LinkModel(turnaround_ms=7)
    assert link_model_for(mine) is mine

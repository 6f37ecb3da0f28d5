"""MODP groups of RFC 5114 (agent.icao.dh) and the DH values of Doc 9303-11 Appendix G.2."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.icao import dh

GROUP_0 = dh.MODP_1024_160


def hx(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def probably_prime(n: int, rounds: int = 16) -> bool:
    if n < 4:
        return n in (2, 3)
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    rnd = random.Random(n)
    for _ in range(rounds):
        x = pow(rnd.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.mark.parametrize(("parameter_id", "bits"), [(0, (1024, 160)), (1, (2048, 224)), (2, (2048, 256))])
def test_standardized_groups(parameter_id: int, bits: tuple[int, int]) -> None:
    group = dh.GROUPS_BY_PARAMETER_ID[parameter_id]
    assert group.q is not None
    assert (group.p.bit_length(), group.q.bit_length()) == bits
    assert probably_prime(group.p) and probably_prime(group.q)
    assert (group.p - 1) % group.q == 0
    assert pow(group.g, group.q, group.p) == 1 and group.g != 1
    assert dh.GROUPS_BY_NAME[group.name] is group


def test_rfc5114_group_0_matches_the_icao_appendix() -> None:
    """Doc 9303-11 Appendix G.2 prints the 1024-bit group in full."""
    assert GROUP_0.q == int("F518AA87 81A8DF27 8ABA4E7D 64B7CB9D 49462353".replace(" ", ""), 16)
    assert dh.encode_element(GROUP_0, GROUP_0.p - 2)[:8] == hx("B10B8F96 A080E01D")
    assert dh.encode_element(GROUP_0, GROUP_0.g)[-8:] == hx("855E6EEB 22B3B2E5")


def test_g2_generic_mapping_known_answers() -> None:
    """Doc 9303-11 Appendix G.2: mapping key pairs and the shared element h."""
    terminal = int("5265030F751F4AD18B08AC565FC7AC952E41618D", 16)
    chip = int("66DDAFEAC1609CB5B963BB0CB3FF8B3E047F336C", 16)
    chip_public = dh.public_value(GROUP_0, chip)
    assert dh.encode_element(GROUP_0, chip_public) == hx(
        "78879F57 225AA808 0D52ED0F C890A4B2 5336F699 AA89A2D3 A189654A F70729E6"
        "23EA5738 B26381E4 DA19E004 706FACE7 B235C2DB F2F38748 312F3C98 C2DD4882"
        "A41947B3 24AA1259 AC22579D B93F7085 655AF308 89DBB845 D9E6783F E42C9F24"
        "49400306 254C8AE8 EE9DD812 A804C0B6 6E8CAFC1 4F84D825 8950A91B 44126EE6"
    )
    shared = dh.shared_secret(GROUP_0, terminal, chip_public)
    assert shared == dh.shared_secret(GROUP_0, chip, dh.public_value(GROUP_0, terminal))
    assert dh.encode_element(GROUP_0, shared) == hx(
        "5BABEBEF 5B74E5BA 94B5C063 FDA15F1F 1CDE9487 3EE0A5D3 A2FCAB49 F258D07F"
        "544F13CB 66658C3A FEE9E727 389BE3F6 CBBBD321 28A8C21D D6EEA3CF 7091CDDF"
        "B08B8D00 7D40318D CCA4FFBF 51208790 FB4BD111 E5A968ED 6B6F08B2 6CA87C41"
        "0B3CE0C3 10CE104E ABD16629 AA48620C 1279270C B0750C0D 37C57FFF E302AE7F"
    )


def test_validation_rejects_values_outside_the_subgroup() -> None:
    p = GROUP_0.p
    for bad in (0, 1, p - 1, p, p + 5):
        assert not dh.is_valid_element(GROUP_0, bad)
    assert not dh.is_valid_element(GROUP_0, 2)  # 2 does not lie in the order-q subgroup here
    assert dh.is_valid_element(GROUP_0, GROUP_0.g)
    with pytest.raises(dh.InvalidGroupElementError):
        dh.shared_secret(GROUP_0, 5, p - 1)
    with pytest.raises(dh.InvalidGroupElementError):
        dh.shared_secret(GROUP_0, GROUP_0.q or 0, GROUP_0.g)  # g^q = 1: degenerate


def test_without_order_only_the_range_is_checked() -> None:
    group = dh.ModpGroup("pkcs3", GROUP_0.p, GROUP_0.g)
    assert dh.is_valid_element(group, 2)
    assert not dh.is_valid_element(group, 1)
    assert group.order_byte_length == 128


@pytest.mark.parametrize("data", [b"", bytes(129), b"\x00\x01", b"\xff" * 128])
def test_decode_rejects_bad_encodings(data: bytes) -> None:
    with pytest.raises(dh.InvalidGroupElementError):
        dh.decode_element(GROUP_0, data)


def test_decode_accepts_leading_zero_bytes() -> None:
    exponent = next(k for k in range(2, 5000) if dh.public_value(GROUP_0, k) < 1 << 1016)
    value = dh.public_value(GROUP_0, exponent)
    padded = dh.encode_element(GROUP_0, value)
    assert len(padded) == 128 and padded[0] == 0
    assert dh.decode_element(GROUP_0, padded) == value
    assert dh.decode_element(GROUP_0, padded.lstrip(b"\x00")) == value


def test_encode_rejects_out_of_range() -> None:
    with pytest.raises(dh.InvalidGroupElementError):
        dh.encode_element(GROUP_0, GROUP_0.p)


@given(st.binary(max_size=140))
def test_decode_raises_only_its_own_error(data: bytes) -> None:
    try:
        value = dh.decode_element(GROUP_0, data)
    except dh.InvalidGroupElementError:
        return
    assert dh.is_valid_element(GROUP_0, value)

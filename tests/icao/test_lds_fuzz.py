"""Fuzzing of every LDS parser and of passive authentication: random bytes, random TLV trees, and
bit flips / truncations / insertions / deletions of valid files. Only DocumentError may escape, and it
must name the file. The mutations and TLV trees are those of the suite's fuzz targets (tests/fuzz/targets.py),
which also feed every parser that sees outside data to the long campaign (benchmarks/fuzz.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import DocumentError
from agent.icao.lds.com import parse_com
from agent.icao.lds.dg1 import parse_dg1
from agent.icao.lds.dg2 import parse_dg2
from agent.icao.lds.dg13 import parse_dg13
from agent.icao.lds.dg14 import parse_dg14
from agent.icao.lds.dg15 import parse_dg15
from agent.icao.lds.document import ChipDocument
from agent.icao.lds.sod import parse_sod
from agent.icao.passive_auth import passive_authentication
from agent.icao.trust import TrustStore
from agent.models import Status
from tests.fuzz import targets as fuzz
from tests.fuzz.targets import mutate
from tests.icao import lds_fixtures as lds
from tests.icao import pki_fixtures as f

# The fuzz targets' test PKI, data groups, EF.SOD and trust store (a CRL revoking other serials).
_FIXTURES = fuzz.pki_world()
GROUPS: dict[int, bytes] = _FIXTURES["groups"]
SOD: bytes = _FIXTURES["sod"]
STORE: TrustStore = _FIXTURES["store"]

PARSERS: dict[str, tuple[Callable[[bytes], object], bytes]] = {
    "EF.COM": (parse_com, lds.encode_com()),
    "EF.SOD": (parse_sod, SOD),
    "DG1": (parse_dg1, GROUPS[1]),
    "DG2": (parse_dg2, GROUPS[2]),
    "DG13": (parse_dg13, GROUPS[13]),
    "DG14": (parse_dg14, GROUPS[14]),
    "DG15": (parse_dg15, GROUPS[15]),
}
OUTER_TAGS = {"EF.COM": 0x60, "EF.SOD": 0x77, "DG1": 0x61, "DG2": 0x75, "DG13": 0x6D, "DG14": 0x6E, "DG15": 0x6F}
NAMES = sorted(PARSERS)


def check(name: str, data: bytes) -> object | None:
    parser, _seed = PARSERS[name]
    try:
        return parser(data)
    except DocumentError as error:
        # DG1's MRZ problems and DG14's SecurityInfos problems name their file too.
        assert error.file == name, (name, error.file, error.message)
        return None


MUTATIONS = st.sampled_from(fuzz.MUTATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_files_parse(name: str) -> None:
    parser, seed = PARSERS[name]
    assert parser(seed) is not None


@pytest.mark.parametrize("name", NAMES)
@given(data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    check(name, data)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.binary(max_size=200))
def test_random_bytes_behind_the_right_outer_tag(name: str, data: bytes) -> None:
    check(name, f.wrap(OUTER_TAGS[name], data))


def tlv_trees() -> st.SearchStrategy[bytes]:
    return fuzz.tlv_trees()


@pytest.mark.parametrize("name", NAMES)
@given(body=st.lists(tlv_trees(), max_size=4))
def test_random_tlv_trees(name: str, body: list[bytes]) -> None:
    check(name, f.wrap(OUTER_TAGS[name], b"".join(body)))


@pytest.mark.parametrize("name", NAMES)
@given(
    mutation=MUTATIONS,
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    value=st.integers(min_value=0, max_value=255),
    size=st.integers(min_value=1, max_value=12),
)
def test_mutated_real_files(name: str, mutation: str, position: float, value: int, size: int) -> None:
    _parser, seed = PARSERS[name]
    check(name, mutate(seed, mutation, position, value, size))


@given(
    mutation=MUTATIONS,
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    value=st.integers(min_value=0, max_value=255),
    size=st.integers(min_value=1, max_value=12),
)
def test_passive_authentication_of_a_mutated_sod_never_raises_anything_else(
    mutation: str, position: float, value: int, size: int
) -> None:
    data = mutate(SOD, mutation, position, value, size)
    try:
        result = passive_authentication(data, GROUPS, STORE, at=f.NOW)
    except DocumentError as error:
        assert error.file == "EF.SOD"
        return
    # A change the parser tolerates must never leave every check ok unless the bytes still mean the same.
    if result.overall.status is Status.OK:
        assert parse_sod(data).signed.content == parse_sod(SOD).signed.content


@given(
    number=st.sampled_from(sorted(GROUPS)),
    mutation=MUTATIONS,
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    value=st.integers(min_value=0, max_value=255),
    size=st.integers(min_value=1, max_value=12),
)
def test_any_change_to_a_data_group_fails_its_hash(
    number: int, mutation: str, position: float, value: int, size: int
) -> None:
    data = mutate(GROUPS[number], mutation, position, value, size)
    result = passive_authentication(SOD, {**GROUPS, number: data}, STORE, at=f.NOW)
    expected = Status.OK if data == GROUPS[number] else Status.FAILED
    assert result.data_groups[number].status is expected
    document = ChipDocument.from_files({number: data})
    assert set(document.problems) <= {f"DG{number}"}

"""DG1: the MRZ on the chip, TD1 (the CCCD) and TD3, read through agent.icao.mrz."""

from __future__ import annotations

import pytest

from agent.errors import DocumentError, MrzFormatError
from agent.icao.lds.dg1 import parse_dg1
from tests.icao import lds_fixtures as lds


def test_a_cccd_td1_mrz() -> None:
    dg1 = parse_dg1(lds.encode_dg1())
    assert dg1.document_format == "TD1"
    assert dg1.mrz.document_code == "ID"
    assert dg1.mrz.issuing_state == "VNM"
    assert dg1.mrz.document_number == "093047064"
    assert dg1.mrz.date_of_birth == "930105"
    assert dg1.mrz_text.splitlines() == [lds.CCCD_MRZ[0:30], lds.CCCD_MRZ[30:60], lds.CCCD_MRZ[60:90]]
    assert "093047064" not in repr(dg1)


def test_the_doc_9303_td3_specimen() -> None:
    dg1 = parse_dg1(lds.encode_dg1(lds.TD3_MRZ))
    assert dg1.document_format == "TD3"
    assert dg1.mrz.document_number == "L898902C3"
    assert dg1.mrz.full_name == "ERIKSSON ANNA MARIA"


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (lds.wrap(0x61, lds.wrap(0x5F1F, b"ABC")), DocumentError, "neither TD1"),
        (lds.wrap(0x61, lds.wrap(0x5F1E, lds.CCCD_MRZ.encode())), DocumentError, "found 0"),
        (lds.wrap(0x61, lds.wrap(0x5F1F, "Ã".encode("latin-1") * 90)), MrzFormatError, "non-ASCII"),
        (lds.encode_dg1(lds.CCCD_MRZ[:14] + "9" + lds.CCCD_MRZ[15:]), MrzFormatError, "check digit"),
        (lds.wrap(0x6D, b""), DocumentError, "expected 61"),
    ],
)
def test_malformed_dg1(data: bytes, error: type[DocumentError], words: str) -> None:
    with pytest.raises(error) as caught:
        parse_dg1(data)
    assert caught.value.file == "DG1"
    assert words in caught.value.message

"""Access keys (MRZ key, CAN) and what a CCCD's 12-digit ID number yields: CAN, document number, the
ID's structure and the expiry derived from the renewal ages of the 2014 and 2023 laws."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from agent.errors import MrzFormatError
from agent.icao.keys import CanKey, MrzKey
from agent.id_number import (
    bac_key_from_qr,
    can_from_id,
    can_key_from_id,
    derive_expiry,
    document_number_from_id,
    id_consistency_problems,
    law_for_issue_date,
    parse_id,
)
from agent.models import Sex

# --- keys ----------------------------------------------------------------------------------------


def test_mrz_key_of_appendix_g() -> None:
    key = MrzKey("T22000129", "640812", "101031")
    assert key.password_reference == 1 and key.kind == "MRZ"
    assert key.mrz_information() == "T220001293" + "6408125" + "1010318"
    assert key.pace_password() == hashlib.sha1(b"T22000129364081251010318").digest()


def test_can_key() -> None:
    key = CanKey("047064")
    assert (key.password_reference, key.kind, key.pace_password()) == (2, "CAN", b"047064")


def test_long_document_number_keeps_all_characters() -> None:
    assert MrzKey("D23145890734", "340712", "950712").mrz_information() == "D231458907349" + "3407127" + "9507122"


def test_short_document_number_is_padded_with_fillers() -> None:
    assert MrzKey("L898902C", "690806", "940623").mrz_information() == "L898902C<369080619406236"


def test_keys_hide_their_values() -> None:
    text = repr(MrzKey("093047064", "930105", "330105")) + repr(CanKey("047064"))
    assert "093047064" not in text and "930105" not in text and "047064" not in text


@pytest.mark.parametrize(
    ("number", "birth", "expiry", "field"),
    [
        ("", "930105", "330105", "document number"),
        ("abc123", "930105", "330105", "document number"),
        ("X" * 23, "930105", "330105", "document number"),
        ("093047064", "9301", "330105", "date of birth"),
        ("093047064", "931305", "330105", "date of birth"),
        ("093047064", "930100", "330105", "date of birth"),
        ("093047064", "930105", "33010A", "date of expiry"),
        ("093047064", "930105", "3301<5", "date of expiry"),
    ],
)
def test_mrz_key_validation_names_the_field(number: str, birth: str, expiry: str, field: str) -> None:
    with pytest.raises(MrzFormatError, match=field) as caught:
        MrzKey(number, birth, expiry)
    assert "093047064" not in str(caught.value)


@pytest.mark.parametrize("can", ["", "12345", "12345a", "12345678901", " 123456"])
def test_can_validation(can: str) -> None:
    with pytest.raises(MrzFormatError, match="CAN"):
        CanKey(can)


# --- the 12-digit ID number ----------------------------------------------------------------------

ID = "001093047064"


def test_keys_from_the_id_number() -> None:
    assert can_from_id(ID) == "047064"
    assert can_key_from_id(ID) == CanKey("047064")
    assert document_number_from_id(ID) == "093047064"


@pytest.mark.parametrize(
    ("id12", "province", "sex", "year", "known"),
    [
        ("001093047064", "001", Sex.MALE, 1993, True),
        ("079185000123", "079", Sex.FEMALE, 1985, True),
        ("038204001234", "038", Sex.MALE, 2004, True),
        ("096311009999", "096", Sex.FEMALE, 2011, True),
        ("003050000001", "003", Sex.MALE, 1950, False),  # 003 is not a province code
        ("001599000001", "001", Sex.FEMALE, 2199, True),
        ("001499000001", "001", Sex.MALE, 2199, True),
    ],
)
def test_parse_id(id12: str, province: str, sex: Sex, year: int, known: bool) -> None:
    parts = parse_id(id12)
    assert (parts.province_code, parts.sex, parts.birth_year, parts.province_known) == (province, sex, year, known)
    assert parts.serial == id12[6:]
    assert id12 not in repr(parts) and province not in repr(parts)


@pytest.mark.parametrize("bad", ["", "00109304706", "0010930470640", "00109304706A", "001 93047064", "００1093047064"])
def test_bad_id_numbers(bad: str) -> None:
    for function in (parse_id, can_from_id, document_number_from_id):
        with pytest.raises(MrzFormatError, match="12 digits"):
            function(bad)


@pytest.mark.parametrize(
    ("dob", "sex", "problems"),
    [
        (date(1993, 1, 5), "Nam", 0),
        (date(1993, 1, 5), "M", 0),
        (date(1993, 1, 5), None, 0),
        (date(1994, 1, 5), "Nam", 1),
        (date(1993, 1, 5), "Nữ", 1),
        (date(2093, 1, 5), "F", 2),
        (None, "unknown", 0),
    ],
)
def test_id_cross_checks(dob: date | None, sex: str | None, problems: int) -> None:
    found = id_consistency_problems(ID, date_of_birth=dob, sex=sex)
    assert len(found) == problems
    assert all(ID not in problem for problem in found)


def test_unknown_province_is_reported() -> None:
    assert id_consistency_problems("003093047064") == ("unknown province code in the ID number",)


# --- expiry from the renewal ages ----------------------------------------------------------------

EXPIRY_TABLE = [
    # DOB, issue date, law, expected expiry
    (date(1993, 1, 5), date(2021, 4, 10), "2014", date(2033, 1, 5)),  # 28 -> renew at 40 (the CCCD sample)
    (date(2000, 3, 15), date(2016, 6, 1), "2014", date(2025, 3, 15)),  # 16 -> 25
    (date(2000, 3, 15), date(2023, 3, 14), "2014", date(2025, 3, 15)),  # a day before the 2-year window
    (date(2000, 3, 15), date(2023, 3, 15), "2014", date(2040, 3, 15)),  # first day of the window -> 40
    (date(2000, 3, 15), date(2025, 3, 15), "2014", date(2040, 3, 15)),  # renewed on the 25th birthday
    (date(1985, 7, 20), date(2023, 7, 19), "2014", date(2025, 7, 20)),  # 37.99 -> 40
    (date(1985, 7, 20), date(2023, 8, 1), "2014", date(2045, 7, 20)),  # 38 -> 60
    (date(1960, 2, 1), date(2018, 1, 31), "2014", date(2020, 2, 1)),  # 57.99 -> 60
    (date(1960, 2, 1), date(2018, 2, 1), "2014", None),  # 58 -> never expires
    (date(1950, 1, 1), date(2021, 6, 1), "2014", None),  # 71
    (date(2000, 2, 29), date(2016, 1, 1), "2014", date(2025, 2, 28)),  # leap-day birthday (confirm)
    (date(2015, 5, 5), date(2024, 8, 1), "2023", date(2029, 5, 5)),  # 9 -> renew at 14
    (date(2011, 5, 5), date(2024, 8, 1), "2023", date(2036, 5, 5)),  # 13, within 2 years of 14 -> 25
    (date(2015, 5, 5), date(2024, 6, 30), "2014", date(2040, 5, 5)),  # before the 2023 law: no 14
    (date(1966, 9, 9), date(2024, 9, 1), "2023", date(2026, 9, 9)),  # 57.98 under the 2023 law -> 60
    (date(1966, 9, 9), date(2024, 9, 9), "2023", None),  # 58 under the 2023 law -> never expires
]


@pytest.mark.parametrize(("dob", "issued", "law", "expected"), EXPIRY_TABLE)
def test_derive_expiry(dob: date, issued: date, law: str, expected: date | None) -> None:
    assert derive_expiry(dob, issued, law=law) == expected
    assert derive_expiry(dob, issued) == expected  # the law picked from the issue date agrees


def test_law_for_issue_date() -> None:
    assert law_for_issue_date(date(2024, 6, 30)) == "2014"
    assert law_for_issue_date(date(2024, 7, 1)) == "2023"


def test_derive_expiry_refuses_nonsense() -> None:
    with pytest.raises(MrzFormatError):
        derive_expiry(date(2000, 1, 1), date(1999, 1, 1))
    with pytest.raises(ValueError):
        derive_expiry(date(2000, 1, 1), date(2020, 1, 1), law="1999")


def test_bac_key_from_qr_matches_the_cccd_sample_mrz() -> None:
    key = bac_key_from_qr(ID, date(1993, 1, 5), date(2021, 4, 10))
    assert key.mrz_information() == "0930470641" + "9301054" + "3301052"


def test_bac_key_from_qr_for_a_card_that_never_expires() -> None:
    key = bac_key_from_qr("001050000001", date(1950, 1, 1), date(2021, 6, 1))
    assert key.date_of_expiry == "<<<<<<"
    assert key.mrz_information().endswith("<<<<<<0")
    custom = bac_key_from_qr("001050000001", date(1950, 1, 1), date(2021, 6, 1), no_expiry="991231")
    assert custom.date_of_expiry == "991231"

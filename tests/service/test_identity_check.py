"""Identity checks of the desk (agent.service.identity_check): the CAN and the derived BAC key from a QR
identity (QR-then-tap), and the field-by-field comparison of a stated identity (the QR, what a notary
typed) against the chip's."""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from datetime import date

import pytest

from agent.errors import InvalidInputError
from agent.icao.keys import MrzKey
from agent.models import Identity
from agent.qr.payload import parse_cccd
from agent.service.identity_check import (
    DifferenceKind,
    FieldDifference,
    chip_keys_for,
    compare,
    different_people,
    entered_comparison,
    entered_fields,
)

QR = parse_cccd("001093047064|123456789|Lê Thị Hà|01021993|Nữ|Số 5, phố Hàng Bạc, Hà Nội|04102021")
CHIP = Identity(
    id_number="001093047064",
    full_name="Lê Thị Hà",
    date_of_birth=date(1993, 2, 1),
    sex="Nữ",
    old_id_number="123456789",
    address="Số 5, phố Hàng Bạc, Hà Nội",
    issue_date=date(2021, 10, 4),
)


def test_the_can_is_the_last_six_digits_and_bac_is_the_fallback() -> None:
    keys = chip_keys_for(QR.to_identity())
    assert keys.can == "047064" and keys.id_number == "001093047064"
    # document number = last 9 digits; issued at 28, the card runs to the 40th birthday (2014 law)
    assert keys.mrz == MrzKey("093047064", "930201", "330201")
    assert "047064" not in repr(keys)


def test_a_card_issued_after_58_has_the_no_expiry_key() -> None:
    old = parse_cccd("001052047064||Trần Văn Nam|07071952|Nam|Huế|08032018")
    keys = chip_keys_for(old.to_identity())
    assert keys.mrz is not None and keys.mrz.date_of_expiry == "<<<<<<"


def test_without_dates_only_the_can_is_offered() -> None:
    keys = chip_keys_for(Identity(id_number="001093047064"))
    assert keys.mrz is None and keys.can == "047064"


def test_inconsistent_dates_drop_the_bac_key_only(caplog: pytest.LogCaptureFixture) -> None:
    identity = Identity(id_number="001093047064", date_of_birth=date(2000, 1, 1), issue_date=date(1999, 1, 1))
    with caplog.at_level(logging.WARNING):
        keys = chip_keys_for(identity)
    assert keys.mrz is None and keys.can == "047064"
    assert "001093047064" not in caplog.text


@pytest.mark.parametrize("bad", ["", "00109304706", "00109304706X", "0010930470641"])
def test_a_bad_id_number_is_an_input_error(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        chip_keys_for(Identity(id_number=bad))
    assert caught.value.field == "id_number"


def test_identical_identities_have_no_differences() -> None:
    assert compare(QR.to_identity(), CHIP) == ()


@pytest.mark.parametrize(
    ("chip_changes", "expected"),
    [
        # tolerated: case, Unicode form, whitespace, sex spelling, comma spacing
        ({"full_name": "LÊ THỊ HÀ"}, []),
        ({"full_name": unicodedata.normalize("NFD", "Lê Thị Hà")}, []),
        ({"full_name": " Lê  Thị   Hà "}, []),
        ({"sex": "F"}, []),
        ({"address": "Số 5 , phố Hàng Bạc,Hà Nội"}, []),
        ({"address": "SỐ 5, PHỐ HÀNG BẠC, HÀ NỘI"}, []),
        # reported
        ({"id_number": "001093047065"}, [("id_number", DifferenceKind.MISMATCH)]),
        ({"full_name": "Lê Thị Hoa"}, [("full_name", DifferenceKind.MISMATCH)]),
        ({"full_name": "LE<THI<HA"}, [("full_name", DifferenceKind.DIACRITICS_ONLY)]),
        ({"full_name": "Le Thi Ha"}, [("full_name", DifferenceKind.DIACRITICS_ONLY)]),
        ({"date_of_birth": date(1993, 1, 2)}, [("date_of_birth", DifferenceKind.MISMATCH)]),
        ({"date_of_birth": None}, [("date_of_birth", DifferenceKind.MISSING_ON_CHIP)]),
        ({"sex": "Nam"}, [("sex", DifferenceKind.MISMATCH)]),
        ({"sex": "M"}, [("sex", DifferenceKind.MISMATCH)]),
        ({"old_id_number": ""}, [("old_id_number", DifferenceKind.MISSING_ON_CHIP)]),
        ({"old_id_number": "123456780"}, [("old_id_number", DifferenceKind.MISMATCH)]),
        ({"address": "Số 7, phố Hàng Bạc, Hà Nội"}, [("address", DifferenceKind.MISMATCH)]),
        ({"issue_date": date(2021, 10, 5)}, [("issue_date", DifferenceKind.MISMATCH)]),
        (
            {"id_number": "079052625491", "full_name": "Trần Văn Nam", "sex": "Nam"},
            [
                ("id_number", DifferenceKind.MISMATCH),
                ("full_name", DifferenceKind.MISMATCH),
                ("sex", DifferenceKind.MISMATCH),
            ],
        ),
    ],
)
def test_cross_check_table(chip_changes: dict[str, object], expected: list[tuple[str, DifferenceKind]]) -> None:
    chip = dataclasses.replace(CHIP, **chip_changes)  # type: ignore[arg-type]
    assert compare(QR.to_identity(), chip) == tuple(FieldDifference(f, k) for f, k in expected)


def test_a_field_only_the_chip_has_is_missing_in_the_qr() -> None:
    qr = dataclasses.replace(QR.to_identity(), old_id_number="")
    assert compare(qr, CHIP) == (FieldDifference("old_id_number", DifferenceKind.MISSING_STATED),)


def test_differences_are_logged_by_field_name_only(caplog: pytest.LogCaptureFixture) -> None:
    chip = dataclasses.replace(CHIP, full_name="Nguyễn Văn Bình", id_number="001093047099")
    with caplog.at_level(logging.INFO):
        differences = compare(QR.to_identity(), chip)
    assert [d.field for d in differences] == ["id_number", "full_name"]
    assert "full_name" in caplog.text
    for value in ("Bình", "Lê", "001093047099", "001093047064"):
        assert value not in caplog.text


# --- the desk's own uses ---------------------------------------------------------------------------


@pytest.mark.parametrize(("chip_changes", "different"), [
    ({}, False),
    ({"full_name": "LE<THI<HA", "sex": "M"}, False),  # a name from the MRZ, a wrong sex: the same person
    ({"id_number": "001093047065"}, True),
    ({"date_of_birth": date(1993, 2, 2)}, True),
    ({"date_of_birth": None}, False),  # a chip without DG13 says nothing against the QR
])
def test_different_people_looks_at_the_id_number_and_the_birth_date(chip_changes: dict[str, object],
                                                                     different: bool) -> None:
    chip = dataclasses.replace(CHIP, **chip_changes)  # type: ignore[arg-type]
    assert different_people(QR.to_identity(), chip) is different


def test_what_a_notary_typed_is_compared_field_by_field_accents_included() -> None:
    typed = entered_fields({"full_name": " le thi ha ", "date_of_birth": "01/02/1993", "sex": "nữ",
                            "address": "Số 5, phố Hàng Bạc, Hà Nội"})
    rows = {row["field"]: row for row in entered_comparison(typed, CHIP)}
    assert list(rows) == ["full_name", "date_of_birth", "sex", "address"]
    assert rows["full_name"] == {"field": "full_name", "entered": "le thi ha", "chip": "Lê Thị Hà", "same": False}
    assert rows["date_of_birth"]["same"] and rows["date_of_birth"]["entered"] == "1993-02-01"
    assert rows["sex"]["same"] and rows["address"]["same"]


@pytest.mark.parametrize(("typed", "field"), [({"date_of_birth": "31/02/1993"}, "date_of_birth"),
                                               ({"full_name": "x" * 301}, "full_name"),
                                               ({"address": 5}, "address")])
def test_bad_typed_fields_are_input_errors_naming_the_field(typed: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        entered_fields(typed)
    assert caught.value.field == field

"""DG13, the Vietnamese personal data of the CCCD: every field with full Vietnamese text, absent and
extra fields, dates, and malformed structures."""

from __future__ import annotations

from datetime import date

import pytest

from agent.errors import DocumentError
from agent.icao.lds.dg13 import parse_date, parse_dg13
from tests.icao import lds_fixtures as lds


def test_all_sixteen_fields_with_vietnamese_text_exact() -> None:
    dg13 = parse_dg13(lds.encode_dg13())
    assert dg13.version == 1
    assert dg13.oid == "1.0.10646.1.0.8"
    assert dg13.id_number == "001093047064"
    assert dg13.full_name == "Nguyễn Thị Hồng Nhung"
    assert dg13.date_of_birth is not None
    assert dg13.date_of_birth.text == "05/01/1993"
    assert dg13.date_of_birth.value == date(1993, 1, 5)
    assert dg13.sex == "Nữ"
    assert dg13.nationality == "Việt Nam"
    assert dg13.ethnicity == "Kinh"
    assert dg13.religion == "Không"
    assert dg13.place_of_origin == "Xã Đông Hưng, Huyện Tiên Lữ, Tỉnh Hưng Yên"
    assert dg13.permanent_residence == "Số 12 ngõ 34 Phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội"
    assert dg13.identifying_marks == "Nốt ruồi C:1cm trên trước đầu lông mày phải"
    assert dg13.issue_date is not None and dg13.issue_date.value == date(2021, 7, 10)
    assert dg13.expiry is not None and dg13.expiry.text == "05/01/2033"
    assert dg13.expiry_date == date(2033, 1, 5)
    assert (dg13.father_name, dg13.mother_name) == ("Nguyễn Văn Đức", "Trần Thị Lụa")
    assert dg13.spouse_name == "Lê Quang Vũ"
    assert dg13.old_id_number == "168523947"
    assert dg13.card_serial == "0A1B2C3D4E5F6071"
    assert dg13.present_fields == tuple(range(1, 17))
    assert dg13.unknown_fields == ()


def test_text_is_not_normalised() -> None:
    decomposed = "Nguye\u0302\u0303n"  # "Nguyễn" written with combining marks
    dg13 = parse_dg13(lds.encode_dg13({2: decomposed}))
    assert dg13.full_name == decomposed


def test_the_identity_view() -> None:
    identity = parse_dg13(lds.encode_dg13()).to_identity()
    assert identity.id_number == "001093047064"
    assert identity.full_name == "Nguyễn Thị Hồng Nhung"
    assert identity.date_of_birth == date(1993, 1, 5)
    assert identity.address.startswith("Số 12 ngõ 34")
    assert identity.old_id_number == "168523947"
    assert identity.expiry_date == date(2033, 1, 5)
    assert "001093047064" not in repr(identity)


def test_personal_data_is_kept_out_of_repr() -> None:
    text = repr(parse_dg13(lds.encode_dg13()))
    for secret in ("001093047064", "Nguyễn", "Hà Nội", "1993"):
        assert secret not in text


def test_absent_fields_are_empty_or_none() -> None:
    dg13 = parse_dg13(lds.encode_dg13({1: ("printable", "079203000123"), 2: "Trần Văn Bình", 4: "Nam"}))
    assert dg13.full_name == "Trần Văn Bình"
    assert dg13.sex == "Nam"
    assert dg13.date_of_birth is None
    assert dg13.expiry is None and dg13.expiry_date is None
    assert (dg13.father_name, dg13.mother_name, dg13.spouse_name, dg13.old_id_number) == ("", "", "", "")
    assert dg13.present_fields == (1, 2, 4)


def test_a_card_without_expiry_keeps_the_text() -> None:
    dg13 = parse_dg13(lds.encode_dg13({12: "Không thời hạn"}))
    assert dg13.expiry is not None
    assert dg13.expiry.text == "Không thời hạn"
    assert dg13.expiry_date is None


def test_an_empty_spouse_and_a_single_parent() -> None:
    dg13 = parse_dg13(lds.encode_dg13({13: ("Phạm Văn Hải",), 14: ()}))
    assert dg13.father_name == "Phạm Văn Hải"
    assert dg13.mother_name == ""
    assert dg13.spouse_name == ""
    assert dg13.fields[14] == ()


def test_extra_unknown_fields_and_any_order_are_tolerated() -> None:
    fields = {17: "Thông tin mới", 2: "Đỗ Thị Mai", 40: ("a", "b"), 1: ("printable", "001300000001")}
    dg13 = parse_dg13(lds.encode_dg13(fields))
    assert dg13.full_name == "Đỗ Thị Mai"
    assert dg13.unknown_fields == (17, 40)
    assert dg13.fields[17] == ("Thông tin mới",)
    assert dg13.fields[40] == ("a", "b")


def test_an_unknown_field_may_hold_non_text() -> None:
    dg13 = parse_dg13(lds.encode_dg13({2: "Lý Thường Kiệt", 20: lds.der_integer(5)}))
    assert dg13.fields[20] == ()


def test_fields_listed_in_a_sequence_instead_of_a_set() -> None:
    dg13 = parse_dg13(lds.encode_dg13({2: "Hồ Xuân Hương"}, container=lds.SEQUENCE))
    assert dg13.full_name == "Hồ Xuân Hương"


def test_other_string_types_are_read() -> None:
    bmp = lds.wrap(0x1E, "Hà Giang".encode("utf-16-be"))
    octets = lds.wrap(0x04, "Cà Mau".encode())
    ia5 = lds.wrap(0x16, b"079203000123")
    dg13 = parse_dg13(lds.encode_dg13({1: ia5, 8: bmp, 9: octets}))
    assert (dg13.id_number, dg13.place_of_origin, dg13.permanent_residence) == ("079203000123", "Hà Giang", "Cà Mau")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/01/1993", date(1993, 1, 5)),
        ("5/1/1993", date(1993, 1, 5)),
        (" 31/12/2099 ", date(2099, 12, 31)),
        ("31/02/2020", None),
        ("1993-01-05", None),
        ("Không thời hạn", None),
        ("", None),
    ],
)
def test_dates(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_an_impossible_date_is_kept_as_text() -> None:
    dg13 = parse_dg13(lds.encode_dg13({3: ("printable", "31/02/1990")}))
    assert dg13.date_of_birth is not None
    assert (dg13.date_of_birth.text, dg13.date_of_birth.value) == ("31/02/1990", None)


FIELD = lds.wrap(0x30, lds.der_integer(2) + lds.wrap(0x0C, "Tên".encode()))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (lds.wrap(0x6E, b""), "expected 6D"),
        (lds.wrap(0x6D, b""), "expected one SEQUENCE"),
        (lds.wrap(0x6D, lds.wrap(0x30, b"")), "version INTEGER missing"),
        (lds.encode_dg13({2: lds.wrap(0x0C, b"\xff\xfe")}), "not valid utf-8"),
        (lds.encode_dg13({3: lds.der_integer(5)}), "field 3 holds tag 2"),
        (lds.wrap(0x6D, lds.wrap(0x30, lds.der_integer(1) + lds.wrap(0x31, FIELD + FIELD))), "field 2 appears twice"),
        (lds.wrap(0x6D, lds.wrap(0x30, lds.der_integer(1) + lds.wrap(0x01, b"\xff"))), "unexpected tag 1"),
        (lds.wrap(0x6D, lds.wrap(0x30, lds.der_integer(1) + lds.wrap(0x31, lds.wrap(0x0C, b"x")))), "among the fields"),
        (lds.wrap(0x6D, lds.wrap(0x30, lds.der_integer(1) + lds.wrap(0x06, b"\x81"))), "OBJECT IDENTIFIER"),
        (lds.wrap(0x6D, lds.wrap(0x30, lds.wrap(0x02, b"") + lds.wrap(0x31, b""))), "not a small INTEGER"),
        (
            lds.wrap(0x6D, lds.wrap(0x30, lds.der_integer(1) + lds.wrap(0x31, lds.wrap(0x30, lds.der_integer(-1))))),
            "negative",
        ),
        (lds.encode_dg13()[:-3], "remain"),
    ],
)
def test_malformed_dg13(data: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_dg13(data)
    assert caught.value.file == "DG13"
    assert words in caught.value.message
    for secret in ("001093047064", "Nguyễn"):
        assert secret not in caught.value.message


def test_deep_nesting_is_refused() -> None:
    value = lds.wrap(0x0C, b"x")
    for _ in range(12):
        value = lds.wrap(0x30, value)
    with pytest.raises(DocumentError, match="too deeply"):
        parse_dg13(lds.encode_dg13({13: value}))

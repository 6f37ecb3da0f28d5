"""The CCCD / VNeID / unknown payload parsers: tables of good and malformed payloads, the
classification rule, and Hypothesis round-trip and fuzz tests."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import QrFormatError
from agent.qr.payload import (
    CccdQr,
    QrKind,
    UnknownQr,
    VneidQr,
    classify,
    is_vneid_token,
    parse_cccd,
    parse_payload,
)

GOOD = "001093047064|123456789|Lê Thị Hà|01021993|Nữ|Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội|04102021"


def payload(**fields: str) -> str:
    values = {
        "id_number": "001093047064",
        "old_id_number": "123456789",
        "full_name": "Lê Thị Hà",
        "date_of_birth": "01021993",
        "sex": "Nữ",
        "address": "Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội",
        "issue_date": "04102021",
    }
    values.update(fields)
    return "|".join(values.values())


def test_a_card_payload_parses_by_index() -> None:
    qr = parse_cccd(GOOD)
    assert qr.id_number == "001093047064"
    assert qr.old_id_number == "123456789"
    assert qr.full_name == "Lê Thị Hà"
    assert qr.date_of_birth == date(1993, 2, 1)
    assert qr.sex == "Nữ"
    assert qr.address == "Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội"
    assert qr.issue_date == date(2021, 10, 4)
    assert qr.extra_fields == ()


def test_json_has_the_cli_fields_with_iso_dates() -> None:
    assert parse_cccd(GOOD).to_json() == {
        "kind": "cccd",
        "id_number": "001093047064",
        "old_id_number": "123456789",
        "full_name": "Lê Thị Hà",
        "date_of_birth": "1993-02-01",
        "sex": "Nữ",
        "address": "Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội",
        "issue_date": "2021-10-04",
    }


@pytest.mark.parametrize(
    ("text", "check"),
    [
        # the old ID may be empty; the field is kept, not dropped (a common bug)
        (payload(old_id_number=""), lambda q: q.old_id_number == "" and q.full_name == "Lê Thị Hà"),
        # the 12-digit CMND issued 2012-2016
        (payload(old_id_number="001093047064"), lambda q: q.old_id_number == "001093047064"),
        # cards issued since July 2024 add empty trailing fields
        (GOOD + "|||", lambda q: q.extra_fields == ("", "", "")),
        (GOOD + "|x|y", lambda q: q.extra_fields == ("x", "y")),
        # a scanner's trailing CR/LF
        (GOOD + "\r\n", lambda q: q.issue_date == date(2021, 10, 4)),
        # upper-case sex is normalised
        (payload(sex="NAM"), lambda q: q.sex == "Nam"),
        (payload(sex="NỮ"), lambda q: q.sex == "Nữ"),
        # decomposed (NFD) text becomes NFC
        (payload(full_name=unicodedata.normalize("NFD", "Nguyễn Văn Ánh")), lambda q: q.full_name == "Nguyễn Văn Ánh"),
        (payload(sex=unicodedata.normalize("NFD", "Nữ")), lambda q: q.sex == "Nữ"),
        # extra spaces inside a name or address collapse
        (payload(full_name="  Lê   Thị Hà "), lambda q: q.full_name == "Lê Thị Hà"),
        # an empty address is tolerated
        (payload(address=""), lambda q: q.address == ""),
        # 29 February of a leap year
        (payload(date_of_birth="29022000"), lambda q: q.date_of_birth == date(2000, 2, 29)),
    ],
)
def test_tolerated_variants(text: str, check) -> None:  # type: ignore[no-untyped-def]
    assert check(parse_cccd(text))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("001093047064|123456789|Lê Thị Hà|01021993|Nữ|Hà Nội", "fields"),  # six fields
        ("001093047064|123456789", "fields"),
        ("|", "fields"),
        (payload(id_number="00109304706A"), "id_number"),  # letters in the ID
        (payload(id_number="ABCDEFGHIJKL"), "id_number"),
        (payload(id_number="00109304706"), "id_number"),  # 11 digits
        (payload(id_number="0010930470641"), "id_number"),  # 13 digits
        (payload(id_number="٠٠١٠٩٣٠٤٧٠٦٤"), "id_number"),  # Arabic-Indic digits are not ASCII digits
        (payload(id_number=""), "id_number"),
        (payload(old_id_number="12345678"), "old_id_number"),
        (payload(old_id_number="12345678X"), "old_id_number"),
        (payload(full_name=""), "full_name"),
        (payload(full_name="   "), "full_name"),
        (payload(date_of_birth="31022000"), "date_of_birth"),  # 31 February
        (payload(date_of_birth="29022001"), "date_of_birth"),  # not a leap year
        (payload(date_of_birth="00011990"), "date_of_birth"),
        (payload(date_of_birth="01131990"), "date_of_birth"),  # month 13
        (payload(date_of_birth="1990-01-01"), "date_of_birth"),
        (payload(date_of_birth="0101199"), "date_of_birth"),
        (payload(date_of_birth="01011850"), "date_of_birth"),  # year out of range
        (payload(sex="M"), "sex"),
        (payload(sex="Nu"), "sex"),
        (payload(sex=""), "sex"),
        (payload(issue_date="32012021"), "issue_date"),
        (payload(issue_date=""), "issue_date"),
        (payload(issue_date="01011990"), "issue_date"),  # before the date of birth
        (payload(full_name="Lê\x00Thị"), "full_name"),  # control characters
        (payload(full_name="Lê\tThị"), "full_name"),
        (payload(address="Hà Nội\x1b[31m"), "address"),
        (payload(address="Hà\u200bNội"), "address"),  # zero-width space (format character)
        (payload(sex="Nam\x7f"), "sex"),
        (GOOD + "|\x07", "extra_field_8"),
        ("0" * 10_240 + "|", "payload"),  # 10 KB
        (GOOD + "|" + "a" * 10_000, "payload"),
    ],
)
def test_malformed_payloads_name_the_field(text: str, field: str) -> None:
    with pytest.raises(QrFormatError) as caught:
        parse_payload(text)
    assert caught.value.field == field


def test_errors_never_contain_the_values() -> None:
    with pytest.raises(QrFormatError) as caught:
        parse_cccd(payload(id_number="98765432101X"))
    assert "98765432101" not in str(caught.value)
    with pytest.raises(QrFormatError) as caught:
        parse_cccd(payload(sex="Secret"))
    assert "Secret" not in str(caught.value)


def test_repr_hides_personal_fields() -> None:
    text = repr(parse_cccd(GOOD))
    assert "001093047064" not in text and "Hà" not in text
    assert "tok" not in repr(VneidQr(token="token-123"))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (GOOD, QrKind.CCCD),
        ("garbage|with a pipe", QrKind.CCCD),  # a pipe means a (possibly bad) CCCD code
        ("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlMTIzNDU2Nzg5MA", QrKind.VNEID),  # JWT-shaped
        ("A" * 20 + "1234567890abcdef", QrKind.VNEID),  # base64-shaped, 36 characters
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", QrKind.VNEID),  # hex
        ("https://vneid.gov.vn/verify?t=abc123", QrKind.VNEID),
        ("https://app.vneid.gov.vn/x", QrKind.VNEID),
        ("https://vneid.gov.vn.evil.example/x", QrKind.UNKNOWN),
        ("https://example.com/" + "a1" * 30, QrKind.UNKNOWN),
        ("http://[::1", QrKind.UNKNOWN),  # a malformed URL
        ("0912345678", QrKind.UNKNOWN),  # a phone number
        ("1" * 40, QrKind.UNKNOWN),  # digits only
        ("abcdefghijklmnopqrstuvwxyzabcdefghij", QrKind.UNKNOWN),  # letters only
        ("short1token", QrKind.UNKNOWN),  # too short
        ("A1" * 1025, QrKind.UNKNOWN),  # too long
        ("a token with spaces 1234567890 abcdefghij", QrKind.UNKNOWN),
        ("Xin chào các bạn 2024", QrKind.UNKNOWN),
        ("", QrKind.UNKNOWN),
    ],
)
def test_classification(text: str, kind: QrKind) -> None:
    assert classify(text) is kind


def test_vneid_and_unknown_payloads() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlMTIzNDU2Nzg5MA"
    parsed = parse_payload(token + "\n")
    assert isinstance(parsed, VneidQr) and parsed.token == token
    assert parsed.to_json() == {"kind": "vneid", "token": token}
    unknown = parse_payload("WIFI:S:clinic;T:WPA;P:secret;;")
    assert isinstance(unknown, UnknownQr)
    assert unknown.to_json()["kind"] == "unknown"


def test_is_vneid_token_is_pure_and_bounded() -> None:
    assert is_vneid_token("a" * 31 + "1") is True
    assert is_vneid_token("a" * 30 + "1") is False


def test_identity_conversion() -> None:
    identity = parse_cccd(GOOD).to_identity()
    assert identity.id_number == "001093047064"
    assert identity.issue_date == date(2021, 10, 4)
    assert identity.old_id_number == "123456789"


# --- property tests ------------------------------------------------------------------------------

_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọ"
    "ồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ,.-/0123456789ĐÂĂÊÔƠƯ"
)
_vietnamese_text = st.text(
    alphabet=st.sampled_from(list(_LETTERS)),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")


@given(
    id_number=st.from_regex(r"[0-9]{12}", fullmatch=True),
    old_id=st.one_of(st.just(""), st.from_regex(r"[0-9]{9}", fullmatch=True)),
    name=_vietnamese_text,
    address=_vietnamese_text,
    born=st.dates(date(1900, 1, 1), date(2020, 12, 31)),
    issued_after_days=st.integers(0, 30_000),
    sex=st.sampled_from(["Nam", "Nữ"]),
    trailing=st.integers(0, 4),
)
def test_round_trip(
    id_number: str, old_id: str, name: str, address: str, born: date, issued_after_days: int, sex: str, trailing: int
) -> None:
    issued = date.fromordinal(min(born.toordinal() + issued_after_days, date(2100, 12, 31).toordinal()))
    text = "|".join(
        [id_number, old_id, name, born.strftime("%d%m%Y"), sex, address, issued.strftime("%d%m%Y")] + [""] * trailing
    )
    qr = parse_cccd(text)
    assert (qr.id_number, qr.old_id_number, qr.sex) == (id_number, old_id, sex)
    assert qr.full_name == " ".join(unicodedata.normalize("NFC", name).split())
    assert qr.address == " ".join(unicodedata.normalize("NFC", address).split())
    assert (qr.date_of_birth, qr.issue_date) == (born, issued)
    assert len(qr.extra_fields) == trailing


@given(st.text(max_size=300))
def test_any_text_gives_a_payload_or_a_qr_format_error(text: str) -> None:
    try:
        result = parse_payload(text)
    except QrFormatError as error:
        assert error.field
        return
    assert isinstance(result, CccdQr | VneidQr | UnknownQr)
    assert result.kind is classify(text)


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=20), min_size=7, max_size=10))
def test_fuzzed_fields_give_a_payload_or_a_qr_format_error(fields: list[str]) -> None:
    try:
        parse_cccd("|".join(fields))
    except QrFormatError as error:
        assert error.field

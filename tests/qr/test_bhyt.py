"""The BHYT card's QR code: the public sample payloads field by field, the classification against CCCD
codes (neither is ever parsed as the other), malformed fields named, and a Hypothesis round trip."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import QrFormatError
from agent.models import Sex
from agent.qr.payload import BhytQr, CccdQr, QrKind, classify, parse_bhyt, parse_payload
from tests.qr.bhyt_samples import PUBLIC, PUBLIC_2018, PUBLIC_2020, PUBLIC_2021, PUBLIC_ANONYMISED, bhyt_payload

CCCD = "001093047064|123456789|Lê Thị Hà|01021993|Nữ|Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội|04102021"


def test_the_2018_card_field_by_field() -> None:
    qr = parse_bhyt(PUBLIC_2018)
    assert qr.card_number == "DN4797937337969" and qr.social_insurance_number == "7937337969"
    assert qr.full_name == "Phan Hoàng Quý"
    assert qr.date_of_birth == date(1994, 5, 31) and qr.birth_year is None
    assert qr.sex is Sex.MALE
    assert qr.address == "89 Nguyễn Văn Công, Phường 03, Quận Gò Vấp, Thành phố Hồ Chí Minh"
    assert qr.facility_code == "79426"
    assert (qr.valid_from, qr.valid_to, qr.issue_date) == (date(2018, 10, 1), None, date(2018, 10, 29))
    assert qr.management_code == "79077937337969" and qr.guardian_name == "" and qr.living_area == "4"
    assert qr.five_year_date == date(2022, 11, 1)
    assert qr.check == "6f34b2d123350b6-7102" and qr.extra_fields == ()


def test_the_2021_card_has_only_the_social_insurance_number_and_more_fields() -> None:
    qr = parse_bhyt(PUBLIC_2021)
    assert qr.card_number == "0204287018"
    assert qr.five_year_date == date(2015, 1, 1)  # printed with a leading space
    assert qr.extra_fields == ("4", "5175e1baad6e2031322c205468c3a06e68207068e1bb912048e1bb93204368c3ad204d696e68")
    identity = qr.to_identity()
    assert identity.id_number == "" and identity.bhyt_card == "0204287018"
    assert identity.lookup_number == "0204287018" and identity.full_name == "Hoàng Xuân Hấn"


def test_an_anonymised_card_number_is_a_bhyt_code_with_a_bad_card_number() -> None:
    assert classify(PUBLIC_ANONYMISED) is QrKind.BHYT
    with pytest.raises(QrFormatError) as raised:
        parse_payload(PUBLIC_ANONYMISED)
    assert raised.value.field == "card_number"
    assert "AA31900313" not in str(raised.value)  # the error names the field, never its value


def test_a_copy_without_the_end_marker_still_parses() -> None:
    assert parse_bhyt(PUBLIC_2020).full_name == "Lương Mạnh Tiến"


@pytest.mark.parametrize("text", PUBLIC)
def test_bhyt_and_cccd_codes_are_never_taken_for_each_other(text: str) -> None:
    assert classify(text) is QrKind.BHYT
    assert isinstance(parse_payload(text), BhytQr)
    assert classify(CCCD) is QrKind.CCCD and isinstance(parse_payload(CCCD), CccdQr)
    # a BHYT code with a broken card number is still a (bad) BHYT code, by its hex name and slashed date
    first = text.split("|")[0]
    broken = first[:-2] + text[len(first):]
    assert classify(broken) is QrKind.BHYT
    with pytest.raises(QrFormatError) as raised:
        parse_payload(broken)
    assert raised.value.field == "card_number"


def test_json_says_kind_bhyt() -> None:
    data = parse_bhyt(PUBLIC_2018).to_json()
    assert data["kind"] == "bhyt" and data["card_number"] == "DN4797937337969"
    assert data["date_of_birth"] == "1994-05-31" and data["valid_to"] is None


def test_a_birth_year_only() -> None:
    qr = parse_bhyt(bhyt_payload("HT2010123456789", "Trần Văn Bảy", 1941))
    assert qr.date_of_birth is None and qr.birth_year == 1941
    assert qr.to_identity().year_of_birth == 1941


def _field(text: str, index: int, value: str) -> str:
    fields = text.split("|")
    fields[index] = value
    return "|".join(fields)


@pytest.mark.parametrize(
    ("index", "value", "field"),
    [
        (1, "zz", "full_name"),
        (1, "c3", "full_name"),  # not UTF-8
        (1, "", "full_name"),
        (2, "31-05-1994", "date_of_birth"),
        (2, "31/02/1994", "date_of_birth"),
        (3, "3", "sex"),
        (4, "abc", "address"),
        (5, "79073", "facility"),
        (6, "-", "valid_from"),
        (7, "01/01/2000", "valid_to"),  # before valid_from
        (12, "2022-11-01", "five_year_date"),
        (13, "", "check"),
        (13, "6f34b2d123350b6", "check"),
        (13, "6f34b2d123350b6-71020", "check"),
        (13, "not-hex!", "check"),
    ],
)
def test_malformed_fields_are_named_never_shown(index: int, value: str, field: str) -> None:
    with pytest.raises(QrFormatError) as raised:
        parse_bhyt(_field(PUBLIC_2018, index, value))
    assert raised.value.field == field
    assert "Phan" not in raised.value.message and "7937337969" not in raised.value.message


def test_too_few_fields_and_control_characters() -> None:
    with pytest.raises(QrFormatError) as raised:
        parse_bhyt("|".join(PUBLIC_2018.split("|")[:10]))
    assert raised.value.field == "fields"
    with pytest.raises(QrFormatError) as raised:
        parse_bhyt(_field(PUBLIC_2018, 9, "7907\x007937337969"))
    assert raised.value.field == "management_code"


def test_an_inexact_reading_may_lack_the_name_and_the_check() -> None:
    text = _field(_field(PUBLIC_2018, 1, ""), 13, "")
    with pytest.raises(QrFormatError):
        parse_bhyt(text)
    qr = parse_bhyt(text, exact=False)
    assert qr.card_number == "DN4797937337969" and qr.full_name == "" and qr.date_of_birth == date(1994, 5, 31)


_NAME = st.text(alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệ"
                                               "ìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ĐÂ")), min_size=1, max_size=40)


@given(
    card=st.from_regex(r"[A-Z]{2}[1-5][0-9]{12}|[0-9]{10}", fullmatch=True),
    name=_NAME.filter(lambda s: s.strip() != ""),
    born=st.dates(date(1900, 1, 1), date(2024, 12, 31)),
    sex=st.sampled_from([1, 2]),
)
def test_round_trip(card: str, name: str, born: date, sex: int) -> None:
    qr = parse_payload(bhyt_payload(card, name, born, sex=sex))
    assert isinstance(qr, BhytQr)
    assert qr.card_number == card and qr.date_of_birth == born
    assert qr.full_name == " ".join(unicodedata.normalize("NFC", name).split())
    assert qr.sex is (Sex.MALE if sex == 1 else Sex.FEMALE)


@given(st.lists(st.text(max_size=30), min_size=14, max_size=18))
def test_fuzzed_fields_give_a_payload_or_a_named_error(fields: list[str]) -> None:
    try:
        parse_bhyt("|".join(fields))
    except QrFormatError as error:
        assert error.field

"""MRZ parsing (Doc 9303-3/4/5): the ICAO specimens, the CCCD sample of docs/reference/card.md "The MRZ
and the BAC key", the TD1 long document number, every check digit, and generated / fuzzed zones."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import MrzFormatError
from agent.icao.keys import check_digit
from agent.icao.mrz import Mrz, parse_mrz, parse_td1, parse_td3

TD3_SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD1_SPECIMEN = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
TD1_LONG_NUMBER = "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<"
CCCD_SAMPLE = "IDVNM0930470641001093047064<<2\n9301054M3301052VNM<<<<<<<<<<<8\nUNG<<HOANG<HIEP<<<<<<<<<<<<<<<"


def independent_check_digit(field: str) -> str:
    values = {c: i for i, c in enumerate(string.digits + string.ascii_uppercase)}
    values["<"] = 0
    return str(sum(values[c] * (7, 3, 1)[i % 3] for i, c in enumerate(field)) % 10)


@pytest.mark.parametrize(
    ("field", "digit"),
    [
        ("L898902C3", "6"),
        ("740812", "2"),
        ("120415", "9"),
        ("ZE184226B<<<<<", "1"),
        ("D23145890", "7"),
        ("<<<<<<", "0"),
    ],
)
def test_check_digits_of_the_specimens(field: str, digit: str) -> None:
    assert check_digit(field) == digit == independent_check_digit(field)


def test_td3_specimen() -> None:
    mrz = parse_mrz(TD3_SPECIMEN)
    assert (mrz.format, mrz.document_code, mrz.issuing_state, mrz.nationality) == ("TD3", "P", "UTO", "UTO")
    assert (mrz.document_number, mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == (
        "L898902C3",
        "740812",
        "F",
        "120415",
    )
    assert mrz.optional_data_2 == "ZE184226B"
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("ERIKSSON", "ANNA MARIA")
    assert mrz.full_name == "ERIKSSON ANNA MARIA"
    assert mrz.bac_key().mrz_information() == "L898902C3674081221204159"


def test_td1_specimen() -> None:
    mrz = parse_mrz(TD1_SPECIMEN)
    assert (mrz.format, mrz.document_code, mrz.document_number) == ("TD1", "I", "D23145890")
    assert (mrz.date_of_birth, mrz.sex, mrz.date_of_expiry, mrz.nationality) == ("740812", "F", "120415", "UTO")
    assert (mrz.optional_data, mrz.optional_data_2) == ("", "")
    assert mrz.secondary_identifier == "ANNA MARIA"


def test_td1_long_document_number() -> None:
    mrz = parse_mrz(TD1_LONG_NUMBER)
    assert mrz.document_number == "D23145890734"
    assert mrz.optional_data == ""
    assert mrz.bac_key().mrz_information() == "D231458907349" + "3407127" + "9507122"


def test_cccd_sample() -> None:
    mrz = parse_mrz(CCCD_SAMPLE)
    assert (mrz.document_code, mrz.issuing_state, mrz.document_number) == ("ID", "VNM", "093047064")
    assert mrz.optional_data.startswith("001093047064")
    assert (mrz.date_of_birth, mrz.sex, mrz.date_of_expiry) == ("930105", "M", "330105")
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("UNG", "HOANG HIEP")
    assert mrz.bac_key().mrz_information() == "0930470641" + "9301054" + "3301052"


def test_repr_hides_personal_fields() -> None:
    text = repr(parse_mrz(CCCD_SAMPLE))
    assert "093047064" not in text and "HOANG" not in text and "930105" not in text


def _corrupt(text: str, line: int, index: int, char: str) -> str:
    lines = text.split("\n")
    lines[line] = lines[line][:index] + char + lines[line][index + 1 :]
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "line", "index", "field"),
    [
        (TD1_SPECIMEN, 0, 14, "document number"),
        (TD1_SPECIMEN, 1, 6, "date of birth"),
        (TD1_SPECIMEN, 1, 14, "date of expiry"),
        (TD1_SPECIMEN, 1, 29, "composite"),
        (TD1_SPECIMEN, 0, 20, "composite"),  # optional data is covered by the composite only
        (TD1_LONG_NUMBER, 0, 18, "document number"),
        (CCCD_SAMPLE, 1, 29, "composite"),
        (TD3_SPECIMEN, 1, 9, "document number"),
        (TD3_SPECIMEN, 1, 19, "date of birth"),
        (TD3_SPECIMEN, 1, 27, "date of expiry"),
        (TD3_SPECIMEN, 1, 42, "personal number"),
        (TD3_SPECIMEN, 1, 43, "composite"),
    ],
)
def test_every_check_digit_is_verified(text: str, line: int, index: int, field: str) -> None:
    original = text.split("\n")[line][index]
    replacement = "3" if original != "3" else "4"
    with pytest.raises(MrzFormatError, match=field):
        parse_mrz(_corrupt(text, line, index, replacement))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "lines"),
        ("ONELINE", "lines"),
        (TD1_SPECIMEN.replace("ERIKSSON", "ERIKSSÖN"), "characters"),
        (TD1_SPECIMEN.replace("\nERIKSSON<<", "\nERIKSSON<"), "TD1"),
        (TD3_SPECIMEN + "<", "TD3"),
        (_corrupt(TD1_SPECIMEN, 1, 7, "Q"), "sex"),
        (_corrupt(TD1_SPECIMEN, 0, 2, "9"), "issuing state"),
        (_corrupt(TD1_SPECIMEN, 1, 2, "1"), "month"),  # 741812
        (_corrupt(TD1_SPECIMEN, 1, 4, "<"), "mixes"),
        ("I<UTOD23145890<<<<<<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<", "extension"),
    ],
)
def test_structural_errors_name_the_problem(text: str, match: str) -> None:
    with pytest.raises(MrzFormatError, match=match):
        parse_mrz(text)


def test_messages_carry_no_mrz_content() -> None:
    with pytest.raises(MrzFormatError) as caught:
        parse_mrz(_corrupt(CCCD_SAMPLE, 0, 14, "2"))
    assert "093047064" not in str(caught.value)


def test_blank_personal_number_may_have_a_filler_check_digit() -> None:
    line2 = "L898902C36UTO7408122F1204159" + "<" * 14 + "<"
    composite = independent_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    mrz = parse_td3(["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", line2 + composite])
    assert mrz.optional_data_2 == ""


def test_unknown_day_of_birth_and_no_expiry_are_accepted() -> None:
    line1 = "IDVNM093047064" + independent_check_digit("093047064") + "<" * 15
    line2 = "9301<<" + independent_check_digit("9301<<") + "F" + "<<<<<<" + "0" + "VNM" + "<" * 11
    line2 += independent_check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    mrz = parse_td1([line1, line2, "NGUYEN<<AN<<<<<<<<<<<<<<<<<<<<"])
    assert (mrz.date_of_birth, mrz.date_of_expiry) == ("9301<<", "<<<<<<")


# --- generated zones -----------------------------------------------------------------------------

alnum = st.text(alphabet=string.digits + string.ascii_uppercase, min_size=1)
digits2 = st.integers(min_value=0, max_value=99).map(lambda n: f"{n:02d}")
months = st.integers(min_value=1, max_value=12).map(lambda n: f"{n:02d}")
days = st.integers(min_value=1, max_value=28).map(lambda n: f"{n:02d}")
dates = st.tuples(digits2, months, days).map("".join)
letters3 = st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=3)
names = st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=8)


@given(
    number=st.text(alphabet=string.digits + string.ascii_uppercase, min_size=9, max_size=13),
    optional=st.text(alphabet=string.digits, max_size=4),
    birth=dates,
    expiry=dates,
    sex=st.sampled_from("MF<"),
    state=letters3,
    surname=names,
    given_name=names,
)
def test_generated_td1_round_trip(
    number: str, optional: str, birth: str, expiry: str, sex: str, state: str, surname: str, given_name: str
) -> None:
    if len(number) > 9:  # long number: 9 characters, filler, the rest and its check digit, then data
        opt1 = (number[9:] + independent_check_digit(number) + "<" + optional).ljust(15, "<")
        line1 = "ID" + state + number[:9] + "<" + opt1
    else:
        line1 = "ID" + state + number + independent_check_digit(number) + optional.ljust(15, "<")
    line2 = birth + independent_check_digit(birth) + sex + expiry + independent_check_digit(expiry) + state
    line2 += "<" * 11
    line2 += independent_check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    line3 = (surname + "<<" + given_name).ljust(30, "<")
    mrz = parse_mrz("\n".join([line1, line2, line3]))
    assert mrz == Mrz(
        format="TD1",
        document_code="ID",
        issuing_state=state,
        document_number=number,
        optional_data=optional,
        date_of_birth=birth,
        sex="X" if sex == "<" else sex,
        date_of_expiry=expiry,
        nationality=state,
        optional_data_2="",
        primary_identifier=surname,
        secondary_identifier=given_name,
    )
    assert mrz.bac_key().document_number == number


@given(st.lists(st.text(alphabet=string.digits + string.ascii_uppercase + "<", min_size=28, max_size=46), max_size=4))
def test_fuzz(lines: list[str]) -> None:
    try:
        parse_mrz("\n".join(lines))
    except MrzFormatError:
        pass


@given(st.text(max_size=120))
def test_fuzz_any_text(text: str) -> None:
    try:
        parse_mrz(text)
    except MrzFormatError:
        pass

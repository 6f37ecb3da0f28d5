"""Repairing what a keyboard-wedge scan arrives as (agent.qr.wedge): the separator, a Telex or VNI input
method's composed letters (made here by the keystroke model of tests/qr/ime_model.py, itself checked on
the input methods' documented examples, and by BoGo, a real input method: tests/qr/real_ime.py), a
scanner that lost the diacritics; and the property that a name is never claimed exact when it is not."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.qr.payload import BhytQr, CccdQr, parse_payload
from agent.qr.wedge import Repair, repair
from tests.qr import real_ime
from tests.qr.bhyt_samples import PUBLIC, bhyt_payload
from tests.qr.ime_model import TELEX, VNI, compose, keystrokes, replay

CCCD = "001093047064|123456789|Lê Thị Hà|01021993|Nữ|Số 12/3 ngõ 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội|04102021"
ASCII_ONLY = "001093047064|123456789|Le Thi Ha|01021993|Nu|So 12/3 ngo 5, pho Hang Bac, Hoan Kiem, Ha Noi|04102021"


@pytest.mark.parametrize(
    ("keys", "mode", "text"),
    [
        ("tieengs vieejt", TELEX, "tiếng việt"),  # Unikey's and EVKey's own Telex example
        ("dduwowngf", TELEX, "đường"),
        ("Nguyeenx Vawn Anh", TELEX, "Nguyễn Văn Anh"),
        ("tie61ng vie65t", VNI, "tiếng việt"),  # ... and VNI's
        ("d9u7o72ng", VNI, "đường"),
        ("a11", VNI, "a1"),  # the same tone again takes it off
    ],
)
def test_the_input_method_model_types_as_documented(keys: str, mode: str, text: str) -> None:
    assert compose(keys, mode) == text
    assert replay(keystrokes(keys, mode)) == text  # the backspaces it sends leave the same text


@pytest.mark.parametrize("text", [CCCD, *PUBLIC])
def test_a_clean_scan_is_never_changed(text: str) -> None:
    assert repair(text) == repair(text.strip())
    assert repair(text).text == text.strip() and repair(text).repairs == () and repair(text).name_exact


@pytest.mark.parametrize("text", PUBLIC)
@pytest.mark.parametrize("separator", ["|", "\\", "/"])
def test_a_telex_mangled_bhyt_code_is_recovered_exactly(text: str, separator: str) -> None:
    mangled = compose(text.replace("|", separator), TELEX)
    assert mangled != text.replace("|", separator)  # the input method did compose letters
    fixed = repair(mangled)
    assert fixed.text == text.strip() and fixed.name_exact
    assert Repair.TELEX in fixed.repairs and (Repair.SEPARATOR in fixed.repairs) == (separator != "|")


@pytest.mark.parametrize("text", PUBLIC)
@pytest.mark.parametrize("separator", ["|", "\\"])
def test_a_vni_mangled_bhyt_code_keeps_the_card_and_dates_and_flags_the_name(text: str, separator: str) -> None:
    original = parse_payload(text)
    assert isinstance(original, BhytQr)
    mangled = compose(text.replace("|", separator), VNI)
    fixed = repair(mangled)
    assert Repair.VNI in fixed.repairs
    qr = parse_payload(fixed.text, exact=fixed.name_exact)
    assert isinstance(qr, BhytQr)
    assert qr.card_number == original.card_number and qr.date_of_birth == original.date_of_birth
    assert (qr.valid_from, qr.valid_to, qr.facility_code) == (original.valid_from, original.valid_to,
                                                               original.facility_code)
    assert fixed.name_exact is (qr.full_name == original.full_name) or not fixed.name_exact


def test_a_card_number_eaten_by_vni_tones_falls_back_to_the_social_insurance_number() -> None:
    text = bhyt_payload("TE1252521650840", "Bé Na", date(2017, 11, 15))
    mangled = compose(text, VNI)  # "TE1252..." types as "TÊ840": each digit re-toned the E
    assert not mangled.startswith("TE1252521650840")
    fixed = repair(mangled)
    qr = parse_payload(fixed.text, exact=fixed.name_exact)
    assert isinstance(qr, BhytQr) and qr.card_number == "2521650840"  # the management code's last 10 digits
    assert qr.date_of_birth == date(2017, 11, 15)


def test_cccd_separators_arrive_as_backslash_or_slash_with_slashes_in_the_address() -> None:
    for separator in ("\\", "/"):
        fixed = repair(CCCD.replace("|", separator))
        assert fixed.text == CCCD and fixed.repairs == (Repair.SEPARATOR,) and fixed.name_exact
    card_2024 = CCCD + "||||"
    assert repair(card_2024.replace("|", "/")).text == card_2024


def test_a_scanner_without_diacritics_keeps_the_number_and_flags_the_name() -> None:
    fixed = repair(ASCII_ONLY.replace("|", "\\"))
    assert fixed.name_exact is False and Repair.DIACRITICS_LOST in fixed.repairs
    qr = parse_payload(fixed.text)
    assert isinstance(qr, CccdQr)
    assert (qr.id_number, qr.date_of_birth, qr.issue_date, qr.sex) == ("001093047064", date(1993, 2, 1),
                                                                        date(2021, 10, 4), "Nữ")
    with_stand_ins = CCCD.replace("Lê Thị Hà", "L? Th? H?")
    assert repair(with_stand_ins).name_exact is False


def test_text_that_is_no_code_is_handed_on_unchanged() -> None:
    assert repair("hello world").text == "hello world"
    assert repair("a/b/c").repairs == ()


_NAME_WORDS = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Vũ", "Đặng", "Bùi", "Đỗ", "Văn", "Thị", "Hữu",
               "Đức", "Minh", "Thảo", "Ngọc", "Quý", "Hấn", "Tiến", "Giang", "Hà", "Anh", "Dũng", "Phương", "Yến",
               "Khoa", "Hạnh"]
_NAMES = st.lists(st.sampled_from(_NAME_WORDS), min_size=2, max_size=4).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(name=_NAMES, born=st.dates(date(1930, 1, 1), date(2020, 12, 31)), mode=st.sampled_from([TELEX, VNI]),
       card=st.from_regex(r"(DN|GD|HT|TE|CH|HS)[1-5][0-9]{12}", fullmatch=True))
def test_a_name_is_never_claimed_exact_when_it_is_not(name: str, born: date, mode: str, card: str) -> None:
    text = bhyt_payload(card, name, born)
    fixed = repair(compose(text, mode))
    try:
        qr = parse_payload(fixed.text, exact=fixed.name_exact)
    except Exception:  # unrecoverable is allowed; a wrong name claimed exact is not
        assert not fixed.name_exact or fixed.text != text
        return
    assert isinstance(qr, BhytQr)
    # the essentials always survive (the card number, or its social insurance number where VNI ate it)
    assert qr.card_number in (card, card[-10:]) and qr.date_of_birth == born
    if fixed.name_exact:
        assert qr.full_name == name


# --- the same repairs against a real input method (BoGo, tests/qr/real_ime.py) ----------------------------

def _generated_codes(count: int) -> list[tuple[str, str, str, date]]:
    """(payload, card number, name, date of birth) of ``count`` fictional cards, the same every run."""
    pick = random.Random(14)
    codes = []
    for _ in range(count):
        name = " ".join(pick.choice(_NAME_WORDS) for _ in range(pick.randint(2, 4)))
        born = date(1930, 1, 1) + timedelta(days=pick.randrange(33_000))
        card = pick.choice(["DN", "GD", "HT", "TE", "CH", "HS"]) + str(pick.randint(1, 5)) + "".join(
            pick.choice("0123456789") for _ in range(12))
        codes.append((bhyt_payload(card, name, born), card, name, born))
    return codes


def test_bogo_is_the_real_input_method() -> None:
    """The witness composes the input methods' own examples (so a broken install cannot pass the rest)."""
    assert real_ime.compose_all(["tieengs vieejt", "dduwowngf"], real_ime.TELEX, skip_non_vietnamese=False) == [
        "tiếng việt", "đường"]
    assert real_ime.compose_all(["tie61ng vie65t"], real_ime.VNI, skip_non_vietnamese=False) == ["tiếng việt"]


@pytest.mark.parametrize("skip_non_vietnamese", [True, False], ids=["spelling-check", "no-check"])
def test_telex_through_bogo_is_recovered_exactly(skip_non_vietnamese: bool) -> None:
    codes = [(text, sep) for text in PUBLIC for sep in ("|", "\\")] + [
        (code[0], "|") for code in _generated_codes(60)]
    typed = [text.replace("|", sep) for text, sep in codes]
    mangled = real_ime.compose_all(typed, real_ime.TELEX, skip_non_vietnamese=skip_non_vietnamese)
    assert sum(m != t for m, t in zip(mangled, typed)) > len(typed) // 2  # BoGo did compose letters
    for (text, _), garbled in zip(codes, mangled):
        fixed = repair(garbled)
        assert fixed.text == text.strip() and fixed.name_exact


@pytest.mark.parametrize("skip_non_vietnamese", [True, False], ids=["spelling-check", "no-check"])
def test_vni_through_bogo_keeps_the_card_and_birth_date_and_never_claims_a_wrong_name(
        skip_non_vietnamese: bool) -> None:
    codes = _generated_codes(150)
    mangled = real_ime.compose_all([code[0] for code in codes], real_ime.VNI,
                                   skip_non_vietnamese=skip_non_vietnamese)
    fallbacks = 0
    for (_, card, name, born), garbled in zip(codes, mangled):
        fixed = repair(garbled)
        qr = parse_payload(fixed.text, exact=fixed.name_exact)
        assert isinstance(qr, BhytQr)
        # BoGo lets a later digit take a tone off, eating the card number's digits with no trace: the
        # social insurance number (the management code's last 10 digits) is what the lookup gets then.
        assert qr.card_number in (card, card[-10:]) and qr.date_of_birth == born
        fallbacks += qr.card_number != card
        assert qr.full_name == name or not fixed.name_exact
    assert fallbacks < len(codes) // 4


@pytest.mark.parametrize("mode", [real_ime.TELEX, real_ime.VNI])
def test_a_cccd_code_through_bogo_keeps_its_number(mode: str) -> None:
    for garbled in real_ime.compose_all([CCCD, ASCII_ONLY, ASCII_ONLY.replace("|", "\\")], mode,
                                        skip_non_vietnamese=True):
        qr = parse_payload(repair(garbled).text)
        assert isinstance(qr, CccdQr) and qr.id_number == "001093047064" and qr.date_of_birth == date(1993, 2, 1)

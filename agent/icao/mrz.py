"""Parsing of machine readable zones: TD1 (three lines of 30, the CCCD format, Doc 9303-5 §4.2) and
TD3 (two lines of 44, passports, Doc 9303-4 §4.2), with every check digit verified (7-3-1, Doc 9303-3
§4.9), the TD1 long document number rule (Doc 9303-5 §4.2.4, note j) and the BAC key they yield.

The parser is strict about structure and check digits and names the failing field in
:class:`agent.errors.MrzFormatError`; it never puts MRZ content into a message.
"""

from __future__ import annotations

import dataclasses
import re

from agent.errors import MrzFormatError
from agent.icao.keys import FILLER, MrzKey, check_digit, validate_mrz_date

TD1_LINE_LENGTH = 30
TD3_LINE_LENGTH = 44

_MRZ_LINE = re.compile(r"[0-9A-Z<]+")
_SEX = frozenset("MFX<")


@dataclasses.dataclass(frozen=True)
class Mrz:
    """The fields of a TD1 or TD3 MRZ. Dates stay in MRZ form (YYMMDD, fillers for unknown parts)
    because the two-digit year needs context (date of birth vs expiry) to be placed in a century."""

    format: str  # "TD1" | "TD3"
    document_code: str
    issuing_state: str
    document_number: str = dataclasses.field(repr=False)
    optional_data: str = dataclasses.field(repr=False)  # TD1 line 1 (after a long number's end)
    date_of_birth: str = dataclasses.field(repr=False)
    sex: str = dataclasses.field(repr=False)  # "M", "F" or "X" (filler in the MRZ)
    date_of_expiry: str = dataclasses.field(repr=False)
    nationality: str = dataclasses.field(repr=False)
    optional_data_2: str = dataclasses.field(repr=False)  # TD1 line 2; TD3 personal number
    primary_identifier: str = dataclasses.field(repr=False)  # surname(s), fillers -> spaces
    secondary_identifier: str = dataclasses.field(repr=False)  # given names

    def bac_key(self) -> MrzKey:
        return MrzKey(self.document_number, self.date_of_birth, self.date_of_expiry)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.primary_identifier, self.secondary_identifier) if part)


def _split_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.strip().replace("\r", "\n").split("\n") if line.strip()]
    for line in lines:
        if not _MRZ_LINE.fullmatch(line):
            raise MrzFormatError("a line holds characters outside 0-9, A-Z and <", file="MRZ")
    return lines


def _expect_check(field_value: str, digit: str, field: str, *, filler_allowed: bool = False) -> None:
    if filler_allowed and digit == FILLER and set(field_value) <= {FILLER}:
        return
    if digit != check_digit(field_value):
        raise MrzFormatError(f"{field} check digit does not match", file="MRZ")


def _names(field: str) -> tuple[str, str]:
    primary, _, secondary = field.partition(FILLER * 2)
    return primary.replace(FILLER, " ").strip(), secondary.replace(FILLER, " ").strip()


def _strip(field: str) -> str:
    return field.rstrip(FILLER)


def _check_sex(value: str) -> str:
    if value not in _SEX:
        raise MrzFormatError("sex must be M, F, X or <", file="MRZ")
    return "X" if value == FILLER else value


def _check_code(value: str, field: str) -> str:
    if not re.fullmatch(r"[A-Z<]+", value):
        raise MrzFormatError(f"{field} must be letters", file="MRZ")
    return _strip(value)


def parse_td1(lines: list[str]) -> Mrz:
    if len(lines) != 3 or any(len(line) != TD1_LINE_LENGTH for line in lines):
        raise MrzFormatError("TD1 needs 3 lines of 30 characters", file="MRZ")
    line1, line2, line3 = lines
    document_code = _check_code(line1[0:2], "document code")
    issuing_state = _check_code(line1[2:5], "issuing state")
    number_field = line1[5:14]
    number_check = line1[14]
    optional_1 = line1[15:30]
    if number_check == FILLER:
        # Long document number: the rest of it and its check digit open the optional data
        extension = optional_1.split(FILLER, 1)[0]
        if len(extension) < 2:
            raise MrzFormatError("document number extension is missing", file="MRZ")
        document_number = number_field + extension[:-1]
        _expect_check(document_number, extension[-1], "document number")
        optional_data = optional_1[len(extension) :].lstrip(FILLER)
    else:
        document_number = number_field
        _expect_check(number_field, number_check, "document number")
        optional_data = optional_1
    date_of_birth = line2[0:6]
    validate_mrz_date(date_of_birth, "date of birth")
    _expect_check(date_of_birth, line2[6], "date of birth")
    sex = _check_sex(line2[7])
    date_of_expiry = line2[8:14]
    validate_mrz_date(date_of_expiry, "date of expiry")
    _expect_check(date_of_expiry, line2[14], "date of expiry")
    nationality = _check_code(line2[15:18], "nationality")
    optional_2 = line2[18:29]
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    _expect_check(composite, line2[29], "composite")
    primary, secondary = _names(line3)
    return Mrz(
        format="TD1",
        document_code=document_code,
        issuing_state=issuing_state,
        document_number=_strip(document_number),
        optional_data=_strip(optional_data),
        date_of_birth=date_of_birth,
        sex=sex,
        date_of_expiry=date_of_expiry,
        nationality=nationality,
        optional_data_2=_strip(optional_2),
        primary_identifier=primary,
        secondary_identifier=secondary,
    )


def parse_td3(lines: list[str]) -> Mrz:
    if len(lines) != 2 or any(len(line) != TD3_LINE_LENGTH for line in lines):
        raise MrzFormatError("TD3 needs 2 lines of 44 characters", file="MRZ")
    line1, line2 = lines
    document_code = _check_code(line1[0:2], "document code")
    issuing_state = _check_code(line1[2:5], "issuing state")
    primary, secondary = _names(line1[5:44])
    document_number = line2[0:9]
    _expect_check(document_number, line2[9], "document number")
    nationality = _check_code(line2[10:13], "nationality")
    date_of_birth = line2[13:19]
    validate_mrz_date(date_of_birth, "date of birth")
    _expect_check(date_of_birth, line2[19], "date of birth")
    sex = _check_sex(line2[20])
    date_of_expiry = line2[21:27]
    validate_mrz_date(date_of_expiry, "date of expiry")
    _expect_check(date_of_expiry, line2[27], "date of expiry")
    personal_number = line2[28:42]
    # An empty personal number may carry a filler instead of a check digit (Doc 9303-4 §4.2.2.2)
    _expect_check(personal_number, line2[42], "personal number", filler_allowed=True)
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    _expect_check(composite, line2[43], "composite")
    return Mrz(
        format="TD3",
        document_code=document_code,
        issuing_state=issuing_state,
        document_number=_strip(document_number),
        optional_data="",
        date_of_birth=date_of_birth,
        sex=sex,
        date_of_expiry=date_of_expiry,
        nationality=nationality,
        optional_data_2=_strip(personal_number),
        primary_identifier=primary,
        secondary_identifier=secondary,
    )


def parse_mrz(text: str) -> Mrz:
    """Parse a TD1 or TD3 MRZ given as its lines joined by newlines (surrounding blanks ignored)."""
    lines = _split_lines(text)
    if len(lines) == 3:
        return parse_td1(lines)
    if len(lines) == 2:
        return parse_td3(lines)
    raise MrzFormatError(f"an MRZ has 2 (TD3) or 3 (TD1) lines, not {len(lines)}", file="MRZ")

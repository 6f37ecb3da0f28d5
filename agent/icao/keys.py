"""The access keys that open an eMRTD chip: the MRZ key (document number, date of birth, date of
expiry) used by BAC and PACE-MRZ, and the CAN used by PACE-CAN (Doc 9303-11 §4.3.2 (BAC key
seed), §4.4.3.3 (PACE passwords), Doc 9303-3 §4.9 (check digits)).

Key values are personal data: every field is ``repr=False`` and error messages name the field, never
its value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import ClassVar

from agent.errors import MrzFormatError

PASSWORD_REFERENCE_MRZ = 1
PASSWORD_REFERENCE_CAN = 2

CHECK_DIGIT_WEIGHTS = (7, 3, 1)
FILLER = "<"

_DOCUMENT_NUMBER = re.compile(r"[0-9A-Z<]{1,22}")
_MRZ_DATE = re.compile(r"[0-9<]{6}")
_CAN = re.compile(r"[0-9]{6,10}")


def char_value(char: str) -> int:
    """The numeric value of one MRZ character: digits as themselves, A-Z as 10-35, the filler as 0."""
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise MrzFormatError("character outside the MRZ alphabet", file="MRZ")


def check_digit(field: str) -> str:
    """The 7-3-1 check digit of an MRZ field (Doc 9303-3 §4.9), as a character."""
    total = sum(char_value(char) * CHECK_DIGIT_WEIGHTS[index % 3] for index, char in enumerate(field))
    return str(total % 10)


def validate_mrz_date(value: str, field: str, *, allow_unknown: bool = True) -> None:
    """YYMMDD with a real month and day; a pair of fillers stands for an unknown part (Doc 9303-3
    §4.6), and an all-filler date for "no expiry" on documents that have none."""
    if not _MRZ_DATE.fullmatch(value):
        raise MrzFormatError(f"{field} must be 6 characters YYMMDD", file="MRZ")
    pairs = [value[0:2], value[2:4], value[4:6]]
    for index, pair in enumerate(pairs):
        if pair == FILLER * 2:
            if not allow_unknown:
                raise MrzFormatError(f"{field} must be a complete date", file="MRZ")
            continue
        if not pair.isdigit():
            raise MrzFormatError(f"{field} mixes digits and fillers", file="MRZ")
        number = int(pair)
        if index == 1 and not 1 <= number <= 12:
            raise MrzFormatError(f"{field} has no valid month", file="MRZ")
        if index == 2 and not 1 <= number <= 31:
            raise MrzFormatError(f"{field} has no valid day", file="MRZ")


@dataclasses.dataclass(frozen=True)
class MrzKey:
    """The MRZ-derived key: document number (any length, fillers allowed) and two YYMMDD dates."""

    document_number: str = dataclasses.field(repr=False)
    date_of_birth: str = dataclasses.field(repr=False)
    date_of_expiry: str = dataclasses.field(repr=False)

    password_reference: ClassVar[int] = PASSWORD_REFERENCE_MRZ
    kind: ClassVar[str] = "MRZ"

    def __post_init__(self) -> None:
        if not isinstance(self.document_number, str) or not _DOCUMENT_NUMBER.fullmatch(self.document_number):
            raise MrzFormatError("document number must be 1-22 characters of 0-9, A-Z or <", file="MRZ")
        validate_mrz_date(self.date_of_birth, "date of birth")
        validate_mrz_date(self.date_of_expiry, "date of expiry")

    def mrz_information(self) -> str:
        """Document number ‖ check digit ‖ DOB ‖ check digit ‖ expiry ‖ check digit (Doc 9303-11 §9.7.2).

        The document number is padded with fillers to its 9 positions; a longer one is used in full,
        as the TD1 long-number rule stores it."""
        number = self.document_number.ljust(9, FILLER)
        return (
            number
            + check_digit(number)
            + self.date_of_birth
            + check_digit(self.date_of_birth)
            + self.date_of_expiry
            + check_digit(self.date_of_expiry)
        )

    def bac_seed(self) -> bytes:
        """Kseed: the first 16 bytes of SHA-1(MRZ_information) (Doc 9303-11 §9.7.2)."""
        return hashlib.sha1(self.mrz_information().encode("ascii")).digest()[:16]

    def pace_password(self) -> bytes:
        """The PACE password for the MRZ: SHA-1(MRZ_information), 20 bytes (Doc 9303-11 §9.7.3)."""
        return hashlib.sha1(self.mrz_information().encode("ascii")).digest()


@dataclasses.dataclass(frozen=True)
class CanKey:
    """The Card Access Number; on a CCCD the last 6 digits of the 12-digit ID number."""

    can: str = dataclasses.field(repr=False)

    password_reference: ClassVar[int] = PASSWORD_REFERENCE_CAN
    kind: ClassVar[str] = "CAN"

    def __post_init__(self) -> None:
        if not isinstance(self.can, str) or not _CAN.fullmatch(self.can):
            raise MrzFormatError("CAN must be 6 to 10 digits", file="CAN")

    def pace_password(self) -> bytes:
        """The PACE password for the CAN: its ASCII digits."""
        return self.can.encode("ascii")


AccessKey = MrzKey | CanKey

"""What the 12-digit Vietnamese ID number (số định danh cá nhân) tells the reader: its structure
(province of birth registration, century and sex, year of birth; Circular 07/2016/TT-BCA Art. 7),
the chip keys it yields (CAN = last 6 digits, document number = last 9 digits) and the card's expiry
derived from the renewal ages of the Law on Citizen Identification 2014 (Art. 21) and the Law on
Identification 2023 (Art. 21), so that BAC can be tried after a QR scan (docs/reference/card.md).

These are Vietnamese rules, not ICAO ones, so they live in the application layer rather than in the
protocol core; the chip keys they yield are the core's :class:`agent.icao.keys.CanKey` and ``MrzKey``.
The expiry rule is a fallback built from the law, not read from a card: confirm it on real cards.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from agent.errors import MrzFormatError
from agent.icao.keys import FILLER, CanKey, MrzKey
from agent.models import Sex

LAW_2014 = "2014"
LAW_2023 = "2023"
LAW_2023_IN_FORCE = date(2024, 7, 1)  # cards issued from this day follow the 2023 law

RENEWAL_AGES = {LAW_2014: (25, 40, 60), LAW_2023: (14, 25, 40, 60)}
GRACE_YEARS = 2  # a card issued within 2 years before a renewal age lasts until the next one

# What the MRZ holds as expiry on a card that never expires (filler, as other issuers do) (confirm)
NO_EXPIRY_MRZ = FILLER * 6

# Province / city codes of birth registration (Circular 07/2016/TT-BCA, annex; codes of the 63
# provinces before the 2025 merger, which stay in every ID number issued with them)
KNOWN_PROVINCE_CODES = frozenset(
    (
        "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 "
        "036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 "
        "074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096"
    ).split()
)

_ID12 = re.compile(r"[0-9]{12}")


def _require_id12(id12: str) -> str:
    if not isinstance(id12, str) or not _ID12.fullmatch(id12):
        raise MrzFormatError("ID number must be 12 digits", file="ID")
    return id12


@dataclasses.dataclass(frozen=True)
class IdNumber:
    """The parts of a 12-digit ID number."""

    province_code: str = dataclasses.field(repr=False)
    sex: Sex = dataclasses.field(repr=False)
    birth_year: int = dataclasses.field(repr=False)
    serial: str = dataclasses.field(repr=False)

    @property
    def province_known(self) -> bool:
        return self.province_code in KNOWN_PROVINCE_CODES


def parse_id(id12: str) -> IdNumber:
    """Split an ID number: province (3), century-and-sex digit, 2-digit year, serial (6).

    The century digit counts from the 20th century: 0/1 born 1900-1999 (male/female), 2/3 2000-2099,
    4/5 2100-2199 and so on."""
    _require_id12(id12)
    century_sex = int(id12[3])
    century_start = 1900 + 100 * (century_sex // 2)
    return IdNumber(
        province_code=id12[0:3],
        sex=Sex.MALE if century_sex % 2 == 0 else Sex.FEMALE,
        birth_year=century_start + int(id12[4:6]),
        serial=id12[6:12],
    )


def id_consistency_problems(id12: str, *, date_of_birth: date | None = None,
                            sex: Sex | str | None = None) -> tuple[str, ...]:
    """Reasons (English, no personal data) why an ID number does not fit a date of birth and sex
    read elsewhere (QR, DG1, DG13). Empty when consistent. A reason to reject, never a gate on reading."""
    parts = parse_id(id12)
    problems: list[str] = []
    if date_of_birth is not None and date_of_birth.year != parts.birth_year:
        problems.append("birth year in the ID number differs from the date of birth")
    if sex is not None:
        stated = Sex.parse(sex)
        if stated in (Sex.MALE, Sex.FEMALE) and stated is not parts.sex:
            problems.append("sex digit in the ID number differs from the stated sex")
    if not parts.province_known:
        problems.append("unknown province code in the ID number")
    return tuple(problems)


def can_from_id(id12: str) -> str:
    """The CAN of a CCCD: the last 6 digits of the ID number (the card has no printed CAN)."""
    return _require_id12(id12)[-6:]


def can_key_from_id(id12: str) -> CanKey:
    return CanKey(can_from_id(id12))


def document_number_from_id(id12: str) -> str:
    """The MRZ document number of a CCCD: the last 9 digits of the ID number (confirm)."""
    return _require_id12(id12)[-9:]


def _birthday(date_of_birth: date, age: int) -> date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + age)
    except ValueError:  # born on 29 February, the anniversary falls in a common year (confirm)
        return date(date_of_birth.year + age, 2, 28)


def law_for_issue_date(issue_date: date) -> str:
    return LAW_2023 if issue_date >= LAW_2023_IN_FORCE else LAW_2014


def derive_expiry(date_of_birth: date, issue_date: date, *, law: str | None = None) -> date | None:
    """The expiry of a card from its holder's birth date and its issue date, or None when it never
    expires. ``law`` is "2014" or "2023"; None picks it from the issue date (2023 law from 2024-07-01).

    The card must be renewed at each renewal age; a card issued within the 2 years before such an
    age stays valid until the next one; one issued after the last grace start (58) never expires.
    The printed expiry is the birthday at that age."""
    if law is None:
        law = law_for_issue_date(issue_date)
    if law not in RENEWAL_AGES:
        raise ValueError(f"unknown law {law!r}: use {LAW_2014!r} or {LAW_2023!r}")
    if issue_date < date_of_birth:
        raise MrzFormatError("issue date is before the date of birth", file="ID")
    for age in RENEWAL_AGES[law]:
        renewal = _birthday(date_of_birth, age)
        grace_start = _birthday(date_of_birth, age - GRACE_YEARS)
        if issue_date < grace_start:
            return renewal
    return None


def mrz_date(value: date) -> str:
    return value.strftime("%y%m%d")


def bac_key_from_qr(
    id12: str, date_of_birth: date, issue_date: date, *, law: str | None = None, no_expiry: str = NO_EXPIRY_MRZ
) -> MrzKey:
    """The BAC key of a CCCD from what its QR code holds (ID number, birth and issue dates): the
    document number is the last 9 digits and the expiry is derived by :func:`derive_expiry`."""
    expiry = derive_expiry(date_of_birth, issue_date, law=law)
    return MrzKey(
        document_number_from_id(id12),
        mrz_date(date_of_birth),
        mrz_date(expiry) if expiry is not None else no_expiry,
    )

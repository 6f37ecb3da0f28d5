"""What a decoded QR code says: the CCCD card's code, a VNeID identity code, or something else.

The code printed on a CCCD / Căn cước card is ``ID12|oldID9|Full name|DDMMYYYY|Nam or Nữ|Permanent
address|DDMMYYYY`` in UTF-8 (docs/reference/qr.md "The printed QR code"): parsed by index,
at least 7 fields, extra trailing fields (cards since July 2024) tolerated, the old-ID field may be
empty, text normalised to NFC. A malformed CCCD payload raises QrFormatError naming the field; the
error message never contains the field's value.

The code of a BHYT health-insurance card (the paper card and the VssID app; docs/reference/qr.md "The
BHYT card's QR code") is ``|``-separated too, with the name and address hex-encoded as UTF-8 and dates
``dd/mm/yyyy``: :func:`parse_bhyt`, with the field table and its public sources there.

How a payload is classified (:func:`classify`, a pure function with no settings):

1. Surrounding whitespace (a scanner's trailing CR/LF) is ignored.
2. A payload with a ``|`` is a BHYT payload when its first field is a BHYT card number (two letters,
   the benefit digit, 12 digits) or a 10-digit social-insurance number, or when its second field is
   hex and its third a ``dd/mm/yyyy`` date or a year (the hex name and the slashed birth date are
   what a CCCD code never has: its first field is 12 digits, its third a name).
3. Any other payload with a ``|`` is a CCCD payload: only the card's code uses that separator, and a
   garbled one must be reported as a bad CCCD code (with the field), not silently ignored.
4. Otherwise, a VNeID identity code, whose format is not public (docs/reference/qr.md "VNeID"): the app's
   one-minute QR is treated as an opaque token for the backend to verify. Recognised as either a URL
   on the VNeID host (``vneid.gov.vn`` or a subdomain; a guess to confirm), or a single token of 32 to
   2048 characters drawn from the base64 / base64url / JWT / hex alphabet (letters, digits and
   ``+/=-_.~:``) with at least one letter and one digit: the shape of a signed or random token, and not
   of a word, a phone number, a product code or a web address.
5. Anything else is "unknown": reported, never an error.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from agent.bhyt_number import is_bhyt_number
from agent.errors import QrFormatError
from agent.models import Identity, Sex

SEPARATOR = "|"
MIN_FIELDS = 7
MAX_PAYLOAD_CHARS = 1024  # a real card's payload is 100-300 characters; a QR symbol holds at most 2953 bytes
FIELD_NAMES = ("id_number", "old_id_number", "full_name", "date_of_birth", "sex", "address", "issue_date")
OLD_ID_LENGTHS = (9, 12)  # the 9-digit CMND, and the 12-digit CMND issued 2012-2016
EARLIEST_YEAR = 1900
LATEST_YEAR = 2100

VNEID_HOSTS = ("vneid.gov.vn",)
VNEID_TOKEN_MIN = 32
VNEID_TOKEN_MAX = 2048
_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=\-_.~:]+")
_DIGITS_RE = re.compile(r"[0-9]+")


class QrKind(enum.StrEnum):
    CCCD = "cccd"
    VNEID = "vneid"
    BHYT = "bhyt"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class CccdQr:
    """The printed card's QR, parsed. ``extra_fields`` keeps any fields after the seventh."""

    id_number: str = dataclasses.field(repr=False)
    old_id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date = dataclasses.field(repr=False)
    sex: Sex = dataclasses.field(repr=False)
    address: str = dataclasses.field(repr=False)
    issue_date: date = dataclasses.field(repr=False)
    extra_fields: tuple[str, ...] = dataclasses.field(default=(), repr=False)

    kind = QrKind.CCCD

    def to_identity(self) -> Identity:
        return Identity(
            id_number=self.id_number,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            old_id_number=self.old_id_number,
            address=self.address,
            issue_date=self.issue_date,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "id_number": self.id_number,
            "old_id_number": self.old_id_number,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "sex": str(self.sex),
            "address": self.address,
            "issue_date": self.issue_date.isoformat(),
        }


@dataclasses.dataclass(frozen=True)
class VneidQr:
    """A VNeID identity code: an opaque token that only the backend can verify."""

    token: str = dataclasses.field(repr=False)

    kind = QrKind.VNEID

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "token": self.token}


@dataclasses.dataclass(frozen=True)
class UnknownQr:
    """A code that is neither: kept so the operator can be told what was seen."""

    text: str = dataclasses.field(repr=False)

    kind = QrKind.UNKNOWN

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "text": self.text}


@dataclasses.dataclass(frozen=True)
class BhytQr:
    """A BHYT health-insurance card's QR, parsed (docs/reference/qr.md "The BHYT card's QR code").

    ``card_number`` is the 15-character card number, or on the 2021 card model the 10-digit social
    insurance number alone; the holder is born on ``date_of_birth``, or in ``birth_year`` when only the
    year is registered. ``check`` is the card's check string, kept as printed."""

    card_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date | None = dataclasses.field(repr=False)
    birth_year: int | None = dataclasses.field(repr=False)
    sex: Sex = dataclasses.field(repr=False)
    address: str = dataclasses.field(repr=False)
    facility_code: str
    valid_from: date
    valid_to: date | None
    issue_date: date | None
    management_code: str = dataclasses.field(repr=False)
    guardian_name: str = dataclasses.field(repr=False)
    living_area: str
    five_year_date: date | None
    check: str = dataclasses.field(repr=False)
    extra_fields: tuple[str, ...] = dataclasses.field(default=(), repr=False)

    kind = QrKind.BHYT

    @property
    def social_insurance_number(self) -> str:
        """The 10-digit social insurance number (mã số BHXH): the card number's last 10 characters."""
        return self.card_number[-10:]

    def to_identity(self) -> Identity:
        """The holder as the insurance lookup needs them: no CCCD number, the card number instead."""
        return Identity(id_number="", bhyt_card=self.card_number, full_name=self.full_name,
                        date_of_birth=self.date_of_birth, birth_year=self.birth_year, sex=self.sex,
                        address=self.address)

    def to_json(self) -> dict[str, Any]:
        def day(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "kind": str(self.kind),
            "card_number": self.card_number,
            "full_name": self.full_name,
            "date_of_birth": day(self.date_of_birth),
            "birth_year": self.birth_year,
            "sex": str(self.sex),
            "address": self.address,
            "facility_code": self.facility_code,
            "valid_from": day(self.valid_from),
            "valid_to": day(self.valid_to),
            "issue_date": day(self.issue_date),
            "five_year_date": day(self.five_year_date),
            "living_area": self.living_area,
        }


QrPayload = CccdQr | VneidQr | BhytQr | UnknownQr


def classify(text: str) -> QrKind:
    """Which kind of code ``text`` is (rules in the module docstring). Never raises."""
    stripped = text.strip()
    if SEPARATOR in stripped:
        return QrKind.BHYT if looks_like_bhyt(stripped) else QrKind.CCCD
    if is_vneid_token(stripped):
        return QrKind.VNEID
    return QrKind.UNKNOWN


def is_vneid_token(text: str) -> bool:
    """True for a URL on the VNeID host, or a base64/JWT/hex-alphabet token of 32..2048 characters."""
    if "://" in text:
        try:
            host = (urlsplit(text).hostname or "").lower()
        except ValueError:
            return False
        return any(host == h or host.endswith("." + h) for h in VNEID_HOSTS)
    if not VNEID_TOKEN_MIN <= len(text) <= VNEID_TOKEN_MAX:
        return False
    if not _TOKEN_RE.fullmatch(text):
        return False
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def parse_payload(text: str, *, exact: bool = True) -> QrPayload:
    """Classify and parse; a malformed CCCD or BHYT payload raises QrFormatError (with the field).
    ``exact=False``: a BHYT code a wedge scan could not wholly recover (:func:`parse_bhyt`)."""
    kind = classify(text)
    if kind is QrKind.CCCD:
        return parse_cccd(text)
    if kind is QrKind.BHYT:
        return parse_bhyt(text, exact=exact)
    if kind is QrKind.VNEID:
        return VneidQr(token=text.strip())
    return UnknownQr(text=text)


def parse_cccd(text: str) -> CccdQr:
    """Parse the printed card's payload; QrFormatError(field=...) when any field is malformed."""
    if len(text) > MAX_PAYLOAD_CHARS:
        raise QrFormatError(f"payload of {len(text)} characters is too long (at most {MAX_PAYLOAD_CHARS})",
                            field="payload")
    fields = unicodedata.normalize("NFC", text.strip()).split(SEPARATOR)
    if len(fields) < MIN_FIELDS:
        raise QrFormatError(f"expected at least {MIN_FIELDS} fields separated by '|', got {len(fields)}",
                            field="fields")
    named = dict(zip(FIELD_NAMES, fields))
    for index, value in enumerate(fields):
        name = FIELD_NAMES[index] if index < len(FIELD_NAMES) else f"extra_field_{index + 1}"
        bad = _first_control(value)
        if bad is not None:
            raise QrFormatError(f"contains control character U+{ord(bad):04X}", field=name)

    id_number = named["id_number"].strip()
    if not _DIGITS_RE.fullmatch(id_number) or len(id_number) != 12:
        raise QrFormatError(f"expected 12 digits, got {_shape(id_number)}", field="id_number")
    old_id = named["old_id_number"].strip()
    if old_id and (not _DIGITS_RE.fullmatch(old_id) or len(old_id) not in OLD_ID_LENGTHS):
        raise QrFormatError(f"expected empty or 9 or 12 digits, got {_shape(old_id)}", field="old_id_number")
    full_name = " ".join(named["full_name"].split())
    if not full_name:
        raise QrFormatError("is empty", field="full_name")
    date_of_birth = _parse_date(named["date_of_birth"], "date_of_birth")
    sex = Sex.parse(named["sex"], vietnamese_only=True)
    if sex is None:
        raise QrFormatError(f"expected 'Nam' or 'Nữ', got {_shape(named['sex'].strip())}", field="sex")
    address = " ".join(named["address"].split())
    issue_date = _parse_date(named["issue_date"], "issue_date")
    if issue_date < date_of_birth:
        raise QrFormatError("is before the date of birth", field="issue_date")
    return CccdQr(
        id_number=id_number,
        old_id_number=old_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        address=address,
        issue_date=issue_date,
        extra_fields=tuple(fields[MIN_FIELDS:]),
    )


# --- the BHYT card's code ------------------------------------------------------------------------------

BHYT_MIN_FIELDS = 14  # up to the check string (index 13); the 2021 card model adds fields after it
BHYT_MAX_CHARS = 2048  # hex doubles the name and address: a long address alone takes some 900 characters
BHYT_END = "$"
BHYT_FIELD_NAMES = (
    "card_number", "full_name", "date_of_birth", "sex", "address", "facility", "valid_from", "valid_to",
    "issue_date", "management_code", "guardian_name", "living_area", "five_year_date", "check",
)
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})+")
SLASH_DAY = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
BIRTH_YEAR = re.compile(r"[0-9]{4}")
FACILITY = re.compile(r"([0-9]{2})\s*[-\u2013]\s*([0-9A-Za-z]{3})")
CHECK_STRING = re.compile(r"[0-9A-Fa-f]{1,16}-[0-9A-Fa-f]{4}")
_NONE = "-"
_SEX_CODES = {"1": Sex.MALE, "2": Sex.FEMALE}


def looks_like_bhyt(text: str) -> bool:
    """The classification rule for a ``|`` payload (module docstring, rule 2)."""
    fields = text.strip().split(SEPARATOR)
    first = fields[0].strip().upper()
    if is_bhyt_number(first):
        return True
    return (len(fields) > 2 and _HEX_RE.fullmatch(fields[1].strip()) is not None
            and (SLASH_DAY.fullmatch(fields[2].strip()) is not None
                 or BIRTH_YEAR.fullmatch(fields[2].strip()) is not None))


def parse_bhyt(text: str, *, exact: bool = True) -> BhytQr:
    """Parse a BHYT card's payload; QrFormatError(field=...) when a field is malformed, never with its value.

    The check string is verified for what the public sources establish: present after the five-year date,
    1-16 hex digits, a hyphen and 4 hex digits. How it is computed is not public (docs/reference/qr.md),
    so it cannot be recomputed here; that the card is real and valid is the BHXH gateway's answer.
    ``exact=False`` (a wedge scan an input method garbled beyond repair: agent.qr.wedge) accepts an empty
    name and an empty check string: what is left is the card number, the dates and the facility."""
    if len(text) > BHYT_MAX_CHARS:
        raise QrFormatError(f"payload of {len(text)} characters is too long (at most {BHYT_MAX_CHARS})",
                            field="payload")
    fields = text.strip().split(SEPARATOR)
    if fields[-1].strip() == BHYT_END:
        fields = fields[:-1]  # the end marker
    elif fields[-1].strip() == "":
        fields = fields[:-1]  # a copy that lost the marker but kept its separator
    if len(fields) < BHYT_MIN_FIELDS:
        raise QrFormatError(f"expected at least {BHYT_MIN_FIELDS} fields separated by '|', got {len(fields)}",
                            field="fields")
    for index, value in enumerate(fields):
        bad = _first_control(value)
        if bad is not None:
            name = BHYT_FIELD_NAMES[index] if index < len(BHYT_FIELD_NAMES) else f"extra_field_{index + 1}"
            raise QrFormatError(f"contains control character U+{ord(bad):04X}", field=name)
    named = dict(zip(BHYT_FIELD_NAMES, (f.strip() for f in fields)))
    card = named["card_number"].upper()
    if not is_bhyt_number(card):
        raise QrFormatError(f"expected a 15-character BHYT card number or a 10-digit social insurance number, "
                            f"got {_shape(card)}", field="card_number")
    full_name = " ".join(_hex_text(named["full_name"], "full_name").split()) if named["full_name"] else ""
    if not full_name and exact:
        raise QrFormatError("is empty", field="full_name")
    born = named["date_of_birth"]
    birth_year: int | None = None
    date_of_birth: date | None = None
    if BIRTH_YEAR.fullmatch(born):
        birth_year = int(born)
        if not EARLIEST_YEAR <= birth_year <= LATEST_YEAR:
            raise QrFormatError(f"year out of range {EARLIEST_YEAR}-{LATEST_YEAR}", field="date_of_birth")
    else:
        date_of_birth = _slash_day(born, "date_of_birth")
    sex = _SEX_CODES.get(named["sex"])
    if sex is None:
        raise QrFormatError(f"expected 1 (male) or 2 (female), got {_shape(named['sex'])}", field="sex")
    address = "" if named["address"] in ("", _NONE) else " ".join(_hex_text(named["address"], "address").split())
    facility = FACILITY.fullmatch(named["facility"])
    if facility is None:
        raise QrFormatError(f"expected a facility code like '79 - 073', got {_shape(named['facility'])}",
                            field="facility")
    valid_from = _slash_day(named["valid_from"], "valid_from")
    valid_to = _optional_day(named["valid_to"], "valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise QrFormatError("is before the start of the validity", field="valid_to")
    guardian = named["guardian_name"]
    if guardian in ("", _NONE):
        guardian = ""
    elif _HEX_RE.fullmatch(guardian):
        guardian = " ".join(_hex_text(guardian, "guardian_name").split())
    # else: some cards carry the guardian's name as plain text; it is kept as it is (the desk never uses it)
    check = named["check"]
    if not CHECK_STRING.fullmatch(check) and (exact or check):
        raise QrFormatError(f"expected the check string (hex digits, '-', 4 hex digits), got {_shape(check)}",
                            field="check")
    return BhytQr(
        card_number=card,
        full_name=full_name,
        date_of_birth=date_of_birth,
        birth_year=birth_year,
        sex=sex,
        address=address,
        facility_code=(facility.group(1) + facility.group(2)).upper(),
        valid_from=valid_from,
        valid_to=valid_to,
        issue_date=_optional_day(named["issue_date"], "issue_date"),
        management_code=named["management_code"],
        guardian_name=guardian,
        living_area=named["living_area"],
        five_year_date=_optional_day(named["five_year_date"], "five_year_date"),
        check=check.lower(),
        extra_fields=tuple(f.strip() for f in fields[BHYT_MIN_FIELDS:]),
    )


def _hex_text(value: str, field: str) -> str:
    """A field the card carries as the hex of its UTF-8 bytes (the name, the address)."""
    if not _HEX_RE.fullmatch(value):
        raise QrFormatError(f"expected the hex digits of UTF-8 text, got {_shape(value)}", field=field)
    try:
        decoded = bytes.fromhex(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QrFormatError("the hex digits are not UTF-8 text", field=field) from exc
    if _first_control(decoded) is not None:
        raise QrFormatError("the decoded text contains a control character", field=field)
    return unicodedata.normalize("NFC", decoded)


def _slash_day(value: str, field: str) -> date:
    match = SLASH_DAY.fullmatch(value)
    if match is None:
        raise QrFormatError(f"expected dd/mm/yyyy, got {_shape(value)}", field=field)
    return _parse_date(match.group(1) + match.group(2) + match.group(3), field)


def _optional_day(value: str, field: str) -> date | None:
    return None if value in ("", _NONE) else _slash_day(value, field)


def _parse_date(value: str, field: str) -> date:
    value = value.strip()
    if not _DIGITS_RE.fullmatch(value) or len(value) != 8:
        raise QrFormatError(f"expected DDMMYYYY, got {_shape(value)}", field=field)
    day, month, year = int(value[:2]), int(value[2:4]), int(value[4:])
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise QrFormatError(f"year out of range {EARLIEST_YEAR}-{LATEST_YEAR}", field=field)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise QrFormatError(f"not a calendar date ({exc})", field=field) from exc


def _first_control(value: str) -> str | None:
    """The first control, format, private-use or unassigned character (category C*), if any."""
    for char in value:
        if unicodedata.category(char).startswith("C"):
            return char
    return None


def _shape(value: str) -> str:
    """Describe a bad value without showing it: its length and character classes ("11 chars: digits, letters")."""
    classes = []
    if any(c.isdigit() for c in value):
        classes.append("digits")
    if any(c.isalpha() for c in value):
        classes.append("letters")
    if any(not c.isalnum() for c in value):
        classes.append("other")
    return f"{len(value)} characters" + (f" ({', '.join(classes)})" if classes else "")

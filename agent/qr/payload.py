"""What a decoded QR code says: the CCCD card's code, a VNeID identity code, or something else.

The code printed on a CCCD / Căn cước card is ``ID12|oldID9|Full name|DDMMYYYY|Nam or Nữ|Permanent
address|DDMMYYYY`` in UTF-8 (docs/reference/qr.md "The printed QR code"): parsed by index,
at least 7 fields, extra trailing fields (cards since July 2024) tolerated, the old-ID field may be
empty, text normalised to NFC. A malformed CCCD payload raises QrFormatError naming the field; the
error message never contains the field's value.

How a payload is classified (:func:`classify`, a pure function with no settings):

1. Surrounding whitespace (a scanner's trailing CR/LF) is ignored.
2. A payload with a ``|`` is a CCCD payload: only the card's code uses that separator, and a garbled
   one must be reported as a bad CCCD code (with the field), not silently ignored.
3. Otherwise, a VNeID identity code, whose format is not public (docs/reference/qr.md "VNeID"): the app's
   one-minute QR is treated as an opaque token for the backend to verify. Recognised as either a URL
   on the VNeID host (``vneid.gov.vn`` or a subdomain; a guess to confirm), or a single token of 32 to
   2048 characters drawn from the base64 / base64url / JWT / hex alphabet (letters, digits and
   ``+/=-_.~:``) with at least one letter and one digit: the shape of a signed or random token, and not
   of a word, a phone number, a product code or a web address.
4. Anything else is "unknown": reported, never an error.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from datetime import date
from typing import Any
from urllib.parse import urlsplit

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


QrPayload = CccdQr | VneidQr | UnknownQr


def classify(text: str) -> QrKind:
    """Which kind of code ``text`` is (rules in the module docstring). Never raises."""
    stripped = text.strip()
    if SEPARATOR in stripped:
        return QrKind.CCCD
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


def parse_payload(text: str) -> QrPayload:
    """Classify and parse; a malformed CCCD payload raises QrFormatError (with the field)."""
    kind = classify(text)
    if kind is QrKind.CCCD:
        return parse_cccd(text)
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

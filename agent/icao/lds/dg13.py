"""DG13 of the Vietnamese CCCD: the holder's personal data (docs/reference/card.md "DG13"). Not defined
by Doc 9303 beyond its tag (6D, Doc 9303-10 §4.7.13, "optional details"): the card stores a DER
SEQUENCE { INTEGER version, OBJECT IDENTIFIER, SET OF SEQUENCE { INTEGER field number, value } }.

The parser walks the DER structure (never fixed offsets), accepts fields in any order, absent
fields and unknown extra fields, and keeps every string exactly as encoded (Vietnamese diacritics
untouched, no normalisation). Dates "dd/mm/yyyy" become :class:`datetime.date` values while the raw
text is kept, because the expiry may be a phrase on cards that do not expire. Structural problems
raise :class:`agent.errors.DocumentError` with ``file="DG13"``; messages never quote the data.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date

from agent.errors import DocumentError
from agent.icao import tlv
from agent.icao.lds import children, unwrap
from agent.icao.lds_registry import DG13
from agent.models import Identity, Sex

TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
TAG_SET = 0x31
# string types and how to decode them
_STRING_CODECS: dict[int, str] = {
    0x0C: "utf-8",  # UTF8String
    0x12: "ascii",  # NumericString
    0x13: "ascii",  # PrintableString
    0x16: "ascii",  # IA5String
    0x1A: "ascii",  # VisibleString
    0x14: "latin-1",  # TeletexString (T.61; Latin-1 is the practical reading)
    0x1E: "utf-16-be",  # BMPString
    0x04: "utf-8",  # OCTET STRING holding text
}

FIELD_ID_NUMBER = 1
FIELD_FULL_NAME = 2
FIELD_DATE_OF_BIRTH = 3
FIELD_SEX = 4
FIELD_NATIONALITY = 5
FIELD_ETHNICITY = 6
FIELD_RELIGION = 7
FIELD_PLACE_OF_ORIGIN = 8
FIELD_PERMANENT_RESIDENCE = 9
FIELD_IDENTIFYING_MARKS = 10
FIELD_ISSUE_DATE = 11
FIELD_EXPIRY = 12
FIELD_PARENTS = 13
FIELD_SPOUSE = 14
FIELD_OLD_ID_NUMBER = 15
FIELD_CARD_SERIAL = 16
KNOWN_FIELDS = range(1, 17)

MAX_FIELD_NUMBER_BYTES = 4
MAX_DEPTH = 8
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclasses.dataclass(frozen=True)
class DateText:
    """A date as printed on the card: the raw text and, when it is a dd/mm/yyyy date, its value."""

    text: str = dataclasses.field(repr=False)
    value: date | None = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class Dg13:
    """The CCCD personal data. Absent fields are "" (text) or None (dates)."""

    version: int
    oid: str
    id_number: str = dataclasses.field(default="", repr=False)
    full_name: str = dataclasses.field(default="", repr=False)
    date_of_birth: DateText | None = dataclasses.field(default=None, repr=False)
    sex: str = dataclasses.field(default="", repr=False)
    nationality: str = dataclasses.field(default="", repr=False)
    ethnicity: str = dataclasses.field(default="", repr=False)
    religion: str = dataclasses.field(default="", repr=False)
    place_of_origin: str = dataclasses.field(default="", repr=False)
    permanent_residence: str = dataclasses.field(default="", repr=False)
    identifying_marks: str = dataclasses.field(default="", repr=False)
    issue_date: DateText | None = dataclasses.field(default=None, repr=False)
    expiry: DateText | None = dataclasses.field(default=None, repr=False)
    father_name: str = dataclasses.field(default="", repr=False)
    mother_name: str = dataclasses.field(default="", repr=False)
    spouse_name: str = dataclasses.field(default="", repr=False)
    old_id_number: str = dataclasses.field(default="", repr=False)
    card_serial: str = dataclasses.field(default="", repr=False)
    # Every field as found: number -> its strings in order (known and unknown numbers alike).
    fields: Mapping[int, tuple[str, ...]] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def present_fields(self) -> tuple[int, ...]:
        return tuple(sorted(self.fields))

    @property
    def unknown_fields(self) -> tuple[int, ...]:
        return tuple(number for number in sorted(self.fields) if number not in KNOWN_FIELDS)

    @property
    def expiry_date(self) -> date | None:
        return self.expiry.value if self.expiry else None

    def to_identity(self) -> Identity:
        return Identity(
            id_number=self.id_number,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth.value if self.date_of_birth else None,
            sex=Sex.parse(self.sex) or Sex.UNSPECIFIED,
            old_id_number=self.old_id_number,
            address=self.permanent_residence,
            place_of_origin=self.place_of_origin,
            nationality=self.nationality,
            issue_date=self.issue_date.value if self.issue_date else None,
            expiry_date=self.expiry_date,
        )


def parse_dg13(data: bytes) -> Dg13:
    outer = unwrap(data, DG13)
    body = children(outer, DG13.name, "DG13 content")
    if len(body) != 1 or body[0].tag != TAG_SEQUENCE:
        raise DocumentError("expected one SEQUENCE inside tag 6D", file=DG13.name)
    version: int | None = None
    oid = ""
    found: dict[int, tuple[str, ...]] = {}
    for item in children(body[0], DG13.name, "DG13 SEQUENCE"):
        if item.tag == TAG_INTEGER and version is None and not found:
            version = _integer(item, "version")
        elif item.tag == TAG_OID and not oid:
            oid = _oid(item.value)
        elif item.tag in (TAG_SET, TAG_SEQUENCE):
            _collect_fields(item, found, depth=0)
        else:
            raise DocumentError(f"unexpected tag {item.tag:X} in the DG13 SEQUENCE", file=DG13.name)
    if version is None:
        raise DocumentError("version INTEGER missing", file=DG13.name)
    return _build(version, oid, found)


def _collect_fields(item: tlv.Tlv, found: dict[int, tuple[str, ...]], depth: int) -> None:
    """A field SEQUENCE {INTEGER number, value...}, or a SET / SEQUENCE of them."""
    if depth > 1:
        raise DocumentError("fields nested too deeply", file=DG13.name)
    parts = children(item, DG13.name, "DG13 field list")
    if item.tag == TAG_SEQUENCE and parts and parts[0].tag == TAG_INTEGER:
        number = _integer(parts[0], "field number")
        if number < 0:
            raise DocumentError(f"negative field number {number}", file=DG13.name)
        if number in found:
            raise DocumentError(f"field {number} appears twice", file=DG13.name)
        found[number] = _strings(parts[1:], number, depth=0)
        return
    for part in parts:
        if part.tag not in (TAG_SEQUENCE, TAG_SET):
            raise DocumentError(f"unexpected tag {part.tag:X} among the fields", file=DG13.name)
        _collect_fields(part, found, depth + 1)


def _strings(items: list[tlv.Tlv], number: int, depth: int) -> tuple[str, ...]:
    """Every string of a field value, in order, flattening nested SEQUENCE / SET (parents, spouse)."""
    if depth > MAX_DEPTH:
        raise DocumentError(f"field {number} nested too deeply", file=DG13.name)
    values: list[str] = []
    for item in items:
        if item.tag in (TAG_SEQUENCE, TAG_SET):
            values.extend(_strings(children(item, DG13.name, f"field {number}"), number, depth + 1))
        elif item.tag in _STRING_CODECS:
            values.append(_decode(item, number))
        elif item.tag == TAG_NULL:
            continue
        elif number in KNOWN_FIELDS:
            raise DocumentError(f"field {number} holds tag {item.tag:X}, not a string", file=DG13.name)
    return tuple(values)


def _decode(item: tlv.Tlv, number: int) -> str:
    codec = _STRING_CODECS[item.tag]
    try:
        return item.value.decode(codec)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"field {number} is not valid {codec} text", file=DG13.name) from exc


def _integer(item: tlv.Tlv, what: str) -> int:
    if not item.value or len(item.value) > MAX_FIELD_NUMBER_BYTES:
        raise DocumentError(f"{what} is not a small INTEGER", file=DG13.name)
    return int.from_bytes(item.value, "big", signed=True)


def _oid(value: bytes) -> str:
    """Dotted text of a DER OBJECT IDENTIFIER body (X.690 §8.19)."""
    try:
        return tlv.decode_oid(value)
    except ValueError as exc:
        raise DocumentError(f"malformed OBJECT IDENTIFIER: {exc}", file=DG13.name) from exc


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy as printed on the card; None for anything else (e.g. "Không thời hạn")."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _build(version: int, oid: str, found: dict[int, tuple[str, ...]]) -> Dg13:
    def text(number: int, index: int = 0) -> str:
        values = found.get(number, ())
        return values[index] if len(values) > index else ""

    def day(number: int) -> DateText | None:
        if number not in found:
            return None
        raw = text(number)
        return DateText(raw, parse_date(raw))

    return Dg13(
        version=version,
        oid=oid,
        id_number=text(FIELD_ID_NUMBER),
        full_name=text(FIELD_FULL_NAME),
        date_of_birth=day(FIELD_DATE_OF_BIRTH),
        sex=text(FIELD_SEX),
        nationality=text(FIELD_NATIONALITY),
        ethnicity=text(FIELD_ETHNICITY),
        religion=text(FIELD_RELIGION),
        place_of_origin=text(FIELD_PLACE_OF_ORIGIN),
        permanent_residence=text(FIELD_PERMANENT_RESIDENCE),
        identifying_marks=text(FIELD_IDENTIFYING_MARKS),
        issue_date=day(FIELD_ISSUE_DATE),
        expiry=day(FIELD_EXPIRY),
        father_name=text(FIELD_PARENTS, 0),
        mother_name=text(FIELD_PARENTS, 1),
        spouse_name=text(FIELD_SPOUSE),
        old_id_number=text(FIELD_OLD_ID_NUMBER),
        card_serial=text(FIELD_CARD_SERIAL),
        fields=dict(found),
    )


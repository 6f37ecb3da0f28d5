"""How the desk compares identities and turns one into the key of a chip: a stated identity (the card's
QR code, or what a notary typed) against what the chip says, field by field; whether the 12-digit ID
number fits the date of birth and sex (docs/reference/card.md "The ID number"); and the keys a QR
identity yields for the tap that follows (PACE with the CAN, the last 6 digits of the ID number; BAC
with the MRZ key derived from the renewal ages, as a fallback: :mod:`agent.id_number`).

Comparison rules (one set for the QR and for typed data): ID numbers digit for digit; names and
addresses after NFC, case folding and whitespace normalisation (spaces around commas too, MRZ fillers
as spaces), since a QR may be in upper case and a chip name may come from the MRZ; sex through the
one parser (:meth:`agent.models.Sex.parse`); dates as dates. A field empty on one side is missing
there. Only field names and kinds of difference are ever logged, never values.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from agent.errors import InvalidInputError, MrzFormatError
from agent.icao.keys import MrzKey
from agent.id_number import bac_key_from_qr, can_from_id, id_consistency_problems
from agent.models import Identity, Sex
from agent.ports import ChipKeys

log = logging.getLogger(__name__)

ID12 = re.compile(r"^[0-9]{12}$")
# What a CCCD QR states and the chip also holds.
QR_FIELDS = ("id_number", "full_name", "date_of_birth", "sex", "old_id_number", "address", "issue_date")
# What a notary may type to be compared with the chip.
ENTERED_FIELDS = ("full_name", "date_of_birth", "sex", "old_id_number", "address", "place_of_origin")
# A QR and a chip of two different people: these never legitimately differ.
SAME_PERSON_FIELDS = ("id_number", "date_of_birth")
REASON_ID_INCONSISTENT = "reason.id_inconsistent"
BIRTH_YEAR = re.compile(r"^[0-9]{4}$")
EARLIEST_BIRTH_YEAR = 1880


class DifferenceKind(enum.StrEnum):
    MISMATCH = "mismatch"  # both sides have the field and they differ
    MISSING_STATED = "missing_stated"  # the QR / typed data lacks what the chip has
    MISSING_ON_CHIP = "missing_on_chip"
    DIACRITICS_ONLY = "diacritics_only"  # equal once accents are dropped (a chip name read from the MRZ)


@dataclasses.dataclass(frozen=True)
class FieldDifference:
    """One field on which two identities disagree: its name and how, never the values."""

    field: str
    kind: DifferenceKind


def compare(stated: Identity, chip: Identity, fields: Sequence[str] = QR_FIELDS) -> tuple[FieldDifference, ...]:
    """The fields (in ``fields`` order) on which the stated identity and the chip's differ."""
    differences = []
    for field in fields:
        kind = _compare(field, getattr(stated, field), getattr(chip, field))
        if kind is not None:
            differences.append(FieldDifference(field, kind))
    if differences:
        log.info("stated identity and chip differ on: %s", ", ".join(f"{d.field} ({d.kind})" for d in differences))
    return tuple(differences)


def different_people(stated: Identity, chip: Identity) -> bool:
    """The QR scanned before the tap belongs to someone else than the chip."""
    return any(d.kind is DifferenceKind.MISMATCH for d in compare(stated, chip, SAME_PERSON_FIELDS))


def entered_fields(entered: Mapping[str, Any]) -> dict[str, str]:
    """The fields an operator typed, checked (text, at most 300 characters, no control or invisible
    character, a date as DD/MM/YYYY or YYYY-MM-DD, or a birth year alone for people registered with one)
    and normalised (NFC, dates as ISO); empty ones are left out."""
    fields: dict[str, str] = {}
    for name in ENTERED_FIELDS:
        value = entered.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str | date):
            raise InvalidInputError("expected text", field=name)
        text = value.isoformat() if isinstance(value, date) else unicodedata.normalize("NFC", value.strip())
        if len(text) > 300:
            raise InvalidInputError("longer than 300 characters", field=name)
        hidden = next((char for char in text if unicodedata.category(char).startswith("C")), None)
        if hidden is not None:
            # Control, format (bidi overrides, zero-width), private-use and unassigned characters: nothing a
            # person's name or address holds, and they can hide text from the operator or break the records.
            raise InvalidInputError(f"contains the control or invisible character U+{ord(hidden):04X}", field=name)
        if name == "date_of_birth":
            text = text if BIRTH_YEAR.fullmatch(text) and _plausible_year(int(text)) else parse_day(text).isoformat()
        fields[name] = text
    return fields


def entered_identity(id_number: str, fields: Mapping[str, str]) -> Identity:
    """The identity a notary typed (fields as returned by :func:`entered_fields`)."""
    born = fields.get("date_of_birth", "")
    year_only = BIRTH_YEAR.fullmatch(born) is not None
    return Identity(id_number=id_number, full_name=fields.get("full_name", ""),
                    date_of_birth=date.fromisoformat(born) if born and not year_only else None,
                    birth_year=int(born) if year_only else None,
                    sex=Sex.parse(fields.get("sex", "")) or Sex.UNSPECIFIED,
                    old_id_number=fields.get("old_id_number", ""), address=fields.get("address", ""),
                    place_of_origin=fields.get("place_of_origin", ""))


def entered_comparison(fields: Mapping[str, str], chip: Identity) -> list[dict[str, Any]]:
    """Each typed field beside the chip's value (what the notary sees): a difference of any kind,
    accents included, is flagged; the chip data is never changed."""
    differing = {d.field for d in compare(entered_identity(chip.id_number, fields), chip, tuple(fields))}
    rows = []
    for name, typed in fields.items():
        on_chip = getattr(chip, name)
        chip_text = on_chip.isoformat() if isinstance(on_chip, date) else str(on_chip or "")
        rows.append({"field": name, "entered": typed, "chip": chip_text, "same": name not in differing})
    return rows


def id_problems(identity: Identity) -> tuple[str, ...]:
    """Reason keys when a 12-digit ID number does not fit the date of birth or sex it came with."""
    if not ID12.fullmatch(identity.id_number):
        return ()
    try:
        found = id_consistency_problems(identity.id_number, date_of_birth=identity.date_of_birth,
                                        sex=identity.sex or None)
    except MrzFormatError:
        return (REASON_ID_INCONSISTENT,)
    # An unknown province code alone is not a reason to doubt a card: new codes appear.
    return (REASON_ID_INCONSISTENT,) if any("province" not in p for p in found) else ()


def chip_keys_for(identity: Identity) -> ChipKeys:
    """The keys of the card behind an identity: the CAN (last 6 digits of the ID number) and, when the
    identity has the dates to derive it (a QR does), the BAC key. A bad ID number is an
    InvalidInputError; missing or inconsistent dates only leave the BAC key out."""
    if not ID12.fullmatch(identity.id_number):
        raise InvalidInputError("a chip opens with the 12-digit ID number", field="id_number")
    mrz: MrzKey | None = None
    if identity.date_of_birth is not None and identity.issue_date is not None:
        try:
            mrz = bac_key_from_qr(identity.id_number, identity.date_of_birth, identity.issue_date)
        except (MrzFormatError, ValueError) as exc:
            log.warning("no BAC key from this identity: %s", type(exc).__name__)
    return ChipKeys(id_number=identity.id_number, can=can_from_id(identity.id_number), mrz=mrz)


def _plausible_year(year: int) -> bool:
    return EARLIEST_BIRTH_YEAR <= year <= date.today().year


def parse_day(value: str) -> date:
    """A date typed as YYYY-MM-DD or DD/MM/YYYY (the Vietnamese way)."""
    text = value.strip()
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})", text)
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        pass
    raise InvalidInputError("expected a date as DD/MM/YYYY or YYYY-MM-DD (or the birth year alone)",
                            field="date_of_birth")


# --- field comparison ---------------------------------------------------------------------------------


def _compare(field: str, stated: str | date | None, chip: str | date | None) -> DifferenceKind | None:
    if isinstance(stated, date) or isinstance(chip, date):
        stated_day = stated if isinstance(stated, date) else None
        chip_day = chip if isinstance(chip, date) else None
        return _presence(stated_day, chip_day) or (DifferenceKind.MISMATCH if stated_day != chip_day else None)
    stated_text, chip_text = _normalise(field, stated or ""), _normalise(field, chip or "")
    missing = _presence(stated_text, chip_text)
    if missing is not None:
        return missing
    if stated_text == chip_text:
        return None
    if field in ("full_name", "address", "place_of_origin") and _fold_accents(stated_text) == _fold_accents(chip_text):
        return DifferenceKind.DIACRITICS_ONLY
    return DifferenceKind.MISMATCH


def _presence(stated: object, chip: object) -> DifferenceKind | None:
    if stated in (None, "") and chip in (None, ""):
        return None
    if stated in (None, ""):
        return DifferenceKind.MISSING_STATED
    if chip in (None, ""):
        return DifferenceKind.MISSING_ON_CHIP
    return None


def _normalise(field: str, value: str) -> str:
    if field == "sex":
        parsed = Sex.parse(value)
        return str(parsed) if parsed is not None else value.strip().casefold()
    text = unicodedata.normalize("NFC", value).strip()
    if field in ("id_number", "old_id_number"):
        return "".join(text.split())
    if field == "full_name":
        text = text.replace("<", " ")  # an MRZ-style name ("UNG<<HOANG<HIEP") uses fillers for spaces
    text = " ".join(text.split())
    text = text.replace(" ,", ",").replace(", ", ",")
    return text.casefold()


def _fold_accents(text: str) -> str:
    """Drop the combining marks, and đ -> d (it has no decomposition)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))

"""QR-then-tap: the card's QR code opens its chip with no typing, and what the chip says is then
compared with what the QR said (reference/CCCD.md "Access control" and "The QR code").

The QR identity yields the CAN for PACE (the last 6 digits of the ID number) and, as a fallback for
cards that refuse PACE, the BAC MRZ key: document number = the last 9 digits, date of birth, and an
expiry derived from the renewal ages in the law (agent.icao.cccd; confirm on real cards). After the
chip is read, :func:`cross_check` compares the two identities field by field and returns the fields
that differ (never their values), so a forged or mismatched QR is reported, not trusted.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import unicodedata
from datetime import date

from agent.errors import MrzFormatError, QrFormatError
from agent.icao.cccd import bac_key_from_qr, can_key_from_id
from agent.icao.keys import AccessKey, CanKey, MrzKey
from agent.models import Identity
from agent.qr.payload import CccdQr

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class QrAccessKeys:
    """The keys to try, in order: PACE with the CAN, then BAC with the derived MRZ key (if any)."""

    can: CanKey = dataclasses.field(repr=False)
    mrz: MrzKey | None = dataclasses.field(default=None, repr=False)

    def in_order(self) -> tuple[AccessKey, ...]:
        return (self.can, self.mrz) if self.mrz is not None else (self.can,)


def access_keys_from_qr(identity: Identity | CccdQr) -> QrAccessKeys:
    """The CAN and, when the QR has the dates to derive it, the BAC key of the card behind a QR.

    A bad ID number raises QrFormatError(field="id_number"); missing or inconsistent dates only
    leave the BAC key out (PACE-CAN needs the ID number alone).
    """
    if isinstance(identity, CccdQr):
        identity = identity.to_identity()
    try:
        can = can_key_from_id(identity.id_number)
    except MrzFormatError as exc:
        raise QrFormatError("cannot derive the CAN: expected 12 digits", field="id_number") from exc
    mrz: MrzKey | None = None
    if identity.date_of_birth is not None and identity.issue_date is not None:
        try:
            mrz = bac_key_from_qr(identity.id_number, identity.date_of_birth, identity.issue_date)
        except (MrzFormatError, ValueError) as exc:
            log.warning("no BAC key from this QR: %s", type(exc).__name__)
    return QrAccessKeys(can=can, mrz=mrz)


class DifferenceKind(enum.StrEnum):
    MISMATCH = "mismatch"  # both sides have the field and they differ
    MISSING_IN_QR = "missing_in_qr"
    MISSING_ON_CHIP = "missing_on_chip"
    DIACRITICS_ONLY = "diacritics_only"  # equal once accents are dropped (a chip name read from the MRZ)


@dataclasses.dataclass(frozen=True)
class FieldDifference:
    """One field on which the QR and the chip disagree: its name and how, never the values."""

    field: str
    kind: DifferenceKind


COMPARED_FIELDS = ("id_number", "full_name", "date_of_birth", "sex", "old_id_number", "address", "issue_date")


def cross_check(qr: Identity | CccdQr, chip: Identity) -> tuple[FieldDifference, ...]:
    """The fields on which the QR identity and the chip identity differ, in COMPARED_FIELDS order.

    Comparison rules: ID numbers and old ID numbers digit for digit; names and addresses after NFC,
    case folding and whitespace normalisation (spaces around commas too), since the QR may be in
    upper case; sex as M/F whether written "Nam"/"Nữ" or "M"/"F"; dates as dates. A field empty on
    one side is reported as missing there (the chip may lack the old ID; a QR lacks nothing it has).
    """
    if isinstance(qr, CccdQr):
        qr = qr.to_identity()
    differences = []
    for field in COMPARED_FIELDS:
        kind = _compare(field, getattr(qr, field), getattr(chip, field))
        if kind is not None:
            differences.append(FieldDifference(field, kind))
    if differences:
        log.info("QR and chip differ on: %s", ", ".join(f"{d.field} ({d.kind})" for d in differences))
    return tuple(differences)


def _compare(field: str, qr_value: str | date | None, chip_value: str | date | None) -> DifferenceKind | None:
    if isinstance(qr_value, date) or isinstance(chip_value, date):
        qr_norm = qr_value if isinstance(qr_value, date) else None
        chip_norm = chip_value if isinstance(chip_value, date) else None
        return _presence(qr_norm, chip_norm) or (DifferenceKind.MISMATCH if qr_norm != chip_norm else None)
    qr_text, chip_text = _normalise(field, qr_value or ""), _normalise(field, chip_value or "")
    missing = _presence(qr_text, chip_text)
    if missing is not None:
        return missing
    if qr_text == chip_text:
        return None
    if field in ("full_name", "address") and _fold_accents(qr_text) == _fold_accents(chip_text):
        return DifferenceKind.DIACRITICS_ONLY
    return DifferenceKind.MISMATCH


def _presence(qr_value: object, chip_value: object) -> DifferenceKind | None:
    if qr_value in (None, "") and chip_value in (None, ""):
        return None
    if qr_value in (None, ""):
        return DifferenceKind.MISSING_IN_QR
    if chip_value in (None, ""):
        return DifferenceKind.MISSING_ON_CHIP
    return None


_SEX = {"m": "M", "nam": "M", "male": "M", "f": "F", "nữ": "F", "nu": "F", "female": "F"}


def _normalise(field: str, value: str) -> str:
    text = unicodedata.normalize("NFC", value).strip()
    if field == "sex":
        return _SEX.get(text.casefold(), text.casefold())
    if field in ("id_number", "old_id_number"):
        return "".join(text.split())
    if field == "full_name":
        # An MRZ-style name ("UNG<<HOANG<HIEP") uses fillers for spaces.
        text = text.replace("<", " ")
    text = " ".join(text.split())
    text = text.replace(" ,", ",").replace(", ", ",")
    return text.casefold()


def _fold_accents(text: str) -> str:
    """Drop the combining marks, and đ -> d (it has no decomposition)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))

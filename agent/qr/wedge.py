"""What a keyboard-wedge QR scanner's keystrokes arrive as, and the code they stood for
(docs/reference/qr.md "Keyboard-wedge scanners").

A wedge scanner "types" the decoded text. On a Vietnamese desk PC an input method (Unikey, EVKey) is
usually on, in Telex or VNI mode, and it composes some of those keystrokes into Vietnamese letters as it
would a person's: in Telex ``aa`` -> ``â``, ``ee`` -> ``ê``, ``dd`` -> ``đ`` and a tone key (``s f r x j``)
after a vowel; in VNI a digit after a vowel (``1``-``5`` tones, ``6`` circumflex, ``7`` horn, ``8``
breve, ``d9`` -> ``đ``). On some layouts ``|`` arrives as ``\\`` or ``/``. A scanner set to plain ASCII
drops every letter it cannot type, or types a stand-in (``Nu`` for ``Nữ``, ``?``).

:func:`repair` undoes what can be undone, using what each code's format fixes:

- the separator: ``\\`` -> ``|`` when no ``|`` came through; ``/`` -> ``|`` too, except inside the BHYT
  code's ``dd/mm/yyyy`` dates, and in a CCCD code only where the fields are (an address may hold ``/``);
- a BHYT code is ASCII only, its name and address hex digits: every composed letter there is an
  input method's doing, and is turned back into the keys that made it (both orders of a shape and a tone
  key, the tone key typed right after the vowel or after the consonants that follow it). Of the readings,
  only those whose hex fields decode to UTF-8 text are kept: one reading of the name is the name; none,
  several, or in VNI a toned letter in it (a second tone digit replaces the first, ``0`` takes it off,
  without a trace), and the name is **unreliable**. The card number, dates and facility come through
  (digits, and a card number whose vowel took a VNI tone is read back the same way; one whose digits
  VNI swallowed gives way to the social insurance number at the end of the management code). A code
  whose card number and name are past recognition is still told by its birth date and facility fields;
- a CCCD code's name and address are Vietnamese text, where a composed letter may be genuine, so they
  are left as they came; a payload with no letter outside ASCII at all (a real card's address always
  has one) or with ``?`` / U+FFFD in the name came from a scanner that lost the diacritics: the sex
  field's ``Nu`` is read as ``Nữ`` and the name is **unreliable** (the chip gives it exactly).

A code that parses as it came is never changed. The model of the input methods is the one above; an input
method that does something else (spell-checking settings, undo keys) leaves the name flagged, never
guessed. Pure: no I/O, no logging of the text.
"""

from __future__ import annotations

import codecs
import dataclasses
import enum
import re
import unicodedata
from collections.abc import Callable

from agent.bhyt_number import is_bhyt_number
from agent.errors import QrFormatError
from agent.qr.payload import (
    BHYT_MIN_FIELDS,
    BIRTH_YEAR,
    CHECK_STRING,
    FACILITY,
    SEPARATOR,
    SLASH_DAY,
    QrKind,
    classify,
    parse_bhyt,
    parse_payload,
)

MAX_READINGS = 4_000  # readings of one field explored before giving up (a pathological input stays cheap)

_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TELEX_TONES = {_GRAVE: "f", _ACUTE: "s", _HOOK: "r", _TILDE: "x", _DOT: "j"}
_VNI_TONES = {_GRAVE: "2", _ACUTE: "1", _HOOK: "3", _TILDE: "4", _DOT: "5"}
_VNI_SHAPES = {_CIRCUMFLEX: "6", _HORN: "7", _BREVE: "8"}
_HEX_CONSONANTS = frozenset("bcdfBCDF")  # letters a tone key may have been typed after
_DEFERRABLE = frozenset("fsrxj12345678")  # keys an input method applies to a vowel typed before consonants
_SLASH_DATE = re.compile(r"(?<![0-9])([0-9]{2})/([0-9]{2})/([0-9]{4})(?![0-9])")
_DIGITS8 = re.compile(r"[0-9]{8}")
_LOST_SEX = {"nu": "Nữ", "n?": "Nữ", "n\ufffd": "Nữ", "nam": "Nam"}


class Repair(enum.StrEnum):
    SEPARATOR = "separator"  # '|' arrived as '\' or '/'
    TELEX = "telex"  # an input method in Telex mode composed letters
    VNI = "vni"  # ... in VNI mode
    DIACRITICS_LOST = "diacritics_lost"  # the scanner typed ASCII only


@dataclasses.dataclass(frozen=True)
class WedgeText:
    """The code a wedge scan stood for: ``text`` to parse, what was repaired, and whether the name in it
    is the card's exactly (``name_exact``: False when it could not be recovered)."""

    text: str = dataclasses.field(repr=False)
    repairs: tuple[Repair, ...] = ()
    name_exact: bool = True


def repair(text: str) -> WedgeText:
    """The code ``text`` (a wedge scan, Enter and Tab already dropped) stood for (rules in the module doc)."""
    text = unicodedata.normalize("NFC", text.strip())
    if _parses(text):
        if classify(text) is QrKind.CCCD:
            return _repair_cccd(text) or WedgeText(text)  # a name typed without its diacritics still parses
        return WedgeText(text)
    repairs: list[Repair] = []
    candidates = [text]
    if SEPARATOR not in text:
        separated = _separator_candidates(text)
        if separated:
            candidates = separated
            repairs.append(Repair.SEPARATOR)
    for candidate in candidates:
        if SEPARATOR not in candidate:
            continue
        if (classify(candidate) is QrKind.BHYT or classify(_folded(candidate)) is QrKind.BHYT
                or _bhyt_shaped(candidate)):
            fixed = _repair_bhyt(candidate)
            if fixed is not None:
                return dataclasses.replace(fixed, repairs=tuple(repairs) + fixed.repairs)
        else:
            fixed = _repair_cccd(candidate)
            if fixed is not None:
                return dataclasses.replace(fixed, repairs=tuple(repairs) + fixed.repairs)
    # Nothing recognisable: the first candidate goes on, to be reported with its own format error.
    return WedgeText(candidates[0], tuple(repairs))


def _bhyt_shaped(text: str) -> bool:
    """A BHYT code by the fields no input method touches (digits and '/' or '-' that start a word): the
    date of birth and the facility where a BHYT code has them. How a code is told whose card number and
    name VNI tones rewrote beyond recognition (``TE2016...`` typed as ``TÈ016...``)."""
    fields = text.split(SEPARATOR)
    if len(fields) < BHYT_MIN_FIELDS:
        return False
    born, facility = fields[2].strip(), fields[5].strip()
    born_shaped = SLASH_DAY.fullmatch(born) is not None or BIRTH_YEAR.fullmatch(born) is not None
    return born_shaped and FACILITY.fullmatch(facility) is not None


def _folded(text: str) -> str:
    """``text`` without its diacritics (``đ`` -> ``d``): how a BHYT code a VNI tone landed in is told."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _parses(text: str) -> bool:
    try:
        payload = parse_payload(text)
    except QrFormatError:
        return False
    return payload.kind is not QrKind.UNKNOWN


# --- the separator --------------------------------------------------------------------------------------


def _separator_candidates(text: str) -> list[str]:
    if "\\" in text:
        return [text.replace("\\", SEPARATOR)]
    if "/" not in text:
        return []
    found = []
    # The BHYT code's dates keep their slashes; every other slash was a separator.
    protected = _SLASH_DATE.sub(lambda m: f"{m.group(1)}\x00{m.group(2)}\x00{m.group(3)}", text)
    bhyt = protected.replace("/", SEPARATOR).replace("\x00", "/")
    if classify(bhyt) is QrKind.BHYT:
        found.append(bhyt)
    cccd = _cccd_separators(text.split("/"))
    if cccd is not None:
        found.append(cccd)
    return found


def _cccd_separators(parts: list[str]) -> str | None:
    """The CCCD fields from ``/``-split parts: five fields, the address (which may hold ``/``), then the
    issue date (8 digits) followed only by the empty trailing fields of a 2024 card."""
    if len(parts) < 7:
        return None
    for end in range(len(parts) - 1, 5, -1):
        if _DIGITS8.fullmatch(parts[end].strip()) and all(not p.strip() for p in parts[end + 1:]):
            address = "/".join(parts[5:end])
            return SEPARATOR.join([*parts[:5], address, *parts[end:]])
    return None


# --- a CCCD code ----------------------------------------------------------------------------------------


def _repair_cccd(text: str) -> WedgeText | None:
    fields = text.split(SEPARATOR)
    if len(fields) < 7:
        return None
    name = fields[2]
    lost = ("?" in name or "\ufffd" in name
            or not any(ord(c) > 127 and c.isalpha() for c in "".join(fields[2:6])))
    if not lost:
        return WedgeText(text) if _parses(text) else None
    sex = _LOST_SEX.get(fields[4].strip().casefold())
    if sex is not None:
        fields[4] = sex
    fixed = SEPARATOR.join(fields)
    if not _parses(fixed):
        return None
    return WedgeText(fixed, (Repair.DIACRITICS_LOST,), name_exact=False)


# --- a BHYT code ----------------------------------------------------------------------------------------

_CARD_FIELD, _NAME_FIELD, _MANAGEMENT_FIELD, _CHECK_FIELD = 0, 1, 9, 13
_MANAGEMENT = re.compile(r"[0-9]{14}")
_HEX_FIELDS = (1, 4, 10)  # name, address, guardian: hex of UTF-8 text ("-" when absent)
_TEXT, _CHECK, _CARD_KIND, _PLAIN = "text", "check", "card", "plain"


def _field_kind(index: int) -> str:
    if index == _CARD_FIELD:
        return _CARD_KIND
    if index == _CHECK_FIELD:
        return _CHECK
    if index in _HEX_FIELDS or index > _CHECK_FIELD:
        return _TEXT
    return _PLAIN


def _repair_bhyt(text: str) -> WedgeText | None:
    fields = text.split(SEPARATOR)
    if len(fields) < BHYT_MIN_FIELDS or all(ord(c) < 128 for c in text):
        return None  # nothing an input method composed: the format error is the code's own
    found: list[tuple[int, WedgeText]] = []  # (fields given up, reading) per input-method mode
    for mode, keys_of in ((Repair.TELEX, _telex_keys), (Repair.VNI, _vni_keys)):
        result = list(fields)
        exact = True
        usable = True
        lost = 0
        for index, value in enumerate(fields):
            kind = _field_kind(index)
            if value.isascii() and (kind != _CARD_KIND or _valid_whole(value, kind)):
                continue
            # (An ASCII card number that is no card number: VNI toned its vowel and a later digit took the
            # tone off again, "TE25..." typed as "TE9...", leaving no trace to read back.)
            readings = _readings(value, keys_of, kind) if not value.isascii() else []
            if readings:
                result[index] = readings[0]
                if index == _NAME_FIELD and (len(readings) > 1 or (mode is Repair.VNI and _has_tone(value))):
                    # Two readings, or a VNI tone: a second tone digit replaces the first and 0 takes it off
                    # without a trace, so a toned letter may hide keys no reading can bring back.
                    exact = False
            elif kind == _TEXT and index != _NAME_FIELD:
                result[index] = "-"  # an address the input method garbled beyond repair: left out
                lost += 1
            elif kind == _CARD_KIND and _MANAGEMENT.fullmatch(fields[_MANAGEMENT_FIELD].strip()):
                # VNI tones ate the card number's digits; the management code ends with the same 10-digit
                # social insurance number (every public sample), which the lookup takes as well.
                result[index] = fields[_MANAGEMENT_FIELD].strip()[-10:]
                lost += 1
            elif index in (_NAME_FIELD, _CHECK_FIELD):
                result[index] = ""  # kept out; the card number and dates still count, the name does not
                exact = False
                lost += 1
            else:
                usable = False
                break
        if not usable:
            continue
        fixed = SEPARATOR.join(result)
        if _parses(fixed) or (not exact and _parses_inexact(fixed)):
            found.append((lost + (0 if exact else 1), WedgeText(fixed, (mode,), name_exact=exact)))
    # The mode that explains the most: an exact reading, else the one that had to give up least.
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _parses_inexact(text: str) -> bool:
    try:
        parse_bhyt(text, exact=False)
    except QrFormatError:
        return False
    return True


def _has_tone(value: str) -> bool:
    return any(_split(c)[2] for c in value if not c.isascii())


def _telex_keys(char: str) -> list[str]:
    """The Telex key sequences that compose ``char`` (a base letter, then its shape and tone keys)."""
    if char in "đĐ":
        return ["dd" if char == "đ" else "DD"]
    base, shape, tone = _split(char)
    if base is None:
        return []
    shapes = {_CIRCUMFLEX: base.lower(), _BREVE: "w", _HORN: "w"}
    shape_key = shapes[shape] if shape else ""
    tone_key = _TELEX_TONES[tone] if tone else ""
    return _orders(base, shape_key, tone_key)


def _vni_keys(char: str) -> list[str]:
    if char in "đĐ":
        return [("d" if char == "đ" else "D") + "9"]
    base, shape, tone = _split(char)
    if base is None:
        return []
    return _orders(base, _VNI_SHAPES[shape] if shape else "", _VNI_TONES[tone] if tone else "")


def _split(char: str) -> tuple[str | None, str, str]:
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if not base.isascii() or not base.isalpha() or not marks:
        return None, "", ""
    shape = next((m for m in marks if m in (_CIRCUMFLEX, _BREVE, _HORN)), "")
    tone = next((m for m in marks if m in _TELEX_TONES), "")
    if len(marks) != (1 if shape else 0) + (1 if tone else 0):
        return None, "", ""
    return base, shape, tone


def _orders(base: str, shape_key: str, tone_key: str) -> list[str]:
    if shape_key and tone_key:
        return [base + shape_key + tone_key, base + tone_key + shape_key]
    return [base + shape_key + tone_key]


def _readings(value: str, keys_of: Callable[[str], list[str]], kind: str) -> list[str]:
    """The ASCII strings ``value`` may have been before the input method composed it: at most two (one
    is the answer; two mean it is ambiguous), each valid for its field."""
    segments: list[list[str]] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char.isascii():
            segments.append([char])
            index += 1
            continue
        options = keys_of(char)
        if not options:
            return []
        # A tone key may have been typed after the consonants that follow the vowel.
        following = 0
        while index + 1 + following < len(value) and value[index + 1 + following] in _HEX_CONSONANTS:
            following += 1
        spellings = []
        for keys in options:
            vowel, last = keys[:-1], keys[-1]
            tail = value[index + 1:index + 1 + following]
            spellings.append(keys + tail)
            if len(keys) > 1 and last in _DEFERRABLE:
                spellings += [vowel + tail[:cut] + last + tail[cut:] for cut in range(1, following + 1)]
        segments.append(list(dict.fromkeys(spellings)))
        index += 1 + following
    found: list[str] = []
    explored = 0

    def walk(position: int, prefix: str) -> None:
        nonlocal explored
        if len(found) >= 2 or explored > MAX_READINGS:
            return
        explored += 1
        if not _valid_prefix(prefix, kind):
            return
        if position == len(segments):
            if _valid_whole(prefix, kind):
                found.append(prefix)
            return
        for option in segments[position]:
            walk(position + 1, prefix + option)

    walk(0, "")
    return found


_HEX_CHARS = frozenset("0123456789abcdefABCDEF")


def _valid_prefix(prefix: str, kind: str) -> bool:
    if kind == _CHECK:
        return all(c in _HEX_CHARS or c == "-" for c in prefix)
    if kind != _TEXT:
        return True
    if not all(c in _HEX_CHARS for c in prefix):
        return False
    usable = len(prefix) - len(prefix) % 2
    try:
        codecs.getincrementaldecoder("utf-8")().decode(bytes.fromhex(prefix[:usable]), final=False)
    except UnicodeDecodeError:
        return False
    return True


def _valid_whole(value: str, kind: str) -> bool:
    if kind == _CHECK:
        return CHECK_STRING.fullmatch(value) is not None
    if kind == _CARD_KIND:
        return is_bhyt_number(value.strip().upper())
    if kind != _TEXT:
        return True
    if len(value) % 2:
        return False
    try:
        decoded = bytes.fromhex(value).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return all(not unicodedata.category(c).startswith("C") for c in decoded)


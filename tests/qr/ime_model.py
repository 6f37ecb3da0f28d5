"""A model of what a Vietnamese input method (Unikey / EVKey, Telex or VNI mode) does to keystrokes, for the
tests of the wedge-scan repair: written key by key as an input method processes them (the repair in
agent.qr.wedge is written the other way round, from the composed letters back), and checked on the
input methods' own documented examples ("tieengs vieejt" in Telex, "tie61ng vie65t" in VNI).

The model: a word is a run of letters (in VNI, with the digits it applied); in Telex ``aa ee oo`` ->
``â ê ô``, ``dd`` -> ``đ``, ``aw ow uw`` -> ``ă ơ ư`` (directly after the letter), a tone key ``s f r x j``
puts its tone on the word's last vowel (typing the same tone again takes it off and types the key); in VNI
``1``-``5`` are the tones, ``6`` ``7`` ``8`` the circumflex, horn and breve on the word's last vowel that
takes them, ``9`` strokes the word's ``d`` and ``0`` takes the tone off; a key that applies to nothing is
typed as itself. What the application receives: each character, and backspaces where the input method
rewrote what it had typed (:func:`keystrokes`).
"""

from __future__ import annotations

import unicodedata

TELEX = "telex"
VNI = "vni"
BACKSPACE = "\b"

_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TONES = (_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT)
TELEX_TONE_KEYS = {"s": _ACUTE, "f": _GRAVE, "r": _HOOK, "x": _TILDE, "j": _DOT}
VNI_TONE_KEYS = {"1": _ACUTE, "2": _GRAVE, "3": _HOOK, "4": _TILDE, "5": _DOT}
_VOWELS = set("aeiouyAEIOUY")


def _parts(char: str) -> tuple[str, str, str]:
    """(base letter, shape mark, tone mark) of a character."""
    if char in "đĐ":
        return char, "", ""
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    shape = next((m for m in decomposed[1:] if m in (_CIRCUMFLEX, _BREVE, _HORN)), "")
    tone = next((m for m in decomposed[1:] if m in _TONES), "")
    return base, shape, tone


def _compose(base: str, shape: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + shape + tone)


def _is_vowel(char: str) -> bool:
    return _parts(char)[0] in _VOWELS


class _Composer:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.out: list[str] = []
        self.events: list[str] = []
        self.word_start = 0

    def _emit_from(self, index: int, before: int) -> None:
        """The text from ``index`` changed (it was ``before`` characters long from there): rewrite it."""
        self.events += [BACKSPACE] * before + self.out[index:]

    def _literal(self, key: str, *, ends_word: bool) -> None:
        self.out.append(key)
        self.events.append(key)
        if ends_word:
            self.word_start = len(self.out)

    def _last_vowel(self, accepts: str | None = None) -> int | None:
        for index in range(len(self.out) - 1, self.word_start - 1, -1):
            base = _parts(self.out[index])[0]
            if base in _VOWELS and (accepts is None or base.lower() in accepts):
                return index
        return None

    def _set(self, index: int, char: str, extra: str = "") -> None:
        before = len(self.out) - index
        self.out[index] = char
        if extra:
            self.out.append(extra)
        self._emit_from(index, before)

    def tone(self, key: str, mark: str) -> bool:
        index = self._last_vowel()
        if index is None:
            return False
        base, shape, tone = _parts(self.out[index])
        if tone == mark:  # the same tone again: off, and the key typed
            self._set(index, _compose(base, shape, ""), key)
        else:
            self._set(index, _compose(base, shape, mark))
        return True

    def shape(self, mark: str, accepts: str) -> bool:
        index = self._last_vowel(accepts)
        if index is None:
            return False
        base, shape, tone = _parts(self.out[index])
        if shape:
            return False
        self._set(index, _compose(base, mark, tone))
        return True

    def key(self, key: str) -> None:
        in_word = len(self.out) > self.word_start
        if self.mode == TELEX and key.isascii() and key.isalpha():
            previous = self.out[-1] if in_word else ""
            lower = key.lower()
            if lower in "aeo" and previous and _parts(previous)[0].lower() == lower and not _parts(previous)[1]:
                base, _shape, tone = _parts(previous)
                self._set(len(self.out) - 1, _compose(base, _CIRCUMFLEX, tone))
                return
            if lower == "d" and previous in ("d", "D"):
                self._set(len(self.out) - 1, "đ" if previous == "d" else "Đ")
                return
            if lower == "w" and previous and _parts(previous)[0].lower() in "aou" and not _parts(previous)[1]:
                base, _shape, tone = _parts(previous)
                self._set(len(self.out) - 1, _compose(base, _BREVE if base.lower() == "a" else _HORN, tone))
                return
            if lower in TELEX_TONE_KEYS and in_word and self.tone(key, TELEX_TONE_KEYS[lower]):
                return
            self._literal(key, ends_word=False)
            return
        if self.mode == VNI and key.isdigit() and in_word:
            applied = False
            if key in VNI_TONE_KEYS:
                applied = self.tone(key, VNI_TONE_KEYS[key])
            elif key == "6":
                applied = self.shape(_CIRCUMFLEX, "aeo")
            elif key == "7":
                applied = self.shape(_HORN, "ou")
            elif key == "8":
                applied = self.shape(_BREVE, "a")
            elif key == "9":
                index = next((i for i in range(self.word_start, len(self.out)) if self.out[i] in "dD"), None)
                if index is not None:
                    self._set(index, "đ" if self.out[index] == "d" else "Đ")
                    applied = True
            elif key == "0":
                index = next((i for i in range(len(self.out) - 1, self.word_start - 1, -1)
                              if _parts(self.out[i])[2]), None)
                if index is not None:
                    base, shape, _tone = _parts(self.out[index])
                    self._set(index, _compose(base, shape, ""))
                    applied = True
            if applied:
                return
            self._literal(key, ends_word=True)
            return
        self._literal(key, ends_word=not (key.isascii() and key.isalpha()))


def compose(text: str, mode: str) -> str:
    """What the application ends up with when ``text`` is typed through the input method."""
    composer = _Composer(mode)
    for key in text:
        composer.key(key)
    return "".join(composer.out)


def keystrokes(text: str, mode: str) -> list[str]:
    """What the application receives when ``text`` is typed: characters, and BACKSPACE where the input
    method took back what it had typed to put a composed letter instead."""
    composer = _Composer(mode)
    for key in text:
        composer.key(key)
    return composer.events


def replay(events: list[str]) -> str:
    """The text that ``events`` leave in a text field (the check that keystrokes and compose agree)."""
    out: list[str] = []
    for event in events:
        if event == BACKSPACE:
            out.pop()
        else:
            out.append(event)
    return "".join(out)

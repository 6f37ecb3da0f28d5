"""The key for the next tap. A chip opens only with a key (the CAN is the last 6 digits of the ID
number; docs/reference/card.md "Access control"), so the desk keeps the keys of the last identity
scanned from a QR code or typed for a few minutes: the next tap opens its chip with no typing. A key
that opened its card is used up (the next citizen brings their own); an old one expires.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping

from agent.models import Identity
from agent.ports import ChipKeys

KEY_TTL_S = 300.0  # a QR scanned or a number typed opens the next tap for five minutes

ORIGIN_QR = "qr"
ORIGIN_MANUAL = "manual"


@dataclasses.dataclass(frozen=True)
class AccessHint:
    """The keys for the next tap and where they came from (a QR scan, a typed number, the demo), with
    the identity the QR stated (compared with the chip's) and what a notary typed."""

    keys: ChipKeys
    origin: str = ORIGIN_MANUAL
    identity: Identity | None = dataclasses.field(default=None, repr=False)
    entered: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    expires_at: float = 0.0

    @property
    def id_number(self) -> str:
        return self.keys.id_number or ""


class KeyHints:
    def __init__(self, *, ttl_s: float = KEY_TTL_S, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._hint: AccessHint | None = None

    def expect(self, keys: ChipKeys, *, origin: str = ORIGIN_MANUAL, identity: Identity | None = None,
               entered: Mapping[str, str] | None = None) -> AccessHint:
        hint = AccessHint(keys, origin, identity, dict(entered or {}), self._monotonic() + self.ttl_s)
        with self._lock:
            self._hint = hint
        return hint

    def current(self) -> AccessHint | None:
        with self._lock:
            hint = self._hint
            if hint is not None and self._monotonic() > hint.expires_at:
                self._hint = hint = None
            return hint

    def used(self, hint: AccessHint) -> None:
        """``hint`` opened its card: forget it, unless a newer one replaced it meanwhile."""
        with self._lock:
            if self._hint is hint:
                self._hint = None

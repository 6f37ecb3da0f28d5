"""Who is at the desk: the operator signed in (chosen from the operators file, with their PIN when they
have one), automatically the only one when a single operator is listed, and signed out again. Every
lookup asks :meth:`SignIn.required`, so nothing is looked up in nobody's name when operators are
listed. Wrong PINs are counted: after a few in a row the operator is locked out for a while, so a PIN
cannot be guessed at the desk page.

A desk without an operators file keeps the single ``[site] operator`` name of its settings (no CCCD):
enough for a site-side proxy, not for the BHXH gateway, which the wiring refuses without the file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from agent.errors import OperatorRequiredError, OperatorSignInError
from agent.models import Operator
from agent.operators import pin_matches

MAX_WRONG_PINS = 5
LOCKOUT_S = 60.0


class SignIn:
    def __init__(self, operators: Sequence[Operator], *, fallback: Operator | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.operators = tuple(operators)
        self.listed = bool(self.operators)
        self._fallback = fallback
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._current: Operator | None = self.operators[0] if len(self.operators) == 1 else None
        self._wrong: dict[int, tuple[int, float]] = {}  # operator number -> (wrong PINs in a row, locked until)

    @property
    def current(self) -> Operator | None:
        """The operator signed in now (a desk with no operators file: the settings' operator)."""
        with self._lock:
            return self._current if self.listed else self._fallback

    @property
    def automatic(self) -> bool:
        """One operator listed: always signed in, nothing to choose."""
        return len(self.operators) == 1

    def required(self) -> Operator | None:
        """The operator a lookup is made for; OperatorRequiredError when operators are listed and
        nobody is signed in."""
        operator = self.current
        if operator is None and self.listed:
            raise OperatorRequiredError("sign in at the desk first: every lookup carries who made it")
        return operator

    def sign_in(self, number: int, pin: str = "") -> Operator:
        """Sign in operator ``number`` (1-based, as listed) with their PIN if they have one."""
        if not 1 <= number <= len(self.operators):
            raise OperatorSignInError("no such operator at this desk")
        operator = self.operators[number - 1]
        now = self._monotonic()
        with self._lock:
            wrong, locked_until = self._wrong.get(number, (0, 0.0))
            if now < locked_until:
                raise OperatorSignInError("too many wrong PINs: wait before trying again",
                                          locked_for_s=round(locked_until - now, 1))
            if operator.needs_pin and not pin_matches(operator.pin_hash, pin):
                wrong += 1
                self._wrong[number] = (0, now + LOCKOUT_S) if wrong >= MAX_WRONG_PINS else (wrong, 0.0)
                raise OperatorSignInError("wrong PIN")
            self._wrong.pop(number, None)
            self._current = operator
            return operator

    def choose(self, cccd: str) -> Operator:
        """Sign in the operator with this CCCD number without a PIN: for the command line, run by someone
        who already holds the machine (and could read the operators file)."""
        for operator in self.operators:
            if operator.cccd == cccd:
                with self._lock:
                    self._current = operator
                return operator
        raise OperatorSignInError("no operator with this CCCD number in the operators file")

    def sign_out(self) -> None:
        with self._lock:
            if not self.automatic:
                self._current = None

"""Access control for a CCCD, in the order that works on these cards (docs/reference/card.md "Access
control"; Doc 9303-11 §4.2 and §4.4 for the protocols): read EF.CardAccess to learn the PACE
parameters, then PACE with the CAN when the ID number is known, PACE with the MRZ key, and BAC, each
tried at most once; the order is configurable (setting ``reader.access_order``). When EF.CardAccess
cannot be read (one CCCD answers 6982 before access control) PACE-CAN is tried with the common default
parameters (ECDH-GM-AES-128 on brainpoolP256r1) and then BAC.

Every exchange is recorded as an :class:`Attempt` (method, status word or error class, time taken).
A key the card rejects ends in :class:`agent.errors.AuthenticationFailedError` naming the key kinds
tried and listing the attempts; a wrong key is never retried. A secure-messaging failure on the first
protected command after a successful PACE is a link fault, not a wrong key (PACE's authentication
tokens already proved that both sides hold the same session keys): it propagates as the retryable
:class:`agent.errors.SecureMessagingError`. The time source is injected.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from agent.errors import (
    AgentError,
    AuthenticationFailedError,
    OperationCancelledError,
    SecureMessagingError,
    TransportError,
)
from agent.icao import pace
from agent.icao.apdu import SW_OK
from agent.icao.bac import perform_bac
from agent.icao.crypto import CipherSuite
from agent.icao.files import UNKNOWN_CARD, CardInfo, ReadLimits, read_ef, select_application
from agent.icao.keys import CanKey, MrzKey
from agent.icao.lds_registry import EF_CARD_ACCESS
from agent.icao.secure_messaging import SecureChannel, SecureMessaging
from agent.icao.security_infos import PaceInfo, SecurityInfos, parse_security_infos
from agent.icao.transport import Send

METHOD_PACE_CAN = "pace-can"
METHOD_PACE_MRZ = "pace-mrz"
METHOD_BAC = "bac"
METHODS = (METHOD_PACE_CAN, METHOD_PACE_MRZ, METHOD_BAC)
DEFAULT_ORDER = METHODS
STEP_CARD_ACCESS = "card-access"

OID_PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"
PARAMETER_ID_BRAINPOOL_P256R1 = 13
DEFAULT_PACE_INFO = PaceInfo(OID_PACE_ECDH_GM_AES_128, 2, PARAMETER_ID_BRAINPOOL_P256R1)

Rng = Callable[[int], bytes]
Clock = Callable[[], float]


class PaceOutcome(Protocol):
    """What access control needs from a PACE run: the session cipher and keys (SSC starts at 0)."""

    @property
    def suite(self) -> CipherSuite: ...

    @property
    def k_enc(self) -> bytes: ...

    @property
    def k_mac(self) -> bytes: ...


class PerformPace(Protocol):
    def __call__(
        self, send: Send, password: bytes, password_reference: int, pace_info: PaceInfo, *, rng: Rng
    ) -> PaceOutcome: ...


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One step of access control: ``method`` is a METHODS entry or "card-access"."""

    method: str
    ok: bool
    ms: float
    sw: int | None = None
    error: str | None = None  # the error class name when it failed

    def __str__(self) -> str:
        parts = [self.method + ":", "ok" if self.ok else "failed"]
        if self.sw is not None:
            parts.append(f"SW {self.sw:04X}")
        if self.error:
            parts.append(self.error)
        parts.append(f"({self.ms:.0f} ms)")
        return " ".join(parts)


@dataclasses.dataclass(frozen=True)
class AccessResult:
    """An open secure channel. ``send`` is the protected ``Send`` (the eMRTD application is selected
    through it when ``select_application`` was asked for); ``channel`` its secure-messaging state."""

    method: str
    channel: SecureMessaging
    send: Send
    attempts: tuple[Attempt, ...]
    pace_info: PaceInfo | None = None
    security_infos: SecurityInfos | None = None
    card_access: bytes | None = dataclasses.field(default=None, repr=False)
    pace_result: PaceOutcome | None = None


def parse_order(order: Sequence[str]) -> tuple[str, ...]:
    """Validate an access order (``reader.access_order``); repeated methods are tried once."""
    seen: list[str] = []
    for method in order:
        if method not in METHODS:
            raise ValueError(f"unknown access method {method!r}: use {', '.join(METHODS)}")
        if method not in seen:
            seen.append(method)
    return tuple(seen)


def choose_pace_info(infos: SecurityInfos) -> PaceInfo | None:
    """The PACEInfo to use: the first whose domain parameters the reader knows, else the first."""
    for info in infos.pace:
        if infos.pace_domain(info) is not None:
            return info
    return infos.pace[0] if infos.pace else None


def status_word_of(error: AgentError) -> int | None:
    """The card's refusal carried by an error, if any (a success SW on a bad answer is not one)."""
    sw = getattr(error, "sw", None)
    return sw if isinstance(sw, int) and sw != SW_OK else None


class _Recorder:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.attempts: list[Attempt] = []

    def ok(self, method: str, started: float) -> None:
        self.attempts.append(Attempt(method, True, self._ms(started)))

    def failed(self, method: str, started: float, error: AgentError) -> None:
        self.attempts.append(Attempt(method, False, self._ms(started), status_word_of(error), type(error).__name__))

    def _ms(self, started: float) -> float:
        return (self.clock() - started) * 1000.0


def open_secure_channel(
    send: Send,
    *,
    can: CanKey | None = None,
    mrz: MrzKey | None = None,
    order: Sequence[str] = DEFAULT_ORDER,
    rng: Rng = os.urandom,
    clock: Clock = time.perf_counter,
    limits: ReadLimits | None = None,
    perform_pace: PerformPace | None = None,
    select_emrtd_application: bool = True,
    card: CardInfo = UNKNOWN_CARD,
) -> AccessResult:
    """Run access control on a freshly reset card over ``send`` (plain, with response chaining).

    Tries the methods of ``order`` that have a key (PACE-CAN needs ``can``; PACE-MRZ and BAC need
    ``mrz``), each once, and returns the first that opens a secure channel. Raises
    AuthenticationFailedError when none does (``key_kind`` lists the kinds tried, ``attempts`` the
    steps); TransportError and OperationCancelledError pass through at once, and so does a
    SecureMessagingError on the SELECT of the application after a successful PACE. ``card`` is what
    EF.ATR/INFO said (short EF identifiers, lengths) for the read of EF.CardAccess. BAC runs after the
    SELECT of the eMRTD application (Doc 9303-11 §4.2), which some cards require and all accept."""
    methods = parse_order(order)
    recorder = _Recorder(clock)
    pace_wanted = (METHOD_PACE_CAN in methods and can is not None) or (METHOD_PACE_MRZ in methods and mrz is not None)
    card_access: bytes | None = None
    infos: SecurityInfos | None = None
    pace_info: PaceInfo | None = None
    card_access_readable = False
    if pace_wanted:
        started = clock()
        try:
            card_access = read_ef(send, EF_CARD_ACCESS.fid, limits=limits or ReadLimits(extended_ok=False),
                                  sfi=EF_CARD_ACCESS.sfi, card=card)  # fmt: skip
            infos = parse_security_infos(card_access, file=EF_CARD_ACCESS.name)
        except (TransportError, OperationCancelledError):
            raise
        except AgentError as exc:
            # 6982 (read before access control), 6A82 (absent), or garbage: use the default parameters
            recorder.failed(STEP_CARD_ACCESS, started, exc)
            pace_info = DEFAULT_PACE_INFO
        else:
            recorder.ok(STEP_CARD_ACCESS, started)
            card_access_readable = True
            pace_info = choose_pace_info(infos)

    tried_kinds: list[str] = []
    last_auth_sw: int | None = None
    for method in methods:
        if method == METHOD_BAC:
            if mrz is None:
                continue
        elif pace_info is None:
            continue  # the card offers no PACE
        elif method == METHOD_PACE_CAN and can is None:
            continue
        elif method == METHOD_PACE_MRZ and (mrz is None or not card_access_readable):
            continue  # with unknown parameters only PACE-CAN is worth a try
        key_kind = CanKey.kind if method == METHOD_PACE_CAN else MrzKey.kind
        if key_kind not in tried_kinds:
            tried_kinds.append(key_kind)
        started = clock()
        try:
            if method == METHOD_BAC:
                assert mrz is not None
                channel = _run_bac(send, mrz, rng, select_emrtd_application)
                pace_result: PaceOutcome | None = None
            else:
                assert pace_info is not None
                key: CanKey | MrzKey | None = can if method == METHOD_PACE_CAN else mrz
                assert key is not None
                run: PerformPace = perform_pace or pace.perform_pace
                pace_result = run(send, key.pace_password(), key.password_reference, pace_info, rng=rng)
                channel = SecureMessaging(pace_result.suite, pace_result.k_enc, pace_result.k_mac, 0)
            secure = SecureChannel(send, channel)
        except (TransportError, OperationCancelledError):
            raise
        except AgentError as exc:
            recorder.failed(method, started, exc)
            last_auth_sw = status_word_of(exc) or last_auth_sw
            continue
        if method != METHOD_BAC and select_emrtd_application:
            # The first protected command. A bare error status word (6988, or 6A82 for the AID) means
            # the card does not go on with this channel, so the next method is tried; an answer that
            # fails secure messaging, after PACE's tokens proved the keys shared, is a link fault.
            try:
                select_application(secure)
            except (TransportError, OperationCancelledError, SecureMessagingError):
                raise
            except AgentError as exc:
                recorder.failed(method, started, exc)
                last_auth_sw = status_word_of(exc) or last_auth_sw
                continue
        recorder.ok(method, started)
        return AccessResult(
            method=method,
            channel=channel,
            send=secure,
            attempts=tuple(recorder.attempts),
            pace_info=None if method == METHOD_BAC else pace_info,
            security_infos=infos,
            card_access=card_access,
            pace_result=pace_result,
        )
    attempts = tuple(recorder.attempts)
    if not tried_kinds:
        raise AuthenticationFailedError(
            "no access method could be tried: no key for the configured methods",
            attempts=tuple(str(a) for a in attempts),
        )
    raise AuthenticationFailedError(
        f"the chip refused every access method tried ({', '.join(tried_kinds)})",
        key_kind=",".join(tried_kinds),
        sw=last_auth_sw,
        attempts=tuple(str(a) for a in attempts),
    )


def _run_bac(send: Send, mrz: MrzKey, rng: Rng, select: bool) -> SecureMessaging:
    if select:
        select_application(send)
    return perform_bac(send, mrz, rng=rng)

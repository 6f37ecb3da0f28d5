"""The simulated CCCD's command processor: it answers raw command APDUs the way the chip of a
Vietnamese chip ID card does, from a :class:`~simulators.card.image.CardImage`.

It implements the ISO/IEC 7816-4 file system of an eMRTD (Doc 9303-10 §3: SELECT by AID, SELECT MF,
SELECT EF by FID, READ BINARY B0 with offset or short EF identifier and B1 with DO'54'/DO'53', short and
extended length), a real chip's limits (the largest command and response APDU, announced in EF.ATR/INFO,
ISO/IEC 7816-4 §12.7.1; short EF identifiers per DF, Doc 9303-10 §4.6), the access rules of Doc 9303-11
§4.2-4.4 (EF.CardAccess before access control, everything else after it, DG3/DG4 never; BAC in the
selected eMRTD application unless a profile accepts it anywhere), the card side of BAC, PACE, secure messaging, Chip
Authentication and Active Authentication (sibling modules), plain extra applications such as an NFC
Forum Type 4 tag, the quirks of :class:`~simulators.card.image.CardBehaviour`, injected
:class:`~simulators.card.faults.Faults`, and a running estimate of the same exchange on a real reader
(:mod:`simulators.card.link`).

Nothing here imports the host side of the protocols (docs/architecture.md "Layers", rule 5: the
simulated card is written on its own).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.errors import ApduFormatError, TlvError
from agent.icao import tlv
from agent.icao.apdu import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GENERAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    INS_INTERNAL_AUTHENTICATE,
    INS_MANAGE_SECURITY_ENVIRONMENT,
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SHORT_MAX_LE,
    SW_CLA_NOT_SUPPORTED,
    SW_COMMAND_NOT_ALLOWED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FILE_NOT_FOUND,
    SW_INCORRECT_P1P2,
    SW_INS_NOT_SUPPORTED,
    SW_LC_INCONSISTENT,
    SW_OK,
    SW_SECURITY_STATUS_NOT_SATISFIED,
    SW_SM_DATA_INCORRECT,
    SW_WARNING_END_OF_FILE,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CommandApdu,
)
from simulators.card import pace as pace_module
from simulators.card.active_auth import CHALLENGE_LENGTH, ActiveAuthCard, ActiveAuthError
from simulators.card.bac import BacCard, BacError, BacKeys
from simulators.card.chip_auth import ChipAuthCard, ChipAuthError
from simulators.card.faults import CardGoneError, Faults, ResponseLostError
from simulators.card.image import FID_CARD_ACCESS, CardImage, fid_of_dg
from simulators.card.link import LinkModel
from simulators.card.pace import PaceChip, PaceError
from simulators.card.secure_messaging import CardSession, SmError, is_protected

AID_EMRTD = bytes.fromhex("A0000002471001")
FID_MF = 0x3F00
FID_EF_DIR = 0x2F00
FID_EF_ATR_INFO = 0x2F01
MF_FIDS = frozenset({FID_CARD_ACCESS, FID_EF_DIR, FID_EF_ATR_INFO})
# Short EF identifiers (ISO/IEC 7816-4 §7.4.2: relative to the current DF). In the MF: EF.CardAccess 1C and
# EF.DIR 1E (Doc 9303-10 §3.11, ISO/IEC 7816-4 §12.2.1); EF.ATR/INFO has none here. In the eMRTD
# application: DGn is n, EF.SOD 1D, EF.COM 1E (Doc 9303-10 §4.6).
SFI_MF = {0x1C: FID_CARD_ACCESS, 0x1E: FID_EF_DIR}
SFI_EMRTD = {**{number: 0x0100 + number for number in range(1, 17)}, 0x1D: 0x011D, 0x1E: 0x011E}

CLA_CHAINING_BIT = 0x10
EXTENDED_MAX_RESPONSE = 65536

TAG_OFFSET = 0x54
TAG_DISCRETIONARY_DATA = 0x53
TAG_FCP = 0x62

# P1 / P2 of SELECT (ISO/IEC 7816-4 §11.2.2)
SELECT_BY_FID = 0x00
SELECT_EF_UNDER_DF = 0x02
SELECT_BY_NAME = 0x04
SELECT_P2_NO_DATA = 0x0C
SELECT_P2_FCI = 0x00
SELECT_P2_FCP = 0x04

MSE_SET_AT_PACE = (0xC1, 0xA4)
MSE_SET_AT_CA = (0x41, 0xA4)
MSE_SET_KAT = (0x41, 0xA6)

SW_MORE_DATA_WRONG_LE = 0x6C00

MF = "MF"
EMRTD = "eMRTD"

_KEEP = object()  # "leave the secure-messaging session as it is" marker of a dispatch result


@dataclasses.dataclass
class _Answer:
    data: bytes = b""
    sw: int = SW_OK
    next_session: Any = _KEEP  # CardSession | None | _KEEP, applied after the response is protected


def _sw(sw: int) -> _Answer:
    return _Answer(b"", sw)


def link_model_for(image_link: object | None) -> LinkModel:
    """The card's link model: the image's own when it is a :class:`LinkModel`, else one built from
    the like-named fields of whatever timing record the image carries."""
    if isinstance(image_link, LinkModel):
        return image_link
    if image_link is None:
        return LinkModel()
    values: dict[str, Any] = {}
    for source, target in (
        ("bit_rate", "bit_rate"),
        ("bits_per_byte", "bits_per_byte"),
        ("frame_overhead_bytes", "block_overhead"),
        ("apdu_turnaround_ms", "turnaround_ms"),
        ("turnaround_ms", "turnaround_ms"),
    ):
        if hasattr(image_link, source):
            values[target] = getattr(image_link, source)
    if hasattr(image_link, "max_frame_size"):
        values["fsc"] = values["fsd"] = image_link.max_frame_size
    return LinkModel(**values)


class SimulatedCard:
    """A contactless eMRTD chip in software. ``process`` takes and returns raw APDU bytes."""

    def __init__(
        self,
        image: CardImage,
        *,
        rng: Callable[[int], bytes] = os.urandom,
        faults: Faults | None = None,
        link: LinkModel | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.image = image
        self.behaviour = image.behaviour
        self.faults = faults if faults is not None else Faults()
        self.link = link if link is not None else link_model_for(getattr(image, "link", None))
        self._rng = rng
        self._sleep = sleep
        self._lock = threading.RLock()
        self._bac = BacCard(BacKeys.from_mrz_information(image.mrz_information), rng) if image.mrz_information else None
        self._chip_auth = ChipAuthCard(image.chip_auth) if image.chip_auth is not None else None
        self._active_auth = (
            ActiveAuthCard(
                image.active_auth_private_key_der,
                hash_name=getattr(image, "active_auth_hash", None),
                dg14=image.files.get(fid_of_dg(14)),
            )
            if image.active_auth_private_key_der
            else None
        )
        self.present = True
        self.powered = False
        self.apdu_count = 0
        self.link_estimate_ms = 0.0
        # Take the modelled link time for real (sleep it): a benchmark then sees a read as long as a real
        # reader's, and what the desk does meanwhile (the lookup started after DG13) is measured, not guessed.
        self.real_time = False
        self._session: CardSession | None = None
        self._pace: PaceChip | None = None
        self._df: object = MF
        self._ef: int | None = None

    # --- presence and power -----------------------------------------------------------------------

    def power_on(self) -> bytes:
        """Cold reset: all volatile state is lost; returns the ATR."""
        with self._lock:
            if not self.present:
                raise CardGoneError("no card in the field")
            self._reset()
            self.powered = True
            return self.image.atr

    def power_off(self) -> None:
        with self._lock:
            self._reset()
            self.powered = False

    def remove(self) -> None:
        """The card leaves the field: it stops answering and forgets its session."""
        with self._lock:
            self.present = False
            self.powered = False
            self._reset()

    def insert(self) -> None:
        """The card enters the field again, unpowered, in its initial state."""
        with self._lock:
            self.present = True
            self.powered = False
            self._reset()

    def _reset(self) -> None:
        self._session = None
        self._pace = None
        self._df = MF
        self._ef = None
        if self._bac is not None:
            self._bac.forget_challenge()
        if self._chip_auth is not None:
            self._chip_auth = ChipAuthCard(self._chip_auth.key)

    @property
    def secure_messaging_active(self) -> bool:
        return self._session is not None

    @property
    def session(self) -> CardSession | None:
        """The current secure-messaging session (keys and SSC), for tests and diagnostics."""
        return self._session

    # --- the command loop ---------------------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """The raw response (data and SW1-SW2) to a raw command APDU; raises :class:`CardGoneError`
        when the card is not (or no longer) in the field."""
        with self._lock:
            if not self.present:
                raise CardGoneError("no card in the field")
            if self.faults.removal_due():
                self.remove()
                raise CardGoneError("the card left the field")
            if not self.powered:
                self.power_on()
            if self.faults.delay_s > 0:
                self._sleep(self.faults.delay_s)
            ops: collections.Counter[str] = collections.Counter()
            response = self._process(bytes(apdu), ops)
            self.faults.count_answered()
            self.apdu_count += 1
            spent_ms = self.link.estimate_ms(len(apdu), len(response), ops)
            self.link_estimate_ms += spent_ms
            if self.real_time:
                self._sleep(spent_ms / 1000.0)
            if self.faults.take_response_loss():
                # the card executed the command (and counted it under secure messaging); its answer is lost
                raise ResponseLostError(len(response))
            return response

    def _process(self, raw: bytes, ops: collections.Counter[str]) -> bytes:
        try:
            command = CommandApdu.decode(raw)
        except ApduFormatError:
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        if command.extended and not self.behaviour.supports_extended_length:
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        if command.extended and len(raw) > self.behaviour.max_command_apdu:
            return SW_WRONG_LENGTH.to_bytes(2, "big")  # more than its buffer takes
        # The largest response data field one APDU carries: 256 short, the card's buffer less SW1-SW2 extended
        wire_limit = (
            min(EXTENDED_MAX_RESPONSE, self.behaviour.max_response_apdu - 2) if command.extended else SHORT_MAX_LE
        )
        session = self._session
        if is_protected(command.cla):
            if session is None:
                return SW_SM_DATA_INCORRECT.to_bytes(2, "big")  # no secure channel to verify against
            try:
                plain = session.unwrap(command)
            except SmError as exc:
                self._session = None  # §9.8.5: an SM error aborts the secure channel
                return exc.sw.to_bytes(2, "big")
            ops["sm"] += 1
            ops[f"sym/{len(command.data)}"] += 1
            limit = session.largest_plain_response(command.ins, wire_limit)
        else:
            if command.cla & 0x80 or command.cla & ~CLA_CHAINING_BIT & 0xFF:
                return SW_CLA_NOT_SUPPORTED.to_bytes(2, "big")
            if session is not None:
                self._session = None  # §9.8.3: a plain APDU aborts secure messaging
                session = None
            plain = command
            limit = wire_limit

        injected = self.faults.take_injection(plain.ins, plain.p1, plain.p2)
        answer = _sw(injected) if injected is not None else self._dispatch(plain, limit, ops)
        if len(answer.data) > limit:
            answer = _sw(SW_WRONG_LENGTH)  # cannot travel in this APDU's response at all
        elif plain.le is not None and len(answer.data) > plain.le:
            answer = self._wrong_length(len(answer.data))

        if session is not None:
            if answer.sw != SW_OK and answer.sw >> 8 not in (0x62, 0x63) and self.behaviour.plain_sw_on_error:
                response = answer.sw.to_bytes(2, "big")
            else:
                response = session.wrap(plain.ins, answer.data, answer.sw,
                                        corrupt_mac=self.faults.take_mac_corruption())
                ops[f"sym/{len(answer.data)}"] += 1
        else:
            response = answer.data + answer.sw.to_bytes(2, "big")
        if answer.next_session is not _KEEP:
            self._session = answer.next_session
        return response

    def _wrong_length(self, exact: int) -> _Answer:
        if self.behaviour.answer_6cxx_on_wrong_le and 0 < exact <= SHORT_MAX_LE:
            return _sw(SW_MORE_DATA_WRONG_LE | (exact & 0xFF))
        return _sw(SW_WRONG_LENGTH)

    def _dispatch(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        handlers: dict[int, Callable[[CommandApdu, int, collections.Counter[str]], _Answer]] = {
            INS_SELECT: self._select,
            INS_READ_BINARY: self._read_binary,
            INS_READ_BINARY_ODD: self._read_binary_odd,
            INS_GET_CHALLENGE: self._get_challenge,
            INS_EXTERNAL_AUTHENTICATE: self._external_authenticate,
            INS_MANAGE_SECURITY_ENVIRONMENT: self._manage_security_environment,
            INS_GENERAL_AUTHENTICATE: self._general_authenticate,
            INS_INTERNAL_AUTHENTICATE: self._internal_authenticate,
        }
        handler = handlers.get(command.ins)
        if handler is None:
            return _sw(SW_INS_NOT_SUPPORTED)
        if command.cla & CLA_CHAINING_BIT and command.ins != INS_GENERAL_AUTHENTICATE:
            return _sw(pace_module.SW_CHAINING_NOT_SUPPORTED)  # §4.4.4.3: chaining only for PACE
        return handler(command, limit, ops)

    # --- access rules -------------------------------------------------------------------------

    @property
    def _has_access_control(self) -> bool:
        return bool(self.image.pace) or (self.behaviour.supports_bac and self._bac is not None)

    def _access_granted(self) -> bool:
        return self._session is not None or not self._has_access_control

    def _files_of(self, df: object) -> dict[int, bytes]:
        if df == MF:
            return {fid: data for fid, data in self.image.files.items() if fid in MF_FIDS}
        if df == EMRTD:
            return {fid: data for fid, data in self.image.files.items() if fid not in MF_FIDS}
        return dict(getattr(df, "files", {}))

    def _read_refusal(self, fid: int) -> int | None:
        """The status word refusing to read (or select) ``fid`` now, or None when it is allowed."""
        if self._df not in (MF, EMRTD):
            return None  # extra applications (NDEF tag) are public
        if fid in self.behaviour.protected_fids:
            return SW_SECURITY_STATUS_NOT_SATISFIED
        if fid in MF_FIDS and not (fid == FID_CARD_ACCESS and self.behaviour.card_access_needs_auth):
            return None  # the Master File's EF.CardAccess, EF.DIR and EF.ATR/INFO are public
        return None if self._access_granted() else SW_SECURITY_STATUS_NOT_SATISFIED

    # --- SELECT -------------------------------------------------------------------------------

    def _select(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if command.p2 not in (SELECT_P2_NO_DATA, SELECT_P2_FCI, SELECT_P2_FCP):
            return _sw(SW_INCORRECT_P1P2)
        if command.p1 == SELECT_BY_NAME:
            return self._select_application(command.data)
        if command.p1 == SELECT_BY_FID and command.data in (b"", FID_MF.to_bytes(2, "big")):
            if self.behaviour.select_mf_answer == SW_OK:
                self._df, self._ef = MF, None
            return _sw(self.behaviour.select_mf_answer)
        if command.p1 not in (SELECT_BY_FID, SELECT_EF_UNDER_DF):
            return _sw(SW_INCORRECT_P1P2)
        if len(command.data) != 2:
            return _sw(SW_LC_INCONSISTENT)
        fid = int.from_bytes(command.data, "big")
        files = self._files_of(self._df)
        if fid not in files:
            return _sw(SW_FILE_NOT_FOUND)
        if self.image.pace and self._df == EMRTD and not self._access_granted():
            # §4.4.2: a PACE chip refuses even the selection of LDS files before access control
            # (a BAC-only chip may answer 9000 and refuse the read, §4.3.2).
            return _sw(SW_SECURITY_STATUS_NOT_SATISFIED)
        self._ef = fid
        if command.p2 == SELECT_P2_NO_DATA:
            return _Answer()
        size = len(files[fid])
        fcp = (tlv.encode(0x80, size.to_bytes(2 if size < 0x10000 else 3, "big")) + tlv.encode(0x82, b"\x01")
               + tlv.encode(0x83, fid.to_bytes(2, "big")))
        return _Answer(tlv.encode(TAG_FCP, fcp))

    def _select_application(self, aid: bytes) -> _Answer:
        if aid == AID_EMRTD and getattr(self.image, "emrtd_application", True):
            self._df, self._ef = EMRTD, None
            return _Answer()
        for application in getattr(self.image, "applications", ()):
            if application.aid == aid:
                self._df, self._ef = application, None
                return _Answer()
        return _sw(SW_FILE_NOT_FOUND)

    # --- READ BINARY --------------------------------------------------------------------------

    def _file_for_read(self, fid: int | None) -> tuple[int, bytes] | int:
        """(fid, contents) of the file to read, or the refusing status word."""
        if fid is None:
            return SW_COMMAND_NOT_ALLOWED  # no current EF
        files = self._files_of(self._df)
        if fid not in files:
            return SW_FILE_NOT_FOUND
        refusal = self._read_refusal(fid)
        if refusal is not None:
            return refusal
        self._ef = fid
        return fid, files[fid]

    def _short_ef(self, sfi: int) -> int | None:
        """The file a short EF identifier names in the current DF (None: no such file here)."""
        if self._df == MF:
            return SFI_MF.get(sfi)
        if self._df == EMRTD:
            return SFI_EMRTD.get(sfi)
        return None

    def _read_binary(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if command.p1 & 0x80:
            if command.p1 & 0x60 or not self.behaviour.supports_sfi:
                return _sw(SW_INCORRECT_P1P2)
            target: int | None = self._short_ef(command.p1 & 0x1F)  # short EF identifier (Doc 9303-10 §3.6.2)
            if target is None:
                return _sw(SW_FILE_NOT_FOUND)
            offset = command.p2
        else:
            target = self._ef
            offset = (command.p1 << 8) | command.p2
        found = self._file_for_read(target)
        if isinstance(found, int):
            return _sw(found)
        _fid, contents = found
        if command.le is None:
            return _sw(SW_WRONG_LENGTH)
        return self._serve(contents, offset, command.le, limit, lambda chunk: chunk)

    def _read_binary_odd(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        reference = (command.p1 << 8) | command.p2
        target: int | None
        if reference == 0:
            target = self._ef
        elif reference < 0x20:
            if not self.behaviour.supports_sfi:
                return _sw(SW_INCORRECT_P1P2)
            target = self._short_ef(reference)
            if target is None:
                return _sw(SW_FILE_NOT_FOUND)
        else:
            target = reference
        try:
            offset_object = tlv.decode_single(command.data, TAG_OFFSET)
        except TlvError:
            return _sw(SW_WRONG_DATA)
        if not 1 <= len(offset_object.value) <= 3:
            return _sw(SW_WRONG_DATA)
        found = self._file_for_read(target)
        if isinstance(found, int):
            return _sw(found)
        _fid, contents = found
        if command.le is None:
            return _sw(SW_WRONG_LENGTH)
        offset = int.from_bytes(offset_object.value, "big")

        def overhead(count: int) -> int:
            return 1 + len(tlv.encode_length(count))

        # Le and the limit count the DO'53' header too: find the payload that fits.
        def payload_fitting(room: int) -> int:
            count = room
            while count > 0 and count + overhead(count) > room:
                count -= 1
            return count

        return self._serve(
            contents, offset, payload_fitting(command.le), payload_fitting(limit),
            lambda chunk: tlv.encode(TAG_DISCRETIONARY_DATA, chunk),
            exact=lambda count: count + overhead(count),
        )

    def _serve(
        self,
        contents: bytes,
        offset: int,
        le: int,
        limit: int,
        frame: Callable[[bytes], bytes],
        exact: Callable[[int], int] = lambda count: count,
    ) -> _Answer:
        """The READ BINARY answer for ``le`` bytes at ``offset`` (ISO/IEC 7816-4 §11.3.3)."""
        if offset >= len(contents):
            return _sw(SW_WRONG_P1P2)
        available = len(contents) - offset
        cap = min(limit, self.behaviour.max_le)
        wanted = min(le, available)
        if wanted > cap:
            return self._wrong_length(exact(cap))
        chunk = contents[offset : offset + wanted]
        if wanted < le:
            if self.behaviour.answer_6cxx_on_wrong_le:
                return self._wrong_length(exact(wanted))
            return _Answer(frame(chunk), SW_WARNING_END_OF_FILE)
        return _Answer(frame(chunk))

    # --- BAC ----------------------------------------------------------------------------------

    def _get_challenge(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if self._bac is None or not self.behaviour.supports_bac:
            return _sw(SW_INS_NOT_SUPPORTED)
        if command.p1 or command.p2:
            return _sw(SW_INCORRECT_P1P2)
        if command.le != 8:
            return _sw(SW_WRONG_LENGTH)
        return _Answer(self._bac.get_challenge())

    def _external_authenticate(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if self._bac is None or not self.behaviour.supports_bac:
            return _sw(SW_INS_NOT_SUPPORTED)
        if command.p1 or command.p2:
            return _sw(SW_INCORRECT_P1P2)
        if self._df != EMRTD and self.behaviour.bac_needs_application:
            self._bac.forget_challenge()
            return _sw(SW_CONDITIONS_NOT_SATISFIED)  # §4.2 step 4: BAC runs in the eMRTD application
        ops["bac"] += 1
        try:
            answer, session = self._bac.external_authenticate(command.data)
        except BacError as exc:
            return _sw(exc.sw)
        return _Answer(answer, SW_OK, session)

    # --- PACE, Chip Authentication ------------------------------------------------------------

    def _manage_security_environment(self, command: CommandApdu, limit: int,
                                     ops: collections.Counter[str]) -> _Answer:
        p1p2 = (command.p1, command.p2)
        if p1p2 == MSE_SET_AT_PACE:
            self._pace = None
            if not self.image.pace:
                return _sw(SW_WRONG_DATA)
            try:
                self._pace = pace_module.select(self.image, self.behaviour, command.data, self._rng)
            except PaceError as exc:
                return _sw(exc.sw)
            return _Answer()
        if p1p2 in (MSE_SET_AT_CA, MSE_SET_KAT):
            if self._chip_auth is None:
                return _sw(pace_module.SW_REFERENCED_DATA_NOT_FOUND)
            if self._session is None:
                return _sw(SW_SECURITY_STATUS_NOT_SATISFIED)
            try:
                if p1p2 == MSE_SET_AT_CA:
                    self._chip_auth.set_at(command.data)
                    return _Answer()
                session = self._chip_auth.set_kat(command.data, ops)
            except ChipAuthError as exc:
                return _sw(exc.sw)
            return _Answer(b"", SW_OK, session)
        return _sw(SW_INCORRECT_P1P2)

    def _general_authenticate(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if command.p1 or command.p2:
            return _sw(SW_INCORRECT_P1P2)
        chained = bool(command.cla & CLA_CHAINING_BIT)
        if self._pace is not None and not self._pace.finished:
            pace = self._pace
            try:
                answer, session = pace.general_authenticate(command.data, chained=chained, ops=ops)
            except PaceError as exc:
                self._pace = None  # any failure ends this run of PACE
                return _sw(exc.sw)
            if session is None:
                return _Answer(answer)
            self._pace = None
            self._df, self._ef = MF, None  # §4.4: the PACE security context is the Master File
            return _Answer(answer, SW_OK, session)
        if self._chip_auth is not None and self._session is not None and not chained:
            try:
                answer, session = self._chip_auth.general_authenticate(command.data, ops)
            except ChipAuthError as exc:
                return _sw(exc.sw)
            return _Answer(answer, SW_OK, session)
        return _sw(SW_CONDITIONS_NOT_SATISFIED)

    # --- Active Authentication ----------------------------------------------------------------

    def _internal_authenticate(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> _Answer:
        if self._active_auth is None:
            return _sw(SW_INS_NOT_SUPPORTED)
        if command.p1 or command.p2:
            return _sw(SW_INCORRECT_P1P2)
        if not self._access_granted():
            return _sw(SW_SECURITY_STATUS_NOT_SATISFIED)
        if len(command.data) != CHALLENGE_LENGTH:
            return _sw(SW_WRONG_LENGTH)
        try:
            signature = self._active_auth.internal_authenticate(command.data, self._rng, ops)
        except ActiveAuthError as exc:  # pragma: no cover - construction already validated the key
            return _sw(exc.sw)
        if command.le is not None and command.le < len(signature):
            return self._wrong_length(len(signature))
        return _Answer(signature)

"""The card side of Chip Authentication (ICAO Doc 9303-11 §6.2): an ephemeral-static key agreement
between the terminal's ephemeral key and the chip's static DG14 key, after which secure messaging
restarts with the derived keys and SSC 0 (§6.2.2, §9.8.2).

Both command paths of §6.2.4 are served: MSE:Set KAT (P1P2 41A6, DO'91' ephemeral key, 3DES only)
and MSE:Set AT (P1P2 41A4, DO'80' protocol OID) followed by GENERAL AUTHENTICATE (DO'7C' { DO'80'
ephemeral key }). The response to the last command is still protected with the old keys; the card
switches afterwards. Written independently of the host's Chip Authentication (docs/architecture.md
"Layers", rule 5).
"""

from __future__ import annotations

from agent.errors import TlvError
from agent.icao import tlv
from agent.icao.apdu import SW_CONDITIONS_NOT_SATISFIED, SW_WRONG_DATA
from agent.icao.crypto import KDF_ENC, KDF_MAC, TDES, CipherSuite
from simulators.card.image import ChipAuthKey
from simulators.card.pace import (
    SUITES_BY_NUMBER,
    SW_REFERENCED_DATA_NOT_FOUND,
    DhGroup,
    EcGroup,
    Ops,
    PaceError,
    group_for,
)
from simulators.card.secure_messaging import CardSession

OID_CA_PREFIX = "0.4.0.127.0.7.2.2.3"
TAG_KAT_EPHEMERAL_KEY = 0x91
TAG_MECHANISM = 0x80
TAG_KEY_REFERENCE = 0x84
TAG_DYNAMIC_AUTH = 0x7C
TAG_GA_EPHEMERAL_KEY = 0x80


class ChipAuthError(PaceError):
    """A Chip Authentication command the card refuses (the old session stays); ``sw`` is the answer."""


def parse_protocol(oid: str) -> tuple[str, CipherSuite]:
    """(``"DH"`` | ``"ECDH"``, cipher suite) of an id-CA-* object identifier (§9.2.7)."""
    prefix, _, rest = oid.partition(OID_CA_PREFIX + ".")
    parts = rest.split(".")
    if prefix or len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise ChipAuthError(SW_WRONG_DATA, "not a Chip Authentication protocol")
    agreement = {1: "DH", 2: "ECDH"}.get(int(parts[0]))
    suite = SUITES_BY_NUMBER.get(int(parts[1]))
    if agreement is None or suite is None:
        raise ChipAuthError(SW_WRONG_DATA, "Chip Authentication variant not supported")
    return agreement, suite


class ChipAuthCard:
    """The chip's static key and the state of a Chip Authentication in progress."""

    def __init__(self, key: ChipAuthKey) -> None:
        self.key = key
        self.agreement, self.suite = parse_protocol(key.protocol_oid)
        try:
            self.group: EcGroup | DhGroup = group_for(self.agreement, key.parameter_id)
        except PaceError as exc:
            raise ChipAuthError(exc.sw, "unknown domain parameters") from exc
        self._selected = False

    def _check_key_reference(self, objects: dict[int, bytes]) -> None:
        reference = objects.get(TAG_KEY_REFERENCE)
        if reference is None or self.key.key_id is None:
            return
        if int.from_bytes(reference, "big") != self.key.key_id:
            raise ChipAuthError(SW_REFERENCED_DATA_NOT_FOUND, "no Chip Authentication key with that ID")

    def set_kat(self, data: bytes, ops: Ops) -> CardSession:
        """MSE:Set KAT: the key agreement in one command (3DES secure messaging only, §6.2.4.1)."""
        objects = _objects(data)
        self._check_key_reference(objects)
        if self.suite is not TDES:
            raise ChipAuthError(SW_WRONG_DATA, "MSE:Set KAT is for 3DES Chip Authentication only")
        if TAG_KAT_EPHEMERAL_KEY not in objects:
            raise ChipAuthError(SW_WRONG_DATA, "DO'91' (ephemeral public key) missing")
        return self._agree(objects[TAG_KAT_EPHEMERAL_KEY], ops)

    def set_at(self, data: bytes) -> None:
        """MSE:Set AT for Chip Authentication (§6.2.4.2): select the protocol."""
        objects = _objects(data)
        if TAG_MECHANISM not in objects:
            raise ChipAuthError(SW_WRONG_DATA, "DO'80' (protocol) missing")
        try:
            oid = tlv.decode_oid(objects[TAG_MECHANISM])
        except ValueError as exc:
            raise ChipAuthError(SW_WRONG_DATA, "malformed protocol OID") from exc
        if oid != self.key.protocol_oid:
            raise ChipAuthError(SW_WRONG_DATA, "Chip Authentication protocol not supported")
        self._check_key_reference(objects)
        self._selected = True

    def general_authenticate(self, data: bytes, ops: Ops) -> tuple[bytes, CardSession]:
        if not self._selected:
            raise ChipAuthError(SW_CONDITIONS_NOT_SATISFIED, "MSE:Set AT must select Chip Authentication first")
        self._selected = False
        try:
            outer = tlv.decode_single(data, TAG_DYNAMIC_AUTH)
            inner = tlv.decode_all(outer.value)
        except TlvError as exc:
            raise ChipAuthError(SW_WRONG_DATA, "malformed dynamic authentication data") from exc
        if [item.tag for item in inner] != [TAG_GA_EPHEMERAL_KEY]:
            raise ChipAuthError(SW_WRONG_DATA, "expected exactly DO'80' (ephemeral public key)")
        session = self._agree(inner[0].value, ops)
        return tlv.encode(TAG_DYNAMIC_AUTH, b""), session

    def _agree(self, terminal_public: bytes, ops: Ops) -> CardSession:
        group = self.group
        try:
            if isinstance(group, EcGroup):
                secret = group.shared_secret(group.exp(self.key.private_value, group.decode(terminal_public), ops))
            else:
                secret = group.shared_secret(group.exp(self.key.private_value, group.decode(terminal_public), ops))
        except PaceError as exc:
            raise ChipAuthError(SW_WRONG_DATA, "invalid ephemeral public key") from exc
        return CardSession(self.suite, self.suite.derive(secret, KDF_ENC), self.suite.derive(secret, KDF_MAC), 0)


def _objects(data: bytes) -> dict[int, bytes]:
    try:
        return {item.tag: item.value for item in tlv.decode_all(data)}
    except TlvError as exc:
        raise ChipAuthError(SW_WRONG_DATA, "malformed MSE data") from exc

"""The card side of PACE (ICAO Doc 9303-11 §4.4): MSE:Set AT selects the protocol, domain parameters
and password; a chain of GENERAL AUTHENTICATE commands then runs the encrypted nonce, the mapping
(Generic Mapping over ECDH or DH, §4.4.3.3.1; Integrated Mapping over ECDH or DH, §4.4.3.3.2 with the
point encoding of Appendix B), the anonymous key agreement and the exchange of authentication tokens
(§4.4.3.4), for every cipher suite (3DES, AES-128/192/256).

Written independently of the host's PACE (docs/architecture.md "Layers", rule 5): it shares only the
block ciphers, MACs, KDF, BER-TLV and the curve / MODP arithmetic. This module also holds the small
group abstraction the card's Chip Authentication reuses. Every refusal raises :class:`PaceError` with
the status word the card answers.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
import hashlib
from collections.abc import Callable
from typing import Generic, TypeVar

from agent.errors import TlvError
from agent.icao import dh, ec, tlv
from agent.icao.apdu import (
    SW_CONDITIONS_NOT_SATISFIED,
    SW_SECURITY_STATUS_NOT_SATISFIED,
    SW_VERIFICATION_FAILED,
    SW_WRONG_DATA,
)
from agent.icao.crypto import AES_128, AES_192, AES_256, KDF_ENC, KDF_MAC, KDF_PACE, TDES, CipherSuite, pad
from simulators.card.image import CardBehaviour, CardImage, PaceSetup
from simulators.card.secure_messaging import CardSession

Rng = Callable[[int], bytes]
Ops = collections.Counter[str]

OID_PACE_PREFIX = "0.4.0.127.0.7.2.2.4"
PASSWORD_MRZ = 0x01
PASSWORD_CAN = 0x02

SW_REFERENCED_DATA_NOT_FOUND = 0x6A88
SW_LAST_COMMAND_OF_CHAIN_EXPECTED = 0x6883
SW_CHAINING_NOT_SUPPORTED = 0x6884
SW_LC_INCONSISTENT = 0x6A87

TAG_DYNAMIC_AUTH = 0x7C
TAG_ENCRYPTED_NONCE = 0x80
TAG_MAPPING_IFD = 0x81
TAG_MAPPING_IC = 0x82
TAG_EPHEMERAL_IFD = 0x83
TAG_EPHEMERAL_IC = 0x84
TAG_TOKEN_IFD = 0x85
TAG_TOKEN_IC = 0x86
TAG_PUBLIC_KEY = 0x7F49
TAG_OID = 0x06
TAG_EC_PUBLIC_POINT = 0x86
TAG_DH_PUBLIC_VALUE = 0x84

# MSE:Set AT data objects (§4.4.4.1)
TAG_MECHANISM = 0x80
TAG_PASSWORD_REFERENCE = 0x83
TAG_PARAMETER_ID = 0x84

SUITES_BY_NUMBER = {1: TDES, 2: AES_128, 3: AES_192, 4: AES_256}

# Pseudo-random number mapping constants (§4.4.3.3.2): l = 128 for 3DES and AES-128, 256 otherwise.
IM_C0_128 = bytes.fromhex("a668892a7c41e3ca739f40b057d85904")
IM_C1_128 = bytes.fromhex("a4e136ac725f738b01c1f60217c188ad")
IM_C0_256 = bytes.fromhex("d463d65234124ef7897054986dca0a174e28df758cbaa03f240616414d5a1676")
IM_C1_256 = bytes.fromhex("54bd7255f0aaf831bec3423fcf39d69b6cbf066677d0faae5aadd99df8e53517")


class PaceError(Exception):
    """A PACE command the card refuses; ``sw`` is the answer."""

    def __init__(self, sw: int, reason: str) -> None:
        super().__init__(f"{reason} (SW {sw:04X})")
        self.sw = sw


# --- object identifiers ---------------------------------------------------------------------------


# --- groups ---------------------------------------------------------------------------------------

E = TypeVar("E")


class Group(abc.ABC, Generic[E]):
    """The operations PACE and Chip Authentication need from an ECDH curve or a MODP group."""

    kind: str
    public_tag: int  # tag of the public value in a public key data object (§9.4)

    @property
    @abc.abstractmethod
    def generator(self) -> E: ...

    @property
    @abc.abstractmethod
    def field_bits(self) -> int: ...

    @abc.abstractmethod
    def random_private(self, rng: Rng) -> int: ...

    @abc.abstractmethod
    def exp(self, scalar: int, base: E, ops: Ops) -> E:
        """scalar * base (EC) or base^scalar (DH); refuses a degenerate result with 6A80."""

    @abc.abstractmethod
    def encode(self, element: E) -> bytes: ...

    @abc.abstractmethod
    def decode(self, data: bytes) -> E:
        """A received public value, validated; 6A80 when it is not a valid element."""

    @abc.abstractmethod
    def shared_secret(self, element: E) -> bytes:
        """The octet string K of an agreed element (the x coordinate for ECDH, §9.7.1)."""

    @abc.abstractmethod
    def generic_map(self, nonce: int, shared: E, ops: Ops) -> E:
        """s * G + H (ECDH) or g^s * h (DH): the Generic Mapping (§4.4.3.3.1)."""

    @abc.abstractmethod
    def integrated_map(self, field_element: int, ops: Ops) -> E:
        """f_G / f_g of the Integrated Mapping (§4.4.3.3.2, Appendix B)."""

    @property
    @abc.abstractmethod
    def modulus(self) -> int:
        """p: the field of the curve or the MODP group (the Integrated Mapping reduces modulo it)."""


def _draw(rng: Rng, length: int, bound: int) -> int:
    """A uniform integer in [1, bound) from ``length`` random bytes (excess high bits masked off, so
    that a 521-bit order drawn from 66 bytes is not rejected 127 times in 128), by rejection."""
    mask = (1 << bound.bit_length()) - 1
    for _ in range(1000):
        value = int.from_bytes(rng(length), "big") & mask
        if 0 < value < bound:
            return value
    raise RuntimeError("random source keeps producing out-of-range values")


class EcGroup(Group[ec.Point]):
    kind = "ECDH"
    public_tag = TAG_EC_PUBLIC_POINT

    def __init__(self, curve: ec.Curve, generator: ec.Point | None = None) -> None:
        self.curve = curve
        self._generator = generator or curve.generator

    @property
    def generator(self) -> ec.Point:
        return self._generator

    @property
    def field_bits(self) -> int:
        return self.curve.p.bit_length()

    @property
    def modulus(self) -> int:
        return self.curve.p

    def with_generator(self, generator: ec.Point) -> EcGroup:
        return EcGroup(self.curve, generator)

    def random_private(self, rng: Rng) -> int:
        return _draw(rng, self.curve.order_byte_length, self.curve.n)

    def exp(self, scalar: int, base: ec.Point, ops: Ops) -> ec.Point:
        ops[f"ec_mult/{self.field_bits}"] += 1
        result = ec.scalar_mult(self.curve, scalar, base)  # every standardised curve has cofactor 1
        if result is None:
            raise PaceError(SW_WRONG_DATA, "the result is the point at infinity")
        return result

    def encode(self, element: ec.Point) -> bytes:
        return ec.encode_point(self.curve, element)

    def decode(self, data: bytes) -> ec.Point:
        try:
            return ec.decode_point(self.curve, data)
        except ValueError as exc:
            raise PaceError(SW_WRONG_DATA, "not a point of the curve") from exc

    def shared_secret(self, element: ec.Point) -> bytes:
        return ec.field_element_bytes(self.curve, element[0])

    def generic_map(self, nonce: int, shared: ec.Point, ops: Ops) -> ec.Point:
        ops[f"ec_mult/{self.field_bits}"] += 1
        mapped = ec.point_add(self.curve, ec.scalar_mult(self.curve, nonce, self.curve.generator), shared)
        if mapped is None:
            raise PaceError(SW_WRONG_DATA, "mapped generator is the point at infinity")
        return mapped

    def integrated_map(self, field_element: int, ops: Ops) -> ec.Point:
        return point_encoding(self.curve, field_element)


class DhGroup(Group[int]):
    kind = "DH"
    public_tag = TAG_DH_PUBLIC_VALUE

    def __init__(self, modp: dh.ModpGroup, generator: int | None = None) -> None:
        self.modp = modp
        self._generator = generator or modp.g

    @property
    def generator(self) -> int:
        return self._generator

    @property
    def field_bits(self) -> int:
        return self.modp.p.bit_length()

    @property
    def modulus(self) -> int:
        return self.modp.p

    @property
    def private_key_length(self) -> int:
        """Bytes of a private exponent: the length of q (RFC 5114 groups' short exponents)."""
        return self.modp.order_byte_length

    def with_generator(self, generator: int) -> DhGroup:
        return DhGroup(self.modp, generator)

    def random_private(self, rng: Rng) -> int:
        length = self.private_key_length
        q = self.modp.q
        bound = q if q is not None and length <= self.modp.order_byte_length else self.modp.p - 1
        return _draw(rng, length, bound)

    def exp(self, scalar: int, base: int, ops: Ops) -> int:
        ops[f"modexp/{self.field_bits}/{scalar.bit_length()}"] += 1
        result = pow(base, scalar, self.modp.p)
        if result in (0, 1):
            raise PaceError(SW_WRONG_DATA, "degenerate group element")
        return result

    def encode(self, element: int) -> bytes:
        # §9.4.1 / §9.4.3: an unsigned integer in the fewest octets, no leading 00.
        return element.to_bytes(max(1, (element.bit_length() + 7) // 8), "big")

    def decode(self, data: bytes) -> int:
        try:
            return dh.decode_element(self.modp, data)
        except ValueError as exc:
            raise PaceError(SW_WRONG_DATA, "not an element of the group") from exc

    def shared_secret(self, element: int) -> bytes:
        return dh.encode_element(self.modp, element)  # FE2OS: the length of p, leading zeros kept

    def generic_map(self, nonce: int, shared: int, ops: Ops) -> int:
        ops[f"modexp/{self.field_bits}/{nonce.bit_length()}"] += 1
        mapped = pow(self.modp.g, nonce, self.modp.p) * shared % self.modp.p
        if mapped in (0, 1):
            raise PaceError(SW_WRONG_DATA, "mapped generator is degenerate")
        return mapped

    def integrated_map(self, field_element: int, ops: Ops) -> int:
        q = self.modp.q
        if q is None:
            raise PaceError(SW_WRONG_DATA, "the Integrated Mapping needs the subgroup order")
        ops[f"modexp/{self.field_bits}/{self.field_bits}"] += 1
        mapped = pow(field_element, (self.modp.p - 1) // q, self.modp.p)
        if mapped == 1:
            raise PaceError(SW_WRONG_DATA, "mapped generator is 1")
        return mapped


def group_for(agreement: str, parameter_id: int) -> EcGroup | DhGroup:
    """The standardised domain parameters ``parameter_id`` (§9.5.1) for "ECDH" or "DH"."""
    if agreement == "ECDH" and parameter_id in ec.CURVES_BY_PARAMETER_ID:
        return EcGroup(ec.CURVES_BY_PARAMETER_ID[parameter_id])
    if agreement == "DH" and parameter_id in dh.GROUPS_BY_PARAMETER_ID:
        return DhGroup(dh.GROUPS_BY_PARAMETER_ID[parameter_id])
    raise PaceError(SW_WRONG_DATA, f"no {agreement} domain parameters with ID {parameter_id}")


# --- Integrated Mapping ---------------------------------------------------------------------------


def point_encoding(curve: ec.Curve, t: int) -> ec.Point:
    """f_G(t) of Doc 9303-11 Appendix B.2 (affine coordinates, [BCIMRT2010]); needs p = 3 mod 4."""
    p, a, b = curve.p, curve.a, curve.b
    if p % 4 != 3 or a == 0 or not 0 < t < p:
        raise PaceError(SW_WRONG_DATA, "the Integrated Mapping is not defined for these parameters")
    alpha = -t * t % p
    denominator = (alpha + alpha * alpha) % p
    if denominator == 0:
        raise PaceError(SW_WRONG_DATA, "degenerate input to the point encoding")
    x2 = -b * pow(a, -1, p) * (1 + pow(denominator, -1, p)) % p
    x3 = alpha * x2 % p
    h2 = (x2 * x2 * x2 + a * x2 + b) % p
    u = t * t * t * h2 % p
    big_a = pow(h2, p - 1 - (p + 1) // 4, p)
    point = (x2, big_a * h2 % p) if big_a * big_a * h2 % p == 1 else (x3, big_a * u % p)
    if curve.h != 1:
        scaled = ec.scalar_mult(curve, curve.h, point)
        if scaled is None:
            raise PaceError(SW_WRONG_DATA, "point encoding gave the point at infinity")
        return scaled
    return point


def _block_encrypt(suite: CipherSuite, key: bytes, data: bytes) -> bytes:
    # CBC with a zero IV over whole blocks (§4.4.3.3.2); for 3DES, k counts as 128 bits.
    return suite.encrypt(key, data)


def pseudo_random_bytes(suite: CipherSuite, s: bytes, t: bytes, modulus_bits: int) -> bytes:
    """R(s, t) of §4.4.3.3.2 (Figure 2): k0 = E(t, s); x_i = E(k_i, c1), k_i+1 = E(k_i, c0), keys
    truncated to the cipher's key length, n blocks of l bits with n * l >= log2 p + 64."""
    c0, c1 = (IM_C0_128, IM_C1_128) if suite.key_length == 16 else (IM_C0_256, IM_C1_256)
    output_bits = 8 * len(c0)
    blocks = -(-(modulus_bits + 64) // output_bits)
    key = _block_encrypt(suite, t, s)[: suite.key_length]
    out = b""
    for _ in range(blocks):
        out += _block_encrypt(suite, key, c1)
        key = _block_encrypt(suite, key, c0)[: suite.key_length]
    return out


def pseudo_random(suite: CipherSuite, s: bytes, t: bytes, modulus: int) -> int:
    """R_p(s, t) = int(R(s, t)) mod p."""
    return int.from_bytes(pseudo_random_bytes(suite, s, t, modulus.bit_length()), "big") % modulus


# --- the protocol ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PaceProtocol:
    oid: str
    agreement: str  # "ECDH" | "DH"
    mapping: str  # "GM" | "IM"
    suite: CipherSuite

    @classmethod
    def parse(cls, oid: str) -> PaceProtocol:
        prefix, _, rest = oid.partition(OID_PACE_PREFIX + ".")
        parts = rest.split(".")
        if prefix or len(parts) != 2 or not all(part.isdigit() for part in parts):
            raise PaceError(SW_WRONG_DATA, "not a PACE protocol")
        kind, cipher = int(parts[0]), int(parts[1])
        layouts = {1: ("DH", "GM"), 2: ("ECDH", "GM"), 3: ("DH", "IM"), 4: ("ECDH", "IM")}
        if kind not in layouts or cipher not in SUITES_BY_NUMBER:
            raise PaceError(SW_WRONG_DATA, "PACE variant not supported by this card")
        agreement, mapping = layouts[kind]
        return cls(oid, agreement, mapping, SUITES_BY_NUMBER[cipher])

    @property
    def nonce_length(self) -> int:
        """Length of the chip's nonce s: one 16-byte string for the Generic Mapping; for the
        Integrated Mapping the smallest whole number of blocks at least as long as the key (§4.4.3.3)."""
        if self.mapping == "GM":
            return 16
        key_bits = 128 if self.suite is TDES else 8 * self.suite.key_length
        block_bits = 8 * self.suite.block_size
        return -(-key_bits // block_bits) * block_bits // 8

    @property
    def terminal_nonce_length(self) -> int:
        return 16 if self.suite is TDES else self.suite.key_length


def password_key(image: CardImage, reference: int) -> bytes:
    """f(π) of §9.7.3: SHA-1 of the MRZ information, or the CAN as ISO 8859-1 text."""
    if reference == PASSWORD_MRZ:
        return hashlib.sha1(image.mrz_information.encode("ascii")).digest()
    if reference == PASSWORD_CAN and image.can:
        return image.can.encode("latin-1")
    raise PaceError(SW_REFERENCED_DATA_NOT_FOUND, "password not available")


def select(image: CardImage, behaviour: CardBehaviour, data: bytes, rng: Rng) -> PaceChip:
    """Handle the data of MSE:Set AT (P1P2 C1A4) and return the started protocol."""
    try:
        objects = {item.tag: item.value for item in tlv.decode_all(data)}
    except TlvError as exc:
        raise PaceError(SW_WRONG_DATA, "malformed MSE:Set AT data") from exc
    if TAG_MECHANISM not in objects or TAG_PASSWORD_REFERENCE not in objects:
        raise PaceError(SW_WRONG_DATA, "MSE:Set AT needs DO'80' and DO'83'")
    try:
        oid = tlv.decode_oid(objects[TAG_MECHANISM])
    except ValueError as exc:
        raise PaceError(SW_WRONG_DATA, "malformed protocol OID") from exc
    offered = [setup for setup in image.pace if setup.protocol_oid == oid]
    if not offered:
        raise PaceError(SW_WRONG_DATA, "PACE protocol not offered")
    reference_bytes = objects[TAG_PASSWORD_REFERENCE]
    if len(reference_bytes) != 1:
        raise PaceError(SW_WRONG_DATA, "malformed password reference")
    reference = reference_bytes[0]
    if reference == PASSWORD_MRZ and behaviour.refuse_pace_mrz:
        raise PaceError(SW_SECURITY_STATUS_NOT_SATISFIED, "this card refuses PACE with the MRZ")
    setup = _chosen_setup(offered, objects.get(TAG_PARAMETER_ID), behaviour)
    key = password_key(image, reference)
    return PaceChip(setup, key, rng)


def _chosen_setup(offered: list[PaceSetup], parameter: bytes | None, behaviour: CardBehaviour) -> PaceSetup:
    if parameter is None:
        if behaviour.pace_requires_parameter_id or len(offered) > 1:
            raise PaceError(SW_LC_INCONSISTENT, "domain parameter ID (DO'84') required")
        return offered[0]
    if not 1 <= len(parameter) <= 2:
        raise PaceError(SW_WRONG_DATA, "malformed domain parameter ID")
    parameter_id = int.from_bytes(parameter, "big")
    for setup in offered:
        if setup.parameter_id == parameter_id:
            return setup
    raise PaceError(SW_WRONG_DATA, "domain parameters not offered")


class PaceChip:
    """One run of PACE on the card, from MSE:Set AT to the exchange of tokens."""

    def __init__(self, setup: PaceSetup, password: bytes, rng: Rng) -> None:
        self.protocol = PaceProtocol.parse(setup.protocol_oid)
        self.group: EcGroup | DhGroup = group_for(self.protocol.agreement, setup.parameter_id)
        self._k_pi = self.protocol.suite.derive(password, KDF_PACE)
        self._rng = rng
        self._step = 1
        self._nonce = b""
        self._mapped: EcGroup | DhGroup | None = None
        self._private = 0
        self._public_ic = b""
        self._public_ifd = b""
        self._ks_enc = b""
        self._ks_mac = b""
        if self.protocol.mapping == "IM" and isinstance(self.group, EcGroup):
            point_encoding_supported = self.group.curve.p % 4 == 3
            if not point_encoding_supported:
                raise PaceError(SW_WRONG_DATA, "Integrated Mapping not defined on this curve")

    @property
    def finished(self) -> bool:
        return self._step > 4

    def general_authenticate(self, data: bytes, *, chained: bool, ops: Ops) -> tuple[bytes, CardSession | None]:
        """Answer one GENERAL AUTHENTICATE; the session is returned with the last step's answer."""
        if self.finished:
            raise PaceError(SW_CONDITIONS_NOT_SATISFIED, "PACE already completed")
        last = self._step == 4
        if chained and last:
            raise PaceError(SW_LAST_COMMAND_OF_CHAIN_EXPECTED, "the token exchange must end the chain")
        if not chained and not last:
            raise PaceError(SW_CHAINING_NOT_SUPPORTED, "PACE steps 1-3 must be chained (CLA 10)")
        objects = _dynamic_authentication_data(data)
        step = self._step
        if step == 1:
            answer = self._encrypted_nonce(objects)
        elif step == 2:
            answer = self._map_nonce(objects, ops)
        elif step == 3:
            answer = self._key_agreement(objects, ops)
        else:
            answer = self._mutual_authentication(objects)
        self._step += 1
        if self.finished:
            return answer, CardSession(self.protocol.suite, self._ks_enc, self._ks_mac, 0)
        return answer, None

    # --- steps --------------------------------------------------------------------------------

    def _encrypted_nonce(self, objects: dict[int, bytes]) -> bytes:
        if objects:
            raise PaceError(SW_WRONG_DATA, "step 1 carries no data objects")
        self._nonce = self._rng(self.protocol.nonce_length)
        z = self.protocol.suite.encrypt(self._k_pi, self._nonce)
        return tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(TAG_ENCRYPTED_NONCE, z))

    def _map_nonce(self, objects: dict[int, bytes], ops: Ops) -> bytes:
        mapping_data = _only(objects, TAG_MAPPING_IFD)
        group = self.group
        s = int.from_bytes(self._nonce, "big")
        if self.protocol.mapping == "IM":
            if len(mapping_data) != self.protocol.terminal_nonce_length:
                raise PaceError(SW_WRONG_DATA, "nonce t has the wrong length")
            field_element = pseudo_random(self.protocol.suite, self._nonce, mapping_data, group.modulus)
            self._mapped = _with_generator(group, group.integrated_map(field_element, ops))
            return tlv.encode(TAG_DYNAMIC_AUTH, b"")
        if isinstance(group, EcGroup):
            terminal_ec = group.decode(mapping_data)
            private = group.random_private(self._rng)
            public_ec = group.exp(private, group.generator, ops)
            shared_ec = group.exp(private, terminal_ec, ops)
            self._mapped = group.with_generator(group.generic_map(s, shared_ec, ops))
            encoded = group.encode(public_ec)
        else:
            terminal_dh = group.decode(mapping_data)
            private = group.random_private(self._rng)
            public_dh = group.exp(private, group.generator, ops)
            shared_dh = group.exp(private, terminal_dh, ops)
            self._mapped = group.with_generator(group.generic_map(s, shared_dh, ops))
            encoded = group.encode(public_dh)
        return tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(TAG_MAPPING_IC, encoded))

    def _key_agreement(self, objects: dict[int, bytes], ops: Ops) -> bytes:
        terminal_bytes = _only(objects, TAG_EPHEMERAL_IFD)
        mapped = self._mapped
        if mapped is None:  # pragma: no cover - the step counter makes this unreachable
            raise PaceError(SW_CONDITIONS_NOT_SATISFIED, "no mapped generator")
        if isinstance(mapped, EcGroup):
            terminal_ec = mapped.decode(terminal_bytes)
            self._private = mapped.random_private(self._rng)
            public_ec = mapped.exp(self._private, mapped.generator, ops)
            if public_ec == terminal_ec:
                raise PaceError(SW_WRONG_DATA, "terminal echoed the chip's ephemeral key")
            secret = mapped.shared_secret(mapped.exp(self._private, terminal_ec, ops))
            self._public_ic, self._public_ifd = mapped.encode(public_ec), mapped.encode(terminal_ec)
        else:
            terminal_dh = mapped.decode(terminal_bytes)
            self._private = mapped.random_private(self._rng)
            public_dh = mapped.exp(self._private, mapped.generator, ops)
            if public_dh == terminal_dh:
                raise PaceError(SW_WRONG_DATA, "terminal echoed the chip's ephemeral key")
            secret = mapped.shared_secret(mapped.exp(self._private, terminal_dh, ops))
            self._public_ic, self._public_ifd = mapped.encode(public_dh), mapped.encode(terminal_dh)
        suite = self.protocol.suite
        self._ks_enc = suite.derive(secret, KDF_ENC)
        self._ks_mac = suite.derive(secret, KDF_MAC)
        return tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(TAG_EPHEMERAL_IC, self._public_ic))

    def _mutual_authentication(self, objects: dict[int, bytes]) -> bytes:
        token_ifd = _only(objects, TAG_TOKEN_IFD)
        if token_ifd != self.token(self._public_ic):
            self._step = 5  # the run is over either way: a new MSE:Set AT is needed
            raise PaceError(SW_VERIFICATION_FAILED, "T.IFD does not verify (wrong password?)")
        return tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(TAG_TOKEN_IC, self.token(self._public_ifd)))

    def token(self, public_key: bytes) -> bytes:
        """MAC(KSMAC, public key data object of ``public_key``) of §4.4.3.4."""
        group = self._mapped or self.group
        data = tlv.encode(TAG_PUBLIC_KEY, tlv.encode(TAG_OID, tlv.encode_oid(self.protocol.oid))
                          + tlv.encode(group.public_tag, public_key))
        suite = self.protocol.suite
        return suite.mac(self._ks_mac, data if suite.is_aes else pad(data, suite.block_size))


def _with_generator(group: EcGroup | DhGroup, generator: ec.Point | int) -> EcGroup | DhGroup:
    if isinstance(group, EcGroup) and isinstance(generator, tuple):
        return group.with_generator(generator)
    if isinstance(group, DhGroup) and isinstance(generator, int):
        return group.with_generator(generator)
    raise TypeError("generator does not belong to the group")  # pragma: no cover


def _dynamic_authentication_data(data: bytes) -> dict[int, bytes]:
    try:
        outer = tlv.decode_single(data, TAG_DYNAMIC_AUTH)
        children = tlv.decode_all(outer.value)
    except TlvError as exc:
        raise PaceError(SW_WRONG_DATA, "malformed dynamic authentication data") from exc
    objects: dict[int, bytes] = {}
    for child in children:
        if child.tag in objects:
            raise PaceError(SW_WRONG_DATA, "repeated data object")
        objects[child.tag] = child.value
    return objects


def _only(objects: dict[int, bytes], tag: int) -> bytes:
    if set(objects) != {tag}:
        raise PaceError(SW_WRONG_DATA, f"expected exactly DO'{tag:02X}'")
    return objects[tag]

"""PACE on the terminal side (ICAO Doc 9303-11 §4.4, BSI TR-03110): MSE:Set AT, then the chain of
GENERAL AUTHENTICATE commands of §4.4.4-4.4.5 for the Generic Mapping over ECDH and DH, the
Integrated Mapping over ECDH and DH (the block-cipher pseudo-random function of §4.4.3.3.2 and the
point encoding of Appendix B), and the Chip Authentication Mapping (§4.4.3.3.3, §4.4.3.5), with every
cipher suite (3DES, AES-128/192/256) and the authentication tokens of §4.4.3.4.

Pure: the card is reached only through ``send`` and randomness comes only from ``rng``, so a run can
replay the worked examples of Appendices G, H and I. ``rng(length)`` is called, in this order: for
the Generic / Chip Authentication Mapping the terminal's mapping private key, then its ephemeral
private key; for the Integrated Mapping the nonce t (key length of the cipher: 16 bytes for 3DES and
AES-128, 24 for AES-192, 32 for AES-256), then the ephemeral private key. A private key is read from
``length`` = the byte length of the group order (n for curves, q for MODP groups) as a big-endian
integer, with the bits above the order's bit length cleared; a value of 0 or >= the order is
discarded and drawn again. Any refusal by the card or failed check is an
:class:`agent.errors.AuthenticationFailedError` naming the password kind and carrying the status word.
"""

from __future__ import annotations

import dataclasses
import hmac
import os
from collections.abc import Callable

from agent.errors import AuthenticationFailedError, DocumentError, TlvError
from agent.icao import dh, ec, tlv
from agent.icao.apdu import (
    CLA_CHAINING,
    CLA_PLAIN,
    EXTENDED_MAX,
    INS_GENERAL_AUTHENTICATE,
    INS_MANAGE_SECURITY_ENVIRONMENT,
    SHORT_MAX_LE,
    SW_OK,
    CommandApdu,
)
from agent.icao.crypto import (
    KDF_ENC,
    KDF_MAC,
    KDF_PACE,
    TDES,
    CipherSuite,
    aes_cbc_decrypt,
    aes_ecb_encrypt,
    kdf,
    pad,
    unpad,
)
from agent.icao.lds_registry import EF_CARD_ACCESS
from agent.icao.security_infos import (
    KEY_AGREEMENT_ECDH,
    MAPPING_CAM,
    MAPPING_IM,
    DomainParameters,
    PaceInfo,
)
from agent.icao.transport import Send

Rng = Callable[[int], bytes]

P1_SET_AT_MUTUAL = 0xC1
P2_AUTHENTICATION_TEMPLATE = 0xA4

TAG_CRYPTOGRAPHIC_MECHANISM = 0x80
TAG_PASSWORD_REFERENCE = 0x83
TAG_DOMAIN_PARAMETER_ID = 0x84

TAG_DYNAMIC_AUTHENTICATION_DATA = 0x7C
TAG_ENCRYPTED_NONCE = 0x80
TAG_MAPPING_DATA_TERMINAL = 0x81
TAG_MAPPING_DATA_CHIP = 0x82
TAG_EPHEMERAL_KEY_TERMINAL = 0x83
TAG_EPHEMERAL_KEY_CHIP = 0x84
TAG_TOKEN_TERMINAL = 0x85
TAG_TOKEN_CHIP = 0x86
TAG_CAR_RECENT = 0x87
TAG_CAR_PREVIOUS = 0x88
TAG_ENCRYPTED_CHIP_AUTHENTICATION_DATA = 0x8A

TAG_PUBLIC_KEY = 0x7F49
TAG_OID = 0x06
TAG_EC_PUBLIC_POINT = 0x86
TAG_DH_PUBLIC_VALUE = 0x84

PASSWORD_KINDS = {1: "MRZ", 2: "CAN", 3: "PIN", 4: "PUK"}

# Constants of the pseudo-random function R_p(s, t) (§4.4.3.3.2), by the bit length l of s.
PRF_CONSTANTS: dict[int, tuple[bytes, bytes]] = {
    128: (bytes.fromhex("a668892a7c41e3ca739f40b057d85904"), bytes.fromhex("a4e136ac725f738b01c1f60217c188ad")),
    256: (
        bytes.fromhex("d463d65234124ef7897054986dca0a174e28df758cbaa03f240616414d5a1676"),
        bytes.fromhex("54bd7255f0aaf831bec3423fcf39d69b6cbf066677d0faae5aadd99df8e53517"),
    ),
}
PRF_MARGIN_BITS = 64
CAM_IV_INPUT = b"\xff" * 16  # "-1": the 128-bit string of all ones (§4.4.3.5.4)

_MAX_KEY_DRAWS = 64


@dataclasses.dataclass(frozen=True)
class PaceResult:
    """What PACE established: secure-messaging keys (the SSC starts at 0) and the public data the
    later protocols need. Public keys are kept as exchanged: an uncompressed point for ECDH, the
    minimal big-endian unsigned integer for DH (§9.4.1).

    ``chip_mapping_public_key`` is the chip's Generic-Mapping key (None for the Integrated Mapping);
    with ``chip_authentication_data`` (the decrypted CA_IC, CAM only) it lets
    :func:`verify_chip_authentication_mapping` authenticate the chip once its static key is known."""

    protocol_oid: str
    parameter_id: int | None
    mapping: str
    key_agreement: str
    suite: CipherSuite
    k_enc: bytes = dataclasses.field(repr=False)
    k_mac: bytes = dataclasses.field(repr=False)
    chip_ephemeral_public_key: bytes = dataclasses.field(repr=False)
    terminal_ephemeral_public_key: bytes = dataclasses.field(repr=False)
    chip_mapping_public_key: bytes | None = dataclasses.field(default=None, repr=False)
    chip_authentication_data: bytes | None = dataclasses.field(default=None, repr=False)
    certification_authority_references: tuple[bytes, ...] = ()

    @property
    def initial_ssc(self) -> bytes:
        """The send sequence counter secure messaging starts from: zero, one cipher block long."""
        return bytes(self.suite.block_size)


# --- cryptographic building blocks (pure functions, each a step of §4.4.3) ------------------------


def password_key(password: bytes, suite: CipherSuite) -> bytes:
    """Kπ = KDF(f(π), 3) (§9.7.3); ``password`` is f(π): SHA-1 of the MRZ information, or the CAN's
    ISO 8859-1 digits."""
    return kdf(password, KDF_PACE, suite)


def decrypt_nonce(key: bytes, encrypted: bytes, suite: CipherSuite) -> bytes:
    """s = D(Kπ, z), CBC with a zero IV (§4.4.3.3)."""
    if not encrypted or len(encrypted) % suite.block_size:
        raise ValueError("the encrypted nonce is not a whole number of cipher blocks")
    return suite.decrypt(key, encrypted)


def pseudo_random_bytes(s: bytes, t: bytes, p: int, suite: CipherSuite) -> bytes:
    """x_1 || ... || x_n of the Integrated Mapping's R_p(s, t) (§4.4.3.3.2), before the reduction:
    the block cipher in CBC mode (zero IV) keyed first with t over s, then chained through c0 while
    c1 yields the output blocks, n blocks of l bits such that n * l >= log2 p + 64."""
    if len(t) != suite.key_length:
        raise ValueError("the nonce t must be one key long")
    constants = PRF_CONSTANTS.get(len(s) * 8)
    if constants is None:
        raise ValueError("the nonce s must be 128 or 256 bits for the Integrated Mapping")
    c0, c1 = constants
    block_count = -(-(p.bit_length() + PRF_MARGIN_BITS) // (len(s) * 8))
    key = suite.encrypt(t, s)
    output = bytearray()
    for _ in range(block_count):
        key = key[: suite.key_length]  # only AES-192 needs the cut: octets 1 to 24
        output += suite.encrypt(key, c1)
        key = suite.encrypt(key, c0)
    return bytes(output)


def pseudo_random_number(s: bytes, t: bytes, p: int, suite: CipherSuite) -> int:
    """R_p(s, t) = int(x_1 || ... || x_n) mod p (§4.4.3.3.2)."""
    return int.from_bytes(pseudo_random_bytes(s, t, p, suite), "big") % p


def encode_point_to_curve(curve: ec.Curve, t: int) -> ec.Point:
    """f_G(t): the point encoding of Brier et al. in the affine form of Doc 9303-11 Appendix B.2
    (simplified SWU for p = 3 mod 4), times the cofactor."""
    p, a, b = curve.p, curve.a, curve.b
    if p % 4 != 3 or a == 0:
        raise ValueError(f"{curve.name} cannot be used with the Integrated Mapping")
    if not 0 < t < p:
        raise ValueError("field element out of range for the point encoding")
    alpha = -t * t % p
    alpha_sum = (alpha + alpha * alpha) % p
    if alpha_sum == 0:
        raise ValueError("degenerate field element for the point encoding")
    x2 = -b * pow(a, -1, p) * (1 + pow(alpha_sum, -1, p)) % p
    x3 = alpha * x2 % p
    h2 = (x2 * x2 * x2 + a * x2 + b) % p
    u = t * t * t * h2 % p
    big_a = pow(h2, p - 1 - (p + 1) // 4, p)
    point = (x2, big_a * h2 % p) if big_a * big_a * h2 % p == 1 else (x3, big_a * u % p)
    if curve.h != 1:
        scaled = ec.scalar_mult(curve, curve.h, point)
        if scaled is None:
            raise ValueError("the encoded point has small order")
        point = scaled
    if not ec.is_on_curve(curve, point):  # pragma: no cover - guards the algebra above
        raise ValueError("point encoding left the curve")
    return point


def map_to_group(group: dh.ModpGroup, value: int) -> int:
    """f_g(x) = x^((p-1)/q) mod p, the DH Integrated Mapping (§4.4.3.3.2); never 1."""
    if group.q is None:
        raise ValueError(f"{group.name} has no subgroup order: the Integrated Mapping needs one")
    mapped = pow(value, (group.p - 1) // group.q, group.p)
    if mapped in (0, 1):
        raise ValueError("the mapped generator is trivial")
    return mapped


def public_key_data_object(protocol_oid: str, key_agreement: str, public_key: bytes) -> bytes:
    """7F49 { 06 OID, 86 point | 84 value }: the ephemeral public key data object the tokens cover
    (§4.4.3.4, §9.4.4-9.4.5)."""
    tag = TAG_EC_PUBLIC_POINT if key_agreement == KEY_AGREEMENT_ECDH else TAG_DH_PUBLIC_VALUE
    return tlv.encode(TAG_PUBLIC_KEY, tlv.encode(TAG_OID, tlv.encode_oid(protocol_oid)) + tlv.encode(tag, public_key))


def authentication_token(suite: CipherSuite, k_mac: bytes, data_object: bytes) -> bytes:
    """MAC(KS_MAC, data object): the retail MAC with padding method 2 for 3DES, AES-CMAC over the
    unpadded object for AES, 8 bytes either way (§4.4.3.4)."""
    return suite.mac(k_mac, pad(data_object, suite.block_size) if suite is TDES else data_object)


def unsigned_bytes(value: int) -> bytes:
    """An unsigned integer in the minimum number of octets (§9.4.1)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def random_scalar(rng: Rng, order: int) -> int:
    """A private key in [1, order) drawn from ``rng`` as the module docstring describes."""
    length = (order.bit_length() + 7) // 8
    mask = (1 << order.bit_length()) - 1
    for _ in range(_MAX_KEY_DRAWS):
        raw = rng(length)
        if len(raw) != length:
            raise ValueError(f"rng returned {len(raw)} bytes, {length} were asked for")
        value = int.from_bytes(raw, "big") & mask
        if 0 < value < order:
            return value
    raise ValueError("rng keeps returning keys out of range")


def decrypt_chip_authentication_data(k_enc: bytes, encrypted: bytes) -> bytes:
    """CA_IC from A_IC: AES-CBC with IV = E(KS_Enc, -1), padding method 2 (§4.4.3.5)."""
    if not encrypted or len(encrypted) % 16:
        raise ValueError("encrypted chip authentication data is not whole AES blocks")
    iv = aes_ecb_encrypt(k_enc, CAM_IV_INPUT)
    return unpad(aes_cbc_decrypt(k_enc, encrypted, iv))


def verify_chip_authentication_mapping(result: PaceResult, curve: ec.Curve, chip_public_key: bytes) -> bool:
    """PACE-CAM chip authentication (§4.4.3.5.2): PK_Map,IC = CA_IC * PK_IC, where PK_IC is the
    chip's static key from EF.CardSecurity / DG14 (whose signature the caller must check)."""
    if result.mapping != MAPPING_CAM or result.chip_authentication_data is None or not result.chip_mapping_public_key:
        return False
    try:
        static_key = ec.decode_point(curve, chip_public_key)
        mapping_key = ec.decode_point(curve, result.chip_mapping_public_key)
    except ec.InvalidPointError:
        return False
    ca_ic = int.from_bytes(result.chip_authentication_data, "big")
    if not 0 < ca_ic < curve.n:
        return False
    return ec.scalar_mult(curve, ca_ic, static_key) == mapping_key


# --- the protocol run ----------------------------------------------------------------------------


def perform_pace(
    send: Send,
    password: bytes,
    password_reference: int,
    pace_info: PaceInfo,
    *,
    rng: Rng = os.urandom,
    domain_parameters: DomainParameters | None = None,
) -> PaceResult:
    """Run PACE with the password f(π) (``password``: SHA-1 of the MRZ information, or the CAN's
    digits) identified by ``password_reference`` (1 MRZ, 2 CAN) as PACEInfo describes.

    ``domain_parameters`` must be given for chip-specific (PACEDomainParameterInfo) parameters;
    standardised ones come from ``pace_info.parameter_id``. Raises DocumentError when the PACEInfo
    names nothing this reader can run, AuthenticationFailedError when the handshake fails.
    """
    if not password:
        raise ValueError("empty PACE password")
    return perform_pace_with_key(
        send,
        password_key(password, pace_info.cipher_suite),
        password_reference,
        pace_info,
        rng=rng,
        domain_parameters=domain_parameters,
    )


def perform_pace_with_key(
    send: Send,
    key: bytes,
    password_reference: int,
    pace_info: PaceInfo,
    *,
    rng: Rng = os.urandom,
    domain_parameters: DomainParameters | None = None,
) -> PaceResult:
    """:func:`perform_pace` from the derived password key Kπ."""
    domain = _resolve_domain(pace_info, domain_parameters)
    run = _PaceRun(send, key, password_reference, pace_info, domain, rng)
    return run.execute()


def _resolve_domain(pace_info: PaceInfo, given: DomainParameters | None) -> DomainParameters:
    domain = given if given is not None else pace_info.domain_parameters
    if domain is None:
        raise DocumentError(
            f"no domain parameters for PACE parameter ID {pace_info.parameter_id}", file=EF_CARD_ACCESS.name
        )
    expected = ec.Curve if pace_info.key_agreement == KEY_AGREEMENT_ECDH else dh.ModpGroup
    if not isinstance(domain, expected):
        raise DocumentError(f"{domain.name} does not suit {pace_info.key_agreement}", file=EF_CARD_ACCESS.name)
    if pace_info.mapping == MAPPING_IM:
        if isinstance(domain, ec.Curve) and domain.p % 4 != 3:
            raise DocumentError(f"{domain.name} cannot be used with the Integrated Mapping", file=EF_CARD_ACCESS.name)
        if isinstance(domain, dh.ModpGroup) and domain.q is None:
            raise DocumentError(
                f"{domain.name} lacks the order q the Integrated Mapping needs", file=EF_CARD_ACCESS.name
            )
    return domain


class _PaceRun:
    """One execution of the protocol; holds what the steps share."""

    def __init__(
        self,
        send: Send,
        key: bytes,
        password_reference: int,
        pace_info: PaceInfo,
        domain: DomainParameters,
        rng: Rng,
    ) -> None:
        self.send = send
        self.key = key
        self.reference = password_reference
        self.info = pace_info
        self.domain = domain
        self.rng = rng
        self.suite = pace_info.cipher_suite
        self.key_kind = PASSWORD_KINDS.get(password_reference)

    # -- errors and APDUs --

    def _fail(self, message: str, sw: int | None = None) -> AuthenticationFailedError:
        kind = self.key_kind or "password"
        return AuthenticationFailedError(f"PACE with the {kind} failed: {message}", key_kind=self.key_kind, sw=sw)

    def _general_authenticate(self, objects: bytes, step: str, *, last: bool = False) -> dict[int, bytes]:
        body = tlv.encode(TAG_DYNAMIC_AUTHENTICATION_DATA, objects)
        expected = self._element_length() + 8  # 7C L tag L element
        le = EXTENDED_MAX if len(body) > 255 or expected > SHORT_MAX_LE else SHORT_MAX_LE
        command = CommandApdu(CLA_PLAIN if last else CLA_CHAINING, INS_GENERAL_AUTHENTICATE, 0x00, 0x00, body, le=le)
        response = self.send(command)
        if response.sw != SW_OK:
            raise self._fail(f"the card refused {step}", response.sw)
        try:
            container = tlv.decode_single(response.data, TAG_DYNAMIC_AUTHENTICATION_DATA)
            found: dict[int, bytes] = {}
            for item in tlv.decode_all(container.value):
                found.setdefault(item.tag, item.value)
        except TlvError as exc:
            raise self._fail(f"malformed answer to {step}", response.sw) from exc
        return found

    def _require(self, objects: dict[int, bytes], tag: int, step: str) -> bytes:
        value = objects.get(tag)
        if value is None:
            raise self._fail(f"the answer to {step} lacks data object {tag:02X}", SW_OK)
        return value

    def _element_length(self) -> int:
        if isinstance(self.domain, ec.Curve):
            return 1 + 2 * self.domain.byte_length
        return self.domain.byte_length

    # -- steps --

    def execute(self) -> PaceResult:
        self._set_authentication_template()
        nonce = self._nonce()
        chip_mapping_key: bytes | None = None
        if isinstance(self.domain, ec.Curve):
            curve = self.domain
            if self.info.mapping == MAPPING_IM:
                point = self._integrated_mapping_ecdh(curve, nonce)
            else:
                point, chip_mapping_key = self._generic_mapping_ecdh(curve, nonce)
            shared, terminal_key, chip_key = self._key_agreement_ecdh(curve, point)
        else:
            group = self.domain
            if self.info.mapping == MAPPING_IM:
                element = self._integrated_mapping_dh(group, nonce)
            else:
                element, chip_mapping_key = self._generic_mapping_dh(group, nonce)
            shared, terminal_key, chip_key = self._key_agreement_dh(group, element)
        k_enc = self.suite.derive(shared, KDF_ENC)
        k_mac = self.suite.derive(shared, KDF_MAC)
        objects = self._mutual_authentication(k_mac, terminal_key, chip_key)
        ca_data: bytes | None = None
        if self.info.mapping == MAPPING_CAM:
            encrypted = self._require(objects, TAG_ENCRYPTED_CHIP_AUTHENTICATION_DATA, "mutual authentication")
            try:
                ca_data = decrypt_chip_authentication_data(k_enc, encrypted)
            except ValueError as exc:
                raise self._fail("undecipherable chip authentication data", SW_OK) from exc
        references = tuple(objects[tag] for tag in (TAG_CAR_RECENT, TAG_CAR_PREVIOUS) if tag in objects)
        return PaceResult(
            protocol_oid=self.info.protocol_oid,
            parameter_id=self.info.parameter_id,
            mapping=self.info.mapping,
            key_agreement=self.info.key_agreement,
            suite=self.suite,
            k_enc=k_enc,
            k_mac=k_mac,
            chip_ephemeral_public_key=chip_key,
            terminal_ephemeral_public_key=terminal_key,
            chip_mapping_public_key=chip_mapping_key,
            chip_authentication_data=ca_data,
            certification_authority_references=references,
        )

    def _set_authentication_template(self) -> None:
        data = tlv.encode(TAG_CRYPTOGRAPHIC_MECHANISM, tlv.encode_oid(self.info.protocol_oid))
        data += tlv.encode(TAG_PASSWORD_REFERENCE, bytes([self.reference]))
        if self.info.parameter_id is not None:
            # Always sent: cards answer 6A87 without it even when it is implied
            # (docs/reference/card.md "Card quirks").
            data += tlv.encode(TAG_DOMAIN_PARAMETER_ID, unsigned_bytes(self.info.parameter_id))
        command = CommandApdu(
            CLA_PLAIN, INS_MANAGE_SECURITY_ENVIRONMENT, P1_SET_AT_MUTUAL, P2_AUTHENTICATION_TEMPLATE, data
        )
        response = self.send(command)
        if response.sw != SW_OK:
            raise self._fail("the card refused MSE:Set AT", response.sw)

    def _nonce(self) -> bytes:
        objects = self._general_authenticate(b"", "the encrypted nonce request")
        encrypted = self._require(objects, TAG_ENCRYPTED_NONCE, "the encrypted nonce request")
        try:
            return decrypt_nonce(self.key, encrypted, self.suite)
        except ValueError as exc:
            raise self._fail("malformed encrypted nonce", SW_OK) from exc

    def _generic_mapping_ecdh(self, curve: ec.Curve, nonce: bytes) -> tuple[ec.Point, bytes]:
        private = random_scalar(self.rng, curve.n)
        public = ec.encode_point(curve, ec.scalar_mult(curve, private, curve.generator))
        objects = self._general_authenticate(tlv.encode(TAG_MAPPING_DATA_TERMINAL, public), "the mapping")
        chip_public = self._require(objects, TAG_MAPPING_DATA_CHIP, "the mapping")
        try:
            shared = ec.ecdh(curve, private, ec.decode_point(curve, chip_public))
        except ec.InvalidPointError as exc:
            raise self._fail(f"the chip's mapping key is invalid ({exc})", SW_OK) from exc
        generator = ec.point_add(curve, ec.scalar_mult(curve, int.from_bytes(nonce, "big"), curve.generator), shared)
        if generator is None:
            raise self._fail("the mapped generator is the point at infinity", SW_OK)
        return generator, chip_public

    def _generic_mapping_dh(self, group: dh.ModpGroup, nonce: bytes) -> tuple[int, bytes]:
        private = random_scalar(self.rng, group.q or group.p - 1)
        public = unsigned_bytes(dh.public_value(group, private))
        objects = self._general_authenticate(tlv.encode(TAG_MAPPING_DATA_TERMINAL, public), "the mapping")
        chip_public = self._require(objects, TAG_MAPPING_DATA_CHIP, "the mapping")
        try:
            shared = dh.shared_secret(group, private, dh.decode_element(group, chip_public))
        except dh.InvalidGroupElementError as exc:
            raise self._fail(f"the chip's mapping key is invalid ({exc})", SW_OK) from exc
        generator = pow(group.g, int.from_bytes(nonce, "big"), group.p) * shared % group.p
        if generator == 1:
            raise self._fail("the mapped generator is trivial", SW_OK)
        return generator, chip_public

    def _send_terminal_nonce(self) -> bytes:
        t = self.rng(self.suite.key_length)
        if len(t) != self.suite.key_length:
            raise ValueError(f"rng returned {len(t)} bytes, {self.suite.key_length} were asked for")
        self._general_authenticate(tlv.encode(TAG_MAPPING_DATA_TERMINAL, t), "the mapping")
        return t

    def _integrated_mapping_ecdh(self, curve: ec.Curve, nonce: bytes) -> ec.Point:
        t = self._send_terminal_nonce()
        try:
            return encode_point_to_curve(curve, pseudo_random_number(nonce, t, curve.p, self.suite))
        except ValueError as exc:
            raise self._fail(f"the Integrated Mapping failed ({exc})", SW_OK) from exc

    def _integrated_mapping_dh(self, group: dh.ModpGroup, nonce: bytes) -> int:
        t = self._send_terminal_nonce()
        try:
            return map_to_group(group, pseudo_random_number(nonce, t, group.p, self.suite))
        except ValueError as exc:
            raise self._fail(f"the Integrated Mapping failed ({exc})", SW_OK) from exc

    def _key_agreement_ecdh(self, curve: ec.Curve, generator: ec.Point) -> tuple[bytes, bytes, bytes]:
        """(shared secret K, terminal's and chip's ephemeral public keys as exchanged)."""
        step = "the key agreement"
        private = random_scalar(self.rng, curve.n)
        terminal_key = ec.encode_point(curve, ec.scalar_mult(curve, private, generator))
        objects = self._general_authenticate(tlv.encode(TAG_EPHEMERAL_KEY_TERMINAL, terminal_key), step)
        chip_key = self._require(objects, TAG_EPHEMERAL_KEY_CHIP, step)
        try:
            chip_point = ec.decode_point(curve, chip_key)
            if chip_key == terminal_key:
                raise ec.InvalidPointError("it equals the terminal's key")
            shared_point = ec.ecdh(curve, private, chip_point)
        except ec.InvalidPointError as exc:
            raise self._fail(f"the chip's ephemeral key is invalid ({exc})", SW_OK) from exc
        return ec.field_element_bytes(curve, shared_point[0]), terminal_key, chip_key

    def _key_agreement_dh(self, group: dh.ModpGroup, generator: int) -> tuple[bytes, bytes, bytes]:
        """(shared secret K padded to the length of p, terminal's and chip's ephemeral public keys)."""
        step = "the key agreement"
        private = random_scalar(self.rng, group.q or group.p - 1)
        terminal_value = dh.public_value(group, private, generator)
        terminal_key = unsigned_bytes(terminal_value)
        objects = self._general_authenticate(tlv.encode(TAG_EPHEMERAL_KEY_TERMINAL, terminal_key), step)
        received = self._require(objects, TAG_EPHEMERAL_KEY_CHIP, step)
        try:
            chip_value = dh.decode_element(group, received)
            if chip_value == terminal_value:
                raise dh.InvalidGroupElementError("it equals the terminal's key")
            shared = dh.shared_secret(group, private, chip_value)
        except dh.InvalidGroupElementError as exc:
            raise self._fail(f"the chip's ephemeral key is invalid ({exc})", SW_OK) from exc
        return dh.encode_element(group, shared), terminal_key, unsigned_bytes(chip_value)

    def _mutual_authentication(self, k_mac: bytes, terminal_key: bytes, chip_key: bytes) -> dict[int, bytes]:
        oid, agreement = self.info.protocol_oid, self.info.key_agreement
        token = authentication_token(self.suite, k_mac, public_key_data_object(oid, agreement, chip_key))
        step = "mutual authentication"
        objects = self._general_authenticate(tlv.encode(TAG_TOKEN_TERMINAL, token), step, last=True)
        chip_token = self._require(objects, TAG_TOKEN_CHIP, step)
        expected = authentication_token(self.suite, k_mac, public_key_data_object(oid, agreement, terminal_key))
        if not hmac.compare_digest(chip_token, expected):
            raise self._fail("the chip's authentication token is wrong", SW_OK)
        return objects

"""SecurityInfos, the DER set of protocol descriptions found in EF.CardAccess, EF.CardSecurity and
DG14 (ICAO Doc 9303-11 §9.2, BSI TR-03110 part 3 §A.1): PACEInfo, PACEDomainParameterInfo,
ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo (SubjectPublicKeyInfo with explicit EC or
DH domain parameters, a named curve, or a standardised domain parameter ID, §9.5), ActiveAuthenticationInfo
and TerminalAuthenticationInfo; any other entry is kept as opaque bytes.

The parser is written over :mod:`agent.icao.tlv` (DER is BER-TLV with fixed rules), except for EC
domain parameters, which :func:`agent.icao.ec.curve_from_ec_parameters` reads as it does for X.509 keys;
it is tolerant of what it does not need, strict about what it uses: any malformed input raises
:class:`agent.errors.DocumentError` naming the file, never another exception. Encoding a set of
SecurityInfos is the simulated card's business, not this module's.
"""

from __future__ import annotations

import dataclasses

from agent.errors import DocumentError, TlvError
from agent.icao import tlv
from agent.icao.crypto import AES_128, AES_192, AES_256, TDES, CipherSuite
from agent.icao.dh import GROUPS_BY_PARAMETER_ID, ModpGroup
from agent.icao.ec import CURVES_BY_PARAMETER_ID, Curve, InvalidPointError, curve_from_ec_parameters, decode_point
from agent.icao.lds_registry import DG14, EF_CARD_ACCESS

DomainParameters = Curve | ModpGroup

# --- object identifiers (Doc 9303-11 §9.2.3-9.2.9, §9.5; TR-03111; RFC 5639; SEC 2) -----------------

OID_BSI_DE = "0.4.0.127.0.7"
OID_PK = OID_BSI_DE + ".2.2.1"
OID_PK_DH = OID_PK + ".1"
OID_PK_ECDH = OID_PK + ".2"
OID_TA = OID_BSI_DE + ".2.2.2"
OID_CA = OID_BSI_DE + ".2.2.3"
OID_PACE = OID_BSI_DE + ".2.2.4"
OID_STANDARDIZED_DOMAIN_PARAMETERS = OID_BSI_DE + ".1.2"
OID_AA = "2.23.136.1.1.5"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_DH_PUBLIC_NUMBER = "1.2.840.10046.2.1"  # X9.42: DomainParameters p, g, q
OID_DH_KEY_AGREEMENT = "1.2.840.113549.1.3.1"  # PKCS #3: DHParameter p, g

KEY_AGREEMENT_DH = "DH"
KEY_AGREEMENT_ECDH = "ECDH"
MAPPING_GM = "GM"
MAPPING_IM = "IM"
MAPPING_CAM = "CAM"

# id-PACE-<x>-<y>: x names key agreement and mapping, y the cipher suite (§9.2.3)
_PACE_KINDS: dict[int, tuple[str, str]] = {
    1: (KEY_AGREEMENT_DH, MAPPING_GM),
    2: (KEY_AGREEMENT_ECDH, MAPPING_GM),
    3: (KEY_AGREEMENT_DH, MAPPING_IM),
    4: (KEY_AGREEMENT_ECDH, MAPPING_IM),
    6: (KEY_AGREEMENT_ECDH, MAPPING_CAM),
}
_SUITES_BY_NUMBER: dict[int, CipherSuite] = {1: TDES, 2: AES_128, 3: AES_192, 4: AES_256}
_CA_KINDS: dict[int, str] = {1: KEY_AGREEMENT_DH, 2: KEY_AGREEMENT_ECDH}

# Size limits that keep hostile input cheap to reject.
MAX_SMALL_INTEGER_BYTES = 8
MAX_PARAMETER_BYTES = 1024  # 8192-bit DH primes are already far beyond any document

# DER universal tags
_TAG_INTEGER = 0x02
_TAG_BIT_STRING = 0x03
_TAG_OID = 0x06
_TAG_SEQUENCE = 0x30
_TAG_SET = 0x31


class _MalformedError(Exception):
    """Internal: raised anywhere below and turned into a DocumentError naming the file."""


# --- DER primitives ------------------------------------------------------------------------------


def _decode_oid(item: tlv.Tlv) -> str:
    if item.tag != _TAG_OID:
        raise _MalformedError(f"expected an OBJECT IDENTIFIER, found tag {item.tag:X}")
    try:
        return tlv.decode_oid(item.value)
    except ValueError as exc:
        raise _MalformedError(str(exc)) from exc


def _decode_integer(item: tlv.Tlv, *, max_bytes: int = MAX_SMALL_INTEGER_BYTES, what: str = "INTEGER") -> int:
    """A non-negative DER INTEGER (every integer in these structures is non-negative)."""
    if item.tag != _TAG_INTEGER:
        raise _MalformedError(f"{what}: expected an INTEGER, found tag {item.tag:X}")
    if not item.value or len(item.value) > max_bytes + 1:
        raise _MalformedError(f"{what}: INTEGER of {len(item.value)} bytes")
    if item.value[0] & 0x80:
        raise _MalformedError(f"{what}: negative INTEGER")
    return int.from_bytes(item.value, "big")


def _children(item: tlv.Tlv, what: str) -> list[tlv.Tlv]:
    if item.tag != _TAG_SEQUENCE:
        raise _MalformedError(f"{what}: expected a SEQUENCE, found tag {item.tag:X}")
    return tlv.decode_all(item.value)


def _bit_string_octets(item: tlv.Tlv, what: str) -> bytes:
    if item.tag != _TAG_BIT_STRING or not item.value or item.value[0] != 0:
        raise _MalformedError(f"{what}: expected a BIT STRING of whole octets")
    return item.value[1:]


# --- protocol descriptions -----------------------------------------------------------------------


def parse_pace_oid(protocol_oid: str) -> tuple[str, str, CipherSuite]:
    """(key agreement "DH"/"ECDH", mapping "GM"/"IM"/"CAM", cipher suite) of an id-PACE-* OID;
    ValueError for anything else (3DES with CAM does not exist, §4.4.3.2)."""
    prefix, _, suite_number = protocol_oid.rpartition(".")
    arc_prefix, _, kind_number = prefix.rpartition(".")
    if arc_prefix != OID_PACE or not kind_number.isdigit() or not suite_number.isdigit():
        raise ValueError(f"{protocol_oid} is not a PACE protocol")
    kind = _PACE_KINDS.get(int(kind_number))
    suite = _SUITES_BY_NUMBER.get(int(suite_number))
    if kind is None or suite is None or (kind[1] == MAPPING_CAM and suite is TDES):
        raise ValueError(f"{protocol_oid} is not a PACE protocol this reader knows")
    return kind[0], kind[1], suite


def pace_oid(key_agreement: str, mapping: str, suite: CipherSuite) -> str:
    """The id-PACE-* OID for a combination (inverse of :func:`parse_pace_oid`)."""
    kind = next((number for number, value in _PACE_KINDS.items() if value == (key_agreement, mapping)), None)
    suite_number = next((number for number, value in _SUITES_BY_NUMBER.items() if value == suite), None)
    if kind is None or suite_number is None:
        raise ValueError(f"no PACE protocol for {key_agreement} {mapping} {suite.name}")
    oid = f"{OID_PACE}.{kind}.{suite_number}"
    parse_pace_oid(oid)  # rejects CAM with 3DES
    return oid


def standardized_domain_parameters(key_agreement: str, parameter_id: int) -> DomainParameters | None:
    """The standardised domain parameters of Doc 9303-11 §9.5.1 Table 12 for an ID, when the ID
    names parameters of the given key agreement."""
    if key_agreement == KEY_AGREEMENT_ECDH:
        return CURVES_BY_PARAMETER_ID.get(parameter_id)
    if key_agreement == KEY_AGREEMENT_DH:
        return GROUPS_BY_PARAMETER_ID.get(parameter_id)
    return None


@dataclasses.dataclass(frozen=True)
class PaceInfo:
    """PACEInfo (§9.2.1). ``parameter_id`` names standardised (0-18) or chip-specific (>= 32)
    domain parameters; it is absent only when the chip has a single PACEDomainParameterInfo."""

    protocol_oid: str
    version: int = 2
    parameter_id: int | None = None

    def __post_init__(self) -> None:
        parse_pace_oid(self.protocol_oid)

    @property
    def key_agreement(self) -> str:
        return parse_pace_oid(self.protocol_oid)[0]

    @property
    def mapping(self) -> str:
        return parse_pace_oid(self.protocol_oid)[1]

    @property
    def cipher_suite(self) -> CipherSuite:
        return parse_pace_oid(self.protocol_oid)[2]

    @property
    def domain_parameters(self) -> DomainParameters | None:
        """The standardised domain parameters named by ``parameter_id``, if it names any."""
        if self.parameter_id is None:
            return None
        return standardized_domain_parameters(self.key_agreement, self.parameter_id)


@dataclasses.dataclass(frozen=True)
class PaceDomainParameterInfo:
    """PACEDomainParameterInfo (§9.2.2): explicit (chip-specific) domain parameters for PACE.

    Unprotected: Doc 9303-11 forbids using them unless the terminal knows them to be secure, so a
    caller must choose to pass them to PACE explicitly."""

    protocol_oid: str
    domain: DomainParameters
    parameter_id: int | None = None


@dataclasses.dataclass(frozen=True)
class ChipAuthenticationInfo:
    """ChipAuthenticationInfo (§9.2.5)."""

    protocol_oid: str
    version: int
    key_id: int | None = None

    @property
    def key_agreement(self) -> str | None:
        prefix, _, suite_number = self.protocol_oid.rpartition(".")
        arc_prefix, _, kind_number = prefix.rpartition(".")
        if arc_prefix != OID_CA or not kind_number.isdigit() or not suite_number.isdigit():
            return None
        return _CA_KINDS.get(int(kind_number))

    @property
    def cipher_suite(self) -> CipherSuite | None:
        suite_number = self.protocol_oid.rpartition(".")[2]
        if self.key_agreement is None or not suite_number.isdigit():
            return None
        return _SUITES_BY_NUMBER.get(int(suite_number))


@dataclasses.dataclass(frozen=True)
class ChipAuthenticationPublicKeyInfo:
    """ChipAuthenticationPublicKeyInfo (§9.2.6). ``public_key`` is the uncompressed point (ECDH,
    checked to lie on the curve) or the big-endian public value (DH, checked to be in (1, p-1));
    ``parameter_id`` is set when the key used standardised domain parameters (§9.5.1)."""

    protocol_oid: str
    key_agreement: str
    domain: DomainParameters
    public_key: bytes
    key_id: int | None = None
    parameter_id: int | None = None


@dataclasses.dataclass(frozen=True)
class ActiveAuthenticationInfo:
    """ActiveAuthenticationInfo (§9.2.4): present when Active Authentication signs with ECDSA."""

    protocol_oid: str
    version: int
    signature_algorithm_oid: str


@dataclasses.dataclass(frozen=True)
class TerminalAuthenticationInfo:
    """TerminalAuthenticationInfo (§9.2.8); the optional efCVCA file ID is kept raw."""

    protocol_oid: str
    version: int
    ef_cvca: bytes | None = None


@dataclasses.dataclass(frozen=True)
class UnknownSecurityInfo:
    """Any other SecurityInfo (EFDIRInfo, CardInfoLocator, proprietary ...): its OID and DER bytes."""

    protocol_oid: str
    encoded: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class SecurityInfos:
    """Every SecurityInfo of one file, sorted by kind, in the order the file lists them."""

    pace: tuple[PaceInfo, ...] = ()
    pace_domain_parameters: tuple[PaceDomainParameterInfo, ...] = ()
    chip_authentication: tuple[ChipAuthenticationInfo, ...] = ()
    chip_authentication_keys: tuple[ChipAuthenticationPublicKeyInfo, ...] = ()
    active_authentication: tuple[ActiveAuthenticationInfo, ...] = ()
    terminal_authentication: tuple[TerminalAuthenticationInfo, ...] = ()
    other: tuple[UnknownSecurityInfo, ...] = ()

    def pace_domain(self, info: PaceInfo) -> DomainParameters | None:
        """Domain parameters for a PACEInfo: standardised by ID, else the PACEDomainParameterInfo of
        the same ID and key agreement (a lone one when the PACEInfo names no ID). None if neither."""
        standard = info.domain_parameters
        if standard is not None:
            return standard
        candidates = [
            entry
            for entry in self.pace_domain_parameters
            if _pace_arc(entry.protocol_oid) == _pace_arc(info.protocol_oid)
            and (entry.parameter_id == info.parameter_id or info.parameter_id is None)
        ]
        return candidates[0].domain if len(candidates) == 1 else None

    def chip_authentication_key(self, key_id: int | None = None) -> ChipAuthenticationPublicKeyInfo | None:
        """The Chip Authentication public key with ``key_id`` (the only one when key_id is None)."""
        if key_id is None:
            return self.chip_authentication_keys[0] if len(self.chip_authentication_keys) == 1 else None
        return next((key for key in self.chip_authentication_keys if key.key_id == key_id), None)


def _pace_arc(protocol_oid: str) -> str:
    """id-PACE-DH-GM etc. of a full PACE OID or of a PACEDomainParameterInfo OID."""
    parts = protocol_oid.split(".")
    return ".".join(parts[:10])


# --- parsing -------------------------------------------------------------------------------------


def parse_security_infos(data: bytes, *, file: str = EF_CARD_ACCESS.name) -> SecurityInfos:
    """Parse a SecurityInfos SET (EF.CardAccess, EF.CardSecurity content) or a whole DG14 (tag 6E
    around the SET). Padding bytes 00 or FF after the SET are ignored (cards pad files).

    Raises :class:`DocumentError` (``file`` set to the name given) on any malformed input.
    """
    try:
        return _parse(bytes(data))
    except (_MalformedError, TlvError, ValueError) as exc:
        raise DocumentError(f"malformed SecurityInfos: {exc}", file=file) from exc


def _parse(data: bytes) -> SecurityInfos:
    outer, end = tlv.decode_one(data)
    if outer.tag == DG14.tag:
        if data[end:].strip(b"\x00\xff"):
            raise _MalformedError("trailing bytes after DG14")
        outer = tlv.decode_single(outer.value)
    elif data[end:].strip(b"\x00\xff"):
        raise _MalformedError("trailing bytes after the SET")
    if outer.tag != _TAG_SET:
        raise _MalformedError(f"expected a SET, found tag {outer.tag:X}")
    collected: dict[str, list[object]] = {name: [] for name in _FIELDS}
    for entry in tlv.decode_all(outer.value):
        parsed = _parse_entry(entry)
        collected[_FIELD_OF[type(parsed)]].append(parsed)
    return SecurityInfos(**{name: tuple(items) for name, items in collected.items()})  # type: ignore[arg-type]


_FIELD_OF: dict[type, str] = {
    PaceInfo: "pace",
    PaceDomainParameterInfo: "pace_domain_parameters",
    ChipAuthenticationInfo: "chip_authentication",
    ChipAuthenticationPublicKeyInfo: "chip_authentication_keys",
    ActiveAuthenticationInfo: "active_authentication",
    TerminalAuthenticationInfo: "terminal_authentication",
    UnknownSecurityInfo: "other",
}
_FIELDS = tuple(_FIELD_OF.values())

_SecurityInfo = (
    PaceInfo
    | PaceDomainParameterInfo
    | ChipAuthenticationInfo
    | ChipAuthenticationPublicKeyInfo
    | ActiveAuthenticationInfo
    | TerminalAuthenticationInfo
    | UnknownSecurityInfo
)


def _parse_entry(entry: tlv.Tlv) -> _SecurityInfo:
    fields = _children(entry, "SecurityInfo")
    if not fields:
        raise _MalformedError("empty SecurityInfo")
    oid = _decode_oid(fields[0])
    rest = fields[1:]
    if oid.startswith(OID_PACE + "."):
        arcs = oid[len(OID_PACE) + 1 :].split(".")
        if len(arcs) == 2:
            try:
                parse_pace_oid(oid)
            except ValueError:
                return UnknownSecurityInfo(oid, entry.encode())
            return _parse_pace_info(oid, rest)
        if len(arcs) == 1 and arcs[0].isdigit() and int(arcs[0]) in _PACE_KINDS:
            return _parse_pace_domain_parameter_info(oid, rest)
    elif oid.startswith(OID_CA + ".") and len(oid.split(".")) == 11:
        return _parse_chip_authentication_info(oid, rest)
    elif oid in (OID_PK_DH, OID_PK_ECDH):
        return _parse_chip_authentication_public_key_info(oid, rest)
    elif oid == OID_AA:
        return _parse_active_authentication_info(oid, rest)
    elif oid == OID_TA:
        return _parse_terminal_authentication_info(oid, rest)
    return UnknownSecurityInfo(oid, entry.encode())


def _expect_count(fields: list[tlv.Tlv], minimum: int, maximum: int, what: str) -> None:
    if not minimum <= len(fields) <= maximum:
        raise _MalformedError(f"{what} has {len(fields) + 1} fields")


def _parse_pace_info(oid: str, fields: list[tlv.Tlv]) -> PaceInfo:
    _expect_count(fields, 1, 2, "PACEInfo")
    version = _decode_integer(fields[0], what="PACEInfo version")
    parameter_id = _decode_integer(fields[1], what="PACEInfo parameterId") if len(fields) == 2 else None
    return PaceInfo(oid, version, parameter_id)


def _parse_pace_domain_parameter_info(oid: str, fields: list[tlv.Tlv]) -> PaceDomainParameterInfo:
    _expect_count(fields, 1, 2, "PACEDomainParameterInfo")
    key_agreement = _PACE_KINDS[int(oid.rpartition(".")[2])][0]
    domain, _ = _parse_algorithm_identifier(fields[0], key_agreement)
    parameter_id = _decode_integer(fields[1], what="parameterId") if len(fields) == 2 else None
    return PaceDomainParameterInfo(oid, domain, parameter_id)


def _parse_chip_authentication_info(oid: str, fields: list[tlv.Tlv]) -> ChipAuthenticationInfo:
    _expect_count(fields, 1, 2, "ChipAuthenticationInfo")
    version = _decode_integer(fields[0], what="ChipAuthenticationInfo version")
    key_id = _decode_integer(fields[1], what="keyId") if len(fields) == 2 else None
    return ChipAuthenticationInfo(oid, version, key_id)


def _parse_chip_authentication_public_key_info(oid: str, fields: list[tlv.Tlv]) -> ChipAuthenticationPublicKeyInfo:
    _expect_count(fields, 1, 2, "ChipAuthenticationPublicKeyInfo")
    key_agreement = KEY_AGREEMENT_DH if oid == OID_PK_DH else KEY_AGREEMENT_ECDH
    spki = _children(fields[0], "SubjectPublicKeyInfo")
    if len(spki) != 2:
        raise _MalformedError("SubjectPublicKeyInfo must hold an AlgorithmIdentifier and a BIT STRING")
    domain, parameter_id = _parse_algorithm_identifier(spki[0], key_agreement)
    key_bits = _bit_string_octets(spki[1], "subjectPublicKey")
    if isinstance(domain, Curve):
        try:
            decode_point(domain, key_bits)
        except InvalidPointError as exc:
            raise _MalformedError(f"Chip Authentication public key: {exc}") from exc
        public_key = key_bits
    else:
        value = _decode_integer(tlv.decode_single(key_bits), max_bytes=MAX_PARAMETER_BYTES, what="DH public key")
        if not 1 < value < domain.p - 1:
            raise _MalformedError("DH public key out of range")
        public_key = value.to_bytes(domain.byte_length, "big")
    key_id = _decode_integer(fields[1], what="keyId") if len(fields) == 2 else None
    return ChipAuthenticationPublicKeyInfo(oid, key_agreement, domain, public_key, key_id, parameter_id)


def _parse_active_authentication_info(oid: str, fields: list[tlv.Tlv]) -> ActiveAuthenticationInfo:
    _expect_count(fields, 2, 2, "ActiveAuthenticationInfo")
    version = _decode_integer(fields[0], what="ActiveAuthenticationInfo version")
    return ActiveAuthenticationInfo(oid, version, _decode_oid(fields[1]))


def _parse_terminal_authentication_info(oid: str, fields: list[tlv.Tlv]) -> TerminalAuthenticationInfo:
    _expect_count(fields, 1, 2, "TerminalAuthenticationInfo")
    version = _decode_integer(fields[0], what="TerminalAuthenticationInfo version")
    return TerminalAuthenticationInfo(oid, version, fields[1].encode() if len(fields) == 2 else None)


# --- domain parameters (§9.5) --------------------------------------------------------------------


def _parse_algorithm_identifier(item: tlv.Tlv, key_agreement: str) -> tuple[DomainParameters, int | None]:
    """Domain parameters of an AlgorithmIdentifier, and the standardised ID when it used one."""
    fields = _children(item, "AlgorithmIdentifier")
    if not 1 <= len(fields) <= 2:
        raise _MalformedError("AlgorithmIdentifier must hold an OID and optional parameters")
    algorithm = _decode_oid(fields[0])
    parameters = fields[1] if len(fields) == 2 else None
    if parameters is None:
        raise _MalformedError(f"AlgorithmIdentifier {algorithm} has no parameters")
    if algorithm == OID_STANDARDIZED_DOMAIN_PARAMETERS:
        parameter_id = _decode_integer(parameters, what="standardized domain parameter ID")
        domain = standardized_domain_parameters(key_agreement, parameter_id)
        if domain is None:
            raise _MalformedError(f"{parameter_id} is no standardized {key_agreement} domain parameter ID")
        return domain, parameter_id
    if algorithm == OID_EC_PUBLIC_KEY and key_agreement == KEY_AGREEMENT_ECDH:
        # A named curve is tolerated although §9.5.2 asks for explicit parameters
        return curve_from_ec_parameters(parameters.encode()), None
    if algorithm in (OID_DH_PUBLIC_NUMBER, OID_DH_KEY_AGREEMENT) and key_agreement == KEY_AGREEMENT_DH:
        return _parse_dh_parameters(parameters, with_order=algorithm == OID_DH_PUBLIC_NUMBER), None
    raise _MalformedError(f"algorithm {algorithm} does not describe {key_agreement} domain parameters")


def _parse_dh_parameters(item: tlv.Tlv, *, with_order: bool) -> ModpGroup:
    """X9.42 DomainParameters (p, g, q, ...) or PKCS #3 DHParameter (p, g[, privateValueLength]).
    Parameters equal to a standardised group yield that group (with its q)."""
    fields = _children(item, "DH parameters")
    if not 2 <= len(fields) <= 4:  # p, g, then q / privateValueLength and more
        raise _MalformedError(f"DH parameters of {len(fields)} fields, where p and g at least are expected")
    p = _decode_integer(fields[0], max_bytes=MAX_PARAMETER_BYTES, what="prime p")
    g = _decode_integer(fields[1], max_bytes=MAX_PARAMETER_BYTES, what="generator g")
    q: int | None = None
    if with_order:
        if len(fields) < 3:
            raise _MalformedError("X9.42 DH parameters lack the order q")
        q = _decode_integer(fields[2], max_bytes=MAX_PARAMETER_BYTES, what="order q")
    if p < 7 or p % 2 == 0 or not 1 < g < p - 1 or (q is not None and (q < 3 or (p - 1) % q)):
        raise _MalformedError("DH parameters out of range")
    for known in GROUPS_BY_PARAMETER_ID.values():
        if known.p == p and known.g == g and (q is None or q == known.q):
            return known
    return ModpGroup(name="explicit", p=p, g=g, q=q)

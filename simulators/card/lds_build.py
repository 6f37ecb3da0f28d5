"""Encoders for the files of the simulated CCCD, written from the specifications and independent of the
host's parsers: the TD1 MRZ and DG1 (Doc 9303-3/-5, -10 §4.7.1), EF.COM (-10 §4.6.1), DG2 as an
ISO/IEC 19794-5 facial record inside the CBEFF biometric templates 7F61/7F60/A1/5F2E (-10 §4.7.2), DG3
as an empty fingerprint group, DG13 in the Vietnamese DER layout of docs/reference/card.md "DG13", the
SecurityInfos of EF.CardAccess and DG14 (PACEInfo, ChipAuthenticationInfo,
ChipAuthenticationPublicKeyInfo, ActiveAuthenticationInfo; -11 §9.2), DG15 (SubjectPublicKeyInfo) and
EF.SOD: a CMS SignedData (RFC 5652) over the LDSSecurityObject (-10 §4.6.2, -12), with signed attributes
content-type and message-digest, signed with RSA PKCS#1 v1.5, RSASSA-PSS or ECDSA.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import ClassVar, Protocol

from asn1crypto import algos, cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from Crypto.Hash import SHA256, SHA384, SHA512
from Crypto.PublicKey import RSA
from Crypto.Signature import pss
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from agent.errors import ConfigError, MrzFormatError
from agent.icao import ec as ec_table
from agent.icao import tlv
from simulators.card.faces import FORMAT_JPEG2000, FaceImage
from simulators.card.people import Person, mrz_transliterate

# LDS tags (Doc 9303-10 §4.6)
TAG_COM = 0x60
TAG_DG1 = 0x61
TAG_DG2 = 0x75
TAG_DG3 = 0x63
TAG_DG13 = 0x6D
TAG_DG14 = 0x6E
TAG_DG15 = 0x6F
TAG_SOD = 0x77
DG_TAGS = {1: TAG_DG1, 2: TAG_DG2, 3: TAG_DG3, 13: TAG_DG13, 14: TAG_DG14, 15: TAG_DG15}

TAG_LDS_VERSION = 0x5F01
TAG_UNICODE_VERSION = 0x5F36
TAG_TAG_LIST = 0x5C
TAG_MRZ = 0x5F1F
TAG_BIOMETRIC_GROUP = 0x7F61
TAG_BIOMETRIC_TEMPLATE = 0x7F60
TAG_BIOMETRIC_HEADER = 0xA1
TAG_BIOMETRIC_DATA = 0x5F2E
TAG_BIOMETRIC_DATA_CONSTRUCTED = 0x7F2E
TAG_INSTANCE_COUNT = 0x02
TAG_BHT_VERSION = 0x80
TAG_BHT_TYPE = 0x81
TAG_BHT_FORMAT_OWNER = 0x87
TAG_BHT_FORMAT_TYPE = 0x88

LDS_VERSION = "0107"
UNICODE_VERSION = "040000"
BIOMETRIC_TYPE_FACE = 0x02
FORMAT_OWNER_ISO_SC37 = 0x0101
FORMAT_TYPE_FACE = 0x0008

# ISO/IEC 19794-5:2005 codes
FAC_FORMAT_ID = b"FAC\x00"
FAC_VERSION = b"010\x00"
GENDER_CODES = {"M": 1, "F": 2}
EXPRESSION_NEUTRAL = 1
FACE_TYPE_FULL_FRONTAL = 1
IMAGE_DATA_TYPE_JPEG = 0
IMAGE_DATA_TYPE_JPEG2000 = 1
COLOUR_SPACE_RGB24 = 1
SOURCE_DIGITAL_STILL = 2

# Object identifiers
OID_DG13_CHARSET = "1.0.10646.1.0.8"  # ISO/IEC 10646 UTF-8, as seen in CCCD DG13
OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_AA_PROTOCOL = "2.23.136.1.1.5"
OID_PK_DH = "0.4.0.127.0.7.2.2.1.1"
OID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
OID_DH_PUBLIC_NUMBER = "1.2.840.10046.2.1"  # ANSI X9.42 dhpublicnumber (RFC 3279 §2.3.3)
OID_ECDSA_PLAIN_SHA256 = "0.4.0.127.0.7.1.1.4.1.3"  # BSI TR-03111 plain signature, used for ECDSA AA
CA_PREFIX = "0.4.0.127.0.7.2.2.3"
PACE_PREFIX = "0.4.0.127.0.7.2.2.4"
CA_DH_3DES = CA_PREFIX + ".1.1"
CA_DH_AES_128 = CA_PREFIX + ".1.2"
CA_ECDH_3DES = CA_PREFIX + ".2.1"
CA_ECDH_AES_128 = CA_PREFIX + ".2.2"
PACE_DH_GM_AES_128 = PACE_PREFIX + ".1.2"
PACE_ECDH_GM_3DES = PACE_PREFIX + ".2.1"
PACE_ECDH_GM_AES_128 = PACE_PREFIX + ".2.2"
PACE_ECDH_GM_AES_256 = PACE_PREFIX + ".2.4"
PACE_DH_IM_AES_128 = PACE_PREFIX + ".3.2"
PACE_ECDH_IM_AES_128 = PACE_PREFIX + ".4.2"
PACE_ECDH_CAM_AES_128 = PACE_PREFIX + ".6.2"

DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
PYCRYPTODOME_HASHES = {"sha256": SHA256, "sha384": SHA384, "sha512": SHA512}
CRYPTO_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


# --- MRZ (Doc 9303-3 §4.9, -5 §4.2) ---------------------------------------------------------------


def check_digit(field: str) -> str:
    """The 7-3-1 check digit of an MRZ field ('<' counts 0, A=10 ... Z=35)."""
    total = 0
    for position, char in enumerate(field):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        elif char == "<":
            value = 0
        else:
            raise MrzFormatError(f"not an MRZ character: {char!r}", file="MRZ")
        total += value * (7, 3, 1)[position % 3]
    return str(total % 10)


def mrz_date(value: date) -> str:
    return value.strftime("%y%m%d")


def mrz_information(document_number: str, date_of_birth: str, date_of_expiry: str) -> str:
    """The BAC / PACE-MRZ key input: document number, DOB and expiry, each with its check digit."""
    document = document_number.ljust(9, "<")
    return (
        document
        + check_digit(document)
        + date_of_birth
        + check_digit(date_of_birth)
        + date_of_expiry
        + check_digit(date_of_expiry)
    )


def td1_lines(
    *,
    document_number: str,
    id_number: str,
    date_of_birth: str,
    sex: str,
    date_of_expiry: str,
    surname: str,
    given_names: str,
    issuing_state: str = "VNM",
    nationality: str = "VNM",
) -> tuple[str, str, str]:
    """The three 30-character lines of a CCCD MRZ. As in the public sample of docs/reference/card.md
    "The MRZ and the BAC key" the optional data of line 1 is the 12-digit ID number, '<<', then the
    check digit of that number (confirm: seen on one card)."""
    document = document_number.ljust(9, "<")
    optional_1 = (id_number + "<<" + check_digit(id_number)).ljust(15, "<")[:15]
    line1 = "ID" + issuing_state + document + check_digit(document) + optional_1
    line2_head = date_of_birth + check_digit(date_of_birth) + sex + date_of_expiry + check_digit(date_of_expiry)
    line2_body = line2_head + nationality + "<" * 11
    composite = line1[5:30] + line2_body[0:7] + line2_body[8:15] + line2_body[18:29]
    line2 = line2_body + check_digit(composite)
    name = mrz_transliterate(surname) + "<<" + mrz_transliterate(given_names).replace(" ", "<")
    line3 = name.ljust(30, "<")[:30]
    return line1, line2, line3


def person_mrz(person: Person) -> tuple[str, str, str]:
    return td1_lines(
        document_number=person.document_number,
        id_number=person.id_number,
        date_of_birth=mrz_date(person.date_of_birth),
        sex=person.sex,
        date_of_expiry=mrz_date(person.date_of_expiry),
        surname=person.surname,
        given_names=person.given_names,
    )


def person_mrz_information(person: Person) -> str:
    return mrz_information(person.document_number, mrz_date(person.date_of_birth), mrz_date(person.date_of_expiry))


# --- EF.COM, DG1, DG2, DG3 ---------------------------------------------------------------------------


def encode_com(
    dg_numbers: Sequence[int], *, lds_version: str = LDS_VERSION, unicode_version: str = UNICODE_VERSION
) -> bytes:
    tag_list = bytes(DG_TAGS[number] for number in dg_numbers)
    body = (
        tlv.encode(TAG_LDS_VERSION, lds_version.encode("ascii"))
        + tlv.encode(TAG_UNICODE_VERSION, unicode_version.encode("ascii"))
        + tlv.encode(TAG_TAG_LIST, tag_list)
    )
    return tlv.encode(TAG_COM, body)


def encode_dg1(lines: Sequence[str]) -> bytes:
    mrz = "".join(lines)
    if len(mrz) not in (90, 88, 72):
        raise MrzFormatError(f"an MRZ has 90 (TD1), 72 (TD2) or 88 (TD3) characters, not {len(mrz)}", file="DG1")
    return tlv.encode(TAG_DG1, tlv.encode(TAG_MRZ, mrz.encode("ascii")))


def facial_record(face: FaceImage, sex: str) -> bytes:
    """An ISO/IEC 19794-5:2005 facial record with one image and no feature points."""
    image_information = (
        bytes([FACE_TYPE_FULL_FRONTAL])
        + bytes([IMAGE_DATA_TYPE_JPEG2000 if face.image_format == FORMAT_JPEG2000 else IMAGE_DATA_TYPE_JPEG])
        + face.width.to_bytes(2, "big")
        + face.height.to_bytes(2, "big")
        + bytes([COLOUR_SPACE_RGB24, SOURCE_DIGITAL_STILL])
        + bytes(2)  # device type: unspecified
        + bytes(2)  # quality: unspecified
    )
    data_length = 20 + len(image_information) + len(face.data)
    information = (
        data_length.to_bytes(4, "big")
        + (0).to_bytes(2, "big")  # feature points
        + bytes([GENDER_CODES.get(sex, 0)])
        + bytes([0, 0])  # eye colour, hair colour: unspecified
        + bytes(3)  # property mask
        + EXPRESSION_NEUTRAL.to_bytes(2, "big")
        + bytes(3)  # pose angle yaw, pitch, roll
        + bytes(3)  # pose angle uncertainty
    )
    record_length = 14 + data_length
    header = FAC_FORMAT_ID + FAC_VERSION + record_length.to_bytes(4, "big") + (1).to_bytes(2, "big")
    return header + information + image_information + face.data


def encode_dg2(face: FaceImage, sex: str) -> bytes:
    header = (
        tlv.encode(TAG_BHT_VERSION, b"\x01\x01")
        + tlv.encode(TAG_BHT_TYPE, bytes([BIOMETRIC_TYPE_FACE]))
        + tlv.encode(TAG_BHT_FORMAT_OWNER, FORMAT_OWNER_ISO_SC37.to_bytes(2, "big"))
        + tlv.encode(TAG_BHT_FORMAT_TYPE, FORMAT_TYPE_FACE.to_bytes(2, "big"))
    )
    template = tlv.encode(TAG_BIOMETRIC_HEADER, header) + tlv.encode(TAG_BIOMETRIC_DATA, facial_record(face, sex))
    group = tlv.encode(TAG_INSTANCE_COUNT, b"\x01") + tlv.encode(TAG_BIOMETRIC_TEMPLATE, template)
    return tlv.encode(TAG_DG2, tlv.encode(TAG_BIOMETRIC_GROUP, group))


# ISO/IEC 39794-5 as ICAO's application profile writes it (DER; context tags): the face image data block
FORMAT_TYPE_FACE_39794 = 0x002A
DG2_ENCODING_19794 = "19794-5"
DG2_ENCODING_39794 = "39794-5"
IMAGE_DATA_FORMAT_39794 = {"jpeg": 2, "jpeg2000": 3}  # ImageDataFormat: JPEG, JPEG 2000 lossy
COLOUR_SPACE_39794_RGB24 = 2
VERSION_39794_GENERATION = 3
VERSION_39794_YEAR = 2019


def _context(number: int, value: bytes, *, constructed: bool) -> bytes:
    return tlv.encode((0xA0 if constructed else 0x80) | number, value)


def _small_integer(value: int) -> bytes:
    """The content octets of a non-negative DER INTEGER."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def face_image_data_block(face: FaceImage) -> bytes:
    """FaceImageDataBlock [APPLICATION 5] { versionBlock [0], representationBlocks [1] } with one 2D
    representation: its image [0] and image information [1] (data format, size, colour space), wrapped
    in the [1] of the biometric data record choice, as ICAO's samples are."""
    information = (
        _context(0, _context(0, _small_integer(IMAGE_DATA_FORMAT_39794[face.image_format]), constructed=False),
                 constructed=True)
        + _context(7, _context(0, _small_integer(face.width), constructed=False)
                   + _context(1, _small_integer(face.height), constructed=False), constructed=True)
        + _context(9, _context(0, _small_integer(COLOUR_SPACE_39794_RGB24), constructed=False), constructed=True)
    )  # fmt: skip
    representation_2d = _context(0, face.data, constructed=False) + _context(1, information, constructed=True)
    image_representation = _context(0, _context(0, representation_2d, constructed=True), constructed=True)
    representation = tlv.encode(
        0x30, _context(0, b"\x00", constructed=False) + _context(1, image_representation, constructed=True)
    )
    version = _context(0, _small_integer(VERSION_39794_GENERATION), constructed=False) + _context(
        1, _small_integer(VERSION_39794_YEAR), constructed=False
    )
    block = tlv.encode(
        0x65, _context(0, version, constructed=True) + _context(1, representation, constructed=True)
    )
    return _context(1, block, constructed=True)


def encode_dg2_39794(face: FaceImage) -> bytes:
    """DG2 with an ISO/IEC 39794-5 face (CBEFF format type 0x002A, constructed biometric data block 7F2E)."""
    header = tlv.encode(TAG_BHT_FORMAT_OWNER, FORMAT_OWNER_ISO_SC37.to_bytes(2, "big")) + tlv.encode(
        TAG_BHT_FORMAT_TYPE, FORMAT_TYPE_FACE_39794.to_bytes(2, "big")
    )
    template = tlv.encode(TAG_BIOMETRIC_HEADER, header) + tlv.encode(
        TAG_BIOMETRIC_DATA_CONSTRUCTED, face_image_data_block(face)
    )
    group = tlv.encode(TAG_INSTANCE_COUNT, b"\x01") + tlv.encode(TAG_BIOMETRIC_TEMPLATE, template)
    return tlv.encode(TAG_DG2, tlv.encode(TAG_BIOMETRIC_GROUP, group))


def encode_dg3_empty() -> bytes:
    """DG3 with no fingerprint (the real one is EAC-protected and never read)."""
    return tlv.encode(TAG_DG3, tlv.encode(TAG_BIOMETRIC_GROUP, tlv.encode(TAG_INSTANCE_COUNT, b"\x00")))


# --- DG13 (docs/reference/card.md "DG13") ---------------------------------------------------------

Dg13Value = str | tuple[str, ...] | None
PRINTABLE_FIELDS = frozenset({1, 3, 11, 15, 16})


def _der(tag: int, value: bytes) -> bytes:
    return tlv.encode(tag, value)


def _sequence(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _set_der(items: Sequence[bytes]) -> bytes:
    """A DER SET OF: elements sorted by their encodings (X.690 §11.6)."""
    return _der(0x31, b"".join(sorted(items)))


def _integer(value: int) -> bytes:
    return bytes(core.Integer(value).dump())


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def dg13_fields(person: Person) -> dict[int, Dg13Value]:
    """The DG13 field values of ``person``, numbered as in docs/reference/card.md "DG13"."""
    return {
        1: person.id_number,
        2: person.full_name,
        3: person.date_of_birth.strftime("%d/%m/%Y"),
        4: person.sex_vi,
        5: person.nationality,
        6: person.ethnicity,
        7: person.religion,
        8: person.place_of_origin,
        9: person.permanent_residence,
        10: person.identifying_marks,
        11: person.date_of_issue.strftime("%d/%m/%Y"),
        12: person.date_of_expiry.strftime("%d/%m/%Y"),
        13: (person.father_name, person.mother_name),
        14: (person.spouse_name,) if person.spouse_name else (),
        15: person.old_id_number,
        16: person.card_serial,
    }


def encode_dg13(fields: Mapping[int, Dg13Value]) -> bytes:
    """6D { SEQUENCE { INTEGER 1, OID 1.0.10646.1.0.8, SET { SEQUENCE { INTEGER n, value } ... } } }.

    Strings are PrintableString for the numbers and dates (fields 1, 3, 11, 15, 16) and UTF8String
    otherwise; a tuple becomes a SEQUENCE of UTF8String (13: father, mother; 14: spouse, empty when
    single); None leaves the field out. Fields stay in number order, as a card writes them."""
    entries = []
    for number in sorted(fields):
        value = fields[number]
        if value is None:
            continue
        if isinstance(value, tuple):
            encoded = _sequence(*(core.UTF8String(item).dump() for item in value))
        elif number in PRINTABLE_FIELDS:
            encoded = core.PrintableString(value).dump()
        else:
            encoded = core.UTF8String(value).dump()
        entries.append(_sequence(_integer(number), encoded))
    body = _sequence(_integer(1), _oid(OID_DG13_CHARSET), _der(0x31, b"".join(entries)))
    return tlv.encode(TAG_DG13, body)


# --- SecurityInfos: EF.CardAccess, DG14 (Doc 9303-11 §9.2) -----------------------------------------


def pace_info(protocol_oid: str, parameter_id: int | None, *, version: int = 2) -> bytes:
    parts = [_oid(protocol_oid), _integer(version)]
    if parameter_id is not None:
        parts.append(_integer(parameter_id))
    return _sequence(*parts)


def chip_authentication_info(protocol_oid: str, *, key_id: int | None = None, version: int = 1) -> bytes:
    parts = [_oid(protocol_oid), _integer(version)]
    if key_id is not None:
        parts.append(_integer(key_id))
    return _sequence(*parts)


def chip_authentication_public_key_info(
    public_key_spki: bytes, *, key_id: int | None = None, dh: bool = False
) -> bytes:
    parts = [_oid(OID_PK_DH if dh else OID_PK_ECDH), public_key_spki]
    if key_id is not None:
        parts.append(_integer(key_id))
    return _sequence(*parts)


def dh_public_key_spki(p: int, g: int, q: int, public_value: int) -> bytes:
    """The SubjectPublicKeyInfo of a DH Chip Authentication key (Doc 9303-11 §9.2.6, §9.5.2) in the
    explicit ANSI X9.42 form of RFC 3279 §2.3.3: AlgorithmIdentifier { dhpublicnumber, DomainParameters
    { p, g, q } } and a BIT STRING holding the DER INTEGER y (DHPublicKey)."""
    algorithm = _sequence(_oid(OID_DH_PUBLIC_NUMBER), _sequence(_integer(p), _integer(g), _integer(q)))
    return _sequence(algorithm, _der(0x03, b"\x00" + _integer(public_value)))


def active_authentication_info(signature_algorithm_oid: str = OID_ECDSA_PLAIN_SHA256) -> bytes:
    return _sequence(_oid(OID_AA_PROTOCOL), _integer(1), _oid(signature_algorithm_oid))


def encode_security_infos(infos: Sequence[bytes]) -> bytes:
    return _set_der(infos)


# --- EF.ATR/INFO (ISO/IEC 7816-4 §12.2.2, §12.1.1.9 card capabilities, §12.7.1 extended length info) ----

TAG_CARD_CAPABILITIES = 0x47
TAG_EXTENDED_LENGTH_INFO = 0x7F66
CAPABILITIES_SELECTION = 0x80 | 0x10  # DF selection by full name (AID), by file identifier
CAPABILITY_SHORT_EF = 0x04
DATA_CODING_ONE_BYTE_UNITS = 0x01
CAPABILITY_EXTENDED = 0x40  # extended Lc and Le fields
CAPABILITY_EXTENDED_INFO = 0x20  # extended length information in EF.ATR/INFO


def encode_atr_info(*, extended: bool, short_ef: bool, max_command: int, max_response: int) -> bytes:
    """EF.ATR/INFO: the card capabilities (DO'47', three software function tables) and, for a card that
    takes extended lengths, the largest command and response APDU (DO'7F66', two INTEGERs)."""
    first = CAPABILITIES_SELECTION | (CAPABILITY_SHORT_EF if short_ef else 0)
    third = (CAPABILITY_EXTENDED | CAPABILITY_EXTENDED_INFO) if extended else 0
    content = tlv.encode(TAG_CARD_CAPABILITIES, bytes([first, DATA_CODING_ONE_BYTE_UNITS, third]))
    if extended:
        lengths = tlv.encode(0x02, _small_integer(max_command)) + tlv.encode(0x02, _small_integer(max_response))
        content += tlv.encode(TAG_EXTENDED_LENGTH_INFO, lengths)
    return content


def encode_card_access(pace_infos: Sequence[bytes]) -> bytes:
    """EF.CardAccess: a bare SET OF SecurityInfo (no application tag)."""
    return encode_security_infos(pace_infos)


def encode_dg14(infos: Sequence[bytes]) -> bytes:
    return tlv.encode(TAG_DG14, encode_security_infos(infos))


def encode_dg15(public_key_spki: bytes) -> bytes:
    return tlv.encode(TAG_DG15, public_key_spki)


def explicit_ec_spki(public_key_spki: bytes) -> bytes:
    """The same EC public key with its curve given as explicit domain parameters (X9.62 / RFC 3279
    SpecifiedECDomain, uncompressed base point), as many issuers write DG15 and CSCA keys. The curve's
    constants come from the standardised table of agent.icao.ec (a low-level primitive shared with the host)."""
    info = asn1_keys.PublicKeyInfo.load(public_key_spki)
    curve = ec_table.CURVES_BY_OID[info["algorithm"]["parameters"].chosen.dotted]
    size = curve.byte_length
    domain = asn1_keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.p},
            "curve": {"a": curve.a.to_bytes(size, "big"), "b": curve.b.to_bytes(size, "big")},
            "base": b"\x04" + curve.gx.to_bytes(size, "big") + curve.gy.to_bytes(size, "big"),
            "order": curve.n,
            "cofactor": curve.h,
        }
    )
    parameters = asn1_keys.ECDomainParameters(name="specified", value=domain)
    explicit = asn1_keys.PublicKeyInfo(
        {"algorithm": {"algorithm": "ec", "parameters": parameters}, "public_key": info["public_key"].native}
    )
    return bytes(explicit.dump())


# --- EF.SOD (Doc 9303-10 §4.6.2, RFC 5652) -----------------------------------------------------------


class _DataGroupHash(core.Sequence):  # type: ignore[misc]  # asn1crypto ships no type information
    _fields: ClassVar = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class _DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]  # asn1crypto ships no type information
    _child_spec = _DataGroupHash


class _LdsVersionInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto ships no type information
    _fields: ClassVar = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]


class _LdsSecurityObject(core.Sequence):  # type: ignore[misc]  # asn1crypto ships no type information
    _fields: ClassVar = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", _DataGroupHashValues),
        ("lds_version_info", _LdsVersionInfo, {"optional": True}),
    ]


class SodSigner(Protocol):
    """What EF.SOD needs of a document signer (simulators.card.pki.DocumentSigner fits)."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def private_key(self) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey: ...

    @property
    def scheme(self) -> str: ...


def encode_lds_security_object(
    files: Mapping[int, bytes], digest: str = "sha256", *, with_version_info: bool = False
) -> bytes:
    """The LDSSecurityObject: the hash of each data group, in data-group order (version 0, or version
    1 with LDSVersionInfo)."""
    hash_function = DIGESTS[digest]
    values = [
        {"data_group_number": number, "data_group_hash_value": hash_function(files[number]).digest()}
        for number in sorted(files)
    ]
    content: dict[str, object] = {
        "version": 1 if with_version_info else 0,
        "hash_algorithm": {"algorithm": digest},
        "data_group_hash_values": values,
    }
    if with_version_info:
        content["lds_version_info"] = {"lds_version": LDS_VERSION, "unicode_version": UNICODE_VERSION}
    return bytes(_LdsSecurityObject(content).dump())


def _pss_salt_source(message: bytes) -> Callable[[int], bytes]:
    # a salt derived from the message: PSS stays valid and the SOD stays reproducible
    key = hashlib.sha256(b"pss-salt" + message).digest()
    state = {"counter": 0}

    def salt(length: int) -> bytes:
        out = b""
        while len(out) < length:
            out += hmac.new(key, state["counter"].to_bytes(4, "big"), hashlib.sha256).digest()
            state["counter"] += 1
        return out[:length]

    return salt


def sign_sod_content(signer: SodSigner, data: bytes, digest: str) -> bytes:
    key = signer.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(CRYPTO_HASHES[digest], deterministic_signing=True))
    if signer.scheme == "pss":
        crypto_key = RSA.import_key(
            key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        hash_object = PYCRYPTODOME_HASHES[digest].new(data)
        salt_length = hash_object.digest_size
        return pss.new(crypto_key, salt_bytes=salt_length, rand_func=_pss_salt_source(data)).sign(hash_object)
    return key.sign(data, padding.PKCS1v15(), CRYPTO_HASHES[digest])


def _signature_algorithm(signer: SodSigner, digest: str) -> algos.SignedDigestAlgorithm:
    if isinstance(signer.private_key, ec.EllipticCurvePrivateKey):
        return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_ecdsa"})
    if signer.scheme == "pss":
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": digest},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": digest}},
                "salt_length": DIGESTS[digest]().digest_size,
                "trailer_field": "trailer_field_bc",
            }
        )
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    return algos.SignedDigestAlgorithm({"algorithm": f"{digest}_rsa"})


def encode_sod(
    files: Mapping[int, bytes],
    signer: SodSigner,
    *,
    digest: str = "sha256",
    signing_time: datetime | None = None,
    with_version_info: bool = False,
    corrupt_signature: bool = False,
) -> bytes:
    """EF.SOD over the data groups in ``files`` (DG number -> whole file), signed by ``signer``.

    ``corrupt_signature`` flips one bit of the last signature byte after signing (for the
    "bad SOD signature" profile): the structure stays valid, the signature does not."""
    if digest not in DIGESTS:
        raise ConfigError(f"unsupported digest {digest!r}", key="digest")
    lds_object = encode_lds_security_object(files, digest, with_version_info=with_version_info)
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": [OID_LDS_SECURITY_OBJECT]}),
        cms.CMSAttribute({"type": "message_digest", "values": [DIGESTS[digest](lds_object).digest()]}),
    ]
    if signing_time is not None:
        attributes.append(cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]}))
    signed_attributes = cms.CMSAttributes(attributes)
    to_sign = signed_attributes.dump()  # the SET OF (tag 31) form is what gets signed (RFC 5652 §5.4)
    signature = sign_sod_content(signer, to_sign, digest)
    if corrupt_signature:
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])

    certificate = asn1_x509.Certificate.load(signer.certificate.public_bytes(serialization.Encoding.DER))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": signed_attributes,
            "signature_algorithm": _signature_algorithm(signer, digest),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": digest}],
            "encap_content_info": {
                "content_type": OID_LDS_SECURITY_OBJECT,
                "content": core.ParsableOctetString(lds_object),
            },
            "certificates": [certificate],
            "signer_infos": [signer_info],
        }
    )
    content_info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return tlv.encode(TAG_SOD, content_info.dump())

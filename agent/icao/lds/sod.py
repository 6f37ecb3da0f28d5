"""EF.SOD, the Document Security Object (Doc 9303-10 §4.6.2, Doc 9303-12 §7 and Appendix A): a CMS
SignedData (RFC 5652) whose content is the LDS security object — the hash algorithm and one hash per
data group — signed by the Document Signer, whose certificate it normally carries.

This module only parses: it extracts what passive authentication needs (the exact bytes that were
hashed and signed, the signed attributes, the signer identifier and certificates) and raises
:class:`agent.errors.DocumentError` with ``file="EF.SOD"`` for anything it cannot read. Whether the
signature verifies is :mod:`agent.icao.passive_auth`'s business.

The eContentType is the ICAO LDS security object OID (Doc 9303-10 §4.6.2.1); some issuers' SODs carry
the generic id-data of RFC 5652 §4 instead, or an early OID (the mistyped 1.3.27.1.1.1, the Dutch SDU
1.2.528.1.1006.1.20.1) that the reference readers (JMRTD's SODFile) accept: they are read the same way,
with a note (:attr:`SecurityObject.notes`), and everything else is verified as usual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from agent.errors import DocumentError, TlvError
from agent.icao import pki, signed_data, tlv
from agent.icao.lds import unwrap
from agent.icao.lds_registry import DATA_GROUPS, EF_SOD

OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_ID_DATA = "1.2.840.113549.1.7.1"
# eContentTypes accepted in place of the LDS security object OID, and what each is.
LEGACY_CONTENT_TYPES: Mapping[str, str] = {
    OID_ID_DATA: "id-data (RFC 5652)",
    "1.3.27.1.1.1": "an early, mistyped LDS security object OID",
    "1.2.528.1.1006.1.20.1": "the Dutch SDU LDS security object OID",
}

TAG_SEQUENCE = 0x30
TAG_INTEGER = 0x02
TAG_OID = 0x06
TAG_OCTET_STRING = 0x04
TAG_PRINTABLE_STRING = 0x13


@dataclasses.dataclass(frozen=True)
class SecurityObject:
    """A parsed EF.SOD: the signed LDS security object and its CMS wrapping."""

    raw: bytes = dataclasses.field(repr=False)
    signed: signed_data.SignedContent = dataclasses.field(repr=False)
    version: int
    hash_algorithm: str  # OID
    data_group_hashes: Mapping[int, bytes] = dataclasses.field(repr=False)
    lds_version: str | None
    unicode_version: str | None

    @property
    def hash_name(self) -> str:
        return pki.hash_name(self.hash_algorithm)

    @property
    def data_groups(self) -> tuple[int, ...]:
        return tuple(sorted(self.data_group_hashes))

    @property
    def signer(self) -> signed_data.SignerInfo:
        return self.signed.signer

    @property
    def certificates(self) -> tuple[pki.Certificate, ...]:
        return self.signed.certificates

    @property
    def notes(self) -> tuple[str, ...]:
        """What was accepted that a strict reader would not (a legacy eContentType)."""
        return (self.signed.content_type_note,) if self.signed.content_type_note else ()

    def signer_certificate(self) -> pki.Certificate | None:
        """The Document Signer certificate: the one the SignerInfo names, else the one embedded
        certificate that verifies the signature (:meth:`agent.icao.signed_data.SignedContent.find_signer`)."""
        return self.signed.find_signer().certificate


def parse_sod(data: bytes) -> SecurityObject:
    """Parse EF.SOD (tag 77 around a CMS ContentInfo)."""
    wrapper = unwrap(data, EF_SOD)
    signed = signed_data.read_signed_data(
        wrapper.value, file=EF_SOD.name, content_type=OID_LDS_SECURITY_OBJECT, legacy_content_types=LEGACY_CONTENT_TYPES
    )
    version, hash_algorithm, hashes_by_group, lds_version, unicode_version = parse_lds_security_object(
        signed.content
    )
    return SecurityObject(
        raw=bytes(data),
        signed=signed,
        version=version,
        hash_algorithm=hash_algorithm,
        data_group_hashes=hashes_by_group,
        lds_version=lds_version,
        unicode_version=unicode_version,
    )


def parse_lds_security_object(
    content: bytes,
) -> tuple[int, str, dict[int, bytes], str | None, str | None]:
    """LDSSecurityObject (Doc 9303-10 §4.6.2.2): version, hash OID, DG hashes, LDS/Unicode versions."""
    try:
        outer = tlv.decode_single(content, TAG_SEQUENCE)
        fields = outer.children()
        if len(fields) < 3:
            raise DocumentError("LDS security object has fewer than 3 fields", file=EF_SOD.name)
        version = _integer(fields[0], "version")
        if fields[1].tag != TAG_SEQUENCE:
            raise DocumentError("hashAlgorithm is not an AlgorithmIdentifier", file=EF_SOD.name)
        algorithm_fields = fields[1].children()
        if not algorithm_fields or algorithm_fields[0].tag != TAG_OID:
            raise DocumentError("hashAlgorithm has no OID", file=EF_SOD.name)
        hash_algorithm = decode_oid(algorithm_fields[0].value)
        if fields[2].tag != TAG_SEQUENCE:
            raise DocumentError("dataGroupHashValues is not a SEQUENCE", file=EF_SOD.name)
        hashes_by_group: dict[int, bytes] = {}
        for entry in fields[2].children():
            if entry.tag != TAG_SEQUENCE:
                raise DocumentError("DataGroupHash is not a SEQUENCE", file=EF_SOD.name)
            parts = entry.children()
            if len(parts) != 2 or parts[1].tag != TAG_OCTET_STRING:
                raise DocumentError("DataGroupHash is not {number, OCTET STRING}", file=EF_SOD.name)
            number = _integer(parts[0], "dataGroupNumber")
            if number not in DATA_GROUPS:
                raise DocumentError(f"data group number {number} out of range", file=EF_SOD.name)
            if number in hashes_by_group:
                raise DocumentError(f"DG{number} is listed twice", file=EF_SOD.name)
            hashes_by_group[number] = parts[1].value
        lds_version = unicode_version = None
        if len(fields) > 3 and fields[3].tag == TAG_SEQUENCE:
            info = fields[3].children()
            if len(info) == 2 and all(item.tag == TAG_PRINTABLE_STRING for item in info):
                lds_version = _ascii(info[0].value, "ldsVersion")
                unicode_version = _ascii(info[1].value, "unicodeVersion")
    except TlvError as exc:
        raise DocumentError(f"LDS security object: {exc.message}", file=EF_SOD.name) from exc
    return version, hash_algorithm, hashes_by_group, lds_version, unicode_version


def _integer(item: tlv.Tlv, what: str) -> int:
    if item.tag != TAG_INTEGER or not item.value or len(item.value) > 8:
        raise DocumentError(f"{what} is not a small INTEGER", file=EF_SOD.name)
    return int.from_bytes(item.value, "big", signed=True)


def _ascii(value: bytes, what: str) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{what} is not ASCII", file=EF_SOD.name) from exc


def decode_oid(value: bytes) -> str:
    """Dotted text of a DER OBJECT IDENTIFIER body (X.690 §8.19)."""
    try:
        return tlv.decode_oid(value)
    except ValueError as exc:
        raise DocumentError(f"malformed OBJECT IDENTIFIER: {exc}", file=EF_SOD.name) from exc

"""CMS SignedData (RFC 5652 §5) as used by the eMRTD PKI: EF.SOD (Doc 9303-10 §4.6.2) and the CSCA
master list (Doc 9303-12 §8). Reads the encapsulated content, the single SignerInfo and the
embedded certificates, finds the signer's certificate, and verifies a SignerInfo against a
certificate: the signature over the DER signed attributes and the message-digest attribute against
the hash of the content.

Finding the signer (RFC 5652 §5.3, §10.2.4): the SignerIdentifier names a certificate by issuer and
serial number (names compared as RFC 5280 §7.1 says, :class:`agent.icao.pki.DistinguishedName`) or by
subject key identifier. Real documents name their signer in ways that match no embedded certificate
(an issuer written with its attributes in another order); when nothing matches and exactly one embedded
certificate verifies the signature, that one is the signer, as the reference readers take it, and the
result says so (:class:`SignerMatch`).

Parsing raises :class:`agent.errors.DocumentError` naming the file; verification never raises and
answers with :class:`agent.models.Outcome` values.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from datetime import datetime

from asn1crypto import cms

from agent.errors import DocumentError
from agent.icao import pki, tlv
from agent.models import Outcome

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_ATTR_SIGNING_TIME = "1.2.840.113549.1.9.5"
TAG_SET = 0x31


@dataclasses.dataclass(frozen=True)
class SignerIdentifier:
    """RFC 5652 §5.3 SignerIdentifier: issuer + serial number, or a subject key identifier."""

    issuer: pki.DistinguishedName | None = None
    serial_number: int | None = None
    subject_key_identifier: bytes | None = None

    def matches(self, certificate: pki.Certificate) -> bool:
        if self.subject_key_identifier is not None:
            return certificate.subject_key_identifier == self.subject_key_identifier
        return (
            self.issuer is not None
            and certificate.issuer.key == self.issuer.key
            and certificate.serial_number == self.serial_number
        )


@dataclasses.dataclass(frozen=True)
class SignerInfo:
    """One SignerInfo, reduced to what a verifier needs."""

    identifier: SignerIdentifier
    digest_algorithm: str  # OID
    signature_scheme: pki.SignatureScheme
    signature: bytes = dataclasses.field(repr=False)
    # The signed attributes re-tagged as SET OF (RFC 5652 §5.4): the bytes the signature covers.
    signed_attributes: bytes | None = dataclasses.field(default=None, repr=False)
    message_digests: tuple[bytes, ...] = dataclasses.field(default=(), repr=False)
    content_types: tuple[str, ...] = ()
    signing_time: datetime | None = None


@dataclasses.dataclass(frozen=True)
class SignerMatch:
    """The certificate that signed a SignedData and how it was found. ``note`` is empty when the
    SignerIdentifier named it; otherwise it says why the certificate was taken anyway."""

    certificate: pki.Certificate | None
    note: str = ""

    @property
    def by_identifier(self) -> bool:
        return self.certificate is not None and not self.note


@dataclasses.dataclass(frozen=True)
class SignedContent:
    """A parsed SignedData with its content included (not detached). ``content_type_note`` is set when
    the eContentType is one of the legacy types accepted in place of the expected one."""

    content_type: str
    content: bytes = dataclasses.field(repr=False)
    signer: SignerInfo
    certificates: tuple[pki.Certificate, ...] = dataclasses.field(repr=False)
    content_type_note: str = ""

    def signer_certificate(self) -> pki.Certificate | None:
        """The embedded certificate the SignerInfo names, if any (see :meth:`find_signer`)."""
        for certificate in self.certificates:
            if self.signer.identifier.matches(certificate):
                return certificate
        return None

    def find_signer(self) -> SignerMatch:
        """The signer's certificate: the one the SignerIdentifier names, else the only embedded
        certificate whose key verifies the signature (a genuine document whose identifier is written
        differently is then not reported as forged), else none."""
        named = self.signer_certificate()
        if named is not None:
            return SignerMatch(named)
        verifying = [certificate for certificate in self.certificates if check_signature(self, certificate).is_ok]
        if not verifying:
            return SignerMatch(None)
        identifier = self.signer.identifier
        how = "subject key identifier" if identifier.subject_key_identifier is not None else "issuer and serial number"
        which = "the one embedded certificate" if len(self.certificates) == 1 else "the embedded certificate"
        return SignerMatch(
            verifying[0],
            f"the signer identifier ({how}) names no embedded certificate; {which} whose key verifies "
            f"the signature ({verifying[0].subject.text}) was taken as the signer",
        )


def read_signed_data(
    content_info_der: bytes, *, file: str, content_type: str, legacy_content_types: Mapping[str, str] | None = None
) -> SignedContent:
    """Parse a ContentInfo holding SignedData whose eContentType must be ``content_type``, or one of
    ``legacy_content_types`` (OID -> what it is), which is accepted with a note."""
    legacy = legacy_content_types or {}
    with pki.asn1_guard(file, "CMS SignedData"):
        content_info = cms.ContentInfo.load(content_info_der, strict=True)
        if content_info["content_type"].dotted != OID_SIGNED_DATA:
            raise DocumentError("content is not CMS SignedData", file=file)
        signed_data = content_info["content"]
        encapsulated = signed_data["encap_content_info"]
        found_type = encapsulated["content_type"].dotted
        note = ""
        if found_type != content_type:
            if found_type not in legacy:
                raise DocumentError(f"eContentType is {found_type}, expected {content_type}", file=file)
            note = (f"eContentType is {legacy[found_type]} ({found_type}) instead of {content_type}: "
                    "accepted, as the reference readers do")  # fmt: skip
        native = encapsulated["content"].native
        if native is None:
            raise DocumentError("the signed content is not included (detached signature)", file=file)
        if not isinstance(native, bytes):
            raise DocumentError("eContent is not an OCTET STRING", file=file)
        content = bytes(native)
        signer_infos = list(signed_data["signer_infos"])
        if len(signer_infos) != 1:
            raise DocumentError(f"expected one SignerInfo, found {len(signer_infos)}", file=file)
        signer = _read_signer_info(signer_infos[0], file)
        certificate_ders: list[bytes] = []
        certificates = signed_data["certificates"]
        if certificates.native is not None:
            for choice in certificates:
                if choice.name == "certificate":
                    certificate_ders.append(choice.chosen.dump())
    parsed = tuple(pki.parse_certificate(der, file=file) for der in certificate_ders)
    return SignedContent(found_type, content, signer, parsed, note)


def _read_signer_info(info: cms.SignerInfo, file: str) -> SignerInfo:
    sid = info["sid"]
    if sid.name == "issuer_and_serial_number":
        identifier = SignerIdentifier(
            issuer=pki.read_name(sid.chosen["issuer"], file=file), serial_number=int(sid.chosen["serial_number"].native)
        )
    else:
        identifier = SignerIdentifier(subject_key_identifier=bytes(sid.chosen.native))
    digest_algorithm = info["digest_algorithm"]["algorithm"].dotted
    algorithm = info["signature_algorithm"]
    parameters = algorithm["parameters"]
    parameters_der = parameters.dump() if parameters.native is not None else None
    scheme = pki.signature_scheme(algorithm["algorithm"].dotted, parameters_der, digest_oid=digest_algorithm, file=file)
    signature = bytes(info["signature"].native)
    attributes = info["signed_attrs"]
    if attributes.native is None:
        return SignerInfo(identifier, digest_algorithm, scheme, signature)
    signed_attributes = tlv.encode(TAG_SET, bytes(attributes.contents))
    digests: list[bytes] = []
    content_types: list[str] = []
    signing_time: datetime | None = None
    for attribute in attributes:
        kind = attribute["type"].dotted
        values = list(attribute["values"])
        if kind == OID_ATTR_MESSAGE_DIGEST:
            digests.extend(bytes(value.native) for value in values)
        elif kind == OID_ATTR_CONTENT_TYPE:
            content_types.extend(value.dotted for value in values)
        elif kind == OID_ATTR_SIGNING_TIME and len(values) == 1:
            moment = values[0].native
            signing_time = moment if isinstance(moment, datetime) else None
    return SignerInfo(
        identifier, digest_algorithm, scheme, signature, signed_attributes, tuple(digests), tuple(content_types),
        signing_time,
    )


def check_message_digest(signed: SignedContent) -> Outcome:
    """The message-digest attribute against the hash of the content (RFC 5652 §11.2)."""
    signer = signed.signer
    if signer.signed_attributes is None:
        return Outcome.ok("no signed attributes: the signature covers the content itself")
    if len(signer.message_digests) != 1:
        return Outcome.failed(f"{len(signer.message_digests)} message-digest values in the signed attributes")
    if signer.content_types != (signed.content_type,):
        return Outcome.failed("the content-type attribute does not name the signed content")
    if not pki.is_supported_hash(signer.digest_algorithm):
        return Outcome.unknown(f"unsupported digest algorithm {signer.digest_algorithm}")
    actual = pki.digest(signer.digest_algorithm, signed.content)
    if not hmac.compare_digest(actual, signer.message_digests[0]):
        return Outcome.failed("the message digest does not match the signed content")
    return Outcome.ok(pki.hash_name(signer.digest_algorithm))


def check_signature(signed: SignedContent, certificate: pki.Certificate) -> Outcome:
    """The SignerInfo signature, verified with ``certificate``'s public key."""
    signer = signed.signer
    covered = signer.signed_attributes if signer.signed_attributes is not None else signed.content
    return pki.verify_signature(certificate.public_key, signer.signature_scheme, signer.signature, covered)

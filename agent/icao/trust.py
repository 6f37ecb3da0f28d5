"""The trust store of passive authentication (Doc 9303-12 §5-§8): CSCA certificates, CSCA master
lists (CMS SignedData over a CscaMasterList, signature checked, every certificate in it checked and
the failures reported) and certificate revocation lists (RFC 5280 §5).

Pure: everything is built from bytes handed in (DER, PEM text, or a master list). Reading a trust
directory from disk is the job of :mod:`agent.trust_files`. The store answers two questions for
passive authentication: which trusted CSCAs could have issued this certificate, and which CRLs a
given CSCA published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import pem

from agent.errors import DocumentError, TlvError
from agent.icao import pki, signed_data, tlv
from agent.models import Outcome, Status

OID_CSCA_MASTER_LIST = "2.23.136.1.1.2"
FILE_MASTER_LIST = "master list"
FILE_CRL = "CRL"

TAG_SEQUENCE = 0x30
TAG_SET = 0x31
TAG_INTEGER = 0x02
TAG_OID = 0x06
TAG_CONTEXT_0 = 0xA0
TAG_UTC_TIME = 0x17
TAG_GENERALIZED_TIME = 0x18

PEM_CERTIFICATE = ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")
PEM_CRL = ("X509 CRL", "CRL")
PEM_CMS = ("CMS", "PKCS7", "PKCS #7 SIGNED DATA")


# --- CRLs ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RevocationList:
    """A parsed CRL (RFC 5280 §5.1). ``revoked`` maps serial numbers to revocation dates."""

    der: bytes = dataclasses.field(repr=False)
    issuer: pki.DistinguishedName
    this_update: datetime
    next_update: datetime | None
    revoked: Mapping[int, datetime | None] = dataclasses.field(repr=False)
    signature_scheme: pki.SignatureScheme = dataclasses.field(repr=False)
    signature: bytes = dataclasses.field(repr=False)
    tbs: bytes = dataclasses.field(repr=False)
    authority_key_identifier: bytes | None = dataclasses.field(default=None, repr=False)

    def verify_issued_by(self, issuer_key: pki.PublicKey) -> Outcome:
        return pki.verify_signature(issuer_key, self.signature_scheme, self.signature, self.tbs)

    def outdated_at(self, at: datetime) -> bool:
        return self.next_update is not None and self.next_update < at


def parse_crl(der: bytes, *, file: str = FILE_CRL) -> RevocationList:
    with pki.asn1_guard(file, "CRL"):
        parsed = asn1_crl.CertificateList.load(bytes(der), strict=True)
        tbs = parsed["tbs_cert_list"]
        algorithm = parsed["signature_algorithm"]
        parameters = algorithm["parameters"]
        parameters_der = parameters.dump() if parameters.native is not None else None
        scheme = pki.signature_scheme(algorithm["algorithm"].dotted, parameters_der, digest_oid=None, file=file)
        issuer = pki.read_name(tbs["issuer"], file=file)
        this_update = tbs["this_update"].native
        next_value = tbs["next_update"]
        next_update = next_value.native if next_value.native is not None else None
        revoked: dict[int, datetime | None] = {}
        entries = tbs["revoked_certificates"]
        if entries.native is not None:
            for entry in entries:
                when = entry["revocation_date"].native
                revoked[int(entry["user_certificate"].native)] = when if isinstance(when, datetime) else None
        aki = parsed.authority_key_identifier
        signature = bytes(parsed["signature"].native)
        tbs_der = tbs.dump()
    if not isinstance(this_update, datetime) or not (next_update is None or isinstance(next_update, datetime)):
        raise DocumentError("CRL dates are not times", file=file)
    return RevocationList(
        der=bytes(der),
        issuer=issuer,
        this_update=this_update,
        next_update=next_update,
        revoked=revoked,
        signature_scheme=scheme,
        signature=signature,
        tbs=tbs_der,
        authority_key_identifier=bytes(aki) if aki is not None else None,
    )


# --- master lists --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RejectedCertificate:
    """A certificate of a master list that is not loaded, and why."""

    index: int
    subject: str
    reason: str


@dataclasses.dataclass(frozen=True)
class MasterListFile:
    """A master list read and its own signature checked, its certificates not yet judged: the first of
    the two steps of :func:`parse_master_list`, so that a trust directory's lists can resolve each
    other's issuers (:func:`check_master_list`) before any is trusted."""

    raw: bytes = dataclasses.field(repr=False)
    version: int
    signer: pki.Certificate | None
    signature: Outcome
    certificates: tuple[tuple[int, pki.Certificate], ...] = dataclasses.field(repr=False)
    unreadable: tuple[RejectedCertificate, ...] = ()
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class MasterList:
    """A CSCA master list: whether its signature holds, what it vouches for and what failed.

    ``certificates`` are the ones accepted; they are trusted only if ``usable`` (the CMS signature and
    the message digest verify, and the signer's certificate does not fail against its issuer).
    ``signer_chain`` is the signer's certificate checked against the trust directory's roots
    (certificates loaded from files of their own), never against the list's own content: a list
    cannot vouch for its own signer.
    """

    raw: bytes = dataclasses.field(repr=False)
    version: int
    signer: pki.Certificate | None
    signature: Outcome
    signer_chain: Outcome
    certificates: tuple[pki.Certificate, ...] = dataclasses.field(repr=False)
    rejected: tuple[RejectedCertificate, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.signature.is_ok and self.signer_chain.status is not Status.FAILED


class CertificateIndex:
    """Certificates by subject (RFC 5280 name key) and by subject key identifier, so that the issuers
    of a certificate are found without scanning every certificate loaded."""

    def __init__(self, certificates: Iterable[pki.Certificate] = ()) -> None:
        self._by_subject: dict[str, list[pki.Certificate]] = {}
        self._seen: set[str] = set()
        for certificate in certificates:
            self.add(certificate)

    def add(self, certificate: pki.Certificate) -> None:
        if certificate.fingerprint in self._seen:
            return
        self._seen.add(certificate.fingerprint)
        self._by_subject.setdefault(certificate.subject.key, []).append(certificate)

    def issuers_of(self, certificate: pki.Certificate) -> list[pki.Certificate]:
        """Certificates whose subject is ``certificate``'s issuer and whose key identifier agrees with
        its authority key identifier (the certificate itself included when it is self-signed)."""
        return [c for c in self._by_subject.get(certificate.issuer.key, []) if _key_ids_agree(certificate, c)]

    def has_subject(self, name: pki.DistinguishedName) -> bool:
        return name.key in self._by_subject


def read_master_list(data: bytes) -> MasterListFile:
    """Parse an ICAO CscaMasterList (Doc 9303-12 §8) given as DER ContentInfo and check its CMS
    signature and message digest; the certificates are parsed, not yet judged."""
    signed = signed_data.read_signed_data(bytes(data), file=FILE_MASTER_LIST, content_type=OID_CSCA_MASTER_LIST)
    version, certificate_ders = _read_csca_master_list(signed.content)
    parsed: list[tuple[int, pki.Certificate]] = []
    unreadable: list[RejectedCertificate] = []
    for index, der in enumerate(certificate_ders):
        try:
            parsed.append((index, pki.parse_certificate(der, file=FILE_MASTER_LIST)))
        except DocumentError as exc:
            unreadable.append(RejectedCertificate(index, "?", exc.message))
    match = signed.find_signer()
    signer = match.certificate
    if signer is None:
        signature = Outcome.unknown("the master list signer's certificate is not included")
    else:
        signature = _combine(signed_data.check_signature(signed, signer), signed_data.check_message_digest(signed))
    notes = tuple(note for note in (match.note,) if note)
    return MasterListFile(bytes(data), version, signer, signature, tuple(parsed), tuple(unreadable), notes)


def check_master_list(
    read: MasterListFile, *, roots: Iterable[pki.Certificate] = (), pool: Iterable[pki.Certificate] = ()
) -> MasterList:
    """Judge each certificate of a master list and its signer.

    ``roots`` are the certificates the operator trusts directly (the trust directory's own files): the
    signer's chain is checked against them only. ``pool`` is every other certificate available (those of
    the other master lists loaded): with the list's own certificates and the roots, it is where the
    issuer of each listed certificate (a link certificate's older key, say) is looked for.

    One rule for every listed certificate: it is rejected when it is not a CA, when its key cannot be
    used, or when its issuer is found and does not verify its signature; when its issuer is nowhere to be
    found it is accepted on the list signer's word, with a note.
    """
    root_list = list(roots)
    index = CertificateIndex([certificate for _, certificate in read.certificates])
    for certificate in [*root_list, *pool]:
        index.add(certificate)
    accepted: list[pki.Certificate] = []
    rejected: list[RejectedCertificate] = list(read.unreadable)
    notes: list[str] = list(read.notes)
    for position, certificate in read.certificates:
        reason, note = _check_listed_certificate(certificate, index)
        if reason:
            rejected.append(RejectedCertificate(position, certificate.subject.text, reason))
        else:
            accepted.append(certificate)
            if note:
                notes.append(f"certificate {position} ({certificate.subject.text}): {note}")
    if read.signer is None:
        chain = Outcome.unknown("no signer certificate")
    else:
        chain = _check_signer_chain(read.signer, CertificateIndex(root_list), index)
    return MasterList(
        raw=read.raw,
        version=read.version,
        signer=read.signer,
        signature=read.signature,
        signer_chain=chain,
        certificates=tuple(accepted),
        rejected=tuple(sorted(rejected, key=lambda item: item.index)),
        notes=tuple(notes),
    )


def parse_master_list(
    data: bytes, *, anchors: Iterable[pki.Certificate] = (), pool: Iterable[pki.Certificate] = ()
) -> MasterList:
    """Read and judge one master list (:func:`read_master_list` then :func:`check_master_list` with
    ``anchors`` as the roots)."""
    return check_master_list(read_master_list(data), roots=anchors, pool=pool)


def _check_signer_chain(signer: pki.Certificate, roots: CertificateIndex, everything: CertificateIndex) -> Outcome:
    issuers = roots.issuers_of(signer)
    if issuers:
        outcome = _verified_by(signer, issuers)
        if outcome.is_ok:
            return Outcome.ok(f"issued by the root {issuers[0].subject.text} ({outcome.reason})")
        return outcome
    held = everything.issuers_of(signer)
    if held:
        outcome = _verified_by(signer, held)
        if outcome.status is Status.FAILED:
            return Outcome.failed(f"the signer's certificate does not verify against its CSCA: {outcome.reason}")
        # Verified by a certificate the list itself vouches for: proves nothing about the list.
        return Outcome.unknown(
            f"the signer's CSCA {signer.issuer.text} is held only by the master lists, not among the trust "
            "directory's roots: import that root to verify the list's signer"
        )
    return Outcome.unknown(f"issuer {signer.issuer.text} not available")


def _combine(first: Outcome, second: Outcome) -> Outcome:
    for outcome in (first, second):
        if outcome.status is Status.FAILED:
            return outcome
    for outcome in (first, second):
        if not outcome.is_ok:
            return outcome
    return first


def _read_csca_master_list(content: bytes) -> tuple[int, list[bytes]]:
    """CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }."""
    try:
        outer = tlv.decode_single(content, TAG_SEQUENCE)
        fields = outer.children()
        if len(fields) != 2 or fields[0].tag != TAG_INTEGER or fields[1].tag != TAG_SET:
            raise DocumentError("CscaMasterList is not {version, SET OF Certificate}", file=FILE_MASTER_LIST)
        if not fields[0].value or len(fields[0].value) > 4:
            raise DocumentError("CscaMasterList version is not a small INTEGER", file=FILE_MASTER_LIST)
        version = int.from_bytes(fields[0].value, "big", signed=True)
        return version, [child.encode() for child in fields[1].children()]
    except TlvError as exc:
        raise DocumentError(f"CscaMasterList: {exc.message}", file=FILE_MASTER_LIST) from exc


def _check_listed_certificate(certificate: pki.Certificate, index: CertificateIndex) -> tuple[str, str]:
    """(reason to reject or "", note) for one certificate of a master list."""
    if not certificate.is_ca:
        return "not a CA certificate", ""
    if not certificate.public_key.usable:
        return f"unusable public key ({certificate.public_key.problem})", ""
    issuers = index.issuers_of(certificate)
    if not issuers:
        return "", f"issuer {certificate.issuer.text} not loaded: its signature was not checked"
    outcome = _verified_by(certificate, issuers)
    if outcome.is_ok:
        return "", ""
    if outcome.status is Status.FAILED:
        # Only an issuer the certificate names by key identifier (or itself, when self-signed) can
        # prove it forged; a same-named certificate of another key is not its issuer.
        named = [issuer for issuer in issuers if _named_issuer(certificate, issuer)]
        if named:
            itself = any(issuer.fingerprint == certificate.fingerprint for issuer in named)
            what = "self-signature" if itself else "signature by its issuer"
            return f"{what}: {outcome.reason}", ""
        return "", f"issuer {certificate.issuer.text} of this key not loaded: its signature was not checked"
    return "", f"issuer signature not checked ({outcome.reason})"


def _named_issuer(certificate: pki.Certificate, issuer: pki.Certificate) -> bool:
    if certificate.authority_key_identifier is not None and issuer.subject_key_identifier is not None:
        return certificate.authority_key_identifier == issuer.subject_key_identifier
    return issuer.fingerprint == certificate.fingerprint  # no key identifiers: only itself is certain


def _verified_by(certificate: pki.Certificate, issuers: Iterable[pki.Certificate]) -> Outcome:
    """The first issuer that verifies ``certificate`` wins; else the first failure; else the first
    undecided outcome. Issuers named by key identifier are tried first, and no signature is checked
    twice (:func:`_verify_cached`): a master list holds many certificates of one name."""
    ordered = sorted(issuers, key=lambda issuer: not _named_issuer(certificate, issuer))
    outcomes: list[Outcome] = []
    for issuer in ordered:
        outcome = _verify_cached(certificate, issuer)
        if outcome.is_ok:
            return outcome
        outcomes.append(outcome)
    if not outcomes:
        return Outcome.unknown(f"issuer {certificate.issuer.text} not available")
    for outcome in outcomes:
        if outcome.status is Status.FAILED:
            return outcome
    return outcomes[0]


# (certificate, issuer) fingerprints -> outcome. Certificates are immutable and the outcome depends on
# nothing else, so a result stays true for the life of the process; bounded to what loading a few
# master lists needs.
_VERIFIED: dict[tuple[str, str], Outcome] = {}
_VERIFIED_LIMIT = 20_000


def _verify_cached(certificate: pki.Certificate, issuer: pki.Certificate) -> Outcome:
    key = (certificate.fingerprint, issuer.fingerprint)
    found = _VERIFIED.get(key)
    if found is None:
        found = certificate.verify_issued_by(issuer.public_key)
        if len(_VERIFIED) >= _VERIFIED_LIMIT:
            _VERIFIED.clear()
        _VERIFIED[key] = found
    return found


def _key_ids_agree(certificate: pki.Certificate, issuer: pki.Certificate) -> bool:
    return (
        certificate.authority_key_identifier is None
        or issuer.subject_key_identifier is None
        or certificate.authority_key_identifier == issuer.subject_key_identifier
    )


# --- recognising what a file holds --------------------------------------------------------------

TrustFileKind = Literal["certificates", "crl", "master_list"]


@dataclasses.dataclass(frozen=True)
class TrustFile:
    """What one file of a trust directory holds."""

    kind: TrustFileKind
    certificates: tuple[pki.Certificate, ...] = ()
    crls: tuple[RevocationList, ...] = ()
    master_list: MasterList | None = None


def parse_trust_file(
    data: bytes, *, name: str, anchors: Iterable[pki.Certificate] = (), pool: Iterable[pki.Certificate] = ()
) -> TrustFile:
    """Recognise and parse DER or PEM certificates, a CRL, or a CSCA master list (judged with
    ``anchors`` as its roots and ``pool`` as further issuers, :func:`check_master_list`)."""
    read = read_trust_file(data, name=name)
    if isinstance(read, MasterListFile):
        return TrustFile("master_list", master_list=check_master_list(read, roots=anchors, pool=pool))
    return read


def read_trust_file(data: bytes, *, name: str) -> TrustFile | MasterListFile:
    """Recognise and parse a trust file; a master list is only read (:func:`read_master_list`)."""
    stripped = bytes(data).lstrip()
    if stripped.startswith(b"-----BEGIN"):
        return _parse_pem(stripped, name)
    kind = _der_kind(bytes(data), name)
    if kind == "master_list":
        return read_master_list(data)
    if kind == "crl":
        return TrustFile("crl", crls=(parse_crl(data, file=name),))
    return TrustFile("certificates", certificates=(pki.parse_certificate(bytes(data), file=name),))


def _parse_pem(data: bytes, name: str) -> TrustFile | MasterListFile:
    with pki.asn1_guard(name, "PEM file"):
        blocks = [(kind, der) for kind, _headers, der in pem.unarmor(data, multiple=True)]
    certificates: list[pki.Certificate] = []
    crls: list[RevocationList] = []
    for kind, der in blocks:
        if kind in PEM_CERTIFICATE:
            certificates.append(pki.parse_certificate(der, file=name))
        elif kind in PEM_CRL:
            crls.append(parse_crl(der, file=name))
        elif kind in PEM_CMS and len(blocks) == 1:
            return read_master_list(der)
        else:
            raise DocumentError(f"unexpected PEM block {kind!r}", file=name)
    if not blocks:
        raise DocumentError("no PEM block", file=name)
    if certificates and crls:
        raise DocumentError("mixes certificates and CRLs: keep one kind per file", file=name)
    if crls:
        return TrustFile("crl", crls=tuple(crls))
    return TrustFile("certificates", certificates=tuple(certificates))


def _der_kind(data: bytes, name: str) -> TrustFileKind:
    """Tell a ContentInfo, a CRL and a certificate apart by the shape of their first fields."""
    try:
        outer = tlv.decode_single(data, TAG_SEQUENCE)
        fields = outer.children()
        if not fields:
            raise DocumentError("empty SEQUENCE", file=name)
        if fields[0].tag == TAG_OID:
            return "master_list"
        if fields[0].tag != TAG_SEQUENCE:
            raise DocumentError("not a certificate, CRL or master list", file=name)
        inner = fields[0].children()
        if not inner:
            raise DocumentError("not a certificate, CRL or master list", file=name)
        if inner[0].tag == TAG_CONTEXT_0:
            return "certificates"
        if inner[0].tag == TAG_SEQUENCE:  # a v1 CRL starts with the signature AlgorithmIdentifier
            return "crl"
        if len(inner) > 3 and inner[3].tag in (TAG_UTC_TIME, TAG_GENERALIZED_TIME):
            return "crl"
        return "certificates"
    except TlvError as exc:
        raise DocumentError(f"not DER: {exc.message}", file=name) from exc


# --- the store -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrustedCertificate:
    certificate: pki.Certificate
    source: str = ""


@dataclasses.dataclass(frozen=True)
class TrustedCrl:
    crl: RevocationList
    source: str = ""


@dataclasses.dataclass(frozen=True)
class LoadedMasterList:
    master_list: MasterList
    source: str = ""
    added: int = 0


class TrustStore:
    """CSCA certificates and CRLs, indexed for passive authentication: a signer's CSCAs and a CSCA's
    CRLs are dictionary lookups by RFC 5280 name key, whatever the number of certificates loaded."""

    def __init__(self) -> None:
        self._by_fingerprint: dict[str, TrustedCertificate] = {}
        self._by_subject: dict[str, list[TrustedCertificate]] = {}
        self._crls: dict[str, TrustedCrl] = {}
        self._crls_by_issuer: dict[str, list[RevocationList]] = {}
        self._master_lists: list[LoadedMasterList] = []
        self._from_master_lists: set[str] = set()

    @classmethod
    def of(cls, certificates: Iterable[pki.Certificate] = (), crls: Iterable[RevocationList] = ()) -> TrustStore:
        store = cls()
        for certificate in certificates:
            store.add_certificate(certificate)
        for revocation_list in crls:
            store.add_crl(revocation_list)
        return store

    @property
    def certificates(self) -> tuple[TrustedCertificate, ...]:
        return tuple(self._by_fingerprint.values())

    @property
    def crls(self) -> tuple[TrustedCrl, ...]:
        return tuple(self._crls.values())

    @property
    def master_lists(self) -> tuple[LoadedMasterList, ...]:
        return tuple(self._master_lists)

    @property
    def roots(self) -> list[pki.Certificate]:
        """The certificates trusted directly (added on their own, not through a master list): what a
        master list's signer must chain to."""
        listed = self._from_master_lists
        return [entry.certificate for fingerprint, entry in self._by_fingerprint.items() if fingerprint not in listed]

    def __len__(self) -> int:
        return len(self._by_fingerprint)

    def add_certificate(self, certificate: pki.Certificate, *, source: str = "") -> bool:
        """Trust a CSCA (or link) certificate; False if it was already there. Non-CA certificates are refused."""
        if not certificate.is_ca:
            raise DocumentError("not a CA certificate: a CSCA must have basicConstraints cA=TRUE", file=source or None)
        if certificate.fingerprint in self._by_fingerprint:
            return False
        entry = TrustedCertificate(certificate, source)
        self._by_fingerprint[certificate.fingerprint] = entry
        self._by_subject.setdefault(certificate.subject.key, []).append(entry)
        return True

    def add_crl(self, revocation_list: RevocationList, *, source: str = "") -> bool:
        key = revocation_list.der.hex()
        if key in self._crls:
            return False
        self._crls[key] = TrustedCrl(revocation_list, source)
        self._crls_by_issuer.setdefault(revocation_list.issuer.key, []).append(revocation_list)
        return True

    def add_master_list(self, master_list: MasterList, *, source: str = "") -> int:
        """Trust the certificates of a usable master list; returns how many were new."""
        added = 0
        if master_list.usable:
            for certificate in master_list.certificates:
                if self.add_certificate(certificate, source=source):
                    self._from_master_lists.add(certificate.fingerprint)
                    added += 1
        self._master_lists.append(LoadedMasterList(master_list, source, added))
        return added

    def add_file(self, parsed: TrustFile, *, source: str = "") -> int:
        """Add what :func:`parse_trust_file` found; returns how many certificates / CRLs were new."""
        if parsed.master_list is not None:
            return self.add_master_list(parsed.master_list, source=source)
        added = sum(self.add_certificate(certificate, source=source) for certificate in parsed.certificates)
        return added + sum(self.add_crl(revocation_list, source=source) for revocation_list in parsed.crls)

    def issuers_of(self, certificate: pki.Certificate) -> list[pki.Certificate]:
        """Trusted CSCAs whose subject is ``certificate``'s issuer and whose key identifier agrees."""
        return [
            entry.certificate
            for entry in self._by_subject.get(certificate.issuer.key, [])
            if _key_ids_agree(certificate, entry.certificate)
        ]

    def has_subject(self, name: pki.DistinguishedName) -> bool:
        return name.key in self._by_subject

    def crls_of(self, issuer: pki.DistinguishedName) -> list[RevocationList]:
        return list(self._crls_by_issuer.get(issuer.key, ()))

    def expiring(self, at: datetime, within: timedelta) -> list[TrustedCertificate]:
        """Certificates that have expired at ``at`` or will within ``within``, soonest first."""
        horizon = at + within
        found = [entry for entry in self._by_fingerprint.values() if entry.certificate.not_after <= horizon]
        return sorted(found, key=lambda entry: entry.certificate.not_after)

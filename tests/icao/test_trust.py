"""The trust store: CSCA certificates (DER, PEM), CRLs, ICAO CSCA master lists with their signature
checked and bad certificates reported, and lookups for passive authentication."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import DocumentError
from agent.icao import ec, pki
from agent.icao.trust import TrustStore, parse_crl, parse_master_list, parse_trust_file
from agent.models import Status
from tests.icao import pki_fixtures as f

NOW = f.NOW


def pem(kind: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"]) + "\n").encode()


def break_signature(der: bytes) -> bytes:
    return der[:-1] + bytes([der[-1] ^ 0x01])


class Country:
    """A country's CSCA, a second CSCA, a master-list signer issued by the first, and a link certificate."""

    def __init__(self) -> None:
        self.world = f.test_pki(label="ml")
        self.other = f.test_pki("p256", "p256", label="ml-other")
        self.signer_key = f.private_key("p256", "ml-signer")
        self.signer = f.make_certificate(
            self.signer_key, f.name("Master List Signer"), self.world.csca_key, self.world.csca_name, ca=False
        )
        self.new_key = f.private_key("rsa2048", "ml-new")
        # Link certificate: the CSCA's new key, certified by its old key (same name).
        self.link = f.make_certificate(
            self.new_key, self.world.csca_name, self.world.csca_key, self.world.csca_name, ca=True
        )


@pytest.fixture(scope="module")
def country() -> Country:
    return Country()


# --- certificates --------------------------------------------------------------------------------


def test_a_der_csca_is_read(country: Country) -> None:
    parsed = parse_trust_file(country.world.csca, name="vn.der")
    assert parsed.kind == "certificates"
    (certificate,) = parsed.certificates
    assert certificate.is_ca and certificate.self_issued
    assert certificate.subject.country == "VN"
    assert certificate.subject.text == "C=VN, O=Test Government of Viet Nam, CN=CSCA Test ml"
    assert certificate.public_key.description == "RSA-2048"
    assert certificate.verify_issued_by(certificate.public_key).is_ok


def test_a_pem_bundle_is_read(country: Country) -> None:
    bundle = pem("CERTIFICATE", country.world.csca) + pem("CERTIFICATE", country.other.csca)
    parsed = parse_trust_file(b"\n" + bundle, name="bundle.pem")
    assert [c.subject.text.rsplit("=", 1)[1] for c in parsed.certificates] == ["CSCA Test ml", "CSCA Test ml-other"]


def test_a_crl_is_read_in_der_and_pem(country: Country) -> None:
    der = f.make_crl(country.world.csca_key, country.world.csca_name, (5, 6))
    for data in (der, pem("X509 CRL", der)):
        parsed = parse_trust_file(data, name="vn.crl")
        assert parsed.kind == "crl"
        (crl,) = parsed.crls
        assert sorted(crl.revoked) == [5, 6]
        assert crl.issuer.key == pki.parse_certificate(country.world.csca, file="t").subject.key
        assert crl.verify_issued_by(pki.parse_certificate(country.world.csca, file="t").public_key).is_ok
        assert not crl.outdated_at(NOW)
        assert crl.outdated_at(NOW + timedelta(days=365))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not DER"),
        (b"hello world", "not DER"),
        (b"\x30\x00", "empty SEQUENCE"),
        (b"\x30\x03\x02\x01\x05", "not a certificate, CRL or master list"),
        (b"-----BEGIN CERTIFICATE-----\n@@@\n-----END CERTIFICATE-----\n", "malformed certificate"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "unexpected PEM block"),
    ],
)
def test_garbage_is_a_document_error_naming_the_file(data: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_trust_file(data, name="junk.der")
    assert caught.value.file == "junk.der"
    assert words in caught.value.message


def test_a_pem_file_mixing_certificates_and_crls_is_refused(country: Country) -> None:
    mixed = pem("CERTIFICATE", country.world.csca) + pem(
        "X509 CRL", f.make_crl(country.world.csca_key, country.world.csca_name)
    )
    with pytest.raises(DocumentError, match="one kind per file"):
        parse_trust_file(mixed, name="mixed.pem")


def test_an_ec_key_with_explicit_parameters_that_form_no_curve_is_unsupported() -> None:
    world = f.test_pki("p256", "p256", label="explicit-unknown")
    explicit = f.with_explicit_curve(world.csca, world.csca_key)
    patched = explicit.replace(  # change the curve's b: no longer a curve we know
        ec.P_256.b.to_bytes(32, "big"), b"\x01" * 32
    )
    certificate = pki.parse_certificate(patched, file="t")
    assert not certificate.public_key.usable
    assert "base point is not on the curve" in certificate.public_key.unsupported


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"])
def test_the_curve_table_holds_real_curves(curve: str) -> None:
    table = ec.CURVES_BY_NAME[curve]
    p, a, b, gx, gy, n = table.p, table.a, table.b, table.gx, table.gy, table.n
    assert (gy * gy - (gx * gx * gx + a * gx + b)) % p == 0  # the generator is on the curve
    assert n.bit_length() == p.bit_length()


@pytest.mark.parametrize("kind", ["p256", "p384", "p521", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"])
def test_a_csca_key_with_explicit_parameters_is_mapped_to_its_named_curve(kind: str) -> None:
    world = f.test_pki(kind, kind, label=f"explicit-{kind}")
    certificate = pki.parse_certificate(f.with_explicit_curve(world.csca, world.csca_key), file="t")
    assert certificate.public_key.explicit_parameters
    assert certificate.public_key.curve == f.CURVES[kind].name
    assert certificate.verify_issued_by(certificate.public_key).is_ok
    assert pki.parse_certificate(world.dsc, file="t").verify_issued_by(certificate.public_key).is_ok


# --- master lists --------------------------------------------------------------------------------


def test_a_master_list_is_read_and_its_signature_checked(country: Country) -> None:
    listed = [country.world.csca, country.other.csca, country.link]
    data = f.make_master_list(listed, country.signer_key, country.signer)
    master_list = parse_master_list(data)
    assert master_list.signature.is_ok, master_list.signature
    # Its signer's CSCA is in the list, but a list cannot vouch for its own signer: not traced to a root.
    assert master_list.signer_chain.status is Status.UNKNOWN, master_list.signer_chain
    assert "held only by the master lists" in master_list.signer_chain.reason
    assert master_list.usable
    root = pki.parse_certificate(country.world.csca, file="root.der")
    assert parse_master_list(data, anchors=[root]).signer_chain.is_ok
    assert len(master_list.certificates) == 3
    assert master_list.rejected == ()
    store = TrustStore()
    assert store.add_master_list(master_list, source="ICAO.ml") == 3
    assert len(store) == 3
    assert store.master_lists[0].added == 3


def test_a_master_list_with_one_bad_certificate_reports_it_and_keeps_the_others(country: Country) -> None:
    bad = break_signature(country.other.csca)
    not_a_certificate = f.wrap(0x30, b"\x02\x01\x07")
    dsc = country.world.dsc  # not a CA
    listed = [country.world.csca, bad, country.link, not_a_certificate, dsc]
    master_list = parse_master_list(f.make_master_list(listed, country.signer_key, country.signer))
    assert master_list.usable
    assert [c.subject.text.rsplit("=", 1)[1] for c in master_list.certificates] == ["CSCA Test ml", "CSCA Test ml"]
    reasons = {item.index: item.reason for item in master_list.rejected}
    assert set(reasons) == {1, 3, 4}
    assert reasons[1].startswith("self-signature:") and "does not verify" in reasons[1]
    assert "malformed certificate" in reasons[3]
    assert reasons[4] == "not a CA certificate"
    assert master_list.rejected[0].subject.endswith("CSCA Test ml-other")


def test_a_master_list_with_a_broken_signature_is_not_trusted(country: Country) -> None:
    data = f.make_master_list([country.world.csca], country.signer_key, country.signer, corrupt_signature=True)
    master_list = parse_master_list(data)
    assert master_list.signature.status is Status.FAILED
    assert not master_list.usable
    store = TrustStore()
    assert store.add_master_list(master_list) == 0
    assert len(store) == 0
    assert len(store.master_lists) == 1


def test_a_master_list_whose_content_was_edited_is_not_trusted(country: Country) -> None:
    data = f.make_master_list([country.world.csca, country.other.csca], country.signer_key, country.signer)
    other = country.other.csca
    edited = data.replace(other, break_signature(other))
    master_list = parse_master_list(edited)
    assert master_list.signature.status is Status.FAILED
    assert "message digest" in master_list.signature.reason


def test_a_master_list_signer_from_an_unknown_csca_is_unknown_but_usable(country: Country) -> None:
    stranger = f.test_pki(label="ml-stranger")
    signer = f.make_certificate(
        country.signer_key, f.name("ML Signer"), stranger.csca_key, stranger.csca_name, ca=False
    )
    master_list = parse_master_list(f.make_master_list([country.other.csca], country.signer_key, signer))
    assert master_list.signature.is_ok
    assert master_list.signer_chain.status is Status.UNKNOWN
    assert master_list.usable
    # ... and traced once its CSCA is known.
    anchors = [pki.parse_certificate(stranger.csca, file="t")]
    traced = parse_master_list(f.make_master_list([country.other.csca], country.signer_key, signer), anchors=anchors)
    assert traced.signer_chain.is_ok


def test_a_master_list_signer_certificate_not_signed_by_its_csca_makes_it_unusable(country: Country) -> None:
    forger = f.private_key("p256", "ml-forger")
    signer = f.make_certificate(
        country.signer_key,
        f.name("ML Signer"),
        forger,
        country.world.csca_name,
        ca=False,
        issuer_public_key=country.world.csca_key.public_key(),
    )
    master_list = parse_master_list(f.make_master_list([country.world.csca], country.signer_key, signer))
    assert master_list.signer_chain.status is Status.FAILED
    assert not master_list.usable


def test_a_master_list_in_pem_is_recognised(country: Country) -> None:
    data = f.make_master_list([country.world.csca], country.signer_key, country.signer)
    parsed = parse_trust_file(pem("CMS", data), name="list.pem")
    assert parsed.kind == "master_list"
    assert parsed.master_list is not None and parsed.master_list.usable


@pytest.mark.parametrize(
    "data",
    [
        f.signed_data(b"\x30\x03\x02\x01\x00", f.OID_CSCA_MASTER_LIST, f.private_key("p256", "x"), None),
        f.signed_data(b"\x02\x01\x00", f.OID_CSCA_MASTER_LIST, f.private_key("p256", "x"), None),
        f.signed_data(b"\x30\x03\x02\x01\x00", "1.2.840.113549.1.7.1", f.private_key("p256", "x"), None),
    ],
)
def test_a_malformed_master_list_is_a_document_error(data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_master_list(data)
    assert caught.value.file == "master list"


# --- the store -----------------------------------------------------------------------------------


def test_the_store_refuses_a_non_ca_certificate(country: Country) -> None:
    with pytest.raises(DocumentError, match="not a CA"):
        TrustStore().add_certificate(pki.parse_certificate(country.world.dsc, file="t"), source="dsc.der")


def test_the_store_deduplicates_and_finds_issuers_by_name_and_key_identifier(country: Country) -> None:
    csca = pki.parse_certificate(country.world.csca, file="t")
    link = pki.parse_certificate(country.link, file="t")
    other = pki.parse_certificate(country.other.csca, file="t")
    store = TrustStore()
    assert store.add_certificate(csca)
    assert not store.add_certificate(csca)
    store.add_certificate(link)
    store.add_certificate(other)
    dsc = pki.parse_certificate(country.world.dsc, file="t")
    # Same name for csca and link, but only the csca's key identifier matches the DSC's AKI.
    assert store.issuers_of(dsc) == [csca]
    assert store.has_subject(dsc.issuer)


def test_crls_are_found_by_issuer(country: Country) -> None:
    mine = parse_crl(f.make_crl(country.world.csca_key, country.world.csca_name, (1,)))
    theirs = parse_crl(f.make_crl(country.other.csca_key, country.other.csca_name, (2,)))
    store = TrustStore.of([], [mine, theirs])
    assert not store.add_crl(mine)
    csca = pki.parse_certificate(country.world.csca, file="t")
    assert store.crls_of(csca.subject) == [mine]


def test_expiring_lists_what_expires_within_the_window() -> None:
    key = f.private_key("p256", "expiry")
    soon = f.make_certificate(key, f.name("Soon"), key, f.name("Soon"), ca=True, not_after=NOW + timedelta(days=30))
    gone = f.make_certificate(
        key,
        f.name("Gone"),
        key,
        f.name("Gone"),
        ca=True,
        not_before=NOW - timedelta(days=900),
        not_after=NOW - timedelta(days=1),
    )
    later = f.make_certificate(key, f.name("Later"), key, f.name("Later"), ca=True, not_after=NOW + timedelta(days=400))
    store = TrustStore.of(pki.parse_certificate(d, file="t") for d in (soon, gone, later))
    names = [e.certificate.subject.text.rsplit("=", 1)[1] for e in store.expiring(NOW, timedelta(days=90))]
    assert names == ["Gone", "Soon"]


# --- fuzzing -------------------------------------------------------------------------------------


@given(st.binary(max_size=400))
def test_any_bytes_give_a_trust_file_or_a_document_error(data: bytes) -> None:
    try:
        parse_trust_file(data, name="fuzz")
    except DocumentError as error:
        assert error.file == "fuzz"


def _seeds() -> list[bytes]:
    world = f.test_pki(label="ml")
    signer_key = f.private_key("p256", "ml-signer")
    signer = f.make_certificate(signer_key, f.name("Master List Signer"), world.csca_key, world.csca_name, ca=False)
    return [
        world.csca,
        f.make_crl(world.csca_key, world.csca_name, (3, 4)),
        f.make_master_list([world.csca], signer_key, signer),
    ]


SEEDS = _seeds()


@given(
    seed=st.sampled_from(SEEDS),
    mutation=st.sampled_from(["flip", "truncate", "insert", "delete"]),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    value=st.integers(min_value=0, max_value=255),
)
def test_mutated_trust_files_give_a_trust_file_or_a_document_error(
    seed: bytes, mutation: str, position: float, value: int
) -> None:
    index = int(position * len(seed))
    if mutation == "flip":
        data = seed[:index] + bytes([seed[index] ^ (1 << (value % 8))]) + seed[index + 1 :]
    elif mutation == "truncate":
        data = seed[:index]
    elif mutation == "insert":
        data = seed[:index] + bytes([value]) + seed[index:]
    else:
        data = seed[:index] + seed[index + 1 :]
    try:
        parsed = parse_trust_file(data, name="mutant")
    except DocumentError as error:
        assert error.file in ("mutant", "master list")
        return
    for certificate in parsed.certificates:
        certificate.verify_issued_by(certificate.public_key)
    if parsed.master_list is not None:
        assert parsed.master_list.signature.status in (Status.OK, Status.FAILED, Status.UNKNOWN)

"""Finding the Document Signer of a SOD (RFC 5652 §5.3 SignerIdentifier, names compared as RFC 5280
§7.1 says) and the legacy eContentTypes of real SODs (issue 12, items 1 and 2): a genuine document whose
signer verifies and chains is never "failed", whichever way it names its signer."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import x509 as asn1_x509

from agent.errors import DocumentError
from agent.icao import pki
from agent.icao.lds.sod import LEGACY_CONTENT_TYPES, OID_LDS_SECURITY_OBJECT, parse_sod
from agent.models import Status
from tests.icao import pki_fixtures as f
from tests.icao.test_passive_auth import DATA_GROUPS, assert_only, clean_crl, run, store_for


def name_key(name: asn1_x509.Name) -> str:
    with pki.asn1_guard("test", "name"):
        return pki.read_name(name, file="test").key


# --- RFC 5280 §7.1 name comparison ---------------------------------------------------------------


def test_case_white_space_and_string_type_do_not_make_names_differ() -> None:
    written = f.asn1_name([("country_name", "VN", "printable_string")],
                          [("organization_name", "Test Government of Viet Nam", "utf8_string")],
                          [("common_name", "CSCA Test", "printable_string")])  # fmt: skip
    folded = f.asn1_name([("country_name", "vn", "utf8_string")],
                         [("organization_name", "  TEST   government of\tviet nam ", "bmp_string")],
                         [("common_name", "csca test", "utf8_string")])  # fmt: skip
    assert name_key(written) == name_key(folded)


def test_attributes_of_one_rdn_compare_in_any_order() -> None:
    one = f.asn1_name([("country_name", "VN", "printable_string"), ("organization_name", "Gov", "utf8_string")])
    other = f.asn1_name([("organization_name", "Gov", "utf8_string"), ("country_name", "VN", "printable_string")])
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    "other",
    [
        # RDNs in another order are another name for RFC 5280 (the fallback below deals with them)
        [[("common_name", "X", "utf8_string")], [("country_name", "VN", "printable_string")]],
        [[("country_name", "VN", "printable_string")], [("common_name", "Y", "utf8_string")]],
        [[("country_name", "VN", "printable_string")]],
        [[("country_name", "VN", "printable_string"), ("common_name", "X", "utf8_string")]],
    ],
)
def test_names_that_differ_stay_different(other: list[list[tuple[str, str, str]]]) -> None:
    reference = f.asn1_name([("country_name", "VN", "printable_string")], [("common_name", "X", "utf8_string")])
    assert name_key(reference) != name_key(f.asn1_name(*other))


def test_a_sod_whose_issuer_is_written_differently_is_matched_by_its_identifier() -> None:
    world = f.test_pki()
    folded = f.asn1_name([("country_name", "vn", "utf8_string")],
                         [("organization_name", "TEST GOVERNMENT  OF VIET NAM", "utf8_string")],
                         [("common_name", "csca test rsa2048", "utf8_string")])  # fmt: skip
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, sid_issuer=folded)
    assert parse_sod(sod).signed.find_signer().by_identifier
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok and result.notes == ()


# --- when the identifier names no embedded certificate -------------------------------------------


def test_a_sod_naming_its_issuer_in_another_rdn_order_verifies_with_its_one_certificate() -> None:
    """The Malaysian passport of issue 12: issuer RDNs reordered in the SignerIdentifier."""
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, sid_issuer=f.reordered_issuer(world.dsc))
    assert not parse_sod(sod).signed.find_signer().by_identifier
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"revocation": Status.OK})
    assert result.overall.is_ok
    assert result.trust_anchor and result.signer
    assert len(result.notes) == 1 and "names no embedded certificate" in result.notes[0]
    assert result.to_json()["notes"] == list(result.notes)


def test_a_subject_key_identifier_of_no_embedded_certificate_falls_back_the_same_way() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, use_subject_key_identifier=True,
                     sid_key_identifier=b"\x42" * 20)  # fmt: skip
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok
    assert "subject key identifier" in result.notes[0]


def test_the_verifying_certificate_is_found_among_several() -> None:
    world = f.test_pki()
    other = f.test_pki(label="bystander")
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, certificates=[other.dsc, world.dsc, other.csca],
                     sid_issuer=f.reordered_issuer(world.dsc))  # fmt: skip
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok
    assert result.signer.endswith("Document Signer rsa2048")


def test_a_sod_naming_another_certificate_that_none_of_its_own_verifies_fails() -> None:
    world = f.test_pki()
    other = f.test_pki(label="other")
    intruder = f.private_key("rsa2048", "intruder")
    sod = f.make_sod(DATA_GROUPS, intruder, world.dsc, sid_certificate=other.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.sod_signature.status is Status.FAILED
    assert "none of its certificates verifies" in result.sod_signature.reason
    assert result.overall.status is Status.FAILED


def test_a_forged_sod_naming_the_genuine_signer_still_fails() -> None:
    """The identifier matches: the fallback never replaces a certificate that was named."""
    world = f.test_pki()
    intruder = f.private_key("rsa2048", "intruder")
    sod = f.make_sod(DATA_GROUPS, intruder, world.dsc, certificates=[world.dsc])
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.sod_signature.status is Status.FAILED and result.notes == ()


# --- legacy eContentTypes ------------------------------------------------------------------------


def test_the_legacy_types_are_the_ones_the_reference_readers_accept() -> None:
    assert set(LEGACY_CONTENT_TYPES) == {"1.2.840.113549.1.7.1", "1.3.27.1.1.1", "1.2.528.1.1006.1.20.1"}


def sod_with_content_type(content_type: str, **options: object) -> bytes:
    world = f.test_pki()
    hashes = {number: hashlib.sha256(data).digest() for number, data in DATA_GROUPS.items()}
    content = f.lds_security_object(hashes, pki.OID_SHA256)
    return f.wrap(0x77, f.signed_data(content, content_type, world.dsc_key, world.dsc, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("content_type", sorted(LEGACY_CONTENT_TYPES))
def test_a_legacy_content_type_is_accepted_with_a_note_and_everything_else_verified(content_type: str) -> None:
    world = f.test_pki()
    result = run(sod_with_content_type(content_type), store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok, result.reasons
    assert any(content_type in note for note in result.notes)


def test_a_legacy_content_type_does_not_excuse_a_content_type_attribute_naming_another() -> None:
    world = f.test_pki()
    sod = sod_with_content_type("1.2.840.113549.1.7.1", signed_content_type=OID_LDS_SECURITY_OBJECT)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.message_digest.status is Status.FAILED


def test_a_legacy_content_type_does_not_excuse_a_tampered_data_group() -> None:
    world = f.test_pki()
    tampered = {**DATA_GROUPS, 1: DATA_GROUPS[1][:-1] + b"X"}
    result = run(sod_with_content_type("1.2.840.113549.1.7.1"), store_for(world, crl=clean_crl(world)), tampered)
    assert result.data_groups[1].status is Status.FAILED


def test_any_other_content_type_is_refused() -> None:
    with pytest.raises(DocumentError, match=r"eContentType is 1\.2\.3\.4") as caught:
        parse_sod(sod_with_content_type("1.2.3.4"))
    assert caught.value.file == "EF.SOD"

"""Passive authentication against a generated test PKI (CSCA -> Document Signer -> EF.SOD): the valid
case for each algorithm family, and one broken part at a time."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.errors import DocumentError
from agent.icao import pki
from agent.icao.lds.sod import parse_sod
from agent.icao.passive_auth import (
    UNKNOWN_TRUST_ANCHOR,
    PassiveAuthResult,
    overall_outcome,
    passive_authentication,
)
from agent.icao.trust import TrustStore, parse_crl
from agent.models import Outcome, Status
from tests.icao import lds_fixtures as lds
from tests.icao import pki_fixtures as f

NOW = f.NOW


def data_groups() -> dict[int, bytes]:
    spki = f.private_key("p256", "aa").public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return {
        1: lds.encode_dg1(),
        2: lds.dg2_with_image(lds.make_image("JPEG"), 0),
        13: lds.encode_dg13(),
        14: lds.encode_dg14(),
        15: lds.encode_dg15(spki),
    }


DATA_GROUPS = data_groups()


def store_for(world: f.TestPki, *, crl: bytes | None = None, extra: tuple[bytes, ...] = ()) -> TrustStore:
    certificates = [pki.parse_certificate(der, file="test") for der in (world.csca, *extra)]
    crls = [parse_crl(crl)] if crl else []
    return TrustStore.of(certificates, crls)


def clean_crl(world: f.TestPki, revoked: tuple[int, ...] = (), **options: datetime) -> bytes:
    return f.make_crl(world.csca_key, world.csca_name, revoked, **options)


def run(sod: bytes, store: TrustStore, groups: dict[int, bytes] | None = None, at: datetime = NOW) -> PassiveAuthResult:
    return passive_authentication(sod, DATA_GROUPS if groups is None else groups, store, at=at)


def statuses(result: PassiveAuthResult) -> dict[str, Status]:
    return {name: outcome.status for name, outcome in result.checks()}


def assert_only(result: PassiveAuthResult, expected: dict[str, Status]) -> None:
    """The named checks have the given status, every other check is ok."""
    found = statuses(result)
    for name, status in found.items():
        assert status is expected.get(name, Status.OK), (name, result.checks())
    assert set(expected) <= set(found)


# --- valid documents, every algorithm family -----------------------------------------------------

VALID_CASES = [
    # csca key, dsc key, hash, SOD signature scheme, certificate PSS
    ("rsa2048", "rsa2048", "sha256", "pkcs1", False),
    ("rsa2048", "rsa2048", "sha512", "pkcs1", False),
    ("rsa2048", "rsa2048", "sha256", "pss", True),
    ("rsa2048", "rsa2048", "sha512", "pss", False),
    ("rsa2048", "rsa2048", "sha256", "rsa-bare", False),
    ("p256", "p256", "sha256", "ecdsa", False),
    ("p384", "p256", "sha512", "ecdsa", False),
    ("p256", "p256", "sha256", "ecdsa-plain", False),
    ("brainpoolP256r1", "brainpoolP256r1", "sha256", "ecdsa", False),
    ("brainpoolP384r1", "brainpoolP256r1", "sha384", "ecdsa", False),
    ("brainpoolP512r1", "brainpoolP256r1", "sha512", "ecdsa", False),
    ("brainpoolP512r1", "rsa2048", "sha512", "pkcs1", False),
    ("p521", "p521", "sha512", "ecdsa", False),
]


@pytest.mark.parametrize(("csca_kind", "dsc_kind", "hash_name", "scheme", "pss"), VALID_CASES)
def test_a_valid_document_passes_every_check(
    csca_kind: str, dsc_kind: str, hash_name: str, scheme: str, pss: bool
) -> None:
    world = f.test_pki(csca_kind, dsc_kind, hash_name=hash_name, pss=pss)
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, hash_name=hash_name, scheme=scheme)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {})
    assert result.overall == Outcome.ok()
    assert result.reasons == ()
    assert sorted(result.data_groups) == [1, 2, 13, 14, 15]
    assert result.trust_anchor.endswith(f"CSCA Test {csca_kind}")
    assert result.hash_algorithm == {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}[hash_name]


def test_without_a_crl_revocation_is_not_checked_and_does_not_decide() -> None:
    world = f.test_pki()
    result = run(f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc), store_for(world))
    assert_only(result, {"revocation": Status.NOT_SUPPORTED})
    assert "revocation not checked" in result.revocation.reason
    assert result.overall.status is Status.OK
    assert result.reasons == ()


def test_lds_hash_may_differ_from_the_signature_hash() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, hash_name="sha256", lds_hash_name="sha512")
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok
    assert result.hash_algorithm == "SHA-512"


def test_signer_identified_by_subject_key_identifier() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, use_subject_key_identifier=True)
    assert run(sod, store_for(world, crl=clean_crl(world))).overall.is_ok


def test_a_sod_without_signed_attributes_is_checked_over_the_content() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, signed_attributes=False)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok
    assert "no signed attributes" in result.message_digest.reason


def test_a_csca_with_explicit_curve_parameters_is_recognised() -> None:
    world = f.test_pki("brainpoolP256r1", "p256", label="explicit")
    explicit_csca = f.with_explicit_curve(world.csca, world.csca_key)
    certificate = pki.parse_certificate(explicit_csca, file="test")
    assert certificate.public_key.explicit_parameters
    assert certificate.public_key.curve == "brainpoolP256r1"
    store = TrustStore.of([certificate], [parse_crl(clean_crl(world))])
    result = run(f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc), store)
    assert result.overall.is_ok, result.reasons


# --- data groups ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", sorted(DATA_GROUPS))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_each_data_group_tampered_by_one_byte_fails_only_its_hash(number: int, where: str) -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    original = DATA_GROUPS[number]
    position = {"first": 0, "middle": len(original) // 2, "last": len(original) - 1}[where]
    tampered = bytearray(original)
    tampered[position] ^= 0x01
    groups = {**DATA_GROUPS, number: bytes(tampered)}
    result = run(sod, store_for(world, crl=clean_crl(world)), groups)
    assert_only(result, {f"dg{number}_hash": Status.FAILED})
    assert result.overall.status is Status.FAILED
    assert result.reasons == (f"dg{number}_hash: DG{number} does not match its hash in the SOD",)


def test_a_data_group_listed_but_not_read_is_not_a_failure() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)), {1: DATA_GROUPS[1], 13: DATA_GROUPS[13]})
    assert sorted(result.data_groups) == [1, 13]
    assert result.overall.is_ok


def test_a_data_group_read_but_not_listed_fails() -> None:
    world = f.test_pki()
    listed = {n: d for n, d in DATA_GROUPS.items() if n != 15}
    sod = f.make_sod(listed, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"dg15_hash": Status.FAILED})
    assert "no hash" in result.data_groups[15].reason


def test_no_data_group_read_is_unknown_not_ok() -> None:
    world = f.test_pki()
    result = run(f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc), store_for(world, crl=clean_crl(world)), {})
    assert result.overall.status is Status.UNKNOWN
    assert result.reasons == ("data_groups: no data group was read",)


# --- the SOD signature ---------------------------------------------------------------------------


def test_a_broken_sod_signature_fails() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, corrupt_signature=True)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"sod_signature": Status.FAILED})
    assert "does not verify" in result.sod_signature.reason


@pytest.mark.parametrize("kind", ["p256", "brainpoolP256r1"])
def test_a_broken_ecdsa_sod_signature_fails(kind: str) -> None:
    world = f.test_pki(kind, kind)
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, corrupt_signature=True)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.sod_signature.status is Status.FAILED


def test_a_wrong_message_digest_fails() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, message_digest=bytes(32))
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"message_digest": Status.FAILED})


def test_a_content_type_attribute_naming_other_content_fails() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, signed_content_type="1.2.840.113549.1.7.1")
    assert run(sod, store_for(world, crl=clean_crl(world))).message_digest.status is Status.FAILED


def test_a_hash_edited_inside_the_signed_sod_breaks_the_message_digest_and_that_dg() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    forged = lds.encode_dg13({2: "Kẻ Giả Mạo"})
    honest = hashlib.sha256(DATA_GROUPS[13]).digest()
    edited = sod.replace(honest, hashlib.sha256(forged).digest())
    assert edited != sod
    result = run(edited, store_for(world, crl=clean_crl(world)), {**DATA_GROUPS, 13: forged})
    assert_only(result, {"message_digest": Status.FAILED})


def test_a_sod_signed_by_another_key_than_its_dsc_fails() -> None:
    world = f.test_pki()
    intruder = f.private_key("rsa2048", "intruder")
    sod = f.make_sod(DATA_GROUPS, intruder, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"sod_signature": Status.FAILED})


def test_a_sod_naming_a_certificate_it_does_not_carry_uses_the_one_that_verifies() -> None:
    # Issue 12: the embedded certificate verifies the signature, so it is the signer (with a note);
    # tests/icao/test_signer_identification.py has the cases where none does.
    world = f.test_pki()
    other = f.test_pki(label="other")
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, sid_certificate=other.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.overall.is_ok
    assert result.notes and "names no embedded certificate" in result.notes[0]


def test_a_sod_without_its_dsc_is_unknown() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, certificates=[])
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.sod_signature.status is Status.UNKNOWN
    assert result.overall.status is Status.UNKNOWN


# --- the certificate chain -----------------------------------------------------------------------


def test_an_unknown_csca_is_unknown_trust_anchor_never_failed() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, TrustStore())
    assert result.certificate_chain.status is Status.UNKNOWN
    assert result.certificate_chain.reason.startswith(UNKNOWN_TRUST_ANCHOR)
    assert result.overall.status is Status.UNKNOWN
    assert result.sod_signature.is_ok  # the SOD is intact, only its origin is unknown


def test_another_csca_of_the_same_name_but_another_key_is_unknown_trust_anchor() -> None:
    world = f.test_pki()
    impostor_key = f.private_key("rsa2048", "same-name")
    same_name = f.make_certificate(impostor_key, world.csca_name, impostor_key, world.csca_name, ca=True)
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, TrustStore.of([pki.parse_certificate(same_name, file="t")]))
    assert result.certificate_chain.status is Status.UNKNOWN
    assert UNKNOWN_TRUST_ANCHOR in result.certificate_chain.reason


def test_a_dsc_forged_in_the_name_of_the_trusted_csca_fails_the_chain() -> None:
    world = f.test_pki()
    forger = f.private_key("rsa2048", "forger")
    # Claims the trusted CSCA as issuer, with its key identifier, but is signed by the forger.
    forged_dsc = f.make_certificate(
        world.dsc_key,
        f.name("Document Signer forged"),
        forger,
        world.csca_name,
        ca=False,
        issuer_public_key=world.csca_key.public_key(),
    )
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, forged_dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.certificate_chain.status is Status.FAILED
    assert result.overall.status is Status.FAILED


def test_the_right_key_is_found_among_several_cscas_of_one_name() -> None:
    world = f.test_pki()
    old_key = f.private_key("rsa2048", "old-csca")
    old = f.make_certificate(old_key, world.csca_name, old_key, world.csca_name, ca=True)
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world), extra=(old,)))
    assert result.overall.is_ok


def test_a_csca_expired_at_the_time_of_reading_fails_the_chain() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    later = NOW + timedelta(days=13 * 365)
    result = run(sod, store_for(world), at=later)
    assert result.certificate_chain.status is Status.FAILED
    assert "not valid at the time of reading" in result.certificate_chain.reason


@pytest.mark.parametrize(
    ("not_before", "not_after", "words"),
    [
        (NOW - timedelta(days=800), NOW - timedelta(days=1), "expired on"),
        (NOW + timedelta(days=2), NOW + timedelta(days=800), "valid only from"),
    ],
)
def test_a_dsc_outside_its_validity_at_the_time_of_reading_fails(
    not_before: datetime, not_after: datetime, words: str
) -> None:
    world = f.test_pki(label=f"validity-{words}", dsc_not_before=not_before, dsc_not_after=not_after)
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"signer_validity": Status.FAILED})
    assert words in result.signer_validity.reason


def test_validity_is_judged_at_the_injected_reading_time() -> None:
    world = f.test_pki(label="old", dsc_not_before=NOW - timedelta(days=800), dsc_not_after=NOW - timedelta(days=1))
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    at_the_time = NOW - timedelta(days=100)
    crl = clean_crl(world, this_update=at_the_time - timedelta(days=1), next_update=at_the_time + timedelta(days=30))
    assert run(sod, store_for(world, crl=crl), at=at_the_time).overall.is_ok


def test_a_naive_reading_time_is_taken_as_utc() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)), at=NOW.replace(tzinfo=None))
    assert result.overall.is_ok
    assert result.at == NOW


# --- revocation ----------------------------------------------------------------------------------


def test_a_revoked_dsc_fails() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world, (world.dsc_serial, 77))))
    assert_only(result, {"revocation": Status.FAILED})
    assert "revoked on" in result.revocation.reason


def test_a_crl_not_signed_by_the_csca_is_not_believed() -> None:
    world = f.test_pki()
    forger = f.private_key("rsa2048", "crl-forger")
    forged_crl = f.make_crl(forger, world.csca_name, (world.dsc_serial,))
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=forged_crl))
    assert_only(result, {"revocation": Status.UNKNOWN})
    assert "does not verify" in result.revocation.reason


def test_an_outdated_crl_that_does_not_list_the_dsc_is_unknown() -> None:
    world = f.test_pki()
    old = clean_crl(world, this_update=NOW - timedelta(days=200), next_update=NOW - timedelta(days=100))
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=old))
    assert_only(result, {"revocation": Status.UNKNOWN})
    assert "due for renewal" in result.revocation.reason


def test_a_crl_of_another_csca_does_not_count() -> None:
    world = f.test_pki()
    other = f.test_pki(label="crl-other")
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=f.make_crl(other.csca_key, other.csca_name, (world.dsc_serial,))))
    assert_only(result, {"revocation": Status.NOT_SUPPORTED})


def test_revocation_is_unknown_without_a_trust_anchor() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, TrustStore.of([], [parse_crl(clean_crl(world, (world.dsc_serial,)))]))
    assert result.revocation.status is Status.UNKNOWN


# --- unsupported algorithms ----------------------------------------------------------------------


def test_a_dsa_signer_is_unknown_with_the_algorithm_named() -> None:
    world = f.test_pki("rsa2048", "dsa", label="dsa")
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert_only(result, {"sod_signature": Status.UNKNOWN})
    assert "dsa-with-sha256" in result.sod_signature.reason
    assert result.overall.status is Status.UNKNOWN


def test_an_unknown_signature_oid_is_unknown() -> None:
    world = f.test_pki()
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, signature_oid="1.2.3.4.5")
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert result.sod_signature == Outcome.unknown("unsupported signature algorithm 1.2.3.4.5")


def test_an_unsupported_lds_hash_algorithm_makes_every_dg_unknown() -> None:
    world = f.test_pki()
    md5 = "1.2.840.113549.2.5"
    sod = f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc, lds_hash_name="sha256", lds_hash_oid=md5)
    result = run(sod, store_for(world, crl=clean_crl(world)))
    assert {outcome.status for outcome in result.data_groups.values()} == {Status.UNKNOWN}
    assert all(md5 in outcome.reason for outcome in result.data_groups.values())
    assert result.overall.status is Status.UNKNOWN


# --- the overall outcome and robustness ----------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([Outcome.ok(), Outcome.ok()], Status.OK),
        ([Outcome.ok(), Outcome.unknown("u")], Status.UNKNOWN),
        ([Outcome.unknown("u"), Outcome.failed("f")], Status.FAILED),
        ([Outcome.failed("f"), Outcome.ok()], Status.FAILED),
        ([Outcome.not_supported("n"), Outcome.ok()], Status.OK),  # a check not performed does not decide
    ],
)
def test_overall_outcome(outcomes: list[Outcome], expected: Status) -> None:
    overall, reasons = overall_outcome([(f"c{i}", o) for i, o in enumerate(outcomes)])
    assert overall.status is expected
    if expected is Status.FAILED:
        assert reasons == tuple(f"c{i}: f" for i, o in enumerate(outcomes) if o.status is Status.FAILED)
    elif expected is Status.OK:
        assert reasons == ()


def test_the_result_serialises_for_receipts() -> None:
    world = f.test_pki()
    result = run(f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc), TrustStore())
    payload = result.to_json()
    assert payload["overall"]["status"] == "unknown"
    assert payload["checks"]["certificate_chain"]["status"] == "unknown"
    assert set(payload["checks"]) >= {"sod_signature", "message_digest", "revocation", "dg13_hash"}


def test_an_unparseable_sod_raises_document_error_naming_ef_sod() -> None:
    with pytest.raises(DocumentError) as caught:
        passive_authentication(b"\x77\x03\x30\x01\x00", DATA_GROUPS, TrustStore(), at=NOW)
    assert caught.value.file == "EF.SOD"


def test_a_parsed_sod_may_be_passed() -> None:
    world = f.test_pki()
    parsed = parse_sod(f.make_sod(DATA_GROUPS, world.dsc_key, world.dsc))
    assert passive_authentication(parsed, DATA_GROUPS, store_for(world, crl=clean_crl(world)), at=NOW).overall.is_ok


# --- cross-check with the simulator's independent card personalisation --------------------------

SIMULATED = {
    "normal": {},
    "rsa-signer": {},
    "rsa-pss-signer": {},
    "sha512": {},
    "nist-p256": {},
    "jpeg2000": {},
    "tampered-dg13": {"dg13_hash": Status.FAILED},
    "tampered-dg2": {"dg2_hash": Status.FAILED},
    "bad-sod-signature": {"sod_signature": Status.FAILED},
    "expired-signer": {"signer_validity": Status.FAILED},
    "revoked-signer": {"revocation": Status.FAILED},
    "unknown-csca": {"certificate_chain": Status.UNKNOWN, "revocation": Status.UNKNOWN},
}


@pytest.fixture(scope="module")
def simulator_trust(tmp_path_factory: pytest.TempPathFactory) -> TrustStore:
    pki_module = pytest.importorskip("simulators.card.pki")
    from agent.trust_files import load_trust_directory

    folder = tmp_path_factory.mktemp("simulator-trust")
    pki_module.write_trust_dir(folder)
    store, report = load_trust_directory(folder)
    assert report.problems == []
    return store


@pytest.mark.parametrize("profile_name", sorted(SIMULATED))
def test_cards_personalised_by_the_simulator_verify_as_their_profile_says(
    profile_name: str, simulator_trust: TrustStore
) -> None:
    profiles = pytest.importorskip("simulators.card.profiles")
    personalise = pytest.importorskip("simulators.card.personalise")
    people = pytest.importorskip("simulators.card.people")
    if profile_name not in profiles.PROFILES:
        pytest.skip(f"the simulator has no profile {profile_name}")
    profile = profiles.PROFILES[profile_name]
    image = personalise.personalise(people.make_person(index=profile.person_index), profile)
    from agent.icao.lds.document import ChipDocument

    # the LDS files (not EF.CardAccess or EF.ATR/INFO, which the card keeps in its MF)
    document = ChipDocument.from_files({fid: data for fid, data in image.files.items() if fid not in (0x011C, 0x2F01)})
    assert document.problems == {}
    assert document.sod is not None
    read = {number: data for number, data in document.data_groups.items() if number != 3}  # DG3 is EAC-only
    result = passive_authentication(document.sod, read, simulator_trust, at=NOW)
    assert_only(result, SIMULATED[profile_name])
    if profile_name == "jpeg2000":
        from agent.faces import face_to_displayable

        assert document.dg2 is not None
        assert face_to_displayable(document.dg2.face).mime_type == "image/png"

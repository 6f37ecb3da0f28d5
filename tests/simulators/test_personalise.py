"""Personalisation of the simulated CCCD: person records, faces, and the CardImage built from a person
and a profile (its files agree with each other and with the SOD, its keys with DG14 / DG15, and each
profile's fault is exactly the one it claims)."""

from __future__ import annotations

import hashlib
import io
import unicodedata
from datetime import date

import ndef
import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from PIL import Image

from agent.errors import ConfigError
from agent.icao import tlv
from simulators.card import faces, lds_build, people
from simulators.card.image import (
    AID_NDEF_TAG,
    FID_CARD_ACCESS,
    FID_COM,
    FID_EF_ATR_INFO,
    FID_NDEF_CC,
    FID_NDEF_FILE,
    FID_SOD,
    CardImage,
    fid_of_dg,
)
from simulators.card.personalise import build_card_image, ndef_token, personalise, tamper
from simulators.card.pki import get_pki
from simulators.card.profiles import get_profile

SEED = b"test-personalise"
PROVINCE_CODES = {code for code, _ in people.PLACES_OF_ORIGIN}


# --- people ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> list[people.Person]:
    return people.make_people(60, SEED)


def test_people_are_reproducible() -> None:
    assert people.make_person(SEED, 3) == people.make_person(SEED, 3)
    assert people.make_person(SEED, 3) != people.make_person(SEED, 4)
    assert people.make_person(SEED, 3) != people.make_person(b"other", 3)


def test_person_repr_hides_personal_data() -> None:
    person = people.make_person(SEED, 0)
    assert person.id_number not in repr(person) and person.full_name not in repr(person)


def test_id_numbers_follow_the_cccd_structure(population: list[people.Person]) -> None:
    for person in population:
        number = person.id_number
        assert len(number) == 12 and number.isdigit()
        assert number[:3] in PROVINCE_CODES
        century = person.date_of_birth.year // 100 - 19
        assert int(number[3]) == 2 * century + (0 if person.sex == "M" else 1)
        assert number[4:6] == f"{person.date_of_birth.year % 100:02d}"
        assert person.can == number[-6:] and person.document_number == number[-9:]


def test_names_and_addresses_are_vietnamese_nfc_text(population: list[people.Person]) -> None:
    texts = [p.full_name for p in population] + [p.permanent_residence for p in population]
    assert all(unicodedata.is_normalized("NFC", text) for text in texts)
    assert any(not text.isascii() for text in texts)
    assert {p.sex for p in population} == {"M", "F"}
    assert all(3 <= len(p.full_name.split()) <= 4 for p in population)
    assert all(p.nationality == "Việt Nam" for p in population)


def test_old_id_only_for_people_born_before_2002(population: list[people.Person]) -> None:
    for person in population:
        if person.date_of_birth.year < people.OLD_ID_BORN_BEFORE:
            assert person.old_id_number is not None and len(person.old_id_number) == 9
            assert person.old_id_number.isdigit()
        else:
            assert person.old_id_number is None


def test_card_dates_are_consistent(population: list[people.Person]) -> None:
    for person in population:
        assert people.FIRST_ISSUE_DATE <= person.date_of_issue <= people.LAST_ISSUE_DATE
        assert person.date_of_issue >= people.birthday_at(person.date_of_birth, 14)
        assert person.date_of_expiry == people.card_expiry(person.date_of_birth, person.date_of_issue)
        assert person.date_of_expiry > person.date_of_issue
        assert len(person.card_serial) == 16 and int(person.card_serial, 16) >= 0


@pytest.mark.parametrize(
    ("born", "issued", "expiry"),
    [
        (date(1993, 1, 5), date(2021, 6, 1), date(2033, 1, 5)),  # the public sample: valid to 40
        (date(2000, 3, 1), date(2023, 6, 1), date(2040, 3, 1)),  # 23 at issue: within 2 years of 25
        (date(2000, 3, 1), date(2023, 2, 28), date(2025, 3, 1)),  # the day before 23: to 25
        (date(1962, 5, 5), date(2021, 6, 1), None),  # 59 at issue: no expiry
        (date(1980, 7, 7), date(2019, 1, 1), date(2040, 7, 7)),  # 38 at issue: to 60
        (date(2008, 2, 29), date(2022, 3, 1), date(2033, 2, 28)),  # 29 February: to the 25th birthday
    ],
)
def test_card_expiry_follows_the_renewal_ages(born: date, issued: date, expiry: date | None) -> None:
    assert people.card_expiry(born, issued) == expiry


@pytest.mark.parametrize(
    ("text", "mrz"),
    [("Đặng Thị Ngọc Hà", "DANG<THI<NGOC<HA"), ("Ưng Hoàng Hiệp", "UNG<HOANG<HIEP"), ("Lê-Văn", "LE<VAN")],
)
def test_mrz_transliteration(text: str, mrz: str) -> None:
    assert people.mrz_transliterate(text) == mrz


def test_qr_text_has_the_printed_layout() -> None:
    person = people.make_person(SEED, 1)
    fields = person.qr_text().split("|")
    assert len(fields) == 7
    assert fields[0] == person.id_number and fields[2] == person.full_name
    assert fields[1] == (person.old_id_number or "")
    assert fields[3] == person.date_of_birth.strftime("%d%m%Y") and fields[4] in ("Nam", "Nữ")


# --- faces ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", faces.FORMATS)
@pytest.mark.parametrize("index", [0, 1, 2])
def test_faces_are_real_size_and_decode(image_format: str, index: int) -> None:
    face = faces.face_image(b"faces-test", index, image_format, female=index % 2 == 1)
    assert faces.MIN_SIZE <= len(face.data) <= faces.MAX_SIZE
    image = Image.open(io.BytesIO(face.data))
    image.load()
    assert image.format == ("JPEG" if image_format == faces.FORMAT_JPEG else "JPEG2000")
    assert image.size == (face.width, face.height)


def test_faces_are_reproducible_and_differ_per_person() -> None:
    first = faces.draw_portrait(SEED, 0).tobytes()
    assert faces.draw_portrait(SEED, 0).tobytes() == first
    assert faces.draw_portrait(SEED, 1).tobytes() != first


def test_unknown_face_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        faces.face_image(SEED, 0, "gif")


# --- the card image ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def normal() -> CardImage:
    return build_card_image("normal", seed=SEED)


def dg(image: CardImage, number: int) -> bytes:
    return image.files[fid_of_dg(number)]


def sod_parts(image: CardImage) -> tuple[dict[int, bytes], x509.Certificate, bytes, bytes, str]:
    """(DG number -> hash, signer certificate, signed attributes as signed, signature, digest)."""
    content = cms.ContentInfo.load(tlv.decode_single(image.files[FID_SOD], 0x77).value)["content"]
    lds_object = content["encap_content_info"]["content"].contents
    _, _, values = tlv.decode_single(lds_object, 0x30).children()
    hashes_listed = {
        int.from_bytes(number.value, "big"): digest.value
        for number, digest in (entry.children() for entry in values.children())
    }
    signer_info = content["signer_infos"][0]
    certificate = x509.load_der_x509_certificate(content["certificates"][0].chosen.dump())
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    return (
        hashes_listed,
        certificate,
        signed,
        signer_info["signature"].native,
        signer_info["digest_algorithm"]["algorithm"].native,
    )


def signature_valid(image: CardImage) -> bool:
    _, certificate, signed, signature, digest = sod_parts(image)
    public_key = certificate.public_key()
    algorithm = {"sha256": hashes.SHA256(), "sha512": hashes.SHA512()}[digest]
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed, ec.ECDSA(algorithm))
        else:
            assert isinstance(public_key, rsa.RSAPublicKey)
            public_key.verify(signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def mismatched_hashes(image: CardImage) -> set[int]:
    listed, *_, digest = sod_parts(image)
    return {number for number, value in listed.items() if hashlib.new(digest, dg(image, number)).digest() != value}


def dg14_ca_public_key(image: CardImage) -> ec.EllipticCurvePublicKey:
    security_infos = tlv.decode_single(tlv.decode_single(dg(image, 14), 0x6E).value, 0x31).children()
    for info in security_infos:
        children = info.children()
        if children[0].value == bytes.fromhex("04007F000702020102"):  # id-PK-ECDH
            key = serialization.load_der_public_key(children[1].encode())
            assert isinstance(key, ec.EllipticCurvePublicKey)
            return key
    raise AssertionError("no ChipAuthenticationPublicKeyInfo in DG14")


def chip_key_matches_dg14(image: CardImage) -> bool:
    assert image.chip_auth is not None
    dg14_key = dg14_ca_public_key(image)
    card_key = ec.derive_private_key(image.chip_auth.private_value, dg14_key.curve)
    return card_key.public_key().public_numbers() == dg14_key.public_numbers()


def aa_key_matches_dg15(image: CardImage) -> bool:
    assert image.active_auth_private_key_der is not None
    private_key = serialization.load_der_private_key(image.active_auth_private_key_der, password=None)
    dg15_key = serialization.load_der_public_key(tlv.decode_single(dg(image, 15), 0x6F).value)
    return private_key.public_key() == dg15_key


def test_normal_card_has_every_cccd_file(normal: CardImage) -> None:
    expected = {FID_CARD_ACCESS, FID_EF_ATR_INFO, FID_COM, FID_SOD} | {fid_of_dg(n) for n in (1, 2, 3, 13, 14, 15)}
    assert set(normal.files) == expected
    com = tlv.decode_single(normal.files[FID_COM], 0x60)
    assert com.require(0x5C).value == bytes.fromhex("6175636D6E6F")
    assert normal.files[FID_CARD_ACCESS] == bytes.fromhex("31143012060A04007F0007020204020202010202010D")
    assert faces.MIN_SIZE <= len(dg(normal, 2)) <= faces.MAX_SIZE + 200


def test_normal_card_access_data_agree_with_dg1_and_dg13(normal: CardImage) -> None:
    person = people.make_person(SEED, 0)
    mrz = tlv.decode_single(dg(normal, 1), 0x61).require(0x5F1F).value.decode("ascii")
    assert normal.mrz_information == mrz[5:15] + mrz[30:37] + mrz[38:45]
    assert normal.can == person.id_number[-6:]
    assert person.id_number.encode() in dg(normal, 13)
    assert person.full_name.encode("utf-8") in dg(normal, 13)
    assert mrz[15:27] == person.id_number


def test_normal_card_sod_is_valid_over_every_dg(normal: CardImage) -> None:
    listed, certificate, *_ = sod_parts(normal)
    assert set(listed) == {1, 2, 3, 13, 14, 15}
    assert mismatched_hashes(normal) == set()
    assert signature_valid(normal)
    assert certificate == get_pki(SEED).signer("ecdsa-bp256").certificate


def test_normal_card_keys_match_dg14_and_dg15(normal: CardImage) -> None:
    assert normal.chip_auth is not None and normal.chip_auth.parameter_id == 13
    assert normal.chip_auth.protocol_oid == lds_build.CA_ECDH_AES_128
    assert chip_key_matches_dg14(normal)
    assert aa_key_matches_dg15(normal)
    assert dg14_ca_public_key(normal).curve.name == "brainpoolP256r1"


def test_personalisation_is_reproducible(normal: CardImage) -> None:
    again = build_card_image("normal", seed=SEED)
    assert again.files == normal.files
    assert again.active_auth_private_key_der == normal.active_auth_private_key_der
    assert again.chip_auth == normal.chip_auth


@pytest.mark.parametrize("number", [1, 2, 13, 14, 15])
def test_tampered_profiles_change_one_byte_of_one_dg(normal: CardImage, number: int) -> None:
    tampered = build_card_image(f"tampered-dg{number}", seed=SEED)
    assert mismatched_hashes(tampered) == {number}
    assert signature_valid(tampered)
    assert tampered.files[FID_SOD] == normal.files[FID_SOD]
    changed = [fid for fid in normal.files if normal.files[fid] != tampered.files[fid]]
    assert changed == [fid_of_dg(number)]
    before, after = dg(normal, number), dg(tampered, number)
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after, strict=True)) == 1
    tlv.decode_single(after, lds_build.DG_TAGS[number])  # still well formed


def test_tampered_files_stay_parseable_in_their_own_way(normal: CardImage) -> None:
    person = people.make_person(SEED, 0)
    mrz = tlv.decode_single(tamper(1, dg(normal, 1), person), 0x61).require(0x5F1F).value.decode("ascii")
    assert len(mrz) == 90 and mrz[60:].rstrip("<")
    fields = tlv.decode_single(tlv.decode_single(tamper(13, dg(normal, 13), person), 0x6D).value, 0x30).children()[2]
    address = next(entry.children()[1] for entry in fields.children() if entry.children()[0].value == b"\x09")
    assert address.value.decode("utf-8") != person.permanent_residence  # changed, still UTF-8
    dg14 = tamper(14, dg(normal, 14), person)
    assert dg14_ca_public_key(CardImage(files={fid_of_dg(14): dg14}, mrz_information="", can="")) is not None
    dg15 = tamper(15, dg(normal, 15), person)
    serialization.load_der_public_key(tlv.decode_single(dg15, 0x6F).value)


def test_bad_sod_signature_keeps_the_hashes(normal: CardImage) -> None:
    image = build_card_image("bad-sod-signature", seed=SEED)
    assert mismatched_hashes(image) == set()
    assert not signature_valid(image)


@pytest.mark.parametrize(
    ("profile", "signer"),
    [
        ("expired-signer", "expired"),
        ("revoked-signer", "revoked"),
        ("unknown-csca", "unknown-csca"),
        ("rsa-signer", "rsa"),
        ("nist-p256", "ecdsa-p256"),
    ],
)
def test_signer_profiles_sign_with_their_signer(profile: str, signer: str) -> None:
    image = build_card_image(profile, seed=SEED)
    _, certificate, *_ = sod_parts(image)
    assert certificate == get_pki(SEED).signer(signer).certificate
    assert signature_valid(image) and mismatched_hashes(image) == set()


def test_sha512_profile_hashes_with_sha512() -> None:
    image = build_card_image("sha512", seed=SEED)
    *_, digest = sod_parts(image)
    assert digest == "sha512" and signature_valid(image) and mismatched_hashes(image) == set()


def test_clone_has_the_genuine_files_but_other_keys(normal: CardImage) -> None:
    clone = build_card_image("clone", seed=SEED)
    assert clone.files == normal.files
    assert not chip_key_matches_dg14(clone)
    assert not aa_key_matches_dg15(clone)
    assert clone.chip_auth is not None and normal.chip_auth is not None
    assert clone.chip_auth.private_value != normal.chip_auth.private_value


def test_ec_active_authentication_is_announced_in_dg14() -> None:
    image = build_card_image("ec-aa", seed=SEED)
    assert aa_key_matches_dg15(image)
    assert bytes.fromhex("0606678108010105") in dg(image, 14)  # the AA protocol OID
    assert image.active_auth_hash == "SHA-256"


def test_legacy_card_has_no_pace_and_3des_chip_authentication() -> None:
    image = build_card_image("legacy-3des", seed=SEED)
    assert FID_CARD_ACCESS not in image.files and image.pace == ()
    assert image.chip_auth is not None and image.chip_auth.protocol_oid == lds_build.CA_ECDH_3DES
    assert image.behaviour.supports_bac and not image.behaviour.supports_extended_length
    assert chip_key_matches_dg14(image)


def test_jpeg2000_profile_stores_a_jp2_face() -> None:
    image = build_card_image("jpeg2000", seed=SEED)
    assert b"jP  \r\n\x87\n" in dg(image, 2)


def test_personalise_takes_any_person() -> None:
    person = people.make_person(SEED, 17)
    image = personalise(person, get_profile("normal"), seed=SEED)
    assert image.can == person.can
    assert mismatched_hashes(image) == set() and chip_key_matches_dg14(image) and aa_key_matches_dg15(image)


def test_ndef_tag_holds_a_type_4_tag_application() -> None:
    image = build_card_image("ndef-tag", seed=SEED)
    assert not image.emrtd_application and image.files == {}
    (application,) = image.applications
    assert application.aid == AID_NDEF_TAG
    cc = application.files[FID_NDEF_CC]
    assert int.from_bytes(cc[0:2], "big") == len(cc) == 15
    assert cc[2] == 0x20
    assert cc[7:9] == b"\x04\x06" and cc[9:11] == FID_NDEF_FILE.to_bytes(2, "big")
    ndef_file = application.files[FID_NDEF_FILE]
    assert int.from_bytes(cc[11:13], "big") >= len(ndef_file)
    assert cc[13] == 0x00  # read access free
    length = int.from_bytes(ndef_file[:2], "big")
    records = list(ndef.message_decoder(ndef_file[2 : 2 + length]))
    token = ndef_token(SEED, 0)
    assert records[0].text == token
    assert records[1].iri.endswith(token)

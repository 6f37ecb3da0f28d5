"""The simulator's LDS encoders, checked against the specifications' own examples (the public CCCD MRZ,
Appendix D's MRZ information, Appendix G's EF.CardAccess) and by decoding what they write with
independent tools (agent.icao.tlv walking the DER, asn1crypto for CMS, cryptography for signatures)."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from asn1crypto import cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from agent.errors import ConfigError, MrzFormatError
from agent.icao import tlv
from simulators.card import lds_build
from simulators.card.faces import FORMAT_JPEG, FORMAT_JPEG2000, face_image
from simulators.card.pki import get_pki

SEED = b"test-lds-build"
TAG_SEQUENCE, TAG_SET, TAG_INTEGER, TAG_OID = 0x30, 0x31, 0x02, 0x06
TAG_UTF8, TAG_PRINTABLE = 0x0C, 0x13
CCCD_SAMPLE = ("IDVNM0930470641001093047064<<2", "9301054M3301052VNM<<<<<<<<<<<8", "UNG<<HOANG<HIEP<<<<<<<<<<<<<<<")


def integer(item: tlv.Tlv) -> int:
    assert item.tag == TAG_INTEGER
    return int.from_bytes(item.value, "big", signed=True)


# --- MRZ ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "digit"),
    [("L898902C<", "3"), ("690806", "1"), ("940623", "6"), ("093047064", "1"), ("001093047064", "2"), ("<<<", "0")],
)
def test_check_digits(field: str, digit: str) -> None:
    assert lds_build.check_digit(field) == digit


def test_check_digit_rejects_non_mrz_characters() -> None:
    with pytest.raises(MrzFormatError):
        lds_build.check_digit("ab1")


def test_mrz_information_reproduces_appendix_d() -> None:
    assert lds_build.mrz_information("L898902C", "690806", "940623") == "L898902C<369080619406236"


def test_td1_reproduces_the_public_cccd_sample() -> None:
    lines = lds_build.td1_lines(
        document_number="093047064",
        id_number="001093047064",
        date_of_birth="930105",
        sex="M",
        date_of_expiry="330105",
        surname="Ưng",
        given_names="Hoàng Hiệp",
    )
    assert lines == CCCD_SAMPLE


names = st.text(alphabet="ABCĐÊÔƠƯàáạảãâầấậẩẫăằắặẳẵèéẹẻẽ abc", min_size=1, max_size=40).filter(str.strip)


@given(
    docno=st.from_regex(r"[0-9]{9}", fullmatch=True),
    id_tail=st.from_regex(r"[0-9]{3}", fullmatch=True),
    dob=st.dates().map(lambda d: d.strftime("%y%m%d")),
    expiry=st.dates().map(lambda d: d.strftime("%y%m%d")),
    sex=st.sampled_from("MF"),
    surname=names,
    given_names=names,
)
def test_td1_lines_are_well_formed(
    docno: str, id_tail: str, dob: str, expiry: str, sex: str, surname: str, given_names: str
) -> None:
    line1, line2, line3 = lds_build.td1_lines(
        document_number=docno,
        id_number=id_tail + docno,
        date_of_birth=dob,
        sex=sex,
        date_of_expiry=expiry,
        surname=surname,
        given_names=given_names,
    )
    for line in (line1, line2, line3):
        assert len(line) == 30
        assert all(ch.isdigit() or "A" <= ch <= "Z" or ch == "<" for ch in line)
    assert line1[14] == lds_build.check_digit(line1[5:14])
    assert line2[6] == lds_build.check_digit(dob) and line2[14] == lds_build.check_digit(expiry)
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    assert line2[29] == lds_build.check_digit(composite)


# --- EF.COM, DG1, DG2, DG3 -------------------------------------------------------------------------


def test_com_lists_versions_and_tags() -> None:
    com = tlv.decode_single(lds_build.encode_com([1, 2, 3, 13, 14, 15]), lds_build.TAG_COM)
    assert com.require(0x5F01).value == b"0107"
    assert com.require(0x5F36).value == b"040000"
    assert com.require(0x5C).value == bytes.fromhex("6175636D6E6F")


def test_dg1_holds_the_90_mrz_characters() -> None:
    dg1 = tlv.decode_single(lds_build.encode_dg1(CCCD_SAMPLE), lds_build.TAG_DG1)
    assert dg1.require(0x5F1F).value == "".join(CCCD_SAMPLE).encode("ascii")


def test_dg1_rejects_a_wrong_mrz_length() -> None:
    with pytest.raises(MrzFormatError):
        lds_build.encode_dg1(CCCD_SAMPLE[:2])


@pytest.mark.parametrize(("image_format", "data_type"), [(FORMAT_JPEG, 0), (FORMAT_JPEG2000, 1)])
def test_dg2_is_a_cbeff_wrapped_iso_19794_5_record(image_format: str, data_type: int) -> None:
    face = face_image(SEED, 0, image_format)
    dg2 = tlv.decode_single(lds_build.encode_dg2(face, "F"), lds_build.TAG_DG2)
    group = dg2.require(0x7F61)
    assert group.require(0x02).value == b"\x01"
    template = group.require(0x7F60)
    header = template.require(0xA1)
    assert header.require(0x87).value == b"\x01\x01" and header.require(0x88).value == b"\x00\x08"
    record = template.require(0x5F2E).value
    assert record[:8] == b"FAC\x00010\x00"
    assert int.from_bytes(record[8:12], "big") == len(record)
    assert int.from_bytes(record[12:14], "big") == 1
    facial = record[14:]
    assert int.from_bytes(facial[0:4], "big") == len(facial)
    assert facial[6] == 2  # gender: female
    image_info = facial[20:32]
    assert image_info[1] == data_type
    assert int.from_bytes(image_info[2:4], "big") == face.width
    image = facial[32:]
    assert image == face.data
    decoded = Image.open(io.BytesIO(image))
    decoded.load()
    assert decoded.size == (face.width, face.height)


def test_dg3_is_an_empty_biometric_group() -> None:
    dg3 = tlv.decode_single(lds_build.encode_dg3_empty(), lds_build.TAG_DG3)
    assert dg3.require(0x7F61).require(0x02).value == b"\x00"


# --- DG13 -----------------------------------------------------------------------------------------


FULL_FIELDS: dict[int, lds_build.Dg13Value] = {
    1: "001093047064",
    2: "Ưng Hoàng Hiệp",
    3: "05/01/1993",
    4: "Nam",
    5: "Việt Nam",
    6: "Kinh",
    7: "Không",
    8: "Xã Hải Minh, Huyện Hải Hậu, Nam Định",
    9: "Số 12, Ngõ 34 Phố Láng Hạ, Phường Láng Hạ, Quận Đống Đa, Thành phố Hà Nội",
    10: "Nốt ruồi C:2cm dưới sau đuôi mắt trái",
    11: "10/07/2021",
    12: "05/01/2033",
    13: ("Ưng Văn Đức", "Nguyễn Thị Thủy"),
    14: (),
    15: "012345678",
    16: "0123456789ABCDEF",
}


def decode_dg13(data: bytes) -> tuple[int, str, dict[int, tlv.Tlv]]:
    outer = tlv.decode_single(data, lds_build.TAG_DG13)
    body = tlv.decode_single(outer.value, TAG_SEQUENCE).children()
    version, oid, fields = body
    assert oid.tag == TAG_OID and fields.tag == TAG_SET
    entries = {}
    for entry in fields.children():
        number, value = tlv.decode_single(entry.encode(), TAG_SEQUENCE).children()
        entries[integer(number)] = value
    return integer(version), oid.value.hex(), entries


def test_dg13_has_the_cccd_layout_with_every_field() -> None:
    version, oid, entries = decode_dg13(lds_build.encode_dg13(FULL_FIELDS))
    assert version == 1
    assert oid == "28d316010008"  # 1.0.10646.1.0.8
    assert sorted(entries) == list(range(1, 17))
    for number in (1, 3, 11, 15, 16):
        assert entries[number].tag == TAG_PRINTABLE
        assert entries[number].value.decode("ascii") == FULL_FIELDS[number]
    for number in (2, 4, 5, 6, 7, 8, 9, 10, 12):
        assert entries[number].tag == TAG_UTF8
        assert entries[number].value.decode("utf-8") == FULL_FIELDS[number]
    parents = entries[13].children()
    assert [item.value.decode("utf-8") for item in parents] == ["Ưng Văn Đức", "Nguyễn Thị Thủy"]
    assert entries[14].tag == TAG_SEQUENCE and entries[14].value == b""


def test_dg13_leaves_out_absent_fields() -> None:
    fields = {number: value for number, value in FULL_FIELDS.items() if number != 15} | {14: None}
    _, _, entries = decode_dg13(lds_build.encode_dg13(fields))
    assert 15 not in entries and 14 not in entries


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(name=text, address=text, father=text, mother=text)
def test_dg13_round_trips_any_unicode_text(name: str, address: str, father: str, mother: str) -> None:
    fields = dict(FULL_FIELDS)
    fields.update({2: name, 9: address, 13: (father, mother), 14: (name,)})
    _, _, entries = decode_dg13(lds_build.encode_dg13(fields))
    assert entries[2].value.decode("utf-8") == name
    assert entries[9].value.decode("utf-8") == address
    assert [item.value.decode("utf-8") for item in entries[13].children()] == [father, mother]
    assert [item.value.decode("utf-8") for item in entries[14].children()] == [name]


# --- SecurityInfos ---------------------------------------------------------------------------------


def test_card_access_reproduces_appendix_g() -> None:
    info = lds_build.pace_info(lds_build.PACE_ECDH_GM_AES_128, 13)
    assert lds_build.encode_card_access([info]) == bytes.fromhex("31143012060A04007F0007020204020202010202010D")


def test_dg14_is_a_der_set_of_security_infos() -> None:
    key = ec.derive_private_key(12345, ec.BrainpoolP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    infos = [
        lds_build.pace_info(lds_build.PACE_ECDH_GM_AES_128, 13),
        lds_build.chip_authentication_info(lds_build.CA_ECDH_AES_128, key_id=7),
        lds_build.chip_authentication_public_key_info(spki, key_id=7),
        lds_build.active_authentication_info(),
    ]
    dg14 = tlv.decode_single(lds_build.encode_dg14(infos), lds_build.TAG_DG14)
    members = tlv.decode_single(dg14.value, TAG_SET).children()
    encodings = [member.encode() for member in members]
    assert encodings == sorted(encodings) and sorted(encodings) == sorted(infos)
    public_key_info = next(m for m in members if m.children()[0].value == bytes.fromhex("04007F000702020102"))
    _, key_info, key_id = public_key_info.children()
    loaded = serialization.load_der_public_key(key_info.encode())
    assert (
        isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.public_numbers() == key.public_key().public_numbers()
    )
    assert integer(key_id) == 7


def test_dg15_wraps_a_subject_public_key_info() -> None:
    key = ec.derive_private_key(99, ec.SECP256R1())
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    dg15 = tlv.decode_single(lds_build.encode_dg15(spki), lds_build.TAG_DG15)
    assert dg15.value == spki


# --- EF.SOD -----------------------------------------------------------------------------------------

FILES = {1: lds_build.encode_dg1(CCCD_SAMPLE), 13: lds_build.encode_dg13(FULL_FIELDS), 15: b"\x6f\x02\x05\x00"}
HASH_OIDS = {"sha256": "2.16.840.1.101.3.4.2.1", "sha512": "2.16.840.1.101.3.4.2.3"}
CRYPTO_HASH = {"sha256": hashes.SHA256(), "sha512": hashes.SHA512()}


def open_sod(sod: bytes) -> tuple[cms.SignedData, cms.SignerInfo]:
    content_info = cms.ContentInfo.load(tlv.decode_single(sod, lds_build.TAG_SOD).value)
    assert content_info["content_type"].native == "signed_data"
    signed_data = content_info["content"]
    return signed_data, signed_data["signer_infos"][0]


def verify_sod_signature(sod: bytes, digest: str) -> None:
    signed_data, signer_info = open_sod(sod)
    certificate = x509.load_der_x509_certificate(signed_data["certificates"][0].chosen.dump())
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    signature = signer_info["signature"].native
    public_key = certificate.public_key()
    algorithm = CRYPTO_HASH[digest]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, signed, ec.ECDSA(algorithm))
    elif signer_info["signature_algorithm"]["algorithm"].native == "rsassa_pss":
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(signature, signed, padding.PSS(padding.MGF1(algorithm), algorithm.digest_size), algorithm)
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(signature, signed, padding.PKCS1v15(), algorithm)


@pytest.mark.parametrize("signer", ["ecdsa-bp256", "ecdsa-p256", "rsa", "rsa-pss"])
@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_sod_is_signed_and_lists_every_dg_hash(signer: str, digest: str) -> None:
    document_signer = get_pki(SEED).signer(signer)
    sod = lds_build.encode_sod(FILES, document_signer, digest=digest, signing_time=datetime(2023, 5, 6, tzinfo=UTC))
    verify_sod_signature(sod, digest)
    signed_data, signer_info = open_sod(sod)
    assert signed_data["encap_content_info"]["content_type"].dotted == lds_build.OID_LDS_SECURITY_OBJECT
    lds_object = signed_data["encap_content_info"]["content"].contents
    attributes = {attribute["type"].native: attribute["values"][0] for attribute in signer_info["signed_attrs"]}
    assert attributes["content_type"].dotted == lds_build.OID_LDS_SECURITY_OBJECT
    assert attributes["message_digest"].native == hashlib.new(digest, lds_object).digest()
    assert signer_info["digest_algorithm"]["algorithm"].native == digest
    # LDSSecurityObject: SEQUENCE { version, hashAlgorithm, SEQUENCE OF DataGroupHash }
    version, algorithm, hash_values = tlv.decode_single(lds_object, TAG_SEQUENCE).children()
    assert integer(version) == 0
    assert algorithm.children()[0].encode() == core.ObjectIdentifier(HASH_OIDS[digest]).dump()
    listed = {integer(n): h.value for n, h in (entry.children() for entry in hash_values.children())}
    assert listed == {number: hashlib.new(digest, data).digest() for number, data in FILES.items()}
    certificate = x509.load_der_x509_certificate(signed_data["certificates"][0].chosen.dump())
    assert certificate == document_signer.certificate
    sid = signer_info["sid"].chosen
    assert sid["serial_number"].native == certificate.serial_number


def test_sod_is_reproducible() -> None:
    signer = get_pki(SEED).signer("rsa-pss")
    assert lds_build.encode_sod(FILES, signer) == lds_build.encode_sod(FILES, signer)


def test_sod_with_version_info_is_version_1() -> None:
    sod = lds_build.encode_sod(FILES, get_pki(SEED).signer("ecdsa-bp256"), with_version_info=True)
    signed_data, _ = open_sod(sod)
    fields = tlv.decode_single(signed_data["encap_content_info"]["content"].contents, TAG_SEQUENCE).children()
    assert integer(fields[0]) == 1
    assert [item.value for item in fields[3].children()] == [b"0107", b"040000"]


@pytest.mark.parametrize("signer", ["ecdsa-bp256", "rsa"])
def test_corrupted_sod_signature_no_longer_verifies(signer: str) -> None:
    sod = lds_build.encode_sod(FILES, get_pki(SEED).signer(signer), corrupt_signature=True)
    with pytest.raises(InvalidSignature):
        verify_sod_signature(sod, "sha256")


def test_sod_rejects_an_unknown_digest() -> None:
    with pytest.raises(ConfigError):
        lds_build.encode_sod(FILES, get_pki(SEED).signer("ecdsa-bp256"), digest="md5")


# --- issue 12: DG2 in ISO/IEC 39794-5, DG15 with explicit parameters, EF.ATR/INFO ------------------


@pytest.mark.parametrize("image_format", [FORMAT_JPEG, FORMAT_JPEG2000])
def test_dg2_in_39794_5_is_read_by_the_host_with_its_face_byte_exact(image_format: str) -> None:
    from agent.icao.lds.dg2 import parse_dg2

    face = face_image(SEED, 3, image_format)
    encoded = lds_build.encode_dg2_39794(face)
    group = tlv.decode_single(encoded, 0x75).require(0x7F61)
    template = group.require(0x7F60)
    header = template.require(0xA1)
    assert header.require(0x88).value == b"\x00\x2a"  # CBEFF format type of ISO/IEC 39794-5
    assert template.require(0x7F2E).children()[0].tag == 0xA1  # ICAO's [1] around the data block
    parsed = parse_dg2(encoded).face
    assert parsed.image == face.data
    assert (parsed.width, parsed.height) == (face.width, face.height)
    assert parsed.image_data_type == (2 if image_format == FORMAT_JPEG else 3)
    assert parsed.record_version == "39794-5 generation 3 (2019)"


def test_an_explicit_parameter_spki_holds_the_same_point_on_the_same_curve() -> None:
    from agent.icao import pki

    key = ec.derive_private_key(123456789, ec.BrainpoolP256R1())
    named = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    explicit = lds_build.explicit_ec_spki(named)
    assert explicit != named and len(explicit) > len(named)
    loaded = pki.load_public_key(explicit, file="DG15")
    assert loaded.explicit_parameters and loaded.curve == "brainpoolP256r1"
    numbers = key.public_key().public_numbers()
    assert loaded.ec_point == (numbers.x, numbers.y)


@pytest.mark.parametrize(("extended", "short_ef"), [(True, True), (False, True), (True, False)])
def test_ef_atr_info_is_what_the_host_reads_from_it(extended: bool, short_ef: bool) -> None:
    from agent.icao.files import parse_atr_info

    data = lds_build.encode_atr_info(extended=extended, short_ef=short_ef, max_command=1500, max_response=2048)
    info = parse_atr_info(data)
    assert info.extended_length is extended and info.short_ef_identifiers is short_ef
    assert (info.max_command, info.max_response) == ((1500, 2048) if extended else (None, None))

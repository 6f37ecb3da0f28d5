"""EF.SOD parsing: the CMS SignedData, the LDS security object and the signer, and every way it can
be malformed (a DocumentError naming EF.SOD, never another exception)."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import algos, cms

from agent.errors import DocumentError
from agent.icao import pki
from agent.icao.lds.sod import parse_lds_security_object, parse_sod
from tests.icao import pki_fixtures as f

GROUPS = {1: b"\x61\x03\x5f\x1f\x00", 2: b"\x75\x01\x00", 13: b"\x6d\x00"}


@pytest.fixture(scope="module")
def world() -> f.TestPki:
    return f.test_pki()


def test_a_sod_is_read(world: f.TestPki) -> None:
    sod = parse_sod(f.make_sod(GROUPS, world.dsc_key, world.dsc, hash_name="sha512"))
    assert sod.version == 1
    assert sod.hash_name == "SHA-512"
    assert sod.data_groups == (1, 2, 13)
    assert sod.data_group_hashes[13] == hashlib.sha512(GROUPS[13]).digest()
    assert (sod.lds_version, sod.unicode_version) == ("0108", "040000")
    assert sod.signer.signature_scheme.name == "sha512WithRSAEncryption"
    assert sod.signer.digest_algorithm == pki.OID_SHA512
    assert sod.signer.message_digests == (hashlib.sha512(sod.signed.content).digest(),)
    assert sod.signer.content_types == ("2.23.136.1.1.1",)
    assert sod.signer.signing_time == f.NOW
    assert sod.signer.signed_attributes is not None and sod.signer.signed_attributes[0] == 0x31
    certificate = sod.signer_certificate()
    assert certificate is not None and certificate.der == world.dsc
    assert certificate.subject.text.endswith("CN=Document Signer rsa2048")


def test_a_version_0_object_without_version_info(world: f.TestPki) -> None:
    content = f.lds_security_object({1: bytes(32)}, pki.OID_SHA256, lds_version=None)
    version, hash_oid, hashes, lds_version, unicode_version = parse_lds_security_object(content)
    assert (version, hash_oid, hashes, lds_version, unicode_version) == (0, pki.OID_SHA256, {1: bytes(32)}, None, None)


def test_pss_parameters_are_read(world: f.TestPki) -> None:
    sod = parse_sod(f.make_sod(GROUPS, world.dsc_key, world.dsc, hash_name="sha256", scheme="pss"))
    scheme = sod.signer.signature_scheme
    assert (scheme.family, scheme.hash_oid, scheme.mgf_hash_oid, scheme.salt_length) == (
        "rsa-pss",
        pki.OID_SHA256,
        pki.OID_SHA256,
        32,
    )


def test_padding_after_the_sod_is_tolerated(world: f.TestPki) -> None:
    parse_sod(f.make_sod(GROUPS, world.dsc_key, world.dsc) + b"\x00\x00")


def lds_sod(world: f.TestPki, content: bytes) -> bytes:
    return f.wrap(0x77, f.signed_data(content, f.OID_LDS_SECURITY_OBJECT, world.dsc_key, world.dsc))


def seq(*parts: bytes) -> bytes:
    return f.wrap(0x30, b"".join(parts))


SHA256_ID = seq(f.wrap(0x06, bytes.fromhex("608648016503040201")))


def entry(number: int, value: bytes = bytes(32)) -> bytes:
    return seq(f.wrap(0x02, bytes([number])), f.wrap(0x04, value))


BAD_OBJECTS = [
    (b"\x02\x01\x00", "expected tag 30"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID), "fewer than 3"),
    (seq(f.wrap(0x04, b"\x00"), SHA256_ID, seq()), "version is not a small INTEGER"),
    (seq(f.wrap(0x02, b"\x00"), f.wrap(0x04, b""), seq()), "not an AlgorithmIdentifier"),
    (seq(f.wrap(0x02, b"\x00"), seq(), seq()), "has no OID"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, f.wrap(0x31, b"")), "not a SEQUENCE"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(f.wrap(0x04, b""))), "DataGroupHash is not a SEQUENCE"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(seq(f.wrap(0x02, b"\x01")))), "is not {number"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(entry(0))), "out of range"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(entry(17))), "out of range"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(entry(2), entry(2))), "listed twice"),
    (seq(f.wrap(0x02, b"\x00"), seq(f.wrap(0x06, b"\x80")), seq()), "OBJECT IDENTIFIER"),
    (seq(f.wrap(0x02, b"\x01"), SHA256_ID, seq(entry(1)), seq(f.wrap(0x13, b"\xff"), f.wrap(0x13, b"1"))), "ASCII"),
    (seq(f.wrap(0x02, b"\x00"), SHA256_ID, seq(entry(1)))[:-1], "LDS security object: tag 30 declares"),
]


@pytest.mark.parametrize(("content", "words"), BAD_OBJECTS)
def test_a_malformed_lds_security_object(world: f.TestPki, content: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_sod(lds_sod(world, content))
    assert caught.value.file == "EF.SOD"
    assert words in caught.value.message


def replace_in_signed_data(der: bytes, change: object) -> bytes:
    info = cms.ContentInfo.load(der)
    change(info["content"])  # type: ignore[operator]
    return f.wrap(0x77, info.dump(force=True))


def test_cms_level_problems(world: f.TestPki) -> None:
    good = f.signed_data(
        f.lds_security_object({1: bytes(32)}, pki.OID_SHA256), f.OID_LDS_SECURITY_OBJECT, world.dsc_key, world.dsc
    )

    def two_signers(signed: cms.SignedData) -> None:
        signed["signer_infos"] = [signed["signer_infos"][0], signed["signer_infos"][0]]

    def detached(signed: cms.SignedData) -> None:
        signed["encap_content_info"] = {"content_type": f.OID_LDS_SECURITY_OBJECT}

    def bad_pss(signed: cms.SignedData) -> None:
        hash_id = {"algorithm": pki.OID_SHA256}
        signed["signer_infos"][0]["signature_algorithm"] = {
            "algorithm": pki.OID_RSASSA_PSS,
            "parameters": algos.RSASSAPSSParams(
                {
                    "hash_algorithm": hash_id,
                    "mask_gen_algorithm": {"algorithm": pki.OID_MGF1, "parameters": hash_id},
                    "salt_length": 32,
                    "trailer_field": 2,
                }
            ),
        }

    cases = [
        (two_signers, "expected one SignerInfo"),
        (detached, "detached"),
        (bad_pss, "trailer field"),
    ]
    for change, words in cases:
        with pytest.raises(DocumentError, match=words) as caught:
            parse_sod(replace_in_signed_data(good, change))
        assert caught.value.file == "EF.SOD"
    other_type = f.signed_data(b"\x30\x00", "1.2.840.113549.1.7.5", world.dsc_key, world.dsc)
    with pytest.raises(DocumentError, match="eContentType"):
        parse_sod(f.wrap(0x77, other_type))
    enveloped = f.wrap(0x30, f.wrap(0x06, bytes.fromhex("2A864886F70D010703")) + f.wrap(0xA0, f.wrap(0x30, b"")))
    with pytest.raises(DocumentError, match="not CMS SignedData"):
        parse_sod(f.wrap(0x77, enveloped))


def test_a_broken_certificate_inside_the_sod(world: f.TestPki) -> None:
    sod = f.make_sod(GROUPS, world.dsc_key, world.dsc)
    # Corrupt the DSC's validity dates (UTCTime "25..." -> "2x...").
    broken = sod.replace(b"\x17\x0d25", b"\x17\x0d2x", 1)
    assert broken != sod
    with pytest.raises(DocumentError) as caught:
        parse_sod(broken)
    assert caught.value.file == "EF.SOD"


@pytest.mark.parametrize("data", [b"", b"\x77", b"\x76\x00", b"\x77\x00", b"\x77\x02\x30\x00", b"\x77\x01\x30extra"])
def test_not_a_sod(data: bytes) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_sod(data)
    assert caught.value.file == "EF.SOD"

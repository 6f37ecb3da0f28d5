"""Personalisation of the simulated CCCD: turns a person record and a profile into the CardImage the
card's command processor serves. It derives the chip's keys from the seed (Chip Authentication key of
DG14, EC or DH, Active Authentication key of DG15), writes EF.CardAccess, EF.COM, DG1, DG2, DG3, DG13, DG14,
DG15 and EF.SOD signed by the profile's document signer (Doc 9303-10 §4, -11 §9.2, -12), then applies
the profile's fault: a data group changed after signing, a broken signature, or the private keys of a
clone. The ``ndef`` profile kind builds an NFC Forum Type 4 tag instead (CC file and NDEF file, NFC
Forum T4T 2.0, the NDEF message made with ndeflib).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, time

import ndef
from cryptography.hazmat.primitives.asymmetric import ec

from agent.errors import ConfigError
from agent.icao import dh
from simulators.card import lds_build
from simulators.card.faces import FaceImage, face_image
from simulators.card.image import (
    AID_NDEF_TAG,
    FID_CARD_ACCESS,
    FID_COM,
    FID_EF_ATR_INFO,
    FID_NDEF_CC,
    FID_NDEF_FILE,
    FID_SOD,
    CardImage,
    ChipAuthKey,
    ExtraApplication,
    fid_of_dg,
)
from simulators.card.people import DEFAULT_SEED, Person, make_person
from simulators.card.pki import (
    curve_of_parameter_id,
    derive_ec_private_value,
    derive_key,
    get_pki,
    private_key_pkcs8,
    public_key_spki,
)
from simulators.card.profiles import Profile, get_profile

# NFC Forum Type 4 Tag capability container (T4T 2.0 §5.1)
NDEF_MAPPING_VERSION = 0x20
NDEF_MAX_R_APDU = 0x00FF
NDEF_MAX_C_APDU = 0x00FF
TAG_NDEF_FILE_CONTROL = 0x04
NDEF_READ_FREE = 0x00
NDEF_WRITE_DENIED = 0xFF
NDEF_TOKEN_URI_PREFIX = "https://vneid.invalid/t/"  # noqa: S105  (a URL, not a password)


def _encode_dg2(profile: Profile, face: FaceImage, sex: str) -> bytes:
    if profile.dg2_encoding == lds_build.DG2_ENCODING_39794:
        return lds_build.encode_dg2_39794(face)
    return lds_build.encode_dg2(face, sex)


def personalise(person: Person, profile: Profile, *, seed: bytes = DEFAULT_SEED) -> CardImage:
    """The CardImage of ``person``'s card as ``profile`` describes it; keys and signatures from ``seed``."""
    if profile.kind == "ndef":
        return _ndef_tag_image(person, profile, seed)
    files: dict[int, bytes] = {}
    dgs: dict[int, bytes] = {
        1: lds_build.encode_dg1(lds_build.person_mrz(person)),
        2: _encode_dg2(profile, face_image(seed, person.index, profile.face_format, female=person.sex == "F"),
                       person.sex),
        3: lds_build.encode_dg3_empty(),
        13: lds_build.encode_dg13(lds_build.dg13_fields(person)),
    }
    role = "clone" if profile.clone else "card"
    pace_infos = [lds_build.pace_info(setup.protocol_oid, setup.parameter_id) for setup in profile.pace]
    if pace_infos:
        files[FID_CARD_ACCESS] = lds_build.encode_card_access(pace_infos)
    behaviour = profile.behaviour
    if behaviour.atr_info:
        files[FID_EF_ATR_INFO] = lds_build.encode_atr_info(
            extended=behaviour.supports_extended_length,
            short_ef=behaviour.supports_sfi,
            max_command=behaviour.max_command_apdu,
            max_response=behaviour.max_response_apdu,
        )

    chip_auth: ChipAuthKey | None = None
    dg14_infos = list(pace_infos)
    if profile.ca_protocol_oid is not None:
        dg14_infos.append(lds_build.chip_authentication_info(profile.ca_protocol_oid, key_id=profile.ca_key_id))
        dh_ca = profile.ca_protocol_oid.startswith(lds_build.CA_PREFIX + ".1.")
        _, genuine_spki = _chip_auth_key(seed, f"card/{person.id_number}/ca", profile, use_dh=dh_ca)
        dg14_infos.append(
            lds_build.chip_authentication_public_key_info(genuine_spki, key_id=profile.ca_key_id, dh=dh_ca)
        )
        card_value = _chip_auth_key(seed, f"{role}/{person.id_number}/ca", profile, use_dh=dh_ca)[0]
        chip_auth = ChipAuthKey(
            protocol_oid=profile.ca_protocol_oid,
            parameter_id=profile.ca_parameter_id,
            private_value=card_value,
            key_id=profile.ca_key_id,
        )

    active_auth_der: bytes | None = None
    active_auth_hash: str | None = None  # None: the card's default (SHA-1 for RSA, ISO 9796-2)
    if profile.aa_key_kind is not None:
        genuine_key = derive_key(seed, f"card/{person.id_number}/aa", profile.aa_key_kind)
        spki = public_key_spki(genuine_key)
        if profile.aa_explicit_parameters:
            spki = lds_build.explicit_ec_spki(spki)
        dgs[15] = lds_build.encode_dg15(spki)
        if isinstance(genuine_key, ec.EllipticCurvePrivateKey):
            dg14_infos.append(lds_build.active_authentication_info(lds_build.OID_ECDSA_PLAIN_SHA256))
            active_auth_hash = "SHA-256"
        active_auth_der = private_key_pkcs8(derive_key(seed, f"{role}/{person.id_number}/aa", profile.aa_key_kind))
    if dg14_infos:
        dgs[14] = lds_build.encode_dg14(dg14_infos)

    dgs = dict(sorted(dgs.items()))
    signer = get_pki(seed).signer(profile.signer)
    sod = lds_build.encode_sod(
        dgs,
        signer,
        digest=profile.digest,
        signing_time=datetime.combine(person.date_of_issue, time(9, 0), tzinfo=UTC),
        corrupt_signature=profile.corrupt_sod_signature,
    )
    if profile.tamper_dg is not None:
        dgs[profile.tamper_dg] = tamper(profile.tamper_dg, dgs[profile.tamper_dg], person)

    files[FID_COM] = lds_build.encode_com(list(dgs))
    files[FID_SOD] = sod
    for number, data in dgs.items():
        files[fid_of_dg(number)] = data
    return CardImage(
        files=files,
        mrz_information=lds_build.person_mrz_information(person),
        can=person.can,
        pace=profile.pace,
        chip_auth=chip_auth,
        active_auth_private_key_der=active_auth_der,
        active_auth_hash=active_auth_hash,
        behaviour=profile.behaviour,
        link=profile.link,
    )


def _chip_auth_key(seed: bytes, label: str, profile: Profile, *, use_dh: bool) -> tuple[int, bytes]:
    """(private value, SubjectPublicKeyInfo) of a Chip Authentication key on the profile's standardised
    domain parameters: an EC key, or a DH key in the X9.42 form of lds_build.dh_public_key_spki."""
    if not use_dh:
        curve = curve_of_parameter_id(profile.ca_parameter_id)
        value = derive_ec_private_value(seed, label, curve)
        return value, public_key_spki(ec.derive_private_key(value, curve))
    group = modp_group_of_parameter_id(profile.ca_parameter_id)
    assert group.q is not None  # every standardised MODP group has a prime-order subgroup
    value = derive_dh_private_value(seed, label, group.q)
    return value, lds_build.dh_public_key_spki(group.p, group.g, group.q, pow(group.g, value, group.p))


def derive_dh_private_value(seed: bytes, label: str, order: int) -> int:
    """A private exponent in [1, order - 1] bound to (seed, label); 8 extra bytes make the reduction
    bias negligible."""
    length = (order.bit_length() + 7) // 8 + 8
    stream = b""
    counter = 0
    while len(stream) < length:
        stream += hmac.new(seed, f"dh/{label}/{counter}".encode(), hashlib.sha512).digest()
        counter += 1
    return int.from_bytes(stream[:length], "big") % (order - 1) + 1


def modp_group_of_parameter_id(parameter_id: int) -> dh.ModpGroup:
    try:
        return dh.GROUPS_BY_PARAMETER_ID[parameter_id]
    except KeyError:
        raise ConfigError(f"no DH group with domain parameter ID {parameter_id}", key="parameter_id") from None


def build_card_image(profile: str | Profile, *, seed: bytes = DEFAULT_SEED) -> CardImage:
    """The card of a named profile for the profile's person of ``seed``."""
    chosen = get_profile(profile) if isinstance(profile, str) else profile
    return personalise(make_person(seed, chosen.person_index), chosen, seed=seed)


# --- faults ------------------------------------------------------------------------------------------


def tamper(number: int, data: bytes, person: Person) -> bytes:
    """``data`` with one byte changed where the file stays well formed, so that only its hash gives it
    away: a letter of the MRZ name (DG1), a byte of compressed image data (DG2), a digit of the address
    (DG13), the PACE parameter ID (DG14), a byte of the RSA modulus (DG15)."""
    offset, value = _tamper_point(number, data, person)
    return data[:offset] + bytes([value]) + data[offset + 1 :]


def _tamper_point(number: int, data: bytes, person: Person) -> tuple[int, int]:
    if number == 1:
        offset = data.index(b"\x5f\x1f") + 3 + 60  # first character of MRZ line 3 (the surname)
        letter = data[offset]
        return offset, ord("A") if letter == ord("Z") else letter + 1
    if number == 13:
        start = data.index(person.permanent_residence.encode("utf-8"))
        offset = next(i for i in range(start, len(data)) if 0x30 <= data[i] <= 0x39)
        return offset, 0x30 + (data[offset] - 0x30 + 1) % 10
    if number == 2:
        # inside the entropy-coded image data: never touch a marker (FF) or its stuffing byte
        offset = len(data) * 2 // 3
        while data[offset] == 0xFF or data[offset - 1] == 0xFF or data[offset] ^ 0x01 == 0xFF:
            offset += 1
        return offset, data[offset] ^ 0x01
    if number == 14:
        for parameter_id in range(19):
            for oid in _pace_oids():
                encoded = lds_build.pace_info(oid, parameter_id)
                position = data.find(encoded)
                if position >= 0:
                    offset = position + len(encoded) - 1
                    return offset, 12 if parameter_id == 13 else 13
        return len(data) - 1, data[-1] ^ 0x01
    if number == 15:
        offset = len(data) // 2 if b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" in data else len(data) - 1
        return offset, data[offset] ^ 0x01
    offset = len(data) - 1
    return offset, data[offset] ^ 0x01


def _pace_oids() -> list[str]:
    prefix = lds_build.PACE_PREFIX
    return [f"{prefix}.{mapping}.{cipher}" for mapping in (1, 2, 3, 4, 6) for cipher in (1, 2, 3, 4)]


# --- NFC Forum Type 4 tag ------------------------------------------------------------------------------


def ndef_token(seed: bytes, index: int) -> str:
    """An opaque token of the kind a phone app would present (its real format is not public)."""
    digest = hmac.new(seed, b"ndef-token/%d" % index, hashlib.sha256).digest()
    return "VNEID-SIM-" + base64.b32encode(digest[:15]).decode("ascii")


def ndef_message(token: str) -> bytes:
    """The NDEF message on the tag: a Text record with the token and a URI record pointing at it."""
    records = [ndef.TextRecord(token, "en"), ndef.UriRecord(NDEF_TOKEN_URI_PREFIX + token)]
    return b"".join(ndef.message_encoder(records))


def ndef_tag_files(message: bytes) -> dict[int, bytes]:
    """The CC file (E103) and the NDEF file (E104: 2-byte NLEN then the message)."""
    ndef_file = len(message).to_bytes(2, "big") + message
    file_control = (
        FID_NDEF_FILE.to_bytes(2, "big")
        + len(ndef_file).to_bytes(2, "big")
        + bytes([NDEF_READ_FREE, NDEF_WRITE_DENIED])
    )
    body = (
        bytes([NDEF_MAPPING_VERSION])
        + NDEF_MAX_R_APDU.to_bytes(2, "big")
        + NDEF_MAX_C_APDU.to_bytes(2, "big")
        + bytes([TAG_NDEF_FILE_CONTROL, len(file_control)])
        + file_control
    )
    capability_container = (len(body) + 2).to_bytes(2, "big") + body
    return {FID_NDEF_CC: capability_container, FID_NDEF_FILE: ndef_file}


def _ndef_tag_image(person: Person, profile: Profile, seed: bytes) -> CardImage:
    files = ndef_tag_files(ndef_message(ndef_token(seed, person.index)))
    return CardImage(
        files={},
        mrz_information="",
        can="",
        behaviour=profile.behaviour,
        emrtd_application=False,
        applications=(ExtraApplication(AID_NDEF_TAG, files),),
        link=profile.link,
    )

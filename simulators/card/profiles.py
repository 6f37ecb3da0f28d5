"""The named card profiles of the simulator: what kind of CCCD each one is (its PACE and BAC offer, the
quirks of real cards it reproduces, how its EF.SOD is signed, which keys it holds, which fault it
carries), and the access data a reader needs to open it (ID number, CAN, MRZ fields). Listed by
``python -m simulators profiles``; turned into a CardImage by simulators.card.personalise.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from agent.errors import ConfigError
from simulators.card.faces import FORMAT_JPEG, FORMAT_JPEG2000
from simulators.card.image import CardBehaviour, PaceSetup
from simulators.card.lds_build import (
    CA_DH_3DES,
    CA_DH_AES_128,
    CA_ECDH_3DES,
    CA_ECDH_AES_128,
    DG2_ENCODING_19794,
    DG2_ENCODING_39794,
    PACE_DH_GM_AES_128,
    PACE_ECDH_GM_AES_128,
    PACE_ECDH_GM_AES_256,
    PACE_ECDH_IM_AES_128,
    mrz_date,
    person_mrz,
    person_mrz_information,
)
from simulators.card.link import SLOW_LINK, LinkModel
from simulators.card.people import DEFAULT_SEED, Person, make_person

PARAMETER_ID_MODP_1024_160 = 0
PARAMETER_ID_MODP_2048_224 = 1
PARAMETER_ID_P256 = 12
PARAMETER_ID_BRAINPOOL_P256 = 13
PARAMETER_ID_BRAINPOOL_P384 = 16

PACE_CCCD = PaceSetup(PACE_ECDH_GM_AES_128, PARAMETER_ID_BRAINPOOL_P256)

# Largest plain READ BINARY answer that fits a short response APDU under secure messaging
# (docs/reference/worked-examples.md "Read sizes under secure messaging"): 223 bytes with AES, 231 with 3DES.
SHORT_MAX_LE_AES = 223
SHORT_MAX_LE_3DES = 231
# Response and command APDUs of the "generous" card: the largest extended length allows (65536 + SW)
GENEROUS_RESPONSE_APDU = 65538


TAMPERABLE_DGS = (1, 2, 13, 14, 15)


@dataclasses.dataclass(frozen=True)
class Profile:
    """How to personalise one kind of simulated card."""

    name: str
    description: str
    kind: Literal["cccd", "ndef"] = "cccd"
    pace: tuple[PaceSetup, ...] = (PACE_CCCD,)
    behaviour: CardBehaviour = dataclasses.field(default_factory=CardBehaviour)
    signer: str = "ecdsa-bp256"  # a document signer of simulators.card.pki
    digest: str = "sha256"  # for the DG hashes, the message digest and the signature
    ca_protocol_oid: str | None = CA_ECDH_AES_128  # None: no Chip Authentication in DG14
    ca_parameter_id: int = PARAMETER_ID_BRAINPOOL_P256
    ca_key_id: int | None = None
    aa_key_kind: str | None = "rsa-1024"  # DG15 key: "rsa-1024", "rsa-2048", "ec-bp256", ...; None: no AA
    aa_explicit_parameters: bool = False  # an EC DG15 key written with explicit domain parameters
    face_format: str = FORMAT_JPEG
    dg2_encoding: str = DG2_ENCODING_19794  # or ISO/IEC 39794-5, the encoding of new documents
    tamper_dg: int | None = None  # change one byte of this DG after the SOD was signed
    corrupt_sod_signature: bool = False
    clone: bool = False  # files of the genuine card, but other CA and AA private keys
    link: LinkModel = dataclasses.field(default_factory=LinkModel)
    person_index: int = 0


@dataclasses.dataclass(frozen=True)
class AccessData:
    """What a reader needs to open a profile's card: the ID number (QR), the CAN and the MRZ fields."""

    id_number: str
    can: str
    document_number: str
    date_of_birth: str  # YYMMDD
    date_of_expiry: str  # YYMMDD
    mrz_information: str
    mrz: tuple[str, str, str]
    full_name: str

    @property
    def mrz_argument(self) -> str:
        """The form ``python -m agent read --mrz`` takes: DOCNO,YYMMDD,YYMMDD."""
        return f"{self.document_number},{self.date_of_birth},{self.date_of_expiry}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id_number": self.id_number,
            "can": self.can,
            "mrz": {
                "document_number": self.document_number,
                "date_of_birth": self.date_of_birth,
                "date_of_expiry": self.date_of_expiry,
                "argument": self.mrz_argument,
                "lines": list(self.mrz),
            },
            "full_name": self.full_name,
        }


def access_data(person: Person) -> AccessData:
    return AccessData(
        id_number=person.id_number,
        can=person.can,
        document_number=person.document_number,
        date_of_birth=mrz_date(person.date_of_birth),
        date_of_expiry=mrz_date(person.date_of_expiry),
        mrz_information=person_mrz_information(person),
        mrz=person_mrz(person),
        full_name=person.full_name,
    )


def _profiles() -> dict[str, Profile]:
    normal = Profile(
        "normal",
        "CCCD as issued: PACE-CAN/MRZ (ECDH-GM AES-128, brainpoolP256r1) and BAC, extended length with "
        "responses of at most 2 KB and EF.ATR/INFO saying so, short EF identifiers, ECDSA-signed SOD, EC Chip "
        "Authentication key, RSA Active Authentication key",
    )
    profiles = [
        normal,
        dataclasses.replace(
            normal,
            name="generous",
            description="the simulator's first card: one READ BINARY answers up to 64 KB (all of DG2), no "
            "EF.ATR/INFO; more generous than any real chip",
            behaviour=CardBehaviour(max_response_apdu=GENEROUS_RESPONSE_APDU, max_command_apdu=GENEROUS_RESPONSE_APDU,
                                    atr_info=False),
        ),
        dataclasses.replace(
            normal,
            name="no-sfi",
            description="an older chip: no short EF identifiers (READ BINARY with P1 bit 8 answers 6A86) and no "
            "EF.ATR/INFO; every file is selected by its identifier",
            behaviour=CardBehaviour(supports_sfi=False, atr_info=False),
        ),
        dataclasses.replace(
            normal,
            name="bac-any-order",
            person_index=10,
            description="BAC only (no PACE), accepted before or after SELECT of the eMRTD application "
            "(the default card, like Doc 9303-11 §4.2, wants the application selected first)",
            pace=(),
            behaviour=CardBehaviour(bac_needs_application=False),
        ),
        dataclasses.replace(
            normal,
            name="bac-after-select",
            person_index=11,
            description="BAC only (no PACE), refused unless the eMRTD application is selected first (6985)",
            pace=(),
            behaviour=CardBehaviour(bac_needs_application=True),
        ),
        dataclasses.replace(
            normal,
            name="refuse-pace-mrz",
            description="like the recorded CCCD: PACE with the MRZ answers 6982; PACE-CAN and BAC work",
            behaviour=CardBehaviour(refuse_pace_mrz=True),
        ),
        dataclasses.replace(
            normal,
            name="select-mf-6d00",
            description="SELECT MF answers 6D00; EF.CardAccess must be selected by FID",
            behaviour=CardBehaviour(select_mf_answer=0x6D00),
        ),
        dataclasses.replace(
            normal,
            name="card-access-protected",
            description="EF.CardAccess answers 6982 before access control; default PACE-CAN, then BAC",
            behaviour=CardBehaviour(card_access_needs_auth=True),
        ),
        dataclasses.replace(
            normal,
            name="no-extended-length",
            description="short APDUs only; at most 223 plain bytes per READ BINARY (231 under 3DES)",
            behaviour=CardBehaviour(supports_extended_length=False, max_le=SHORT_MAX_LE_AES),
        ),
        dataclasses.replace(
            normal,
            name="legacy-3des",
            person_index=1,
            description="an older chip: BAC with 3DES secure messaging only, no PACE, no EF.CardAccess, "
            "short APDUs; Chip Authentication ECDH with 3DES",
            pace=(),
            ca_protocol_oid=CA_ECDH_3DES,
            behaviour=CardBehaviour(supports_extended_length=False, max_le=SHORT_MAX_LE_3DES, atr_info=False),
        ),
        dataclasses.replace(
            normal,
            name="pace-im",
            person_index=2,
            description="PACE ECDH Integrated Mapping, AES-128, brainpoolP256r1",
            pace=(PaceSetup(PACE_ECDH_IM_AES_128, PARAMETER_ID_BRAINPOOL_P256),),
        ),
        dataclasses.replace(
            normal,
            name="pace-dh",
            person_index=3,
            description="PACE DH Generic Mapping, AES-128, 1024-bit MODP group with 160-bit subgroup (ID 0)",
            pace=(PaceSetup(PACE_DH_GM_AES_128, PARAMETER_ID_MODP_1024_160),),
        ),
        dataclasses.replace(
            normal,
            name="ca-dh",
            person_index=7,
            description="Chip Authentication DH with AES-128 on the 2048-bit MODP group with 224-bit subgroup "
            "(ID 1; X9.42 key in DG14); the 256-byte ephemeral key needs extended length",
            ca_protocol_oid=CA_DH_AES_128,
            ca_parameter_id=PARAMETER_ID_MODP_2048_224,
        ),
        dataclasses.replace(
            normal,
            name="ca-dh-3des",
            person_index=8,
            description="an older chip: BAC with 3DES secure messaging only, short APDUs; Chip Authentication "
            "DH with 3DES (MSE:Set KAT) on the 1024-bit MODP group with 160-bit subgroup (ID 0)",
            pace=(),
            ca_protocol_oid=CA_DH_3DES,
            ca_parameter_id=PARAMETER_ID_MODP_1024_160,
            behaviour=CardBehaviour(supports_extended_length=False, max_le=SHORT_MAX_LE_3DES, atr_info=False),
        ),
        dataclasses.replace(
            normal,
            name="pace-aes256",
            description="PACE ECDH Generic Mapping, AES-256, brainpoolP384r1",
            pace=(PaceSetup(PACE_ECDH_GM_AES_256, PARAMETER_ID_BRAINPOOL_P384),),
        ),
        dataclasses.replace(
            normal,
            name="nist-p256",
            person_index=6,
            description="NIST P-256 everywhere: PACE, the Chip Authentication key and the document signer",
            pace=(PaceSetup(PACE_ECDH_GM_AES_128, PARAMETER_ID_P256),),
            ca_parameter_id=PARAMETER_ID_P256,
            signer="ecdsa-p256",
        ),
        dataclasses.replace(normal, name="rsa-signer", description="SOD signed RSA-2048 PKCS#1 v1.5", signer="rsa"),
        dataclasses.replace(normal, name="rsa-pss-signer", description="SOD signed RSA-2048 PSS", signer="rsa-pss"),
        dataclasses.replace(
            normal, name="sha512", description="SHA-512 DG hashes and ECDSA signature", digest="sha512"
        ),
        dataclasses.replace(
            normal, name="jpeg2000", person_index=4, description="DG2 face as JPEG 2000", face_format=FORMAT_JPEG2000
        ),
        dataclasses.replace(
            normal,
            name="face-39794-5",
            person_index=9,
            description="DG2 in ISO/IEC 39794-5 (ICAO application profile, as new documents carry it), JPEG 2000",
            face_format=FORMAT_JPEG2000,
            dg2_encoding=DG2_ENCODING_39794,
        ),
        dataclasses.replace(
            normal,
            name="ec-aa",
            person_index=5,
            description="Active Authentication with an ECDSA brainpoolP256r1 key (ActiveAuthenticationInfo in DG14)",
            aa_key_kind="ec-bp256",
        ),
        dataclasses.replace(
            normal,
            name="ec-aa-explicit",
            person_index=12,
            description="Active Authentication with an ECDSA brainpoolP256r1 key whose DG15 gives the curve as "
            "explicit domain parameters",
            aa_key_kind="ec-bp256",
            aa_explicit_parameters=True,
        ),
    ]
    profiles += [
        dataclasses.replace(
            normal,
            name=f"tampered-dg{number}",
            description=f"one byte of DG{number} changed after the SOD was signed",
            tamper_dg=number,
        )
        for number in TAMPERABLE_DGS
    ]
    profiles += [
        dataclasses.replace(
            normal,
            name="bad-sod-signature",
            description="SOD signature broken (one bit flipped); hashes and certificates fine",
            corrupt_sod_signature=True,
        ),
        dataclasses.replace(
            normal, name="expired-signer", description="document signer certificate expired", signer="expired"
        ),
        dataclasses.replace(
            normal, name="revoked-signer", description="document signer on the CSCA's CRL", signer="revoked"
        ),
        dataclasses.replace(
            normal,
            name="unknown-csca",
            description="document signer chained to a CSCA that is not in the trust store",
            signer="unknown-csca",
        ),
        dataclasses.replace(
            normal,
            name="clone",
            description="files copied from a genuine card: passive authentication passes, the CA and AA keys "
            "do not match DG14 / DG15",
            clone=True,
        ),
        dataclasses.replace(
            normal,
            name="clone-ca-dh",
            person_index=7,
            description="a clone of the ca-dh card: passive authentication passes, the DH CA key and the AA "
            "key do not match DG14 / DG15",
            ca_protocol_oid=CA_DH_AES_128,
            ca_parameter_id=PARAMETER_ID_MODP_2048_224,
            clone=True,
        ),
        dataclasses.replace(
            normal,
            name="slow-link",
            description="a 106 kbit/s link with 64-byte frames (changes the link-time estimate only)",
            link=SLOW_LINK,
        ),
        Profile(
            "ndef-tag",
            "an NFC Forum Type 4 tag (a phone presenting a token): AID D2760000850101, CC E103, NDEF E104",
            kind="ndef",
            pace=(),
            behaviour=CardBehaviour(supports_bac=False),
            ca_protocol_oid=None,
            aa_key_kind=None,
        ),
    ]
    return {profile.name: profile for profile in profiles}


PROFILES: dict[str, Profile] = _profiles()


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"unknown card profile {name!r}; see 'python -m simulators profiles'", key="profile"
        ) from None


def profile_person(profile: Profile, seed: bytes = DEFAULT_SEED) -> Person:
    return make_person(seed, profile.person_index)


def profile_access(profile: Profile, seed: bytes = DEFAULT_SEED) -> AccessData | None:
    """The access data of the profile's card, None for a card without an eMRTD application."""
    if profile.kind != "cccd":
        return None
    return access_data(profile_person(profile, seed))


def profile_summary(profile: Profile, seed: bytes = DEFAULT_SEED) -> dict[str, Any]:
    """What ``python -m simulators profiles --json`` prints for one profile."""
    access = profile_access(profile, seed)
    behaviour = profile.behaviour
    return {
        "name": profile.name,
        "description": profile.description,
        "kind": profile.kind,
        "access": access.as_dict() if access else None,
        "pace": [{"protocol": setup.protocol_oid, "parameter_id": setup.parameter_id} for setup in profile.pace],
        "bac": behaviour.supports_bac,
        "refuses_pace_mrz": behaviour.refuse_pace_mrz,
        "extended_length": behaviour.supports_extended_length,
        "max_le": behaviour.max_le,
        "max_response_apdu": behaviour.max_response_apdu if behaviour.supports_extended_length else 258,
        "ef_atr_info": behaviour.atr_info,
        "short_ef_identifiers": behaviour.supports_sfi,
        "bac_needs_application": behaviour.bac_needs_application,
        "signer": profile.signer if profile.kind == "cccd" else None,
        "digest": profile.digest if profile.kind == "cccd" else None,
        "chip_authentication": profile.ca_protocol_oid,
        "active_authentication": profile.aa_key_kind,
        "face_format": profile.face_format if profile.kind == "cccd" else None,
        "fault": _fault(profile),
        "link": dataclasses.asdict(profile.link),
    }


def _fault(profile: Profile) -> str | None:
    if profile.tamper_dg is not None:
        return f"DG{profile.tamper_dg} tampered"
    if profile.corrupt_sod_signature:
        return "SOD signature broken"
    if profile.clone:
        return "clone: CA/AA keys do not match DG14/DG15"
    if profile.signer in ("expired", "revoked", "unknown-csca"):
        return f"document signer: {profile.signer}"
    return None

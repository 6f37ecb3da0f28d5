"""What a simulated card holds: its files, its secrets and how it behaves (the contract between the
personalisation, which builds a CardImage from a person record and a profile, and the card's
command processor, which serves it).
"""

from __future__ import annotations

import dataclasses

from simulators.card.link import LinkModel  # the link model of a profile (e.g. a slow 106 kbit/s link)

# File identifiers (Doc 9303-10 §4.6)
FID_CARD_ACCESS = 0x011C
FID_COM = 0x011E
FID_SOD = 0x011D
FID_EF_DIR = 0x2F00
FID_EF_ATR_INFO = 0x2F01


def fid_of_dg(number: int) -> int:
    return 0x0100 + number


# NFC Forum Type 4 Tag application (NFC Forum T4T specification, mapping version 2.0)
AID_NDEF_TAG = bytes.fromhex("D2760000850101")
FID_NDEF_CC = 0xE103
FID_NDEF_FILE = 0xE104


@dataclasses.dataclass(frozen=True)
class ExtraApplication:
    """An application the card serves besides the eMRTD one: selected by AID (SELECT 04 0C / 04 00),
    then its files by FID (SELECT 00 0C), read with READ BINARY, plain (no secure messaging).
    E.g. the NFC Forum Type 4 Tag: AID D2760000850101, CC file E103, NDEF file E104."""

    aid: bytes
    files: dict[int, bytes] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class PaceSetup:
    """One PACE protocol the card offers (and advertises in EF.CardAccess)."""

    protocol_oid: str  # e.g. "0.4.0.127.0.7.2.2.4.2.2" (ECDH-GM-AES-128)
    parameter_id: int  # standardised domain parameters, e.g. 13 = brainpoolP256r1


@dataclasses.dataclass(frozen=True)
class ChipAuthKey:
    """The DG14 Chip Authentication key pair: EC (parameter_id 8..18) or DH (0..2)."""

    protocol_oid: str  # e.g. "0.4.0.127.0.7.2.2.3.2.2" id-CA-ECDH-AES-CBC-CMAC-128
    parameter_id: int
    private_value: int = dataclasses.field(repr=False)
    key_id: int | None = None


@dataclasses.dataclass(frozen=True)
class CardBehaviour:
    """Quirks of real cards and readers, switched on per profile."""

    select_mf_answer: int = 0x9000  # 0x6D00 on cards that reject SELECT MF
    refuse_pace_mrz: bool = False  # answer 6982 to MSE:Set AT with the MRZ password (seen on a CCCD)
    card_access_needs_auth: bool = False  # 6982 when EF.CardAccess is read before access control
    supports_bac: bool = True
    supports_extended_length: bool = True
    max_le: int = 65536  # the largest plain Le the card answers in one READ BINARY
    # The largest response APDU (data and SW1-SW2) the card sends under extended length, and the largest
    # command APDU it takes: a real chip's buffer, announced in EF.ATR/INFO (ISO/IEC 7816-4 §12.7.1).
    max_response_apdu: int = 2048
    max_command_apdu: int = 2048
    atr_info: bool = True  # EF.ATR/INFO (2F01) in the MF, telling the lengths and capabilities above
    supports_sfi: bool = True  # READ BINARY with a short EF identifier (P1 = 0x80 | SFI) selects the file
    bac_needs_application: bool = True  # BAC only after SELECT of the eMRTD application (Doc 9303-11 §4.2)
    protected_fids: frozenset[int] = frozenset({0x0103, 0x0104})  # DG3, DG4: EAC only -> 6982
    pace_requires_parameter_id: bool = False  # 6A87 to MSE:Set AT without DO'84' (seen on real cards)
    answer_6cxx_on_wrong_le: bool = False  # 6Cxx (exact length) instead of data+6282 / 6700 on a wrong Le
    plain_sw_on_error: bool = False  # errors under SM answered as a bare SW instead of DO'99'+MAC


@dataclasses.dataclass(frozen=True)
class CardImage:
    """Everything a simulated CCCD needs to answer commands."""

    files: dict[int, bytes] = dataclasses.field(repr=False)  # FID -> whole file contents
    mrz_information: str = dataclasses.field(repr=False)  # docno+cd+dob+cd+expiry+cd (BAC / PACE-MRZ)
    can: str = dataclasses.field(repr=False)
    pace: tuple[PaceSetup, ...] = ()
    chip_auth: ChipAuthKey | None = None
    active_auth_private_key_der: bytes | None = dataclasses.field(default=None, repr=False)  # PKCS#8
    active_auth_hash: str | None = None  # "SHA-1", "SHA-256"...; None: SHA-1 for RSA, by key size for ECDSA
    behaviour: CardBehaviour = CardBehaviour()
    atr: bytes = bytes.fromhex("3B8880014241543100000000")
    emrtd_application: bool = True  # False: SELECT of the eMRTD AID answers 6A82 (e.g. a plain NDEF tag)
    applications: tuple[ExtraApplication, ...] = ()
    link: LinkModel = dataclasses.field(default_factory=LinkModel)

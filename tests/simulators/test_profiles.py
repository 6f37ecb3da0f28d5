"""The card profiles: every profile the issue asks for exists, personalises, carries the behaviour and
fault it names, lists the access data a reader needs, and ``python -m simulators profiles`` shows it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from asn1crypto import core, keys

from agent.errors import ConfigError
from agent.icao import dh, tlv
from simulators.__main__ import main as simulators_main
from simulators.card import lds_build
from simulators.card.image import FID_CARD_ACCESS, CardImage, fid_of_dg
from simulators.card.link import SLOW_LINK
from simulators.card.personalise import build_card_image
from simulators.card.profiles import PROFILES, get_profile, profile_access, profile_summary

SEED = b"test-profiles"
REQUIRED = (
    "normal",
    "refuse-pace-mrz",
    "select-mf-6d00",
    "no-extended-length",
    "legacy-3des",
    "pace-im",
    "pace-dh",
    "nist-p256",
    "tampered-dg1",
    "tampered-dg2",
    "tampered-dg13",
    "tampered-dg14",
    "tampered-dg15",
    "bad-sod-signature",
    "expired-signer",
    "revoked-signer",
    "unknown-csca",
    "clone",
    "ca-dh",
    "ca-dh-3des",
    "clone-ca-dh",
    "slow-link",
    "ndef-tag",
)


def test_every_required_profile_exists() -> None:
    assert set(REQUIRED) <= set(PROFILES)
    assert next(iter(PROFILES)) == "normal"


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        get_profile("no-such-card")


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_personalises_consistently(name: str) -> None:
    profile = get_profile(name)
    image = build_card_image(profile, seed=SEED)
    assert isinstance(image, CardImage)
    assert image.behaviour == profile.behaviour
    assert image.link == profile.link
    if profile.kind == "ndef":
        assert not image.emrtd_application and image.applications
        return
    if profile.pace:
        expected = lds_build.encode_card_access(
            [lds_build.pace_info(setup.protocol_oid, setup.parameter_id) for setup in profile.pace]
        )
        assert image.files[FID_CARD_ACCESS] == expected
    else:
        assert FID_CARD_ACCESS not in image.files
    access = profile_access(profile, SEED)
    assert access is not None
    assert image.can == access.can and image.mrz_information == access.mrz_information


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("refuse-pace-mrz", lambda b: b.refuse_pace_mrz and b.supports_bac),
        ("select-mf-6d00", lambda b: b.select_mf_answer == 0x6D00),
        ("no-extended-length", lambda b: not b.supports_extended_length and b.max_le == 223),
        ("legacy-3des", lambda b: not b.supports_extended_length and b.max_le == 231 and b.supports_bac),
        ("card-access-protected", lambda b: b.card_access_needs_auth),
        ("normal", lambda b: b.supports_extended_length and b.supports_bac and not b.refuse_pace_mrz),
    ],
)
def test_behaviour_of_quirky_profiles(name: str, check: object) -> None:
    assert callable(check) and check(get_profile(name).behaviour)


@pytest.mark.parametrize(
    ("name", "oid", "parameter_id"),
    [
        ("normal", lds_build.PACE_ECDH_GM_AES_128, 13),
        ("pace-im", lds_build.PACE_ECDH_IM_AES_128, 13),
        ("pace-dh", lds_build.PACE_DH_GM_AES_128, 0),
        ("nist-p256", lds_build.PACE_ECDH_GM_AES_128, 12),
        ("pace-aes256", lds_build.PACE_ECDH_GM_AES_256, 16),
    ],
)
def test_pace_offers(name: str, oid: str, parameter_id: int) -> None:
    (setup,) = get_profile(name).pace
    assert (setup.protocol_oid, setup.parameter_id) == (oid, parameter_id)


def test_slow_link_profile_has_the_slow_link_model() -> None:
    assert get_profile("slow-link").link == SLOW_LINK
    assert get_profile("slow-link").link.bit_rate < get_profile("normal").link.bit_rate


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if p.kind == "cccd"])
def test_access_data_open_the_card(name: str) -> None:
    access = profile_access(get_profile(name), SEED)
    assert access is not None
    assert len(access.id_number) == 12 and access.id_number.isdigit()
    assert access.can == access.id_number[-6:]
    assert access.document_number == access.id_number[-9:]
    assert access.mrz_argument == f"{access.document_number},{access.date_of_birth},{access.date_of_expiry}"
    assert access.mrz_information == lds_build.mrz_information(
        access.document_number, access.date_of_birth, access.date_of_expiry
    )
    assert access.mrz[1][:6] == access.date_of_birth and access.mrz[1][8:14] == access.date_of_expiry


def test_ndef_profile_has_no_access_data() -> None:
    assert profile_access(get_profile("ndef-tag"), SEED) is None
    assert profile_summary(get_profile("ndef-tag"), SEED)["access"] is None


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        ("normal", None),
        ("tampered-dg13", "DG13 tampered"),
        ("bad-sod-signature", "SOD signature broken"),
        ("revoked-signer", "document signer: revoked"),
        ("clone", "clone: CA/AA keys do not match DG14/DG15"),
    ],
)
def test_summary_names_the_fault(name: str, fault: str | None) -> None:
    assert profile_summary(get_profile(name), SEED)["fault"] == fault


def test_cli_lists_profiles_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulators_main(["profiles", "--json", "--seed", "cli-seed"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == list(PROFILES)
    normal = listed[0]
    access = profile_access(get_profile("normal"), b"cli-seed")
    assert access is not None
    assert normal["access"]["id_number"] == access.id_number
    assert normal["access"]["can"] == access.can
    assert normal["access"]["mrz"]["argument"] == access.mrz_argument
    assert normal["access"]["full_name"] == access.full_name  # Vietnamese text, not escaped away
    ndef_entry = next(entry for entry in listed if entry["name"] == "ndef-tag")
    assert ndef_entry["access"] is None and ndef_entry["ndef"]["text"].startswith("VNEID-SIM-")


def test_cli_lists_profiles_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulators_main(["profiles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PROFILE")
    assert len(out) == len(PROFILES) + 1
    access = profile_access(get_profile("normal"))
    assert access is not None
    assert access.mrz_argument in out[1] and access.can in out[1]


def test_cli_card_with_unknown_profile_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulators_main(["card", "--profile", "no-such-card"]) == 2
    assert "unknown card profile" in capsys.readouterr().err


# --- DH Chip Authentication profiles ------------------------------------------------------------------


def _dg14_infos(image: CardImage) -> dict[str, list[tlv.Tlv]]:
    """DG14's SecurityInfos by protocol OID, read with the generic TLV codec and asn1crypto only."""
    security_infos = tlv.decode_single(tlv.decode_single(image.files[fid_of_dg(14)], lds_build.TAG_DG14).value, 0x31)
    infos: dict[str, list[tlv.Tlv]] = {}
    for info in tlv.decode_all(security_infos.value):
        fields = tlv.decode_all(info.value)
        infos[core.ObjectIdentifier.load(fields[0].encode()).dotted] = fields[1:]
    return infos


def _dh_public_key(image: CardImage) -> keys.PublicKeyInfo:
    (spki, *_) = _dg14_infos(image)[lds_build.OID_PK_DH]
    return keys.PublicKeyInfo.load(spki.encode())


@pytest.mark.parametrize(
    ("name", "protocol", "parameter_id", "p_bits", "q_bits"),
    [("ca-dh", lds_build.CA_DH_AES_128, 1, 2048, 224), ("ca-dh-3des", lds_build.CA_DH_3DES, 0, 1024, 160)],
)
def test_dh_chip_authentication_profiles_carry_an_x942_key_the_chip_holds(
    name: str, protocol: str, parameter_id: int, p_bits: int, q_bits: int
) -> None:
    image = build_card_image(name, seed=SEED)
    infos = _dg14_infos(image)
    assert protocol in infos and lds_build.OID_PK_ECDH not in infos
    assert image.chip_auth is not None
    assert (image.chip_auth.protocol_oid, image.chip_auth.parameter_id) == (protocol, parameter_id)

    public_key = _dh_public_key(image)
    algorithm = public_key["algorithm"]
    assert algorithm["algorithm"].dotted == lds_build.OID_DH_PUBLIC_NUMBER  # explicit X9.42 form
    group = dh.GROUPS_BY_PARAMETER_ID[parameter_id]
    parameters = algorithm["parameters"]
    assert (parameters["p"].native, parameters["g"].native, parameters["q"].native) == (group.p, group.g, group.q)
    assert group.p.bit_length() == p_bits and group.q is not None and group.q.bit_length() == q_bits
    x = image.chip_auth.private_value
    assert 1 <= x < group.q
    assert public_key["public_key"].parsed.native == pow(group.g, x, group.p)


def test_dh_chip_authentication_profiles_fit_their_apdu_sizes() -> None:
    # 2048-bit ephemeral keys (256 bytes) only travel in extended APDUs; the short-APDU 3DES chip uses ID 0.
    assert get_profile("ca-dh").behaviour.supports_extended_length
    assert get_profile("ca-dh").pace == get_profile("normal").pace
    old_chip = get_profile("ca-dh-3des")
    assert old_chip.pace == () and not old_chip.behaviour.supports_extended_length and old_chip.behaviour.supports_bac
    assert profile_summary(old_chip, SEED)["chip_authentication"] == lds_build.CA_DH_3DES


def test_dh_keys_are_deterministic_from_the_seed() -> None:
    first, again = build_card_image("ca-dh", seed=SEED), build_card_image("ca-dh", seed=SEED)
    other = build_card_image("ca-dh", seed=b"another seed")
    assert first.files[fid_of_dg(14)] == again.files[fid_of_dg(14)]
    assert first.chip_auth == again.chip_auth
    assert _dh_public_key(first).dump() != _dh_public_key(other).dump()


def test_the_dh_clone_holds_another_key_than_its_dg14_names() -> None:
    genuine, cloned = build_card_image("ca-dh", seed=SEED), build_card_image("clone-ca-dh", seed=SEED)
    assert cloned.files[fid_of_dg(14)] == genuine.files[fid_of_dg(14)]  # the same person, the same DG14
    assert cloned.chip_auth is not None and genuine.chip_auth is not None
    assert cloned.chip_auth.private_value != genuine.chip_auth.private_value
    group = dh.GROUPS_BY_PARAMETER_ID[1]
    assert _dh_public_key(cloned)["public_key"].parsed.native != pow(group.g, cloned.chip_auth.private_value, group.p)
    assert profile_summary(get_profile("clone-ca-dh"), SEED)["fault"] == "clone: CA/AA keys do not match DG14/DG15"


def test_dh_key_on_unknown_domain_parameters_is_a_config_error() -> None:
    broken = dataclasses.replace(get_profile("ca-dh"), ca_parameter_id=12)  # 12 names a curve, not a MODP group
    with pytest.raises(ConfigError, match="no DH group"):
        build_card_image(broken, seed=SEED)

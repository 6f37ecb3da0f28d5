"""The whole read of agent.icao.read_sequence over the in-process simulated card, for every CCCD profile:
the passive and chip outcomes each profile is built to produce, the access method, DG3/DG4 never asked
for, a step log free of personal data, and wrong keys failing with a bounded number of attempts."""

from __future__ import annotations

import json

import pytest

from agent.errors import AuthenticationFailedError
from agent.icao import tlv
from agent.icao.dh import ModpGroup
from agent.icao.keys import CanKey, MrzKey
from agent.icao.read_sequence import read_document
from agent.icao.transport import build_send
from agent.models import Status
from simulators.card.transport import InProcessTransport
from tests.chip_support import (
    AA_CHALLENGE,
    CCCD_PROFILES,
    FID_DG3,
    FID_DG4,
    INS_EXTERNAL_AUTHENTICATE,
    INS_GENERAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    INS_MSE,
    READ_AT,
    WireLog,
    access_of,
    leaked,
    make_card,
    mrz_of,
    read_profile,
    simulator_trust,
)

# The check of passive authentication each faulty profile must fail (or leave unknown), by name.
PASSIVE_FAILED_CHECK = {
    **{f"tampered-dg{n}": f"dg{n}_hash" for n in (1, 2, 13, 14, 15)},
    "bad-sod-signature": "sod_signature",
    "expired-signer": "signer_validity",
    "revoked-signer": "revocation",
}
PASSIVE_UNKNOWN_CHECK = {"unknown-csca": "certificate_chain"}
# A clone has other CA/AA keys; tampering DG15 changes the AA public key, so the genuine chip's
# signature no longer verifies against it either.
CHIP_FAILED = {
    "clone": ("chip_auth", "active_auth"),
    "clone-ca-dh": ("chip_auth", "active_auth"),
    "tampered-dg15": ("active_auth",),
}
# no PACE on these chips; every other CCCD opens with PACE-CAN
ACCESS_METHOD = {"legacy-3des": "bac", "ca-dh-3des": "bac", "bac-any-order": "bac", "bac-after-select": "bac"}
# The Chip Authentication protocol each profile's DG14 names (ECDH with AES-128 when not listed).
CA_PROTOCOL = {
    "legacy-3des": "0.4.0.127.0.7.2.2.3.2.1",
    "ca-dh": "0.4.0.127.0.7.2.2.3.1.2",
    "clone-ca-dh": "0.4.0.127.0.7.2.2.3.1.2",
    "ca-dh-3des": "0.4.0.127.0.7.2.2.3.1.1",
}

EXPECTED_GROUPS = {"DG1", "DG2", "DG13", "DG14", "DG15"}


def test_the_expectations_name_real_profiles() -> None:
    named = set(PASSIVE_FAILED_CHECK) | set(PASSIVE_UNKNOWN_CHECK) | set(CHIP_FAILED) | set(ACCESS_METHOD)
    named |= set(CA_PROTOCOL)
    assert named <= set(CCCD_PROFILES)
    assert {"normal", "no-extended-length", "legacy-3des", "clone", "unknown-csca"} <= set(CCCD_PROFILES)
    assert {"ca-dh", "ca-dh-3des", "clone-ca-dh"} <= set(CCCD_PROFILES)


@pytest.mark.parametrize("profile", CCCD_PROFILES)
def test_every_cccd_profile_gives_its_expected_outcomes(profile: str) -> None:
    result = read_profile(profile, recording=True)
    reading = result.reading
    checks = dict(reading.passive.checks()) if reading.passive else {}

    assert reading.access_method == ACCESS_METHOD.get(profile, "pace-can")
    if profile in PASSIVE_FAILED_CHECK:
        assert reading.passive_outcome.status is Status.FAILED
        assert checks[PASSIVE_FAILED_CHECK[profile]].status is Status.FAILED
    elif profile in PASSIVE_UNKNOWN_CHECK:
        assert reading.passive_outcome.status is Status.UNKNOWN
        assert checks[PASSIVE_UNKNOWN_CHECK[profile]].status is Status.UNKNOWN
        assert not any(outcome.status is Status.FAILED for outcome in checks.values())
    else:
        assert reading.passive_outcome.status is Status.OK, reading.passive_outcome.reason
        assert all(outcome.status is Status.OK for outcome in checks.values())

    assert reading.chip_auth.protocol_oid == CA_PROTOCOL.get(profile, "0.4.0.127.0.7.2.2.3.2.2")
    if profile in CHIP_FAILED:
        assert reading.chip_outcome.status is Status.FAILED
        assert ("chip_auth" in CHIP_FAILED[profile]) == (reading.chip_auth.outcome.status is Status.FAILED)
        assert reading.active_auth is not None
        assert ("active_auth" in CHIP_FAILED[profile]) == (reading.active_auth.outcome.status is Status.FAILED)
    else:
        assert reading.chip_outcome.status is Status.OK, reading.chip_outcome.reason
        assert reading.chip_auth.outcome.status is Status.OK
        assert reading.active_auth is not None and reading.active_auth.outcome.status is Status.OK

    # Every data group the SOD lists was read, except DG3, which was never even asked for.
    document = reading.document
    assert document.sod is not None and 3 in document.sod.data_groups
    assert EXPECTED_GROUPS <= set(document.files)
    assert reading.skipped == {}
    requested = result.card.files_requested()  # type: ignore[attr-defined]
    assert FID_DG3 not in requested and FID_DG4 not in requested
    assert {0x0101, 0x0102, 0x010D, 0x010E, 0x010F} <= requested


@pytest.mark.parametrize("profile", ["normal", "legacy-3des", "tampered-dg13", "clone", "unknown-csca"])
def test_the_step_log_and_the_evidence_hold_no_personal_data(profile: str) -> None:
    reading = read_profile(profile).reading
    steps = reading.document.steps
    names = [step.step for step in steps]
    # EF.ATR/INFO first, before access control: it says how large the card's answers may be
    assert names[0] == "read EF.ATR/INFO" and names[1].startswith("access control (")
    assert names[-1] == "passive authentication"
    assert {"read EF.COM", "read EF.SOD", "read DG13", "chip authentication", "active authentication"} <= set(names)
    texts = [f"{step.step} {step.note} {step.sw} {step.length}" for step in steps]
    texts += list(reading.access_attempts)
    texts.append(json.dumps(reading.evidence(), ensure_ascii=False))
    texts.append(repr(reading))
    assert leaked(texts, profile) == []
    # The log does say what was read and how big it was
    dg2 = next(step for step in steps if step.step == "read DG2")
    assert dg2.sw == 0x9000 and dg2.length == len(reading.document.files["DG2"]) > 10_000


@pytest.mark.parametrize(
    ("profile", "group_bits", "set_kat"),
    [("ca-dh", 2048, False), ("ca-dh-3des", 1024, True), ("clone-ca-dh", 2048, False)],
)
def test_dh_chip_authentication_runs_on_the_dg14_group(profile: str, group_bits: int, set_kat: bool) -> None:
    """DH Chip Authentication (Doc 9303-11 §6.2) against the simulated chip: 3DES through MSE:Set KAT
    (41A6, DO'91'), AES through MSE:Set AT + GENERAL AUTHENTICATE (41A4, DO'80' in DO'7C'), the
    terminal's key as long as the DG14 group's modulus; the genuine chip continues under the new keys,
    the clone cannot."""
    result = read_profile(profile, recording=True)
    reading = result.reading
    dg14 = reading.document.dg14
    assert dg14 is not None
    (key,) = dg14.chip_authentication_keys
    assert key.key_agreement == "DH" and key.parameter_id is None  # explicit X9.42 parameters ...
    assert isinstance(key.domain, ModpGroup) and key.domain.p.bit_length() == group_bits  # ... of a standard group
    commands = result.card.plain_commands  # type: ignore[attr-defined]
    # P1 41 (set for internal authentication): Chip Authentication; PACE's Set AT uses C1
    (ca_mse,) = [command for command in commands if command.ins == INS_MSE and command.p1 == 0x41]
    if set_kat:
        assert (ca_mse.p1, ca_mse.p2) == (0x41, 0xA6)
        terminal_key = tlv.decode_single(ca_mse.data, 0x91).value
        assert not any(command.ins == INS_GENERAL_AUTHENTICATE for command in commands)
    else:
        assert (ca_mse.p1, ca_mse.p2) == (0x41, 0xA4)
        general = commands[commands.index(ca_mse) + 1]  # (a clone is then opened again with PACE)
        assert general.ins == INS_GENERAL_AUTHENTICATE
        terminal_key = tlv.decode_single(tlv.decode_single(general.data, 0x7C).value, 0x80).value
        assert any(len(apdu) > 5 + 255 and apdu[4] == 0 for apdu, _ in result.wire.exchanges)  # extended APDU
    assert len(terminal_key) == group_bits // 8
    if profile.startswith("clone"):
        assert reading.chip_auth.outcome.status is Status.FAILED
        assert "does not hold the DG14 key" in reading.chip_auth.outcome.reason
    else:
        assert reading.chip_auth.outcome.status is Status.OK and reading.chip_outcome.status is Status.OK


def test_a_card_refusing_pace_mrz_opens_with_bac_from_the_mrz_alone() -> None:
    reading = read_profile("refuse-pace-mrz", can=False).reading
    assert reading.access_method == "bac"
    methods = [attempt.split(":")[0] for attempt in reading.access_attempts]
    assert methods == ["card-access", "pace-mrz", "bac"]
    assert "SW 6982" in reading.access_attempts[1]
    assert reading.passive_outcome.status is Status.OK and reading.chip_outcome.status is Status.OK


def test_the_default_pace_parameters_open_a_card_hiding_ef_cardaccess() -> None:
    reading = read_profile("card-access-protected", mrz=False).reading
    assert reading.access_method == "pace-can"
    assert reading.access_attempts[0].startswith("card-access: failed SW 6982")
    assert "EF.CardAccess" not in reading.document.files


def _other_date(yymmdd: str) -> str:
    return ("01" if yymmdd[:2] != "01" else "02") + yymmdd[2:]


def wrong_mrz(profile: str) -> MrzKey:
    right = mrz_of(profile)
    return MrzKey(right.document_number, _other_date(right.date_of_birth), right.date_of_expiry)


def wrong_can(profile: str) -> CanKey:
    right = access_of(profile).can
    return CanKey(str((int(right) + 1) % 1_000_000).zfill(6))


# profile, wrong CAN?, wrong MRZ?, key kinds named, PACE runs, BAC runs
WRONG_KEY_CASES = [
    ("normal", True, False, "CAN", 1, 0),
    ("normal", False, True, "MRZ", 1, 1),  # PACE-MRZ, then BAC: both with the MRZ
    ("normal", True, True, "CAN,MRZ", 2, 1),
    ("refuse-pace-mrz", False, True, "MRZ", 1, 1),  # MSE:Set AT refused (6982), then BAC
    ("legacy-3des", False, True, "MRZ", 0, 1),  # no EF.CardAccess: BAC only
    ("legacy-3des", True, True, "CAN,MRZ", 1, 1),  # PACE-CAN with default parameters: refused at MSE
]


@pytest.mark.parametrize(("profile", "bad_can", "bad_mrz", "kinds", "pace_runs", "bac_runs"), WRONG_KEY_CASES)
def test_wrong_keys_fail_naming_the_key_kind_with_each_method_tried_once(
    profile: str, bad_can: bool, bad_mrz: bool, kinds: str, pace_runs: int, bac_runs: int
) -> None:
    card = make_card(profile)
    with pytest.raises(AuthenticationFailedError) as caught:
        read_profile(
            profile,
            card=card,
            can=wrong_can(profile) if bad_can else False,
            mrz=wrong_mrz(profile) if bad_mrz else False,
        )
    error = caught.value
    assert error.key_kind == kinds
    assert f"({kinds.replace(',', ', ')})" in error.message
    methods = [attempt.split(":")[0] for attempt in error.attempts]
    assert len(methods) == len(set(methods)), methods  # no method twice
    assert sum(method.startswith("pace") for method in methods) == pace_runs
    assert methods.count("bac") == bac_runs
    assert all(": failed" in attempt for attempt in error.attempts if not attempt.startswith("card-access"))
    assert leaked([error.message, *error.attempts], profile) == []


@pytest.mark.parametrize(("profile", "bad_can", "bad_mrz", "kinds", "pace_runs", "bac_runs"), WRONG_KEY_CASES)
def test_wrong_keys_send_a_bounded_number_of_authentication_apdus(
    profile: str, bad_can: bool, bad_mrz: bool, kinds: str, pace_runs: int, bac_runs: int
) -> None:
    wire = WireLog(InProcessTransport(make_card(profile)))
    with pytest.raises(AuthenticationFailedError):
        read_document(
            build_send(wire),
            can=wrong_can(profile) if bad_can else None,
            mrz=wrong_mrz(profile) if bad_mrz else None,
            trust=simulator_trust(),
            at=READ_AT,
            aa_challenge=AA_CHALLENGE,
        )
    assert wire.count(INS_MSE) == pace_runs  # one MSE:Set AT per PACE run
    assert wire.count(INS_GENERAL_AUTHENTICATE) <= 4 * pace_runs
    assert wire.count(INS_GET_CHALLENGE) == bac_runs
    assert wire.count(INS_EXTERNAL_AUTHENTICATE) == bac_runs
    # EF.ATR/INFO (SELECT and READ BINARY, or one refused SELECT), EF.CardAccess (one READ BINARY by its
    # short EF identifier, a SELECT too on a card without it) + the handshakes
    assert len(wire.exchanges) <= 4 + 5 * pace_runs + 3 * bac_runs


def test_no_key_at_all_sends_no_authentication_apdu() -> None:
    wire = WireLog(InProcessTransport(make_card("normal")))
    with pytest.raises(AuthenticationFailedError, match="no access method"):
        read_document(build_send(wire), trust=simulator_trust(), at=READ_AT, aa_challenge=AA_CHALLENGE)
    assert wire.exchanges == []


def test_the_right_key_still_opens_the_card_after_a_wrong_one() -> None:
    card = make_card("normal")
    with pytest.raises(AuthenticationFailedError):
        read_profile("normal", card=card, can=wrong_can("normal"), mrz=False)
    reading = read_profile("normal", card=card, mrz=False).reading
    assert reading.access_method == "pace-can" and reading.passive_outcome.status is Status.OK


@pytest.mark.parametrize("profile", ["normal", "legacy-3des", "tampered-dg13"])
def test_the_identity_groups_are_read_before_the_face_and_told_as_they_come(profile: str) -> None:
    told: list[tuple[str, bool]] = []

    def on_file(name: str, document) -> None:
        told.append((name, document.dg13 is not None))

    reading = read_profile(profile, on_file=on_file).reading
    names = [name for name, _ in told]
    reads = [step.step.removeprefix("read ") for step in reading.document.steps if step.step.startswith("read ")]
    assert reads.index("DG13") < reads.index("EF.SOD")  # who it is, first of all: right after EF.COM
    groups = [name for name in reads if name.startswith("DG") and name != "DG14"]
    assert groups[:3] == ["DG13", "DG1", "DG2"]  # before the face
    assert names.index("DG13") < names.index("DG2")
    assert dict(told)["DG13"] is True  # parsed when told: the desk can start the lookup from it
    assert set(names) >= EXPECTED_GROUPS  # every file read is told, once
    assert len(names) == len(set(names))


def test_a_dg13_the_sod_does_not_list_is_forgotten_and_never_fails_passive_authentication() -> None:
    """EF.COM lists DG13, so it is read first; the (validly signed) SOD does not list it: the read goes
    on as if DG13 had not been read, and the identity comes from DG1's MRZ."""
    import dataclasses as dc
    from datetime import UTC, datetime, time

    from simulators.card import lds_build
    from simulators.card.card import SimulatedCard
    from simulators.card.image import FID_SOD
    from simulators.card.people import DEFAULT_SEED, make_person
    from simulators.card.personalise import build_card_image
    from simulators.card.pki import get_pki
    from simulators.card.profiles import get_profile

    profile = get_profile("normal")
    person = make_person(DEFAULT_SEED, profile.person_index)
    image = build_card_image(profile)
    groups = {n: image.files[0x0100 + n] for n in (1, 2, 14, 15)}  # signed without DG13
    sod = lds_build.encode_sod(groups, get_pki(DEFAULT_SEED).signer(profile.signer), digest=profile.digest,
                               signing_time=datetime.combine(person.date_of_issue, time(9, 0), tzinfo=UTC))
    card = SimulatedCard(dc.replace(image, files={**image.files, FID_SOD: sod}))
    told: list[str] = []
    reading = read_profile("normal", card=card, on_file=lambda name, _document: told.append(name)).reading
    assert told[:2] == ["EF.COM", "DG13"]  # read (and told) before the SOD said otherwise
    assert "DG13" not in reading.document.files and reading.document.dg13 is None
    assert reading.passive_outcome.status is Status.OK

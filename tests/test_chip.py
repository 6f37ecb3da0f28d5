"""agent.chip.read_chip over the in-process simulated card: the identity (DG13 with its Vietnamese
diacritics, else the MRZ), the authenticity summary and its reasons, the statistics of what crossed the
link, the displayable face, the receipt, and logs without personal data."""

from __future__ import annotations

import json
import logging

import pytest

from agent.chip import CountingTransport, identity_from_document, read_chip
from agent.errors import AuthenticationFailedError, DocumentError
from agent.icao.apdu import ResponseApdu
from agent.icao.lds.document import ChipDocument
from agent.ports import ChipRead
from agent.settings import Settings, load_settings
from simulators.card.transport import InProcessTransport
from tests.chip_support import READ_AT, access_of, leaked, make_card, mrz_of, simulator_trust

TRANSACTION = "tx-0001"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(None, environ={})


def chip_read(profile: str, settings: Settings, *, card: object = None, **keys: object) -> tuple[ChipRead,
                                                                                                 InProcessTransport]:
    card = card if card is not None else make_card(profile)
    transport = InProcessTransport(card)  # type: ignore[arg-type]
    if not keys:
        keys = {"id_number": access_of(profile).id_number}
    result = read_chip(
        transport,
        settings=settings,
        trust_store=simulator_trust(),
        transaction_id=TRANSACTION,
        link_estimate=lambda: transport.link_estimate_ms,
        at=READ_AT,
        **keys,  # type: ignore[arg-type]
    )
    return result, transport


def test_identity_comes_from_dg13_with_its_diacritics(settings: Settings) -> None:
    access = access_of("normal")
    result, _ = chip_read("normal", settings)
    identity = result.identity
    assert identity.id_number == access.id_number
    assert identity.full_name == access.full_name == "Võ Văn Đức Phúc"
    assert identity.sex == "Nam"
    assert identity.date_of_birth is not None and identity.date_of_birth.isoformat() == "1989-12-16"
    assert result.evidence.access_method == "pace-can"
    assert (result.evidence.passive, result.evidence.chip) == ("ok", "ok")


def test_an_id_number_gives_the_can_and_a_bare_mrz_opens_with_pace_mrz(settings: Settings) -> None:
    by_can, _ = chip_read("normal", settings, can=access_of("normal").can)
    by_mrz, _ = chip_read("normal", settings, mrz=mrz_of("normal"))
    assert by_can.evidence.access_method == "pace-can"
    assert by_mrz.evidence.access_method == "pace-mrz"
    assert by_can.identity == by_mrz.identity


def test_the_statistics_count_what_crossed_the_link(settings: Settings) -> None:
    card = make_card("normal")
    result, transport = chip_read("normal", settings, card=card)
    stats = result.stats.to_json()
    assert stats["apdus"] == transport.apdu_count == card.apdu_count
    assert stats["bytes_sent"] == transport.bytes_sent
    assert stats["bytes_received"] == transport.bytes_received
    assert stats["bytes"] == stats["bytes_sent"] + stats["bytes_received"] > 18_000  # DG2 alone is ~18 KB
    assert stats["elapsed_ms"] > 0 and stats["cpu_ms"] >= 0
    assert stats["link_estimate_ms"] == round(card.link_estimate_ms, 1) > 0


def test_the_link_estimate_is_the_share_of_this_read(settings: Settings) -> None:
    card = make_card("normal")
    first, _ = chip_read("normal", settings, card=card)
    second, _ = chip_read("normal", settings, card=card)
    total = card.link_estimate_ms
    first_ms, second_ms = first.stats.to_json()["link_estimate_ms"], second.stats.to_json()["link_estimate_ms"]
    assert first_ms + second_ms == pytest.approx(total, abs=0.2)
    assert second_ms == pytest.approx(first_ms, rel=0.05)


def test_a_short_only_card_needs_more_apdus_and_link_time(settings: Settings) -> None:
    extended, _ = chip_read("normal", settings)
    short, _ = chip_read("no-extended-length", settings)
    assert short.identity == extended.identity
    assert short.stats.to_json()["apdus"] > 2 * extended.stats.to_json()["apdus"]
    assert short.stats.to_json()["link_estimate_ms"] > extended.stats.to_json()["link_estimate_ms"]


def test_no_link_estimate_without_a_source(settings: Settings) -> None:
    transport = InProcessTransport(make_card("normal"))
    result = read_chip(
        transport, settings=settings, trust_store=simulator_trust(), transaction_id=TRANSACTION,
        id_number=access_of("normal").id_number,
    )  # fmt: skip
    assert result.stats.to_json()["link_estimate_ms"] is None


@pytest.mark.parametrize(("profile", "mime_type", "magic"), [("normal", "image/jpeg", b"\xff\xd8\xff"),
                                                              ("jpeg2000", "image/png", b"\x89PNG")])
def test_the_face_is_displayable(settings: Settings, profile: str, mime_type: str, magic: bytes) -> None:
    result, _ = chip_read(profile, settings)
    assert result.face_mime_type == mime_type
    assert result.face_image is not None and result.face_image.startswith(magic)
    assert result.to_json()["face"] == {"mime_type": mime_type, "bytes": len(result.face_image)}


def test_the_authenticity_summary_of_a_genuine_card(settings: Settings) -> None:
    result, _ = chip_read("normal", settings)
    authenticity = result.evidence.to_json()
    assert authenticity["reasons"] == []
    assert authenticity["passive_checks"] == {
        name: "ok" for name in ("sod_signature", "message_digest", "certificate_chain", "signer_validity",
                                "revocation", "dg1_hash", "dg2_hash", "dg13_hash", "dg14_hash", "dg15_hash")
    }
    assert authenticity["chip_authentication"] == "ok" and authenticity["active_authentication"] == "ok"
    assert "TEST CSCA" in authenticity["trust_anchor"]
    assert authenticity["skipped_files"] == {}


@pytest.mark.parametrize(
    ("profile", "passive", "chip", "reason"),
    [
        ("tampered-dg13", "failed", "ok", "passive: dg13_hash: DG13 does not match its hash in the SOD"),
        ("unknown-csca", "unknown", "ok", "passive: certificate_chain: unknown trust anchor"),
        ("clone", "ok", "failed", "chip: the chip could not continue with the Chip Authentication keys"),
        ("expired-signer", "failed", "ok", "passive: signer_validity: the Document Signer certificate expired"),
    ],
)
def test_the_reasons_say_what_failed(settings: Settings, profile: str, passive: str, chip: str, reason: str) -> None:
    result, _ = chip_read(profile, settings)
    assert (result.evidence.passive, result.evidence.chip) == (passive, chip)
    reasons = result.evidence.to_json()["reasons"]
    assert any(line.startswith(reason) for line in reasons), reasons
    assert leaked(reasons, profile) == []


def test_the_json_carries_no_raw_bytes(settings: Settings) -> None:
    result, _ = chip_read("normal", settings)
    payload = result.to_json()
    assert set(payload) == {"identity", "authenticity", "access_method", "stats", "face"}
    assert set(payload["stats"]) >= {"apdus", "bytes", "elapsed_ms", "cpu_ms", "link_estimate_ms"}
    assert payload["identity"]["full_name"] == "Võ Văn Đức Phúc"
    text = json.dumps(payload, ensure_ascii=False)  # JSON-able: no bytes objects
    assert len(text) < 4000  # and no base64 face or files in it


def test_the_receipt_comes_with_the_read(settings: Settings) -> None:
    result, _ = chip_read("normal", settings)
    receipt = result.receipt
    assert receipt["transaction_id"] == TRANSACTION
    assert receipt["read_at"] == READ_AT.isoformat()
    assert {"EF.SOD", "DG1", "DG2", "DG13", "DG14", "DG15"} <= set(receipt["files"])
    assert receipt["outcome"] == {"passive": "ok", "chip": "ok"}
    assert "receipt" not in repr(result) and access_of("normal").id_number not in repr(result)


def test_logs_hold_no_personal_data_even_with_the_apdu_trace(caplog: pytest.LogCaptureFixture) -> None:
    traced = load_settings(None, environ={}, overrides={"log": {"apdu_trace": True}})
    caplog.set_level(logging.DEBUG)
    chip_read("normal", traced)
    lines = [record.getMessage() for record in caplog.records]
    assert sum(line.startswith("APDU ") for line in lines) >= 20  # the trace ran: one line per APDU
    assert any(line.startswith("chip read: pace-can") for line in lines)
    assert leaked(lines, "normal") == []


def test_a_wrong_can_raises_and_names_the_key_kind(settings: Settings) -> None:
    with pytest.raises(AuthenticationFailedError) as caught:
        chip_read("normal", settings, can="000000")
    assert caught.value.key_kind == "CAN"
    assert "000000" not in caught.value.message


def test_counting_transport_counts_both_directions() -> None:
    class Echo:
        closed = False

        def transmit(self, apdu: bytes) -> ResponseApdu:
            return ResponseApdu(apdu[:3], 0x9000)

        def close(self) -> None:
            self.closed = True

    inner = Echo()
    counting = CountingTransport(inner)
    counting.transmit(bytes(5))
    counting.transmit(bytes(10))
    counting.close()
    assert (counting.apdus, counting.bytes_sent, counting.bytes_received) == (2, 15, 10)
    assert inner.closed


def test_identity_needs_dg13_or_dg1() -> None:
    with pytest.raises(DocumentError, match="neither DG13 nor DG1"):
        identity_from_document(ChipDocument())

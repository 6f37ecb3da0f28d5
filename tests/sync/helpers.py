"""Shared makings of the store tests: a settable clock, a store in a temporary folder, and results
carrying realistic Vietnamese personal data (so that "no plaintext in the file" means something)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent.models import (
    BackendCheck,
    ChipEvidence,
    Identity,
    SiteKind,
    Source,
    Status,
    Verdict,
    VerificationResult,
)
from sync.keys import KeyFile
from sync.store import OutboundEvent, Store

T0 = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_store(folder: Path, clock: Clock | None = None, **kwargs) -> Store:
    key = KeyFile(folder / "keys" / "store.key")
    return Store.open(folder / "agent.sqlite3", key, clock=clock or Clock(), **kwargs)


def identity(number: int = 1, name: str = "Nguyễn Thị Thu Hằng") -> Identity:
    return Identity(
        id_number=f"0381900{number:05d}",
        full_name=name,
        date_of_birth=date(1987, 5, 6),
        sex="Nữ",
        address="Số 12, đường Lê Lợi, phường Điện Biên, thành phố Thanh Hóa, tỉnh Thanh Hóa",
        place_of_origin="xã Quảng Tâm, huyện Quảng Xương, Thanh Hóa",
        nationality="Việt Nam",
    )


def insurance_check(status: str = "valid", at: datetime = T0) -> BackendCheck:
    return BackendCheck("insurance", status, {
        "card_number": "GD4383812345678", "valid_from": "2025-01-01", "valid_to": "2025-12-31",
        "benefit_level": 4, "facility_code": "38001", "facility_name": "Bệnh viện Đa khoa tỉnh Thanh Hóa",
    }, checked_at=at)


def result(person: Identity | None = None, *, at: datetime = T0, check: BackendCheck | None = None,
           result_id: str | None = None) -> VerificationResult:
    person = person or identity()
    return VerificationResult(
        result_id=result_id or str(uuid.uuid4()),
        source=Source.CHIP,
        identity=person,
        created_at=at,
        verdict=Verdict.VERIFIED,
        reasons=("insurance: valid",),
        evidence=ChipEvidence(passive=Status.OK, chip=Status.OK, access_method="PACE-CAN",
                              passive_checks={"sod_signature": Status.OK}, chip_authentication=Status.OK),
        checks=(check or insurance_check(at=at),),
        site_profile=SiteKind.CLINIC,
        operator="le-tan-1",
        chip_receipt=chip_receipt(person),
    )


def chip_receipt(person: Identity) -> dict:
    """A chip receipt's shape (the files as read, in base64): personal data, stored sealed with the result."""
    dg13 = f"{person.id_number}|{person.full_name}|{person.address}".encode()
    return {"format": "cccd-agent-receipt/1", "files": {"DG13": base64.b64encode(dg13).decode("ascii")},
            "outcome": {"passive": "ok", "chip": "ok"}}


def event_for(res: VerificationResult, destination: str = "insurance") -> OutboundEvent:
    return OutboundEvent(res.result_id, destination, {
        "event_id": res.result_id, "type": "insurance_checkin", "id_number": res.identity.id_number,
        "occurred_at": res.created_at.isoformat(), "full_name": res.identity.full_name,
    })

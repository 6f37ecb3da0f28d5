"""Stand-ins for the desk's adapters in the service and API tests: an insurance portal and a licensing
service answering from dictionaries (and going down on demand), a chip reader returning scripted reads,
and a desk service built on a real store and audit log in a temporary folder."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.audit import AuditKeys, AuditLog
from agent.errors import AgentError, BackendUnavailableError, OperationCancelledError
from agent.icao.apdu import ResponseApdu
from agent.models import (
    BackendCheck,
    ChipEvidence,
    ExamSessionInfo,
    Identity,
    InsuranceQuery,
    Operator,
    Roster,
    RosterEntry,
    Status,
)
from agent.ports import ChipKeys, ChipRead, ReadStats
from agent.receipt import ReceiptKey
from agent.service.desk import DeskService
from agent.service.entitlement import Entitlement
from agent.service.hub import Hub
from agent.service.policy import policy_for
from sync.keys import KeyFile
from sync.store import Store

# A consistent citizen: province 038, female born in the 1900s (digit 1), year 87.
ID_HANG = "038187001234"
ID_BINH = "001090004567"  # male, 1990
ID_STRANGER = "079295001111"  # female, 1995
NAME_HANG = "Nguyễn Thị Thu Hằng"
NAME_BINH = "Trần Văn Bình"
SESSION = "SH-38-20250314-B2"
AUDIT_SECRET = bytes(range(32))
RECEIPT_SEED = bytes(range(32, 64))


def qr_text(id_number: str = ID_HANG, name: str = NAME_HANG, dob: str = "06051987", sex: str = "Nữ") -> str:
    return f"{id_number}|123456789|{name}|{dob}|{sex}|Số 12, đường Lê Lợi, phường Điện Biên, Thanh Hóa|01022021"


def identity(id_number: str = ID_HANG, name: str = NAME_HANG, dob: date = date(1987, 5, 6),
             sex: str = "Nữ") -> Identity:
    return Identity(id_number=id_number, full_name=name, date_of_birth=dob, sex=sex,
                    address="Số 12, đường Lê Lợi, phường Điện Biên, Thanh Hóa", nationality="Việt Nam")


class FakeInsurance:
    def __init__(self, statuses: dict[str, str] | None = None) -> None:
        self.statuses = statuses if statuses is not None else {ID_HANG: "valid", ID_BINH: "expired"}
        self.down = False
        self.calls = 0
        self.queries: list[InsuranceQuery] = []

    def lookup(self, query: InsuranceQuery) -> BackendCheck:
        self.calls += 1
        self.queries.append(query)
        id_number = query.card_number
        if self.down:
            raise BackendUnavailableError("insurance portal: connection refused")
        status = self.statuses.get(id_number, "not_found")
        details: dict[str, Any] = {}
        if status != "not_found":
            valid_to = date.today() + timedelta(days=200 if status == "valid" else -30)
            details = {"card_number": "GD4383812345678", "valid_from": (valid_to - timedelta(days=364)).isoformat(),
                       "valid_to": valid_to.isoformat(), "benefit_level": 4, "facility_code": "38001",
                       "facility_name": "Bệnh viện Đa khoa tỉnh Thanh Hóa"}
        return BackendCheck("insurance", status, details, checked_at=datetime.now(UTC))


class FakeLicensing:
    def __init__(self, candidates: tuple[str, ...] = (ID_HANG,)) -> None:
        self.candidates = candidates
        self.down = False

    def _entry(self, id_number: str, number: int) -> RosterEntry:
        return RosterEntry(f"B2-{number:04d}", id_number, NAME_HANG, date(1987, 5, 6), "B2")

    def sessions(self) -> list[ExamSessionInfo]:
        if self.down:
            raise BackendUnavailableError("licensing: down")
        return [ExamSessionInfo(SESSION, "Trung tâm Sát hạch lái xe Thanh Hóa", date.today(), "B2",
                                len(self.candidates))]

    def roster(self, session_id: str) -> Roster:
        if self.down:
            raise BackendUnavailableError("licensing: down")
        return Roster(self.sessions()[0], tuple(self._entry(c, i) for i, c in enumerate(self.candidates, 1)))

    def candidate(self, session_id: str, id_number: str) -> BackendCheck:
        if self.down:
            raise BackendUnavailableError("licensing: down")
        if id_number in self.candidates:
            entry = self._entry(id_number, self.candidates.index(id_number) + 1)
            return BackendCheck("roster", "on_roster", entry.details(session_id), checked_at=datetime.now(UTC))
        return BackendCheck("roster", "not_on_roster", {"session_id": session_id}, checked_at=datetime.now(UTC))


FACE = b"\xff\xd8\xff\xe0 a face \xff\xd9"


def evidence(passive: Status, chip: Status, *reasons: str) -> ChipEvidence:
    return ChipEvidence(passive=passive, chip=chip, access_method="PACE-CAN", reasons=reasons)


GENUINE = evidence(Status.OK, Status.OK)
TAMPERED = evidence(Status.FAILED, Status.OK, "DG13 hash does not match the SOD")
CLONE = evidence(Status.OK, Status.FAILED, "chip authentication failed")
UNKNOWN_CSCA = evidence(Status.UNKNOWN, Status.OK, "no trusted CSCA for the document signer")


def FakeChipRead(identity: Identity, authenticity: ChipEvidence, *, face_image: bytes | None = FACE,
                 receipt: dict[str, Any] | None = None) -> ChipRead:
    """A finished chip read as the chip reader would answer it."""
    return ChipRead(identity, authenticity, ReadStats(apdus=40, bytes_sent=2000, bytes_received=20000, elapsed_ms=80.0,
                                                      cpu_ms=20.0),
                    face_image=face_image, face_mime_type="image/jpeg" if face_image else None,
                    receipt=receipt if receipt is not None else {"files": {"DG1": "ab" * 32}})


@dataclasses.dataclass
class FakeCard:
    """What the fake reader 'reads' (a CardConnection): a chip read, or an error raised during the read."""

    read: ChipRead | AgentError
    fails_after_identity: AgentError | None = None  # e.g. the card pulled once DG13 is in
    closed: bool = False
    reader: str = "Fake reader"
    extended_length_possible: bool = True

    def transmit(self, apdu: bytes) -> ResponseApdu:
        raise AssertionError("the fake chip reader never sends APDUs")

    def link_estimate_ms(self) -> float | None:
        return None

    def close(self) -> None:
        self.closed = True


class FakeChipReader:
    """A ChipReader answering what the FakeCard holds, recording the keys it was given."""

    def __init__(self, *, checks_take_s: float = 0.0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.checks_take_s = checks_take_s

    def read(self, connection: FakeCard, keys: ChipKeys, *, transaction_id: str,
             progress: Callable[[str, int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None,
             on_identity: Callable[[Identity], None] | None = None,
             on_face: Callable[[bytes], None] | None = None) -> ChipRead:
        """As the real read: DG13 (the identity told), then DG2 (the face told), then the checks."""
        self.calls.append({"id_number": keys.id_number, "mrz": keys.mrz, "transaction_id": transaction_id})
        read = connection.read
        if on_identity is not None and isinstance(read, ChipRead):
            on_identity(read.identity)
        if connection.fails_after_identity is not None:
            raise connection.fails_after_identity
        if progress is not None:
            progress("DG2", 1000, 20000)
            progress("DG2", 20000, 20000)
        if on_face is not None and isinstance(read, ChipRead) and read.face_image:
            on_face(read.face_image)
        if cancel is not None and cancel():
            raise OperationCancelledError("cancelled")
        if isinstance(read, AgentError):
            raise read
        if self.checks_take_s:
            time.sleep(self.checks_take_s)  # the rest of the read, while a lookup started ahead goes on
        return read


@dataclasses.dataclass
class Desk:
    service: DeskService
    store: Store
    audit: AuditLog
    insurance: FakeInsurance
    licensing: FakeLicensing
    chip: FakeChipReader
    folder: Path

    def close(self) -> None:
        self.service.hub.close()
        self.store.close()


def make_desk(folder: Path, profile: str = "clinic", *, insurance: FakeInsurance | None = None,
              licensing: FakeLicensing | None = None, operator: str = "le-tan-01",
              operators: Sequence[Operator] = (), monotonic: Callable[[], float] = time.monotonic) -> Desk:
    store = Store.open(folder / "agent.sqlite3", KeyFile(folder / "keys" / "store.key"))
    audit = AuditLog(folder / "audit.jsonl", AuditKeys(AUDIT_SECRET), operator=operator, site_id="bv-test")
    insurance = insurance or FakeInsurance()
    licensing = licensing or FakeLicensing()
    entitlement = Entitlement(store, insurance, licensing)
    chip = FakeChipReader()
    service = DeskService(store=store, entitlement=entitlement, policy=policy_for(profile), audit=audit,
                          chip_reader=chip, hub=Hub(), receipt_key=ReceiptKey(RECEIPT_SEED), operators=operators,
                          monotonic=monotonic)
    return Desk(service, store, audit, insurance, licensing, chip, folder)

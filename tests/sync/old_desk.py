"""The data a desk leaves behind, written by this version of the agent into a folder, with a manifest of
what a later agent must still find in it: ``python -m tests.sync.old_desk DIR``.

``tests/sync/fixtures/desk-0.1.0/`` was written this way by agent 0.1.0 (the code of commit 711c581, store
schema 1, key files made with hard links, the audit locked with fcntl/msvcrt) and is kept as
it was: the upgrade tests (tests/sync/test_migrations.py) open it with the agent of today. Never write
over a released version's folder; after a release that changes the store, the audit log or the keys,
add the new version's folder beside it (``desk-<version>``) and its name to ``OLD_DESKS`` there.

The citizens and their data are made up (tests.sync.helpers), as in every other store test.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from agent import __version__
from agent.audit import AuditKeys, AuditLog, person_fields
from agent.receipt import RECEIPT_KEY_PREFIX, ReceiptKey
from sync.keys import KeyFile
from sync.migrations import LATEST_VERSION
from sync.store import OutboundEvent, RosterCopy, Store
from tests.sync.helpers import Clock, identity, insurance_check, result

T0 = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)


def make_desk(folder: Path) -> dict[str, object]:
    """A day at a clinic desk: five verifications, three delivered and two still queued, the insurance
    answers cached, an exam roster kept offline, the audit trail of it all and the receipt key."""
    clock = Clock(T0)
    store_key = KeyFile(folder / "keys" / "store.key")
    store = Store.open(folder / "agent.sqlite3", store_key, clock=clock)
    audit = AuditLog(folder / "audit.jsonl", AuditKeys(store_key.load(create=False)), operator="le-tan-1",
                     site_id="tram-y-te-xa-01", clock=clock)
    receipt = ReceiptKey(KeyFile(folder / "keys" / "receipt.key", prefix=RECEIPT_KEY_PREFIX,
                                 what="receipt key").load(create=True))
    audit.append("agent_started", {"version": __version__, "profile": "clinic"})
    people = [identity(n, name) for n, name in enumerate(
        ("Nguyễn Thị Thu Hằng", "Trần Văn Bình", "Lê Minh Châu", "Phạm Quốc Dũng", "Hoàng Thị Én"), start=1)]
    results = []
    for person in people:
        clock.advance(minutes=7)
        done = result(person, at=clock.now, check=insurance_check(at=clock.now))
        roster = None
        if person is people[0]:
            roster = RosterCopy("SH-2025-03-14-A", {"centre": "Thanh Hóa", "candidates": 2},
                                ((people[0].id_number, {"candidate_no": "B2-0001"}),
                                 (people[1].id_number, {"candidate_no": "B2-0002"})))
        store.record(done, [OutboundEvent(done.result_id, "insurance", {"event_id": done.result_id,
                                                                       "type": "insurance_checkin"})],
                     cache=[(person.id_number, insurance_check(at=clock.now))], roster=roster)
        audit.append("verification", {"result_id": done.result_id, "verdict": "verified",
                                      **person_fields(audit.keys, person.id_number)})
        results.append(done)
    clock.advance(minutes=1)
    store.outbox.settle(delivered=[r.result_id for r in results[:3]])
    audit.append("agent_stopped", {"version": __version__})
    store.close()
    manifest: dict[str, object] = {
        "agent_version": __version__,
        "store_schema": LATEST_VERSION,
        "written_at": clock.now.isoformat(),
        "results": [{"result_id": r.result_id, "id_number": r.identity.id_number, "full_name": r.identity.full_name}
                    for r in results],
        "pending": [r.result_id for r in results[3:]],
        "sent": [r.result_id for r in results[:3]],
        "roster": {"session_id": "SH-2025-03-14-A", "id_number": people[1].id_number, "candidate_no": "B2-0002"},
        "audit_entries": 2 + len(results),
        "receipt_public_key": receipt.public_pem(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str]) -> int:
    folder = Path(argv[1])
    if folder.exists() and any(folder.iterdir()):
        print(f"{folder} is not empty: a released desk's data is never written over", file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    make_desk(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))



"""Event upload to a backend: a batch of events, each carrying the client's own ``event_id``, and
the backend's receipt for each (accepted, duplicate, rejected).

The call is idempotent by construction (the backend dedupes by ``event_id``), so it is retried like a
lookup. The answer must hold exactly one receipt per event sent, none for anything else: otherwise
the syncer could mark as sent something the backend never acknowledged, so the whole answer is
refused as malformed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from agent.checks.http import BackendHttp
from agent.errors import BackendResponseError
from agent.privacy import mask_numbers

RECEIPT_STATUSES = frozenset({"accepted", "duplicate", "rejected"})
BATCH_PATH = "/v1/events/batch"


@dataclasses.dataclass(frozen=True)
class EventReceipt:
    status: str  # accepted | duplicate | rejected
    reason: str = ""

    @property
    def delivered(self) -> bool:
        return self.status in ("accepted", "duplicate")


def send_batch(http: BackendHttp, events: Sequence[dict[str, Any]], *, what: str,
               path: str = BATCH_PATH) -> dict[str, EventReceipt]:
    ids = [str(e.get("event_id", "")) for e in events]
    if len(set(ids)) != len(ids) or not all(ids):
        raise ValueError("every event in a batch needs its own event_id")
    if not events:
        return {}
    data = http.post(path, {"events": list(events)}, what=what, idempotent=True, idempotency_key=batch_key(ids))
    return parse_receipts(data, ids, what=what)


def parse_receipts(data: dict[str, Any], ids: Sequence[str], *, what: str) -> dict[str, EventReceipt]:
    results = data.get("results")
    if not isinstance(results, list):
        raise BackendResponseError(f"{what}: the answer has no 'results' list")
    expected = set(ids)
    receipts: dict[str, EventReceipt] = {}
    for item in results:
        if not isinstance(item, dict):
            raise BackendResponseError(f"{what}: a receipt is not an object")
        event_id = item.get("event_id")
        status = item.get("status")
        if not isinstance(event_id, str) or event_id not in expected or event_id in receipts:
            raise BackendResponseError(f"{what}: a receipt for an event not sent, or twice")
        if not isinstance(status, str) or status not in RECEIPT_STATUSES:
            raise BackendResponseError(f"{what}: a receipt has an unknown status")
        reason = item.get("reason")
        receipts[event_id] = EventReceipt(status, mask_numbers(reason)[:200] if isinstance(reason, str) else "")
    if len(receipts) != len(expected):
        raise BackendResponseError(f"{what}: {len(expected) - len(receipts)} events have no receipt")
    return receipts


def batch_key(ids: Sequence[str]) -> str:
    """A stable key for a batch: the same events give the same key (a proxy may dedupe on it too)."""
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]

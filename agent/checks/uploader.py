"""The outbox's way out: sends a batch of queued events to the backend they are addressed to
(``insurance`` or ``licensing``) and returns one receipt per event.

It satisfies the syncer's ``Uploader`` protocol structurally (``sync`` never imports this module;
the composition root hands it in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.checks.events import EventReceipt
from agent.checks.insurance import InsuranceClient
from agent.checks.licensing import LicensingClient

DESTINATION_INSURANCE = "insurance"
DESTINATION_LICENSING = "licensing"


class BackendUploader:
    def __init__(self, insurance: InsuranceClient, licensing: LicensingClient) -> None:
        self.insurance = insurance
        self.licensing = licensing

    def upload(self, destination: str, events: Sequence[dict[str, Any]]) -> dict[str, EventReceipt]:
        if destination == DESTINATION_INSURANCE:
            return self.insurance.send_events(events)
        if destination == DESTINATION_LICENSING:
            return self.licensing.send_events(events)
        # Not retryable: no later attempt can deliver it, so the syncer marks it failed for a person to see.
        return {str(e.get("event_id", "")): EventReceipt("rejected", f"no backend called {destination!r}")
                for e in events}

"""The outbox's way out: sends a batch of queued events to the backend they are addressed to
(``insurance`` or ``licensing``, or ``his``: the site's hospital information system, whose webhook
receives the check-ins of a clinic that asks the BHXH gateway) and returns one receipt per event.

It satisfies the syncer's ``Uploader`` protocol structurally (``sync`` never imports this module;
the composition root hands it in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.checks.events import EventReceipt, send_batch
from agent.checks.http import BackendHttp
from agent.checks.insurance import InsuranceClient
from agent.checks.licensing import LicensingClient

DESTINATION_INSURANCE = "insurance"
DESTINATION_LICENSING = "licensing"
DESTINATION_HIS = "his"


class HisWebhook:
    """The site's HIS receiving check-in events: ``POST`` of ``{"events": [...]}`` to the webhook URL with
    its bearer token, answered with one receipt per ``event_id`` (accepted, duplicate, rejected), the same
    contract as the backends' event batches: the HIS dedupes by ``event_id``, so a retry is harmless."""

    def __init__(self, http: BackendHttp) -> None:
        self.http = http

    def send_events(self, events: Sequence[dict[str, Any]]) -> dict[str, EventReceipt]:
        return send_batch(self.http, events, what="HIS check-in webhook", path="")


class BackendUploader:
    def __init__(self, insurance: InsuranceClient | None, licensing: LicensingClient,
                 his: HisWebhook | None = None) -> None:
        self.insurance = insurance
        self.licensing = licensing
        self.his = his

    def upload(self, destination: str, events: Sequence[dict[str, Any]]) -> dict[str, EventReceipt]:
        if destination == DESTINATION_INSURANCE and self.insurance is not None:
            return self.insurance.send_events(events)
        if destination == DESTINATION_LICENSING:
            return self.licensing.send_events(events)
        if destination == DESTINATION_HIS and self.his is not None:
            return self.his.send_events(events)
        # Not retryable: no later attempt can deliver it, so the syncer marks it failed for a person to see.
        return {str(e.get("event_id", "")): EventReceipt("rejected", f"no backend called {destination!r}")
                for e in events}

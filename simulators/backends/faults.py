"""The fault controls of the mock backends: how slow, how flaky, how broken, or whether down.

One :class:`Faults` value says what the servers do to every service request (never to the
``/_admin`` endpoints, so a test can always switch a fault off again). It is set from Python
(``MockBackends.set_faults``) or over HTTP (``PUT /_admin/faults`` with a JSON object of the fields to
change); both go through :func:`updated`, which checks every value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


class FaultSettingError(ValueError):
    """A fault control has an unknown name or a value out of range."""


@dataclasses.dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0  # added before every service answer
    latency_max_ms: float = 0.0  # when above latency_ms: each answer waits a random time between the two
    error_rate: float = 0.0  # share of requests answered with ``error_status`` (not processed)
    error_status: int = 503
    retry_after_s: float = 0.0  # sent as Retry-After with an injected 429 or 503 when above 0
    timeout_rate: float = 0.0  # share of requests that hang ``hang_s`` and then lose the connection
    hang_s: float = 30.0
    malformed_rate: float = 0.0  # share answered 200 with a body that is not valid JSON (not processed)
    ack_loss_rate: float = 0.0  # share processed, then the connection dropped before the answer
    down: bool = False  # every service request: the connection is reset without an answer
    gateway_transient_rate: float = 0.0  # share of gateway card checks answered 101 (HTTP 200) or 500 (HTTP 500)
    hostile: str = ""  # a broken or hostile server: every service answer is one of HOSTILE_MODES

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# What a hostile or broken backend sends instead of its answer (issue 13): JSON nested 200,000 deep, a
# 5,000-digit number, lists where strings belong, 512 MB declared and streamed, an endless chunked body,
# an answer dribbled one byte at a time, or a 4xx whose error text echoes the request (ID number and all).
HOSTILE_MODES = ("deep_json", "huge_number", "wrong_types", "flood", "flood_chunked", "dribble", "echo_4xx")
_RATES = ("error_rate", "timeout_rate", "malformed_rate", "ack_loss_rate", "gateway_transient_rate")


def updated(current: Faults, changes: Mapping[str, Any]) -> Faults:
    """``current`` with ``changes`` applied, every value checked (FaultSettingError if wrong)."""
    fields = {f.name: f for f in dataclasses.fields(Faults)}
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in fields:
            raise FaultSettingError(f"unknown fault control {name!r}")
        if name == "down":
            if not isinstance(value, bool):
                raise FaultSettingError("down must be true or false")
        elif name == "hostile":
            if value not in ("", *HOSTILE_MODES):
                raise FaultSettingError(f"hostile must be one of {', '.join(HOSTILE_MODES)} (or empty)")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise FaultSettingError(f"{name} must be a number")
        values[name] = value
    result = dataclasses.replace(current, **values)
    for name in _RATES:
        if not 0.0 <= getattr(result, name) <= 1.0:
            raise FaultSettingError(f"{name} must be between 0 and 1")
    if not 400 <= int(result.error_status) <= 599:
        raise FaultSettingError("error_status must be an HTTP error status (400-599)")
    if result.latency_ms < 0 or result.latency_max_ms < 0 or result.hang_s < 0 or result.retry_after_s < 0:
        raise FaultSettingError("latency_ms, latency_max_ms, hang_s and retry_after_s must not be negative")
    return dataclasses.replace(result, error_status=int(result.error_status))

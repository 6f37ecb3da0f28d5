"""A scripted stand-in for a requests session: each call takes the next scripted answer (a status
and a body, or an exception to raise) and is recorded for the test to inspect."""

from __future__ import annotations

import dataclasses
import json
from typing import Any


@dataclasses.dataclass
class FakeResponse:
    status_code: int
    content: bytes


@dataclasses.dataclass
class Call:
    method: str
    url: str
    json: Any
    headers: dict[str, str]
    timeout: Any
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # params, data, stream ...


class ScriptedSession:
    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[Call] = []

    def request(self, method: str, url: str, *, json: Any = None, headers: Any = None, timeout: Any = None,
                **options: Any) -> Any:
        self.calls.append(Call(method, url, json, dict(headers or {}), timeout, options))
        if not self.script:
            raise AssertionError("the session was called more often than scripted")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            step = step(self.calls[-1])
        status, body = step
        return FakeResponse(status, body if isinstance(body, bytes) else _dumps(body))


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

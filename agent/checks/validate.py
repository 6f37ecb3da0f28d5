"""Checks on what the backends answer, before anything of it reaches the desk or the store.

Each function takes a decoded JSON value and the name of the field (for the error message), and
returns the value typed, or raises BackendResponseError naming the field, never its content (it may
be personal data).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from agent.errors import BackendResponseError

ID_NUMBER = re.compile(r"^\d{12}$")


def field(data: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in data:
        raise BackendResponseError(f"{what}: the answer has no {name!r}")
    return data[name]


def text(data: Mapping[str, Any], name: str, what: str, *, pattern: re.Pattern[str] | None = None,
         allow_empty: bool = False) -> str:
    value = field(data, name, what)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise BackendResponseError(f"{what}: {name!r} is not a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise BackendResponseError(f"{what}: {name!r} is not in the expected format")
    return value


def choice(data: Mapping[str, Any], name: str, what: str, allowed: Collection[str]) -> str:
    value = field(data, name, what)
    if not isinstance(value, str) or value not in allowed:
        raise BackendResponseError(f"{what}: {name!r} is not one of {', '.join(sorted(allowed))}")
    return str(value)


def day(data: Mapping[str, Any], name: str, what: str) -> date:
    value = text(data, name, what)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BackendResponseError(f"{what}: {name!r} is not an ISO date") from exc


def integer(data: Mapping[str, Any], name: str, what: str, *, low: int, high: int) -> int:
    value = field(data, name, what)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BackendResponseError(f"{what}: {name!r} is not an integer from {low} to {high}")
    return value


def mapping(data: Mapping[str, Any], name: str, what: str) -> Mapping[str, Any]:
    value = field(data, name, what)
    if not isinstance(value, dict):
        raise BackendResponseError(f"{what}: {name!r} is not an object")
    return value


def same_id(data: Mapping[str, Any], expected: str, what: str) -> None:
    """The answer is about the person we asked about (a mixed-up answer is worse than none)."""
    if text(data, "id_number", what, pattern=ID_NUMBER) != expected:
        raise BackendResponseError(f"{what}: the answer is about a different ID number")

"""Masking of personal data before it can reach a log line, an exception message or a screen that
does not need it (docs/architecture.md "Privacy")."""

from __future__ import annotations


def mask_id(number: str | None) -> str:
    """Mask an ID number, keeping at most the first 3 and last 2 characters ("001*******64")."""
    if not number:
        return ""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


def mask_name(name: str | None) -> str:
    """Keep the initial of each word of a name ("N. V. A."), for operator screens that need a hint."""
    if not name:
        return ""
    return " ".join(word[0] + "." for word in name.split() if word)

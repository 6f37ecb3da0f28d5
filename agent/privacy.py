"""Masking of personal data before it can reach a log line, an exception message or a screen that
does not need it, and of credentials before they can reach a log line (docs/architecture.md "Privacy")."""

from __future__ import annotations

import logging
import re


def mask_id(number: str | None) -> str:
    """Mask an ID number, keeping at most the first 3 and last 2 characters ("001*******64")."""
    if not number:
        return ""
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


_LONG_NUMBER = re.compile(r"\d{6,}")  # an ID number (12 digits), an old CMND (9), a card or phone number


def mask_numbers(text: str) -> str:
    """``text`` with every run of six or more digits masked as :func:`mask_id` masks an ID number: for
    texts from outside (a backend's error message) that may echo what we sent."""
    return _LONG_NUMBER.sub(lambda found: mask_id(found[0]), text)


def mask_name(name: str | None) -> str:
    """Keep the initial of each word of a name ("N. V. A."), for operator screens that need a hint."""
    if not name:
        return ""
    return " ".join(word[0] + "." for word in name.split() if word)


# Credentials that may appear in a URL's query string (the BHXH gateway wants its token and password
# there), in a JSON or form body, or in an Authorization header: never written out as they are.
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b((?:access_|id_|webhook_)?token|password|passwordHash|accessToken|tokenId)=([^&\s\"'#]+)"),
    re.compile(r"(?i)(\"(?:(?:access_|id_|webhook_)?token|password|APIKey)\"\s*:\s*\")([^\"]*)(\")"),
    re.compile(r"(?i)(authorization:\s*bearer\s+|x-agent-token:\s*)(\S+)"),
)


# A query string that carries a credential goes whole: its other parameters say nothing worth the risk.
_CREDENTIAL_QUERY = re.compile(r"(?i)\?[^\s\"'#?]*(?:token|password)[^\s\"'#]*")
QUERY_REMOVED = "?<query removed>"


def redact_secrets(text: str) -> str:
    """``text`` with every credential replaced by ``***`` (query strings, JSON fields, auth headers); a
    query string holding a credential is removed whole."""
    text = _CREDENTIAL_QUERY.sub(QUERY_REMOVED, text)
    text = _SECRET_PATTERNS[0].sub(r"\1=***", text)
    text = _SECRET_PATTERNS[1].sub(r"\1***\3", text)
    return _SECRET_PATTERNS[2].sub(r"\1***", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose output, exception text included, never holds a credential: the last line
    of defence behind the rule that no URL with credentials is logged (a library's DEBUG record may
    quote one, as urllib3 does for every request)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_secrets(super().format(record))

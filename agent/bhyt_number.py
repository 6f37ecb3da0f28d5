"""The numbers a BHYT health-insurance card is known by, wherever they come from (its QR code, a typed
entry, a backend's answer): the 15-character card number of QĐ 1351/QĐ-BHXH (the beneficiary group's two
letters, the benefit level 1-5, the province's two digits, then the 10-digit social insurance number),
and that 10-digit social insurance number alone, which the 2021 card model (QĐ 1666/QĐ-BHXH) prints and
its QR code carries (docs/reference/qr.md "The BHYT card's QR code")."""

from __future__ import annotations

import re

CARD_NUMBER = re.compile(r"[A-Z]{2}[1-5][0-9]{12}")
SOCIAL_INSURANCE_NUMBER = re.compile(r"[0-9]{10}")


def is_bhyt_number(text: str) -> bool:
    """True for a whole card number (upper case) or a whole social insurance number."""
    return CARD_NUMBER.fullmatch(text) is not None or SOCIAL_INSURANCE_NUMBER.fullmatch(text) is not None

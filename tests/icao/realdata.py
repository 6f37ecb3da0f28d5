"""Where the tests find the public real data of issue 12: ../shared/realdata beside the repository
(its README.md says what each file is and where it comes from). It is never copied into the
repository; a machine without it skips the tests that need it, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata"

DE_MASTER_LIST = "DE_ML_2026-05-28-08-28-45.ml"
DE_ROOT = "DE_ML_signer_root.cer"
NL_MASTER_LIST = "NL_ML_2026-07-22.ml"
NL_ROOT = "NL_ML_signer_root.cer"
DG2_ALL_FIELDS = "ICAO_39794_5_AP_DG2_AllFields.dat"
DG2_MANDATORY_FIELDS = "ICAO_39794_5_AP_DG2_MandFields.dat"
DG2_FACE = "ICAO_39794_5_AP_DG2_Face.jpg"

# The one Vietnamese CSCA of the public master lists (the realdata README and docs/reference/card.md "Trust").
VIETNAM_CSCA_SKI = bytes.fromhex("88918f5a25ece37a3e04c52d38a4f2b5123c85c7")
VIETNAM_CSCA_CN = "CSCA ePassport Vietnam"


def path(name: str) -> Path:
    """The real data file ``name``; skips the calling test when the folder or the file is absent."""
    found = REALDATA / name
    if not found.is_file():
        pytest.skip(f"real data {name} not available: expected at {REALDATA.resolve()} (see issue 12)")
    return found


def read(name: str) -> bytes:
    return path(name).read_bytes()

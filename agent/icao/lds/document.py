"""The document read from a chip (DESIGN.md "Key shapes": ChipDocument): the raw bytes of every file
read, so that they can be re-hashed and archived, the parsed views of the files we understand, the
problems found while parsing, and a per-step log of the read (command, status word, bytes,
milliseconds).

A malformed file does not stop the others from being parsed: its DocumentError is kept in
``problems`` so that passive authentication can still run on the raw bytes and the operator can be
told which file was wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from agent.errors import DocumentError
from agent.icao.lds.com import Com, parse_com
from agent.icao.lds.dg1 import Dg1, parse_dg1
from agent.icao.lds.dg2 import Dg2, parse_dg2
from agent.icao.lds.dg13 import Dg13, parse_dg13
from agent.icao.lds.dg14 import parse_dg14
from agent.icao.lds.dg15 import Dg15, parse_dg15
from agent.icao.lds.sod import SecurityObject, parse_sod
from agent.icao.security_infos import SecurityInfos

FILE_COM = "EF.COM"
FILE_SOD = "EF.SOD"
FILE_CARD_ACCESS = "EF.CardAccess"

# File identifiers (Doc 9303-10 §4.6): EF.COM 011E, EF.SOD 011D, DGn 01 0n.
FID_COM = 0x011E
FID_SOD = 0x011D
FID_CARD_ACCESS = 0x011C


def file_name(key: str | int) -> str:
    """Canonical name of a file: "EF.COM", "EF.SOD", "DG1" ... from a name, a DG number or a FID."""
    if isinstance(key, str):
        upper = key.upper()
        if upper.startswith("DG") and upper[2:].isdigit():
            return f"DG{int(upper[2:])}"
        return {"EF.COM": FILE_COM, "EF.SOD": FILE_SOD, "EF.CARDACCESS": FILE_CARD_ACCESS}.get(upper, key)
    if 1 <= key <= 16:
        return f"DG{key}"
    if key == FID_COM:
        return FILE_COM
    if key == FID_SOD:
        return FILE_SOD
    if key == FID_CARD_ACCESS:
        return FILE_CARD_ACCESS
    if 0x0101 <= key <= 0x0110:
        return f"DG{key - 0x0100}"
    raise ValueError(f"no LDS file for {key:#x}")


def data_group_number(name: str) -> int | None:
    return int(name[2:]) if name.startswith("DG") and name[2:].isdigit() else None


@dataclasses.dataclass(frozen=True)
class ReadStep:
    """One step of the read: what was done, the card's status word, bytes moved and time taken.

    Never holds file contents or decrypted data (DESIGN.md "Privacy").
    """

    step: str  # e.g. "SELECT EF.SOD", "READ BINARY DG2", "PACE", "CA"
    sw: int | None = None
    length: int = 0
    milliseconds: float = 0.0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "sw": f"{self.sw:04X}" if self.sw is not None else None,
            "bytes": self.length,
            "ms": round(self.milliseconds, 3),
            "note": self.note,
        }


_PARSERS: dict[str, Callable[[bytes], object]] = {
    FILE_COM: parse_com,
    FILE_SOD: parse_sod,
    "DG1": parse_dg1,
    "DG2": parse_dg2,
    "DG13": parse_dg13,
    "DG14": parse_dg14,
    "DG15": parse_dg15,
}


@dataclasses.dataclass
class ChipDocument:
    """Everything read from one chip. Build it with :meth:`add_file` / :meth:`log` or :meth:`from_files`."""

    files: dict[str, bytes] = dataclasses.field(default_factory=dict, repr=False)
    com: Com | None = None
    sod: SecurityObject | None = dataclasses.field(default=None, repr=False)
    dg1: Dg1 | None = dataclasses.field(default=None, repr=False)
    dg2: Dg2 | None = dataclasses.field(default=None, repr=False)
    dg13: Dg13 | None = dataclasses.field(default=None, repr=False)
    dg14: SecurityInfos | None = dataclasses.field(default=None, repr=False)
    dg15: Dg15 | None = dataclasses.field(default=None, repr=False)
    problems: dict[str, DocumentError] = dataclasses.field(default_factory=dict)
    steps: list[ReadStep] = dataclasses.field(default_factory=list)

    @classmethod
    def from_files(cls, files: Mapping[str | int, bytes]) -> ChipDocument:
        document = cls()
        for key, data in files.items():
            document.add_file(key, data)
        return document

    def add_file(self, key: str | int, data: bytes) -> DocumentError | None:
        """Keep a file's raw bytes and parse it if we know how; returns the parse problem, if any."""
        name = file_name(key)
        raw = bytes(data)
        self.files[name] = raw
        self.problems.pop(name, None)
        parser = _PARSERS.get(name)
        if parser is None:
            return None
        try:
            parsed = parser(raw)
        except DocumentError as error:
            self.problems[name] = error
            return error
        attribute = "sod" if name == FILE_SOD else "com" if name == FILE_COM else name.lower()
        setattr(self, attribute, parsed)
        return None

    def log(self, step: ReadStep) -> None:
        self.steps.append(step)

    @property
    def data_groups(self) -> dict[int, bytes]:
        """Raw bytes of every data group read, by number: what passive authentication hashes."""
        found: dict[int, bytes] = {}
        for name, data in self.files.items():
            number = data_group_number(name)
            if number is not None:
                found[number] = data
        return dict(sorted(found.items()))

    @property
    def raw_sod(self) -> bytes | None:
        return self.files.get(FILE_SOD)

    def summary(self) -> dict[str, Any]:
        """What was read, without personal data: file names and sizes, problems, the step log."""
        return {
            "files": {name: len(data) for name, data in sorted(self.files.items())},
            "problems": {name: error.message for name, error in sorted(self.problems.items())},
            "steps": [step.to_json() for step in self.steps],
        }

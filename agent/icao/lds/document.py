"""The document read from a chip (docs/architecture.md "Key types": ChipDocument): the raw bytes of every file
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
from agent.icao.lds_registry import DG1, DG2, DG13, DG14, DG15, EF_COM, EF_SOD, LdsFile, by_name, find
from agent.icao.security_infos import SecurityInfos

Parser = Callable[[bytes], object]

# The files this reader parses, and the parser of each (the others are kept as raw bytes only).
PARSERS: Mapping[LdsFile, Parser] = {
    EF_COM: parse_com,
    EF_SOD: parse_sod,
    DG1: parse_dg1,
    DG2: parse_dg2,
    DG13: parse_dg13,
    DG14: parse_dg14,
    DG15: parse_dg15,
}


def _resolve(key: str | int) -> tuple[str, LdsFile | None]:
    """The name a file is kept under: the registry's for a name in any case, a data group number or a
    file identifier; a name the registry does not know is kept as given (and the file is not parsed)."""
    file = find(key)
    if file is not None:
        return file.name, file
    if isinstance(key, int):
        raise ValueError(f"no LDS file for {key:#x}")
    return key, None


@dataclasses.dataclass(frozen=True)
class ReadStep:
    """One step of the read: what was done, the card's status word, bytes moved and time taken.

    Never holds file contents or decrypted data (docs/architecture.md "Privacy").
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
        name, file = _resolve(key)
        raw = bytes(data)
        self.files[name] = raw
        self.problems.pop(name, None)
        parser = PARSERS.get(file) if file is not None else None
        if file is None or parser is None:
            return None
        try:
            parsed = parser(raw)
        except DocumentError as error:
            self.problems[name] = error
            return error
        # the parsed view's attribute: com, sod, dg1, dg2, dg13, dg14, dg15
        attribute = "sod" if file is EF_SOD else "com" if file is EF_COM else name.lower()
        setattr(self, attribute, parsed)
        return None

    def remove_file(self, key: str | int) -> None:
        """Forget a file read (its bytes, its parsed view, its problem), as if it had not been read."""
        name, file = _resolve(key)
        self.files.pop(name, None)
        self.problems.pop(name, None)
        if file is not None and PARSERS.get(file) is not None:
            setattr(self, "sod" if file is EF_SOD else "com" if file is EF_COM else name.lower(), None)

    def log(self, step: ReadStep) -> None:
        self.steps.append(step)

    @property
    def data_groups(self) -> dict[int, bytes]:
        """Raw bytes of every data group read, by number: what passive authentication hashes."""
        found: dict[int, bytes] = {}
        for name, data in self.files.items():
            file = by_name(name)
            if file is not None and file.number is not None:
                found[file.number] = data
        return dict(sorted(found.items()))

    @property
    def raw_sod(self) -> bytes | None:
        return self.files.get(EF_SOD.name)

    def summary(self) -> dict[str, Any]:
        """What was read, without personal data: file names and sizes, problems, the step log."""
        return {
            "files": {name: len(data) for name, data in sorted(self.files.items())},
            "problems": {name: error.message for name, error in sorted(self.problems.items())},
            "steps": [step.to_json() for step in self.steps],
        }

"""The catalogue of BHYT first-contact facilities (code -> name): the BHXH gateway names a patient's
registered facility only by its 5-character code (``maDKBD``: the province code and 3 characters), so
the desk looks its name up here. The bundled list (``data/facilities.csv``, its sources in
``data/README.md``) holds what public lists give; a site adds or corrects entries with its own CSV of the
same shape (``[backends] facility_catalogue``), which wins over the bundled one. A code in neither has
no name: the desk shows the code alone rather than a guess.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

from agent.errors import ConfigError

BUNDLED = "data/facilities.csv"
CODE = re.compile(r"^[0-9A-Z]{5}$")  # province (2) + 3 characters: letters for commune stations
MAX_NAME = 300


class FacilityCatalogue:
    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        self._names = dict(names or {})

    def __len__(self) -> int:
        return len(self._names)

    def name_of(self, code: str) -> str:
        """The facility's name, or "" when the catalogue does not know the code."""
        return self._names.get(code.strip().upper(), "")

    @classmethod
    def load(cls, site_file: Path | None = None) -> FacilityCatalogue:
        """The bundled catalogue, with the site's own file (if any) over it."""
        names = dict(_rows(_bundled_text(), source="the bundled facility catalogue"))
        if site_file is not None:
            try:
                text = site_file.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise ConfigError(f"cannot read: {exc.strerror}", source=str(site_file),
                                  key="backends.facility_catalogue") from exc
            except UnicodeDecodeError:
                raise ConfigError("not UTF-8 text", source=str(site_file), key="backends.facility_catalogue") from None
            names.update(_rows(text, source=str(site_file)))
        return cls(names)


def _bundled_text() -> str:
    file = resources.files("agent.checks").joinpath(BUNDLED)
    return file.read_text(encoding="utf-8") if file.is_file() else "code,name\n"


def _rows(text: str, *, source: str) -> Iterable[tuple[str, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:2]] != ["code", "name"]:
        raise ConfigError("the first line must be the header 'code,name'", source=source,
                          key="backends.facility_catalogue")
    for number, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise ConfigError(f"line {number}: expected code,name", source=source, key="backends.facility_catalogue")
        code = row[0].strip().upper()
        name = " ".join(unicodedata.normalize("NFC", row[1]).split())
        if not CODE.fullmatch(code) or not name or len(name) > MAX_NAME:
            raise ConfigError(f"line {number}: a 5-character code and a name", source=source,
                              key="backends.facility_catalogue")
        yield code, name

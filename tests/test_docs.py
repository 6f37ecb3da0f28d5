"""Documentation references in the code resolve inside the repository.

A reference is a repository path ``docs/<name>.md``, optionally followed by one or more quoted
section names: ``docs/reference/card.md "Access control"``, or ``docs/reference/field.md "Notary offices",
"Driving-test centres and exam rooms"`` (sections separated by commas or "and"/"or"). A section
name is the exact text of a Markdown ATX heading (``#`` to ``######``) of that file, whatever its
level; a reference may wrap across lines. References are looked for in the docstrings and comments
of every .py file under agent/, sync/, simulators/, benchmarks/ and tests/, and anywhere in
agent/config/*.toml. The Markdown notes under docs/ are checked too: those references, relative links to
each other (``[card.md](card.md) "Card quirks"``) and the repository paths they name in backticks.

The notes that once lived outside the repository (the shared design page and reference notes) must
no longer be cited by their old file names: everything they said that the code relies on is in
docs/architecture.md and docs/reference/.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("agent", "sync", "simulators", "benchmarks", "tests")
CONFIG_GLOB = "agent/config/*.toml"
DOCS_DIR = "docs"
SKIPPED_PARTS = frozenset({".venv", "__pycache__", ".git"})

# The outside documents, by base name. Spelled here without their ".md" so that this file does not
# itself cite them.
OLD_DOCUMENTS = ("CCCD", "DESIGN", "FIELD", "PLATFORM", "ICAO-VECTORS")
OLD_REFERENCE = re.compile(r"[\w./-]*\b(?:" + "|".join(re.escape(name) for name in OLD_DOCUMENTS) + r")\.md\b")

_PATH = r"(?<![\w./-])(docs/[\w./-]+?\.md)(?![\w-])"
_SECTION = r'"[^"]{1,200}"'
_SECTIONS = rf"((?:\s*(?:,|\band\b|\bor\b)?\s*{_SECTION})*)"
REFERENCE = re.compile(_PATH + _SECTIONS)
LINK = re.compile(r"\]\(([\w./-]+?\.md)\)" + _SECTIONS)
QUOTED = re.compile(r'"([^"]{1,200})"')
CODE_PATH = re.compile(r"`((?:agent|sync|simulators|benchmarks|tests|config|docs)/[\w./-]+)`")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclasses.dataclass(frozen=True)
class Reference:
    """One cited document, with the section names quoted after it (possibly none)."""

    source: str  # "path:line" of the citing text
    path: str
    sections: tuple[str, ...]


def _normalise(text: str) -> str:
    return " ".join(text.split())


def references_in(text: str, source: str, first_line: int = 1) -> Iterator[Reference]:
    """The references in one block of text whose first line is ``first_line`` of ``source``."""
    for match in REFERENCE.finditer(text):
        line = first_line + text.count("\n", 0, match.start())
        sections = tuple(_normalise(name) for name in QUOTED.findall(match.group(2)))
        yield Reference(f"{source}:{line}", match.group(1), sections)


def python_text_blocks(source: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of every docstring and of every run of comments on consecutive lines."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                value = body[0].value.value
                if isinstance(value, str):
                    yield body[0].lineno, value
    run: list[str] = []
    run_start = run_end = 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        line = token.start[0]
        if run and line != run_end + 1:
            yield run_start, "\n".join(run)
            run = []
        if not run:
            run_start = line
        run.append(token.string.lstrip("#"))
        run_end = line
    if run:
        yield run_start, "\n".join(run)


def toml_text(source: str) -> str:
    """The whole file, with the comment marker of each comment line removed (line numbers kept)."""
    return "\n".join(re.sub(r"^\s*#", "", line) for line in source.split("\n"))


def _files(pattern_dirs: tuple[str, ...], suffix: str) -> list[Path]:
    found: list[Path] = []
    for directory in pattern_dirs:
        for path in sorted((ROOT / directory).rglob(f"*{suffix}")):
            if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts):
                found.append(path)
    return found


def code_files() -> list[Path]:
    """Every file whose references are checked: the .py files and agent/config/*.toml."""
    return _files(CODE_DIRS, ".py") + sorted(ROOT.glob(CONFIG_GLOB))


def code_references(root: Path = ROOT) -> list[Reference]:
    found: list[Reference] = []
    for path in code_files():
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(root).as_posix()
        if path.suffix == ".py":
            for first_line, text in python_text_blocks(source):
                found.extend(references_in(text, name, first_line))
        else:
            found.extend(references_in(toml_text(source), name))
    return found


def links_in(text: str, source: str, directory: str) -> Iterator[Reference]:
    """Relative Markdown links to other notes (``[x](x.md) "Section"``), as repository paths."""
    for match in LINK.finditer(text):
        line = 1 + text.count("\n", 0, match.start())
        target = (ROOT / directory / match.group(1)).resolve()
        path = target.relative_to(ROOT).as_posix() if target.is_relative_to(ROOT) else match.group(1)
        sections = tuple(_normalise(name) for name in QUOTED.findall(match.group(2)))
        yield Reference(f"{source}:{line}", path, sections)


def docs_references() -> list[Reference]:
    found: list[Reference] = []
    for path in _files((DOCS_DIR,), ".md"):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        found.extend(references_in(text, name))
        found.extend(links_in(text, name, path.parent.relative_to(ROOT).as_posix()))
    return found


def headings(markdown: str) -> set[str]:
    """The text of every ATX heading outside fenced code blocks."""
    found: set[str] = set()
    in_fence = False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.add(_normalise(match.group(1)))
    return found


def unresolved(references: list[Reference], root: Path = ROOT) -> list[str]:
    """One line per reference whose file or section does not exist."""
    problems: list[str] = []
    cache: dict[str, set[str] | None] = {}
    for reference in references:
        if reference.path not in cache:
            target = root / reference.path
            cache[reference.path] = headings(target.read_text(encoding="utf-8")) if target.is_file() else None
        known = cache[reference.path]
        if known is None:
            problems.append(f"{reference.source}: {reference.path} does not exist")
            continue
        for section in reference.sections:
            if section not in known:
                problems.append(f'{reference.source}: {reference.path} has no heading "{section}"')
    return problems


def old_references() -> list[str]:
    problems: list[str] = []
    for path in code_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            for match in OLD_REFERENCE.finditer(line):
                problems.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {match.group(0)}")
    return problems


# --- the checks ----------------------------------------------------------------------------------


def test_cited_documents_and_sections_exist() -> None:
    problems = unresolved(code_references())
    assert not problems, "references that do not resolve:\n" + "\n".join(problems)


def test_no_outside_documents_are_cited() -> None:
    problems = old_references()
    assert not problems, "citations of documents outside the repository:\n" + "\n".join(problems)


def test_the_notes_cite_each_other_correctly() -> None:
    problems = unresolved(docs_references())
    assert not problems, "references in docs/ that do not resolve:\n" + "\n".join(problems)


def test_the_notes_name_existing_files() -> None:
    """A path in backticks in the notes (`agent/qr/decoder.py`) names a file or directory that exists."""
    problems = []
    for path in _files((DOCS_DIR,), ".md"):
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            for match in CODE_PATH.finditer(line):
                if not (ROOT / match.group(1)).exists():
                    problems.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {match.group(1)}")
    assert not problems, "paths in docs/ that do not exist:\n" + "\n".join(problems)


# --- the scanner itself --------------------------------------------------------------------------

SAMPLE = '''"""A module (docs/reference/card.md "Access control" and "DG13"; see also
docs/reference/qr.md "The printed
QR code"), and docs/architecture.md alone."""

def f() -> None:
    """Cites docs/reference/field.md "Notary offices", "Driving-test centres and exam rooms"."""
    text = "docs/not-a-reference.md"  # a plain string is not scanned
    # a comment citing docs/reference/platform.md "The vpcd
    # latency trap" over two lines
'''


def test_the_scanner_finds_wrapped_and_listed_sections() -> None:
    found = [
        ref for first, text in python_text_blocks(SAMPLE) for ref in references_in(text, "sample.py", first)
    ]
    assert {(ref.source, ref.path, ref.sections) for ref in found} == {
        ("sample.py:1", "docs/reference/card.md", ("Access control", "DG13")),
        ("sample.py:2", "docs/reference/qr.md", ("The printed QR code",)),
        ("sample.py:3", "docs/architecture.md", ()),
        ("sample.py:6", "docs/reference/field.md", ("Notary offices", "Driving-test centres and exam rooms")),
        ("sample.py:8", "docs/reference/platform.md", ("The vpcd latency trap",)),
    }


def test_the_scanner_reads_toml_comments_links_and_headings() -> None:
    toml = '# Clinic (docs/reference/field.md "Hospital and clinic\n# reception").\n[site]\nkind = "clinic"\n'
    assert list(references_in(toml_text(toml), "c.toml")) == [
        Reference("c.toml:1", "docs/reference/field.md", ("Hospital and clinic reception",))
    ]
    link = '[qr.md](qr.md), "The printed\nQR code"'
    assert list(links_in(link, "docs/reference/card.md", "docs/reference")) == [
        Reference("docs/reference/card.md:1", "docs/reference/qr.md", ("The printed QR code",))
    ]
    markdown = "# Title\n\n## Access  control ##\n```\n## not a heading\n```\n   ### DG13\n"
    assert headings(markdown) == {"Title", "Access control", "DG13"}


def test_old_names_are_recognised() -> None:
    line = "see reference/CCCD" + ".md, shared/DESIGN" + ".md and docs/reference/card.md"
    assert [match.group(0) for match in OLD_REFERENCE.finditer(line)] == [
        "reference/CCCD" + ".md",
        "shared/DESIGN" + ".md",
    ]

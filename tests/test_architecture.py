"""The project's rules as tests: import-linter contracts (docs/architecture.md "Layers"), ruff, mypy (strict for
agent.icao and sync), and "importing a package has no side effects"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_contracts_hold() -> None:
    result = run_tool(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_is_clean() -> None:
    result = run_tool(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = run_tool(str(BIN / "mypy"), "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "package", ["agent", "agent.icao", "agent.nfc", "agent.qr", "agent.checks", "agent.api", "sync", "simulators"]
)
def test_importing_a_package_starts_nothing(package: str) -> None:
    # A fresh interpreter: importing must not start threads or open sockets (rule 6).
    code = (
        "import threading, socket, sys\n"
        "opened = []\n"
        "real = socket.socket.__init__\n"
        "def spy(self, *a, **k):\n"
        "    opened.append(a)\n"
        "    real(self, *a, **k)\n"
        "socket.socket.__init__ = spy\n"
        f"import {package}\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not opened, opened\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


PROJECT_FOLDERS = ("agent", "sync", "simulators", "tests", "benchmarks", "packaging")
GPL_TEST_TOOLS = ("bogo",)  # tests/qr/real_ime.py: run in a process of its own, never imported
GPL_TOOL_RUNNER = "tests/qr/real_ime.py"  # holds the child's program (which imports it) as text


def test_no_gpl_test_tool_is_imported_by_any_module() -> None:
    """The GPL-3 input method the wedge tests use talks to them over a pipe; no module of the project (the
    shipped packages, or the tests) imports it, so nothing of it is combined with this code."""
    import ast
    import re

    imports = re.compile(rf"^\s*(?:import|from)\s+(?:{'|'.join(GPL_TEST_TOOLS)})\b", re.MULTILINE)
    found = [str(path.relative_to(ROOT)) for folder in PROJECT_FOLDERS for path in (ROOT / folder).rglob("*.py")
             if imports.search(path.read_text(encoding="utf-8"))]
    assert found == [GPL_TOOL_RUNNER]
    nodes = list(ast.walk(ast.parse((ROOT / GPL_TOOL_RUNNER).read_text(encoding="utf-8"))))
    imported = {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in nodes if isinstance(node, ast.ImportFrom)}
    assert not {name.split(".")[0] for name in imported} & set(GPL_TEST_TOOLS)  # only its child does

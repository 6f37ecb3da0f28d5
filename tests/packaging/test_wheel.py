"""The wheel, as a new site's technician installs it: built from the source (no deprecation warnings,
the PEP 639 licence, the settings and the desk page inside), installed with its declared dependencies
into a fresh virtual environment outside the checkout, and run: every command a first day needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import agent
from tests.packaging.smoke import ROOT, clean_environment, smoke

pytestmark = [pytest.mark.packaging, pytest.mark.slow]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "agent", "sync", "simulators")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:  # a copy: building writes build/ and *.egg-info beside the sources
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
                          capture_output=True, text=True, timeout=240)
    print(f"wheel built in {time.monotonic() - started:.1f} s")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Deprecat" not in output, output  # e.g. SetuptoolsDeprecationWarning for the licence table
    (built,) = (work / "dist").glob("*.whl")
    return built


def test_every_data_file_of_the_packages_is_in_the_wheel(wheel: Path):
    # A file the code reads beside its modules (settings, the desk page, bundled lists) that the wheel
    # leaves out works in the checkout and fails after `pip install`: pyproject's package-data must name it.
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = {str(path.relative_to(ROOT)) for package in ("agent", "sync", "simulators")
            for path in (ROOT / package).rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}
    assert data and data <= names, sorted(data - names)


def test_the_wheel_carries_its_data_and_licence(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {f"agent/config/{p}.toml" for p in ("default", "clinic", "notary", "exam")} <= names
    assert {"agent/api/static/index.html", "agent/api/static/desk.js", "agent/api/static/desk.css"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: LicenseRef-Proprietary" in metadata
    assert f"Version: {agent.__version__}" in metadata
    assert "Requires-Dist: keyring>=24; sys_platform == \"win32\"" in metadata
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_the_wheel_installed_in_a_fresh_environment_works(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    started = time.monotonic()
    # Its own interpreter environment, without the system's or the suite's packages: the declared
    # dependencies are what gets installed (from the package index; pip's cache makes it quick).
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                         capture_output=True, text=True, timeout=600, env=clean_environment(tmp_path))
    assert pip.returncode == 0, pip.stdout + pip.stderr
    installed = time.monotonic() - started
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import agent; print(agent.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_environment(tmp_path), timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    times = smoke([str(venv / "bin" / "cccd-agent")], tmp_path / "desk", installed_under=venv)
    print(f"fresh venv + install {installed:.1f} s; commands {times}")

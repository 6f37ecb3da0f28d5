"""The frozen one-folder application (PyInstaller, packaging/cccd-agent.spec), built here on Linux the
way the Windows build is made from the same spec, and run outside the checkout with the same smoke
test as the wheel: a data file or a hidden import the spec misses fails here as it would on Windows."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.packaging.smoke import ROOT, smoke

pytestmark = [pytest.mark.packaging, pytest.mark.slow]
SPEC = ROOT / "packaging" / "cccd-agent.spec"


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("frozen")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                           "--distpath", str(work / "dist"), "--workpath", str(work / "build"), str(SPEC)],
                          capture_output=True, text=True, timeout=290, cwd=ROOT)
    print(f"frozen build in {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    application = work / "dist" / "cccd-agent"
    assert (application / "cccd-agent").is_file()
    return application


def test_the_frozen_application_carries_its_data(frozen: Path):
    data = frozen / "_internal"
    for name in ("default", "clinic", "notary", "exam"):
        assert (data / "agent" / "config" / f"{name}.toml").is_file()
    assert (data / "agent" / "api" / "static" / "desk.js").is_file()
    # The PC/SC client library is the system's own, never a bundled copy (see the spec).
    assert not list(data.rglob("libpcsclite*"))


def test_the_frozen_application_works(frozen: Path, tmp_path: Path):
    times = smoke([str(frozen / "cccd-agent")], tmp_path / "desk", installed_under=frozen)
    print(f"frozen commands {times}")

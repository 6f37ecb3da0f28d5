"""The agent's command line against the mock backends, for the integration tests that drive it as a desk
technician would (``python -m agent verify|sync|audit --config FILE``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simulators.backends.server import MockBackends

TOKEN = "tok-offline"
ROOT = Path(__file__).resolve().parents[2]


def agent(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m agent COMMAND --config CONFIG ARGS...``, its output captured."""
    return subprocess.run([sys.executable, "-m", "agent", *args[:1], "--config", str(config), *args[1:]],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def write_config(tmp_path: Path, backends: MockBackends) -> Path:
    """An agent.toml for ``backends`` with its store (and key) in ``tmp_path``."""
    config = tmp_path / "agent.toml"
    config.write_text(
        "[backends]\n"
        f'insurance_url = "{backends.insurance_url}"\nlicensing_url = "{backends.licensing_url}"\n'
        f'token = "{TOKEN}"\nretries = 1\nconnect_timeout_s = 0.5\n'
        "[store]\n"
        f'path = "{tmp_path / "agent.sqlite3"}"\nkey_file = "{tmp_path / "store.key"}"\n',
        encoding="utf-8",
    )
    return config

"""Layered, typed, frozen settings and the ConfigError that names file, key and problem."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load_and_are_frozen() -> None:
    settings = load_settings(environ={})
    assert settings.api.host == "127.0.0.1"
    assert settings.reader.access_order == ("pace-can", "pace-mrz", "bac")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.api.port = 1  # type: ignore[misc]


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = write(tmp_path, '[backends]\ntoken = "from-file"\nretries = 5\n[site]\nprofile = "notary"\n')
    settings = load_settings(path, environ={"CCCD_AGENT__BACKENDS__TOKEN": "from-env"})
    assert settings.backends.token == "from-env"
    assert settings.backends.retries == 5
    assert settings.site.profile == "notary"
    assert settings.sources[-1] == "environment"
    assert str(path) in settings.sources


def test_environment_values_are_typed() -> None:
    settings = load_settings(
        environ={
            "CCCD_AGENT__API__PORT": "9000",
            "CCCD_AGENT__LOG__APDU_TRACE": "true",
            "CCCD_AGENT__READER__ACCESS_ORDER": "bac, pace-can",
            "CCCD_AGENT__BACKENDS__READ_TIMEOUT_S": "3",
        }
    )
    assert settings.api.port == 9000
    assert settings.log.apdu_trace is True
    assert settings.reader.access_order == ("bac", "pace-can")
    assert settings.backends.read_timeout_s == 3.0


def test_secrets_are_not_in_repr() -> None:
    settings = load_settings(environ={"CCCD_AGENT__BACKENDS__TOKEN": "s3cret"})
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[api]\nport = "eighty"\n', "api.port", "expected an integer"),
        ("[api]\nport = 70000\n", "api.port", "between 1 and 65535"),
        ('[api]\nhost = "0.0.0.0"\n', "api.host", "loopback only"),
        ("[nosuch]\nx = 1\n", "[nosuch]", "unknown section"),
        ("[store]\nspelling_mistake = 1\n", "store.spelling_mistake", "unknown key"),
        ('[site]\nprofile = "bank"\n', "site.profile", "must be one of"),
        ('[reader]\naccess_order = ["pace-can", "magic"]\n', "reader.access_order", "each entry"),
        ('[backends]\ninsurance_url = "ftp://x"\n', "backends.insurance_url", "http"),
        ("[backends]\nretries = true\n", "backends.retries", "not true/false"),
    ],
)
def test_bad_values_name_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert key in message
    assert problem in message


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[api\nport=1"), environ={})
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_bad_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"CCCD_AGENT__API__PORT": "[1"})
    assert "CCCD_AGENT__API__PORT" in str(caught.value)
    with pytest.raises(ConfigError, match="SECTION__KEY"):
        load_settings(environ={"CCCD_AGENT__PORT": "1"})


def test_cli_accepts_config_and_reports_config_errors(tmp_path: Path) -> None:
    good = write(tmp_path, '[site]\nsite_id = "tram-y-te-01"\n')
    done = subprocess.run(
        [sys.executable, "-m", "agent", "config", "--config", str(good), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["site"]["site_id"] == "tram-y-te-01"
    bad = tmp_path / "bad.toml"
    bad.write_text("[api]\nport = 0\n")
    done = subprocess.run(
        [sys.executable, "-m", "agent", "config", "--config", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 78
    assert "api.port" in done.stderr
    assert "Cấu hình không hợp lệ" in done.stderr


def test_config_is_accepted_before_and_after_the_command(tmp_path: Path) -> None:
    path = write(tmp_path, '[site]\nsite_id = "before-or-after"\n')
    for argv in (["--config", str(path), "config", "--json"], ["config", "--config", str(path), "--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "agent", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["site"]["site_id"] == "before-or-after"


def test_the_profile_file_follows_the_profile_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"CCCD_AGENT__SITE__PROFILE": "exam"})
    assert settings.site.profile == "exam"
    assert any(source.endswith("exam.toml") for source in settings.sources)

"""Layered, typed, frozen settings and the ConfigError that names file, key and problem."""

from __future__ import annotations

import dataclasses
import json
import os
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


# --- where the settings files are: the chain ----------------------------------------------------------


def chain_files(tmp_path: Path) -> dict[str, Path]:
    """A user's file, the machine's file, a CCCD_AGENT_CONFIG file and a --config file: each sets its own
    name as site.site_id, and one key that no other file sets."""
    texts = {
        "user": '[site]\nsite_id = "user"\noperator = "from-user"\n',
        "site": '[site]\nsite_id = "site"\n[backends]\nretries = 7\n',
        "named": '[site]\nsite_id = "named"\n[backends]\nread_timeout_s = 4.5\n',
        "given": '[site]\nsite_id = "given"\n[reader]\nexclusive = false\n',
    }
    files = {name: tmp_path / f"{name}.toml" for name in texts}
    for name, text in texts.items():
        files[name].write_text(text, encoding="utf-8")
    return files


def test_the_chain_from_the_package_defaults_to_the_command_line(tmp_path: Path) -> None:
    files = chain_files(tmp_path)
    settings = load_settings(files["given"], environ={"CCCD_AGENT_CONFIG": str(files["named"])},
                             user_file=files["user"], site_file=files["site"])
    # Each layer's own key survives; for the key they all set, the highest wins: --config.
    assert settings.site.site_id == "given"
    assert (settings.site.operator, settings.backends.retries) == ("from-user", 7)
    assert (settings.backends.read_timeout_s, settings.reader.exclusive) == (4.5, False)
    assert [link.layer for link in settings.chain] == ["defaults", "profile", "user", "site", "CCCD_AGENT_CONFIG",
                                                       "--config"]
    assert all(link.used for link in settings.chain)
    assert settings.origin("site.site_id") == str(files["given"])
    assert settings.origin("site.operator") == str(files["user"])
    assert settings.origin("backends.retries") == str(files["site"])
    assert settings.origin("backends.read_timeout_s") == str(files["named"])
    assert settings.origin("api.port").endswith("default.toml")
    # Without --config, CCCD_AGENT_CONFIG is the top file; without it, the machine's file beats the user's.
    assert load_settings(environ={"CCCD_AGENT_CONFIG": str(files["named"])}, user_file=files["user"],
                         site_file=files["site"]).site.site_id == "named"
    assert load_settings(environ={}, user_file=files["user"], site_file=files["site"]).site.site_id == "site"
    assert load_settings(environ={}, user_file=files["user"], site_file=tmp_path / "none").site.site_id == "user"


def test_the_default_settings_come_from_inside_the_package() -> None:
    import agent

    settings = load_settings(environ={})
    defaults = next(link for link in settings.chain if link.layer == "defaults")
    assert Path(defaults.source) == Path(agent.__file__).parent / "config" / "default.toml"


def test_absent_user_and_site_files_are_shown_as_not_present(tmp_path: Path) -> None:
    settings = load_settings(environ={}, user_file=tmp_path / "u.toml", site_file=tmp_path / "s.toml")
    absent = {link.layer: link for link in settings.chain if not link.used}
    assert set(absent) == {"user", "site"} and absent["site"].source == str(tmp_path / "s.toml")
    assert str(tmp_path / "s.toml") not in settings.sources


def test_the_platform_locations_of_the_user_and_site_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent import settings as settings_module

    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'etc-xdg'}:/other")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    assert settings_module.site_config_file() == tmp_path / "etc-xdg" / "cccd-agent" / "config.toml"
    assert settings_module.user_config_file() == tmp_path / "home-config" / "cccd-agent" / "config.toml"
    site = settings_module.site_config_file()
    site.parent.mkdir(parents=True)
    site.write_text('[site]\nsite_id = "machine-wide"\n', encoding="utf-8")
    assert load_settings(environ={}).site.site_id == "machine-wide"


def test_bad_files_in_the_chain_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"CCCD_AGENT_CONFIG": str(tmp_path / "gone.toml")})
    assert "CCCD_AGENT_CONFIG" in str(caught.value) and "file not found" in str(caught.value)
    site = write(tmp_path, "[api\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_settings(environ={}, site_file=site)
    assert str(site) in str(caught.value)
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path, environ={})
    binary = tmp_path / "latin1.toml"
    binary.write_bytes(b'[site]\nsite_id = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(binary, environ={})


def test_the_profile_is_named_by_the_highest_layer(tmp_path: Path) -> None:
    site = write(tmp_path, '[site]\nprofile = "exam"\n')
    settings = load_settings(environ={}, site_file=site)
    assert settings.site.profile == "exam" and any(s.endswith("exam.toml") for s in settings.sources)
    settings = load_settings(environ={}, site_file=site, overrides={"site": {"profile": "notary"}})
    assert settings.site.profile == "notary" and any(s.endswith("notary.toml") for s in settings.sources)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[log]\nmax_bytes = 100\n", "log.max_bytes", "at least 10000"),
        ("[log]\nbackups = 0\n", "log.backups", "between 1 and 100"),
        ('[store]\nkey_source = "tpm"\n', "store.key_source", "must be one of"),
    ],
)
def test_bad_log_and_key_settings(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ={})
    assert key in str(caught.value) and problem in str(caught.value)


def test_a_package_without_its_settings_is_a_broken_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from agent import settings as settings_module

    monkeypatch.setattr(settings_module, "builtin_file", lambda name: tmp_path / "config" / name)
    with pytest.raises(ConfigError, match="missing from the installed package: reinstall"):
        load_settings(environ={})


def test_config_shows_the_chain_and_where_each_value_came_from(tmp_path: Path) -> None:
    path = write(tmp_path, '[site]\nsite_id = "shown"\n')
    env = {**os.environ, "CCCD_AGENT__API__PORT": "9100"}
    done = subprocess.run([sys.executable, "-m", "agent", "config", "--config", str(path), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["origins"]["site.site_id"] == str(path)
    assert shown["origins"]["api.port"] == "CCCD_AGENT__API__PORT"
    assert [link["layer"] for link in shown["chain"]][-2:] == ["--config", "environment"]
    done = subprocess.run([sys.executable, "-m", "agent", "config", "--config", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert f"site_id = 'shown'  # {path}" in done.stdout
    assert "(not present)" in done.stdout  # the user's and the machine's files of the suite's own dirs

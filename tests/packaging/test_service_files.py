"""The service definitions in packaging/ agree with the agent they run: the command and the frozen
application's name (the spec), how long a clean stop takes, which exit status means "do not restart",
the service account the polkit rule lets use the readers, and the settings templates load as settings.
Neither systemd nor WinSW runs here: what they would do with these files is read from the files."""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from agent.api.server import GRACEFUL_SHUTDOWN_S, stop_signals
from agent.errors import ConfigError
from agent.settings import load_settings
from tests.packaging.smoke import ROOT

PACKAGING = ROOT / "packaging"


def spec_name() -> str:
    names = set(re.findall(r'name="([^"]+)"', (PACKAGING / "cccd-agent.spec").read_text()))
    assert len(names) == 1, names  # the executable and its folder share one name
    return names.pop()


def seconds(text: str) -> float:
    number, unit = re.fullmatch(r"\s*(\d+)\s*(sec|secs|min|mins)?\s*", text).groups()
    return float(number) * (60 if unit and unit.startswith("min") else 1)


def test_the_systemd_unit_runs_serve_and_stops_it_cleanly():
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(PACKAGING / "linux" / "cccd-agent.service", encoding="utf-8")
    service = unit["Service"]
    assert service["ExecStart"].split()[0].endswith(f"/{spec_name()}")
    assert service["ExecStart"].split()[1:] == ["serve"]
    assert service["KillSignal"] == "SIGTERM" and "SIGTERM" in {s.name for s in stop_signals()}
    assert float(service["TimeoutStopSec"]) > GRACEFUL_SHUTDOWN_S + 5  # the API's grace, then the threads
    assert service["Restart"] == "on-failure"
    assert int(service["RestartPreventExitStatus"]) == ConfigError.exit_code
    assert service["User"] == "cccd-agent"
    assert "pcscd.socket" in unit["Unit"]["After"]


def test_the_polkit_rule_names_the_service_account():
    rule = (PACKAGING / "linux" / "50-cccd-agent-pcsc.rules").read_text()
    assert 'subject.user == "cccd-agent"' in rule
    assert "org.debian.pcsc-lite.access_pcsc" in rule and "org.debian.pcsc-lite.access_card" in rule


def test_the_winsw_service_runs_the_frozen_application():
    service = ElementTree.parse(PACKAGING / "windows" / "cccd-agent.xml").getroot()
    assert service.tag == "service"
    assert service.findtext("id") == "cccd-agent"
    assert service.findtext("executable") == rf"%BASE%\{spec_name()}\{spec_name()}.exe"
    assert service.findtext("arguments") == "serve"
    assert seconds(service.findtext("stoptimeout")) > GRACEFUL_SHUTDOWN_S + 5
    failures = service.findall("onfailure")
    assert failures and all(f.get("action") == "restart" for f in failures)
    assert service.find("log").get("mode") == "roll-by-size"
    assert service.find("serviceaccount") is None  # LocalSystem unless the technician chooses an account


@pytest.mark.parametrize("template", ["linux/config.toml", "windows/config.toml"])
def test_the_settings_templates_are_valid_settings(template: str):
    settings = load_settings(environ={}, site_file=PACKAGING / template)
    assert next(link for link in settings.chain if link.layer == "site").used
    assert settings.store.key_source == "auto"
    # Every path of the desk is set by the template: data, keys, trust store, audit and log all stay
    # where the service's account keeps them, whoever runs a command.
    for key in ("store.path", "store.key_file", "receipts.key_file", "trust.csca_dir", "audit.path", "log.file"):
        assert settings.origin(key) == str(PACKAGING / template), key
    if template.startswith("windows"):
        assert str(settings.store_path()).startswith("C:\\ProgramData\\cccd-agent\\")
    else:
        assert settings.store_path() == Path("/var/lib/cccd-agent/agent.sqlite3")


def test_ctrl_break_stops_the_agent_where_windows_has_it(monkeypatch):
    import signal

    assert set(stop_signals()) == {signal.SIGINT, signal.SIGTERM}  # this system has no Ctrl-Break
    monkeypatch.setattr(signal, "SIGBREAK", 21, raising=False)  # as on Windows
    assert 21 in stop_signals()

"""The helpers of tests/pcsc_env.py: skip locally but fail in CI, find the vpcd port, map reader
names to vpcd slots, and refuse clearly when pcscd cannot be started."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pcsc_env
from tests.pcsc_env import VpcdSlot


def test_missing_pcsc_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="vpcd driver missing"):
        pcsc_env.unavailable("vpcd driver missing")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_pcsc_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        pcsc_env.unavailable("vpcd driver missing")


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_switched_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    assert not pcsc_env.in_ci()


def test_slots_follow_reader_names_and_base_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pcsc_env.PORT_ENV, "40000")
    names = ["Virtual PCD 00 01", "Other Reader 00 00", "Virtual PCD 00 00"]
    assert pcsc_env._vpcd_slots(names) == (
        VpcdSlot("Virtual PCD 00 00", 40000),
        VpcdSlot("Virtual PCD 00 01", 40001),
    )
    assert pcsc_env._vpcd_slots(["Other Reader 00 00"]) == ()


@pytest.mark.parametrize(
    ("conf", "port"),
    [
        ("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH /x/libifdvpcd.so\nCHANNELID 0x9C40\n",
         0x9C40),
        ("DEVICENAME /dev/null:0x9C41\nLIBPATH /x/libifdvpcd.so\n", 0x9C41),
        ("DEVICENAME /dev/ttyS0\nLIBPATH /x/libccidtwin.so\nCHANNELID 0x0103F8\n", pcsc_env.VPCD_DEFAULT_PORT),
    ],
)
def test_base_port_from_reader_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, conf: str, port: int) -> None:
    monkeypatch.delenv(pcsc_env.PORT_ENV, raising=False)
    (tmp_path / "driver").write_text(conf)
    monkeypatch.setattr(pcsc_env, "READER_CONF_DIR", tmp_path)
    assert pcsc_env._vpcd_base_port() == port


def test_pcscd_not_installed_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(pcsc_env.shutil, "which", lambda name: None)
    monkeypatch.setattr(pcsc_env, "PCSCD_FALLBACKS", (tmp_path / "pcscd",))
    with pytest.raises(pytest.skip.Exception, match="pcscd is not installed"):
        pcsc_env._start_pcscd(tmp_path / "log")

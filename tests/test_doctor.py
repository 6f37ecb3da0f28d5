"""``cccd-agent doctor``: on the demo's setup (its settings, the mock backends, the simulator's trust
store, a PC/SC stack with a reader and a card) every item is reported and nothing fails; a stopped
pcscd, a missing trust store, a dead backend, a skewed clock, a damaged store or audit log and a lost
key are each a failure (or warning) with its fix in Vietnamese and English."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import doctor, messages
from agent.errors import CameraUnavailableError
from agent.nfc import pcsc
from agent.settings import Settings
from agent.wiring.demo import BACKEND_TOKEN, demo_settings
from agent.wiring.production import open_audit, open_store
from agent.wiring.simulated import simulator_trust_dir
from simulators.backends.server import MockBackends
from sync.keys import KeyFile
from tests.nfc.fake_scard import FakeScard

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
EVERY_ITEM = {"versions", "settings", "locations", "log", "agent", "pcsc.service", "pcsc.readers", "pcsc.card",
              "camera", "scanners", "trust.cscas", "trust.expiry", "trust.master_lists", "trust.files",
              "backend.insurance", "backend.licensing", "backend.clock", "keys.store", "keys.receipt",
              "store.integrity", "store.outbox", "audit"}


@pytest.fixture(scope="module")
def backends():
    with MockBackends(token=BACKEND_TOKEN) as running:
        yield running


def desk(tmp_path: Path, mocks: MockBackends, **sections: dict[str, Any]) -> Settings:
    """The demo's settings in ``tmp_path`` (its trust store written as the demo writes it), with the
    values of ``sections`` (section -> key -> value) changed."""
    simulator_trust_dir(tmp_path / "trust")
    settings = demo_settings(None, tmp_path, mocks)
    sections = {"log": {"file": str(tmp_path / "logs" / "agent.log")}, **sections}
    for section, values in sections.items():
        settings = dataclasses.replace(settings, **{section: dataclasses.replace(getattr(settings, section), **values)})
    return settings


def reader_with_card() -> FakeScard:
    scard = FakeScard()
    scard.add_reader("ACS ACR1252 Dual Reader PICC 0", card=lambda apdu: b"\x90\x00")
    return scard


def probes(**changes: Any) -> doctor.Probes:
    base = doctor.Probes(scard=reader_with_card(), agent_running=lambda _settings: False)
    return dataclasses.replace(base, **changes)


def by_item(findings: list[doctor.Finding]) -> dict[str, doctor.Finding]:
    return {finding.item: finding for finding in findings}


def started_desk(settings: Settings) -> None:
    """What a desk has after a day: a store with a key, an audit log with entries."""
    store = open_store(settings)
    store.close()
    audit = open_audit(settings)
    audit.append("agent_started", {"version": "test"})
    audit.append("agent_stopped", {"version": "test"})


def test_the_demo_setup_reports_every_item_and_nothing_fails(tmp_path, backends):
    settings = desk(tmp_path, backends)
    started_desk(settings)
    findings = doctor.run_checks(settings, probes())
    items = by_item(findings)
    assert set(items) == EVERY_ITEM, set(items) ^ EVERY_ITEM
    failed = [f for f in findings if f.status == doctor.FAIL]
    assert not failed, failed
    assert "ACS ACR1252" in items["pcsc.readers"].summary
    assert items["pcsc.card"].status == doctor.OK
    assert items["trust.cscas"].details["count"] >= 1
    assert "login" in items["backend.insurance"].summary or "token accepted" in items["backend.insurance"].summary
    assert "exam session" in items["backend.licensing"].summary
    assert items["backend.clock"].status == doctor.OK  # the mock backends run on this PC's clock
    assert items["store.integrity"].details["schema"] >= 1
    assert "2 entries" in items["audit"].summary
    assert items["agent"].status == doctor.WARNING and items["agent"].fix == "doctor.fix.agent_not_running"


def test_a_stopped_pcscd_is_a_failure_with_its_fix(tmp_path, backends):
    scard = FakeScard()
    scard.service_error = pcsc.SCARD_E_NO_SERVICE
    items = by_item(doctor.run_checks(desk(tmp_path, backends), probes(scard=scard)))
    service = items["pcsc.service"]
    assert service.status == doctor.FAIL
    assert service.fix == "doctor.fix.pcsc_service"
    assert "pcscd" in messages.text(service.fix, "en") and "pcscd" in messages.text(service.fix, "vi")
    assert "pcsc.readers" not in items  # nothing to say about readers without the service


def test_no_reader_and_a_reader_without_a_card(tmp_path, backends):
    items = by_item(doctor.run_checks(desk(tmp_path, backends), probes(scard=FakeScard())))
    assert items["pcsc.service"].status == doctor.OK
    assert items["pcsc.readers"].status == doctor.FAIL and items["pcsc.readers"].fix == "doctor.fix.no_reader"
    scard = FakeScard()
    scard.add_reader("Generic CCID 0")
    items = by_item(doctor.run_checks(desk(tmp_path, backends), probes(scard=scard)))
    assert items["pcsc.card"].status == doctor.WARNING and items["pcsc.card"].fix == "doctor.fix.no_card"


def test_a_reader_name_that_matches_nothing_fails(tmp_path, backends):
    settings = desk(tmp_path, backends, reader={"name": "Omnikey"})
    items = by_item(doctor.run_checks(settings, probes()))
    assert items["pcsc.readers"].status == doctor.FAIL
    assert items["pcsc.readers"].fix == "doctor.fix.reader_name"
    assert "ACS ACR1252" in items["pcsc.readers"].summary  # what is connected instead


def test_a_missing_trust_store_is_a_failure_with_its_fix(tmp_path, backends):
    settings = desk(tmp_path, backends, trust={"csca_dir": str(tmp_path / "no-such-dir")})
    trust = by_item(doctor.run_checks(settings, probes()))["trust.cscas"]
    assert trust.status == doctor.FAIL and trust.fix == "doctor.fix.trust_missing"
    assert "trust import" in messages.text(trust.fix, "en") and "trust import" in messages.text(trust.fix, "vi")
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    (empty / "notes.pem").write_text("not a certificate")
    settings = desk(tmp_path, backends, trust={"csca_dir": str(empty)})
    items = by_item(doctor.run_checks(settings, probes()))
    assert items["trust.cscas"].status == doctor.FAIL
    assert items["trust.files"].status == doctor.WARNING and "notes.pem" in items["trust.files"].summary


def test_csca_expiry_within_the_warning_window_is_a_warning(tmp_path, backends):
    settings = desk(tmp_path, backends, trust={"csca_dir": str(tmp_path / "trust"), "expiry_warning_days": 100000})
    expiry = by_item(doctor.run_checks(settings, probes()))["trust.expiry"]
    assert expiry.status == doctor.WARNING and expiry.fix == "doctor.fix.trust_expiring"


def test_a_dead_backend_is_a_failure_with_its_fix(tmp_path):
    dead = MockBackends(token=BACKEND_TOKEN).start()
    settings = desk(tmp_path, dead)
    dead.stop()
    items = by_item(doctor.run_checks(settings, probes()))
    for item in ("backend.insurance", "backend.licensing"):
        assert items[item].status == doctor.FAIL, items[item]
        assert items[item].fix == "doctor.fix.backend_unreachable"
    assert items["backend.clock"].status == doctor.WARNING  # nobody answered with a time


def test_refused_credentials_are_a_login_failure(tmp_path, backends):
    settings = desk(tmp_path, backends, backends={"token": "wrong", "bhxh_password": "wrong"})
    items = by_item(doctor.run_checks(settings, probes()))
    for item in ("backend.insurance", "backend.licensing"):
        assert items[item].status == doctor.FAIL and items[item].fix == "doctor.fix.backend_login", items[item]


def test_a_site_proxy_for_insurance_is_probed_with_the_token(tmp_path, backends):
    proxy = {"insurance_protocol": "mock-v1", "insurance_url": backends.insurance_url}
    items = by_item(doctor.run_checks(desk(tmp_path, backends, backends=proxy), probes()))
    assert items["backend.insurance"].status == doctor.OK and "token accepted" in items["backend.insurance"].summary
    refused = desk(tmp_path, backends, backends={**proxy, "token": "wrong"})
    insurance = by_item(doctor.run_checks(refused, probes()))["backend.insurance"]
    assert insurance.status == doctor.FAIL and insurance.fix == "doctor.fix.backend_login"


class SkewedSession:
    """Answers every request with a JSON body and a Date header ``skew_s`` ahead of this PC."""

    def __init__(self, skew_s: float) -> None:
        self.skew_s = skew_s

    def request(self, method: str, url: str, **options: Any) -> Any:
        body = b'{"sessions": []}'
        return type("Answer", (), {"status_code": 200, "content": body, "close": lambda self: None,
                                   "headers": {"Date": email.utils.formatdate(time.time() + self.skew_s,
                                                                              usegmt=True)}})()


@pytest.mark.parametrize(("skew_s", "status"), [(0, doctor.OK), (-120, doctor.WARNING), (900, doctor.FAIL)])
def test_clock_skew_against_the_backends(tmp_path, backends, skew_s, status):
    items = by_item(doctor.run_checks(desk(tmp_path, backends), probes(session=SkewedSession(skew_s))))
    clock = items["backend.clock"]
    assert clock.status == status, clock
    if status != doctor.OK:
        assert clock.fix == "doctor.fix.clock"
        assert ("behind" if skew_s > 0 else "ahead") in clock.summary


def test_the_camera_check_opens_the_configured_camera(tmp_path, backends):
    settings = desk(tmp_path, backends, qr={"camera": "0"})

    class Camera:
        def __init__(self, picture: Any) -> None:
            self.picture = picture
            self.closed = False

        def read(self) -> Any:
            return self.picture

        def close(self) -> None:
            self.closed = True

    good = Camera(object())
    assert by_item(doctor.run_checks(settings, probes(open_camera=lambda s: good)))["camera"].status == doctor.OK
    assert good.closed
    blind = by_item(doctor.run_checks(settings, probes(open_camera=lambda s: Camera(None))))["camera"]
    assert blind.status == doctor.FAIL and blind.fix == "doctor.fix.camera"

    def unplugged(_settings: Settings) -> Any:
        raise CameraUnavailableError("camera 0 cannot be opened")

    missing = by_item(doctor.run_checks(settings, probes(open_camera=unplugged)))["camera"]
    assert missing.status == doctor.FAIL and "cannot be opened" in missing.summary
    # With the desk agent running, the camera is its: the doctor does not open it.
    running = probes(open_camera=unplugged, agent_running=lambda _settings: True)
    assert by_item(doctor.run_checks(settings, running))["camera"].status == doctor.OK


def test_store_problems_are_reported(tmp_path, backends):
    settings = desk(tmp_path, backends)
    started_desk(settings)
    # A lost key: the store exists, its key does not.
    key = settings.store_key_path()
    key.rename(key.with_name("store.key.bak"))
    items = by_item(doctor.run_checks(settings, probes()))
    assert items["keys.store"].status == doctor.FAIL and items["keys.store"].fix == "doctor.fix.key_missing"
    assert items["store.integrity"].status == doctor.FAIL
    assert items["audit"].status == doctor.WARNING  # the chain is checked, its MACs cannot be
    key.with_name("store.key.bak").rename(key)
    # A damaged file.
    path = settings.store_path()
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"
    path.write_bytes(bytes(data))
    store = by_item(doctor.run_checks(settings, probes()))["store.integrity"]
    assert store.status == doctor.FAIL and store.fix == "doctor.fix.store_corrupt"


def test_a_broken_audit_chain_fails(tmp_path, backends):
    settings = desk(tmp_path, backends)
    started_desk(settings)
    path = settings.audit_path()
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].replace("test", "edit"), *lines[1:]]) + "\n")
    audit = by_item(doctor.run_checks(settings, probes()))["audit"]
    assert audit.status == doctor.FAIL and audit.fix == "doctor.fix.audit_broken" and "line 1" in audit.summary


def test_an_audit_log_cut_short_fails(tmp_path, backends):
    settings = desk(tmp_path, backends)
    with open_store(settings) as store:  # as serve does: each append records the log's head in the store
        audit = open_audit(settings, store)
        audit.append("agent_started", {"version": "test"})
        audit.append("agent_stopped", {"version": "test"})
    path = settings.audit_path()
    lines = path.read_text().splitlines()
    assert by_item(doctor.run_checks(settings, probes()))["audit"].status == doctor.OK
    path.write_text("\n".join(lines[:-1]) + "\n")  # the last entry removed: the chain alone still holds
    audit = by_item(doctor.run_checks(settings, probes()))["audit"]
    assert audit.status == doctor.FAIL and audit.fix == "doctor.fix.audit_broken", audit


@dataclasses.dataclass
class Outbox:
    pending: int = 0
    sent: int = 3
    failed: int = 0
    oldest_pending_at: datetime | None = None
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize(("outbox", "status", "fix"), [
    (Outbox(), doctor.OK, ""),
    (Outbox(pending=2, oldest_pending_at=NOW - timedelta(hours=2)), doctor.OK, ""),
    (Outbox(failed=2, last_error="HTTP 422"), doctor.WARNING, "doctor.fix.outbox_refused"),
    (Outbox(pending=2, oldest_pending_at=NOW - timedelta(days=2)), doctor.WARNING, "doctor.fix.outbox_stuck"),
])
def test_the_outbox_line(outbox, status, fix):
    finding = doctor._outbox_finding(outbox, NOW)
    assert (finding.status, finding.fix) == (status, fix)


def test_on_windows_the_keys_are_in_the_keyring_and_a_left_key_file_is_said(tmp_path, backends):
    from tests.sync.test_keys import FakeKeyring

    settings = desk(tmp_path, backends, store={"key_source": "auto"})
    started_desk(settings)  # key files, as an agent from before the keyring made them
    keyring = FakeKeyring()
    windows = probes(platform="win32", keyring_backend=keyring)
    items = by_item(doctor.run_checks(settings, windows))
    assert items["keys.store"].status == doctor.WARNING and "next start" in items["keys.store"].summary
    assert items["store.integrity"].status == doctor.OK  # read with the key file, nothing written
    assert not keyring.items
    keyring.items[("cccd-agent", "store-key")] = __import__("base64").b64encode(
        KeyFile(settings.store_key_path()).load(create=False)).decode()
    items = by_item(doctor.run_checks(settings, windows))
    assert items["keys.store"].status == doctor.WARNING and items["keys.store"].fix == "doctor.fix.key_file_left"
    settings.store_key_path().unlink()
    assert by_item(doctor.run_checks(settings, windows))["keys.store"].status == doctor.OK
    (tmp_path / "on-file").mkdir()
    on_file = desk(tmp_path / "on-file", backends, store={"key_source": "file"})
    started_desk(on_file)
    assert by_item(doctor.run_checks(on_file, windows))["keys.store"].fix == "doctor.fix.key_file_windows"


def test_a_check_that_breaks_is_one_failed_line(tmp_path, backends):
    def broken(_settings: Settings, _probes: doctor.Probes) -> list[doctor.Finding]:
        raise RuntimeError("boom")

    findings = doctor.run_checks(desk(tmp_path, backends), probes(),
                                 checks=[("versions", doctor.check_versions), ("camera", broken)])
    assert [f.item for f in findings] == ["versions", "camera"]
    assert findings[1].status == doctor.FAIL and "RuntimeError: boom" in findings[1].summary


def test_a_finding_is_ok_warning_or_fail():
    with pytest.raises(ValueError, match="ok, warning or fail"):
        doctor.Finding("x", "maybe", "?")


def test_every_fix_and_item_has_both_languages(tmp_path, backends):
    fixes = {value for name, value in vars(doctor).items() if isinstance(value, str) and value.startswith("doctor.")}
    source = Path(doctor.__file__).read_text()
    import re

    fixes |= set(re.findall(r'"(doctor\.fix\.[a-z_]+)"', source))
    for key in fixes | {f"doctor.item.{item}" for item in EVERY_ITEM}:
        assert key in messages.CATALOGUE, key
        vi, en = messages.CATALOGUE[key]
        assert vi and en and vi != en, key


def test_doctor_json_on_the_demo_setup_from_the_command_line(tmp_path, backends):
    settings = desk(tmp_path, backends)
    started_desk(settings)
    site = tmp_path / "site.toml"
    site.write_text(
        f'[site]\nprofile = "clinic"\n[backends]\ninsurance_url = "{backends.insurance_url}"\n'
        f'licensing_url = "{backends.licensing_url}"\ntoken = "{BACKEND_TOKEN}"\n'
        f'[store]\npath = "{settings.store_path()}"\nkey_file = "{settings.store_key_path()}"\n'
        f'[trust]\ncsca_dir = "{settings.trust_dir()}"\n[audit]\npath = "{settings.audit_path()}"\n'
        f'[qr]\ncamera = ""\n[api]\nport = 1\n[log]\nfile = "{tmp_path / "log" / "agent.log"}"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "agent", "doctor", "--json", "--config", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ})
    report = json.loads(done.stdout)
    items = {entry["item"]: entry for entry in report["items"]}
    # The PC/SC items depend on this machine's pcscd: every other one is there and not failed.
    assert EVERY_ITEM - {"pcsc.readers", "pcsc.card"} <= set(items)
    for name, entry in items.items():
        assert entry["title"]["vi"] and entry["title"]["en"]
        if entry["status"] != "ok":
            assert entry["fix"]["vi"] and entry["fix"]["en"], name
        if not name.startswith("pcsc."):
            assert entry["status"] != "fail", entry
    assert done.returncode == (1 if report["status"] == "fail" else 0)
    assert report["agent_version"] and report["counts"]["ok"] >= 15

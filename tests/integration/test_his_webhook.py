"""Check-ins go to the site's HIS, not to BHXH (the gateway has no check-in endpoint): with the mock
gateway and the mock HIS on loopback and a real SQLite file, each check-in reaches the HIS webhook
exactly once, through the outbox, across an HIS that was down and a batch sent twice; with no webhook
configured the check-ins stay at the desk and the HIS reads them from ``GET /api/checkins``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.api.app import create_api
from agent.api.server import LoopbackServer
from agent.settings import Settings, load_settings
from agent.wiring.production import build_backends, build_service, build_syncer, open_audit, open_store
from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends

TOKEN = "tok-his"
API_TOKEN = "api-token-0123456789"


@pytest.fixture(scope="module")
def world():
    return build_world(13, today=date.today(), population=300, sessions=1, session_size=10)


@pytest.fixture
def backends(world) -> Iterator[MockBackends]:
    with MockBackends(token=TOKEN, world=world, seed=13) as running:
        yield running


def settings_for(tmp_path: Path, backends: MockBackends, *, webhook: bool) -> Settings:
    cccd, name = next(iter(DEFAULT_STAFF.items()))
    operators = tmp_path / "operators.toml"
    operators.write_text(f'[[operator]]\nname = "{name}"\ncccd = "{cccd}"\n', encoding="utf-8")
    return load_settings(environ={}, overrides={
        "site": {"profile": "clinic", "site_id": "bv-his-test", "operators_file": str(operators)},
        "backends": {"insurance_protocol": "bhxh-egw-2024", "bhxh_url": backends.gateway_url,
                     "bhxh_username": DEFAULT_USERNAME, "bhxh_password": DEFAULT_PASSWORD,
                     "licensing_url": backends.licensing_url, "token": TOKEN, "retries": 0,
                     "connect_timeout_s": 0.5, "read_timeout_s": 1.0, "breaker_failures": 100},
        "his": {"webhook_url": backends.his_url if webhook else "", "webhook_token": TOKEN if webhook else ""},
        "store": {"path": str(tmp_path / "agent.sqlite3"), "key_file": str(tmp_path / "store.key"),
                  "key_source": "file"},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        "sync": {"batch_size": 2},
    })


def patients(backends: MockBackends, count: int) -> list[Any]:
    return [backends.world.citizens[i] for i in backends.gateway.ids_with_code("000")[:count]]


def check_in(service: Any, someone: Any) -> Any:
    return service.verify_manual(someone.id_number, {"full_name": someone.full_name,
                                                     "date_of_birth": someone.date_of_birth.strftime("%d/%m/%Y")})


def test_each_check_in_reaches_the_his_exactly_once(tmp_path, backends):
    settings = settings_for(tmp_path, backends, webhook=True)
    people = patients(backends, 3)
    with open_store(settings) as store:
        clients = build_backends(settings)
        service = build_service(settings, store=store, audit=open_audit(settings), backends=clients)
        syncer = build_syncer(settings, store, clients)
        results = [check_in(service, someone).result for someone in people]
        assert all(r.check.status == "valid" for r in results)
        backends.set_faults(down=True)  # the HIS goes down before the syncer comes round
        assert syncer.drain().error  # nothing delivered: all still queued
        assert store.outbox.status().pending == 3 and backends.events("his") == []
        backends.clear_faults()
        report = syncer.drain()
        assert report.delivered == 3, report
        received = backends.events("his")
        # A batch sent again (the desk died after the HIS took it, before the outbox noted it): the HIS
        # answers "duplicate" and keeps one of each.
        again = clients.uploader.upload("his", [event["data"] for event in received[:2]])
        assert {receipt.status for receipt in again.values()} == {"duplicate"}
        received = backends.events("his")
        assert Counter(e["event_id"] for e in received) == Counter(r.result_id for r in results)
        for event, result in zip(sorted(received, key=lambda e: e["event_id"]),
                                 sorted(results, key=lambda r: r.result_id), strict=True):
            payload = event["data"]
            assert payload["type"] == "insurance_checkin" and payload["site_id"] == "bv-his-test"
            assert payload["id_number"] == result.identity.id_number
            assert payload["operator"] == next(iter(DEFAULT_STAFF.values()))  # who checked the patient in
            assert payload["card_number"] == result.check.details["card_number"]
            assert DEFAULT_PASSWORD not in str(payload) and "token" not in str(payload)
        assert store.outbox.status().pending == 0
        assert backends.events("insurance") == []  # nothing went to BHXH


def test_with_no_webhook_the_check_ins_stay_and_are_read_from_the_api(tmp_path, backends):
    settings = settings_for(tmp_path, backends, webhook=False)
    people = patients(backends, 2)
    with open_store(settings) as store:
        clients = build_backends(settings)
        service = build_service(settings, store=store, audit=open_audit(settings), backends=clients)
        results = [check_in(service, someone).result for someone in people]
        assert store.outbox.status().pending == 0  # nothing to send anywhere
        api = create_api(service, token=API_TOKEN, status=lambda: {}, sync_status=lambda: {})
        server = LoopbackServer(api)
        server.start_in_thread()
        try:
            answer = requests.get(f"{server.url}/api/checkins", headers={"Authorization": f"Bearer {API_TOKEN}"},
                                  timeout=5)
            assert requests.get(f"{server.url}/api/checkins", timeout=5).status_code == 401
        finally:
            server.stop()
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 2
    assert [c["event_id"] for c in body["checkins"]] == [r.result_id for r in reversed(results)]  # newest first
    assert all(c["type"] == "insurance_checkin" and c["check_status"] == "valid" for c in body["checkins"])
    assert backends.events() == []

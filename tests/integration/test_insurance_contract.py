"""One contract, two insurance adapters: the same desk scenarios run through the site-side proxy's API
(``mock-v1``) and the BHXH gateway's own dialect (``bhxh-egw-2024``), each against the mock backends
on loopback answering from the same seeded world, through the production wiring and the desk's one
pipeline. The same person gets the same status, card, dates and facility from either, the same verdict
at the desk, the same offline answer when the backend is gone, and the same refusal of what cannot be
asked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from agent.errors import BackendUnavailableError
from agent.models import CheckStatus, InsuranceQuery, Operator, Verdict
from agent.settings import load_settings
from agent.wiring.production import PROTOCOL_BHXH, PROTOCOL_PROXY, build_backends, build_service, open_audit, open_store
from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends

TOKEN = "tok-contract"
STAFF = Operator(*reversed(next(iter(DEFAULT_STAFF.items()))))
# What the contract promises about a card, whichever adapter answered.
CARD_FIELDS = ("card_number", "valid_from", "valid_to", "facility_code", "benefit_level")
# The plain classes both dialects share: (the proxy's status, the gateway's maKetQua).
SCENARIOS = {"valid": "000", "expired": "010", "suspended": "110", "not_found": "050"}
VERDICTS = {"valid": Verdict.VERIFIED, "expired": Verdict.WARNING, "suspended": Verdict.WARNING,
            "not_found": Verdict.WARNING}


@pytest.fixture(scope="module")
def backends() -> Iterator[MockBackends]:
    world = build_world(17, today=date.today(), population=500, sessions=1, session_size=10)
    with MockBackends(token=TOKEN, world=world, seed=17) as running:
        yield running


@pytest.fixture(params=[PROTOCOL_PROXY, PROTOCOL_BHXH])
def protocol(request) -> str:
    return request.param


def settings_for(folder: Path, backends: MockBackends, protocol: str) -> Any:
    operators = folder / "operators.toml"
    operators.write_text(f'[[operator]]\nname = "{STAFF.name}"\ncccd = "{STAFF.cccd}"\n', encoding="utf-8")
    return load_settings(environ={}, overrides={
        "site": {"profile": "clinic", "operators_file": str(operators)},
        "backends": {"insurance_protocol": protocol, "insurance_url": backends.insurance_url,
                     "licensing_url": backends.licensing_url, "token": TOKEN, "retries": 0,
                     "connect_timeout_s": 0.5, "read_timeout_s": 1.0, "breaker_failures": 100,
                     "bhxh_url": backends.gateway_url, "bhxh_username": DEFAULT_USERNAME,
                     "bhxh_password": DEFAULT_PASSWORD, "bhxh_connect_timeout_s": 0.5, "bhxh_read_timeout_s": 1.0},
        "store": {"path": str(folder / "agent.sqlite3"), "key_file": str(folder / "store.key"), "key_source": "file"},
        "audit": {"path": str(folder / "audit.jsonl")},
    })


def someone(backends: MockBackends, status: str) -> Any:
    """A person both dialects answer ``status`` for: the proxy's status and the gateway's plain code."""
    gateway = backends.gateway
    code = SCENARIOS[status]
    id_number = next(i for i in backends.world.ids_with_status(status) if gateway.code_of(i) == code)
    return backends.world.citizens[id_number]


def query(person: Any) -> InsuranceQuery:
    return InsuranceQuery(person.id_number, person.full_name, person.date_of_birth, None, STAFF)


def typed(person: Any) -> dict[str, str]:
    return {"full_name": person.full_name, "date_of_birth": person.date_of_birth.strftime("%d/%m/%Y")}


@pytest.mark.parametrize("status", SCENARIOS)
def test_the_same_person_gets_the_same_answer_from_either_adapter(tmp_path, backends, status):
    person = someone(backends, status)
    answers = {}
    for protocol in (PROTOCOL_PROXY, PROTOCOL_BHXH):
        folder = tmp_path / protocol
        folder.mkdir()
        answers[protocol] = build_backends(settings_for(folder, backends, protocol)).insurance.lookup(query(person))
    proxy, gateway = answers[PROTOCOL_PROXY], answers[PROTOCOL_BHXH]
    assert proxy.status == gateway.status == CheckStatus(status)
    assert proxy.kind == gateway.kind == "insurance"
    for field in CARD_FIELDS:
        assert proxy.details.get(field) == gateway.details.get(field), field
    if status != "not_found":
        card = backends.world.cards[person.id_number]
        assert gateway.details["card_number"] == card.card_number
        assert gateway.details["valid_to"] == card.valid_to.isoformat()


@pytest.mark.parametrize("status", SCENARIOS)
def test_the_desk_gives_the_same_verdict_through_either(tmp_path, backends, protocol, status):
    person = someone(backends, status)
    settings = settings_for(tmp_path, backends, protocol)
    with open_store(settings) as store:
        service = build_service(settings, store=store, audit=open_audit(settings), backends=build_backends(settings))
        result = service.verify_manual(person.id_number, typed(person)).result
    assert result.verdict is VERDICTS[status]
    assert result.check.status == status and result.operator == STAFF.name
    assert f"check.insurance.{status}" in result.reasons or any(r.startswith("bhyt.") for r in result.reasons)


def test_offline_the_last_answer_is_given_from_the_store(tmp_path, backends, protocol):
    person = someone(backends, "valid")
    settings = settings_for(tmp_path, backends, protocol)
    with open_store(settings) as store:
        service = build_service(settings, store=store, audit=open_audit(settings), backends=build_backends(settings))
        first = service.verify_manual(person.id_number, typed(person)).result
        backends.set_faults(down=True)
        try:
            later = service.verify_manual(person.id_number, typed(person)).result
            stranger = someone(backends, "expired")
            unknown = service.verify_manual(stranger.id_number, typed(stranger)).result
        finally:
            backends.clear_faults()
    assert not first.check.from_cache
    assert later.check.from_cache and later.check.status == "valid" and later.verdict is Verdict.VERIFIED
    assert unknown.check.status == "unavailable" and unknown.verdict is Verdict.CANNOT_CHECK


def test_a_backend_that_is_gone_is_unavailable_through_either(tmp_path, backends, protocol):
    lookup = build_backends(settings_for(tmp_path, backends, protocol)).insurance
    backends.set_faults(down=True)
    try:
        with pytest.raises(BackendUnavailableError):
            lookup.lookup(query(someone(backends, "valid")))
    finally:
        backends.clear_faults()

"""Fixtures of the local API tests: the API over a desk service with fake backends and chip reader, a
test client that talks to it as the desk page would (from http://127.0.0.1:8780)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_api
from tests.api.desk_fakes import Desk, make_desk

TOKEN = "test-token-0123456789"
BASE_URL = "http://127.0.0.1:8780"
PARTNER = "http://his.benhvien.local:8080"  # the hospital system, allowed to call the agent


@pytest.fixture
def desk(tmp_path) -> Iterator[Desk]:
    made = make_desk(tmp_path)
    yield made
    made.close()


@pytest.fixture
def api(desk):
    return create_api(desk.service, token=TOKEN, allowed_origins=(PARTNER,),
                      status=lambda: {"readers": {"state": "ok", "readers": []}, "camera": {"state": "disabled"}},
                      sync_status=lambda: desk.store.outbox.status().to_json(),
                      page_config={"banners": ["desk.demo_banner"]})


@pytest.fixture
def client(api) -> Iterator[TestClient]:
    with TestClient(api, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}

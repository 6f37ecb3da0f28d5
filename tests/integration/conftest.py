"""The mock world and backends most integration tests share (a module that needs another world, or its
own token, defines its own ``world`` / ``backends`` fixtures, which take precedence)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from simulators.backends.data import World, build_world
from simulators.backends.server import MockBackends
from tests.integration.agent_cli import TOKEN


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(5, today=date.today())


@pytest.fixture
def backends(world: World) -> Iterator[MockBackends]:
    with MockBackends(token=TOKEN, world=world) as running:
        yield running

"""The audit trail through the command line (issue 13 item 7): ``python -m agent verify`` writes its
verification into the audit log, as every way into the one pipeline does, and removing the log's last
one or three entries is reported by ``audit verify`` (the running head kept in the store), where the
chain alone still linked."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.backends.server import MockBackends
from tests.integration.agent_cli import TOKEN, agent, write_config


@pytest.fixture(scope="module")
def desk_after_four_checks(tmp_path_factory, world) -> Iterator[tuple[Path, MockBackends, list[str]]]:
    """A desk folder (settings, store, keys, audit log) after four checks on the command line, made once."""
    folder = tmp_path_factory.mktemp("audited")
    with MockBackends(token=TOKEN, world=world) as backends:
        config = write_config(folder, backends)
        numbers = world.ids_with_status("valid")[:4]
        for number in numbers:
            done = agent(config, "verify", "--id", number, "--json")
            assert done.returncode == 0, done.stderr
        yield folder, backends, numbers


@pytest.fixture
def verified(tmp_path, desk_after_four_checks) -> tuple[Path, Path, list[str]]:
    """A copy of that desk for one test to damage: (its settings file, its audit log, the numbers checked)."""
    folder, backends, numbers = desk_after_four_checks
    desk = tmp_path / "desk"
    shutil.copytree(folder, desk)
    return write_config(desk, backends), desk / "audit.jsonl", numbers


def test_verify_on_the_command_line_is_audited(verified):
    config, log, numbers = verified
    entries = json.loads(agent(config, "audit", "show", "--json").stdout)["entries"]
    verifications = [e for e in entries if e["action"] == "verification"]
    assert len(verifications) == len(numbers)
    assert {e["data"]["source"] for e in verifications} == {"manual"}
    text = log.read_text(encoding="utf-8")
    assert not any(number in text for number in numbers)  # masked and keyed-hashed only
    intact = agent(config, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "INTACT" in intact.stdout and "cannot be checked" not in intact.stdout


@pytest.mark.parametrize("removed", [1, 3])
def test_removing_the_last_entries_is_detected(verified, removed):
    config, log, _numbers = verified
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-removed]))
    broken = agent(config, "audit", "verify", "--json")
    assert broken.returncode == 65, broken.stdout + broken.stderr
    problem = json.loads(broken.stdout)["first_problem"]
    assert f"the last {removed} entries were removed" in problem["problem"]
    text = agent(config, "audit", "verify")
    assert text.returncode == 65 and "BROKEN" in text.stdout


def test_rewriting_the_recorded_head_is_detected(verified):
    import sqlite3

    config, _log, _numbers = verified
    database = config.parent / "agent.sqlite3"
    with sqlite3.connect(database) as conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE name = 'audit.head'").fetchone()
        prefix, _seq, digest, mac = value.split(":")
        conn.execute("UPDATE meta SET value = ? WHERE name = 'audit.head'", (f"{prefix}:1:{digest}:{mac}",))
    broken = agent(config, "audit", "verify", "--json")
    assert broken.returncode == 65
    assert "does not verify" in json.loads(broken.stdout)["first_problem"]["problem"]


def test_control_characters_typed_on_the_command_line_are_refused(tmp_path, backends, world):
    config = write_config(tmp_path, backends)
    number = world.ids_with_status("valid")[0]
    refused = agent(config, "verify", "--id", number, "--name", "Lê Thị\u202e Hoa")
    assert refused.returncode == 65, refused.stdout + refused.stderr
    assert "full_name" in refused.stderr and "U+202E" in refused.stderr and "Traceback" not in refused.stderr

"""``python -m agent verify --id --name --dob --json`` against the mock BHXH gateway on loopback, as a
hospital desk runs it: every class of ``maKetQua`` gives its status and details in ``result.checks[]``,
a token that died after the login is renewed once, a refused account is a configuration error, and no
credential (password, its MD5, a token, a gateway URL's query string) reaches the log file (DEBUG), the
command's output, the store, the audit log, ``sync --status`` or ``config``."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from simulators.backends.data import build_world
from simulators.backends.gateway import DEFAULT_PASSWORD, DEFAULT_STAFF, DEFAULT_USERNAME
from simulators.backends.server import MockBackends
from tests.checks.test_bhxh import EXPECTED

ROOT = Path(__file__).resolve().parents[2]
STAFF = list(DEFAULT_STAFF.items())
UNREGISTERED_CCCD = "001199000777"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockBackends]:
    world = build_world(11, today=date.today(), population=600, sessions=1, session_size=10)
    with MockBackends(token="t", world=world, seed=11) as running:
        yield running


@pytest.fixture(scope="module")
def desk(tmp_path_factory, mock) -> Path:
    """A clinic desk's folder: its settings file, operators file, store, audit log and log file."""
    folder = tmp_path_factory.mktemp("desk")
    (cccd, name), (other_cccd, _other_name) = STAFF[:2]
    (folder / "operators.toml").write_text(
        f'[[operator]]\nname = "{name}"\ncccd = "{cccd}"\n\n'
        f'[[operator]]\nname = "Người Chưa Đăng Ký"\ncccd = "{UNREGISTERED_CCCD}"\n\n'
        f'[[operator]]\nname = "Tên Khác Hẳn"\ncccd = "{other_cccd}"\n', encoding="utf-8")
    (folder / "site.toml").write_text(
        f'[site]\nprofile = "clinic"\nsite_id = "bv-test"\noperators_file = "{folder / "operators.toml"}"\n'
        f'[backends]\ninsurance_protocol = "bhxh-egw-2024"\nbhxh_url = "{mock.gateway_url}"\n'
        f'bhxh_username = "{DEFAULT_USERNAME}"\nbhxh_connect_timeout_s = 1.0\nbhxh_read_timeout_s = 3.0\n'
        f'[store]\npath = "{folder / "agent.sqlite3"}"\nkey_file = "{folder / "store.key"}"\nkey_source = "file"\n'
        f'[trust]\ncsca_dir = "{folder / "trust"}"\n[audit]\npath = "{folder / "audit.jsonl"}"\n'
        f'[log]\nlevel = "DEBUG"\nfile = "{folder / "agent.log"}"\n[qr]\ncamera = ""\n', encoding="utf-8")
    return folder


def agent(desk: Path, *args: str, password: str = DEFAULT_PASSWORD) -> subprocess.CompletedProcess[str]:
    # The password comes from the environment, as a site's service account would hand it over.
    env = {**os.environ, "CCCD_AGENT__BACKENDS__BHXH_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "agent", "--config", str(desk / "site.toml"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def verify(desk: Path, id_number: str, name: str, born: str, *extra: str, **options: Any) -> dict[str, Any]:
    done = agent(desk, "verify", "--id", id_number, "--name", name, "--dob", born, "--json", *extra, **options)
    assert done.returncode == 0, done.stderr
    OUTPUTS.append(done.stdout + done.stderr)
    [check] = json.loads(done.stdout)["result"]["checks"]
    assert check["kind"] == "insurance"
    return check


OUTPUTS: list[str] = []


def person(mock: MockBackends, code: str) -> Any:
    id_number = mock.gateway.ids_with_code(code)[0]
    return mock.gateway.children.get(id_number) or mock.world.citizens[id_number]


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.mark.parametrize(("code", "status"), EXPECTED.items())
def test_every_class_of_result_code(desk, mock, code, status):
    someone = person(mock, code)
    check = verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", STAFF[0][0])
    details = check["details"]
    assert check["status"] == str(status)
    assert details["gateway_code"] == code and details["message"]
    if code in ("050", "130"):
        return
    card = mock.world.cards[someone.id_number]
    assert details["card_number"] == card.card_number
    assert details["valid_from"] == card.valid_from.isoformat()  # ISO dates in our JSON
    assert date.fromisoformat(details["five_year_date"]) < card.valid_from
    assert details["facility_code"] == card.facility.code
    assert details["benefit_level"] == card.benefit_level
    if code in ("003", "004"):
        new_card = details["new_card"]
        assert new_card["number"][3:] == card.card_number[3:] and new_card["facility"]["code"] == card.facility.code
        assert date.fromisoformat(new_card["valid_from"]) <= date.today() <= date.fromisoformat(new_card["valid_to"])


@pytest.mark.parametrize("number", ["card", "social_insurance"])
def test_a_patient_without_a_cccd_is_looked_up_by_the_bhyt_card_typed(desk, mock, number):
    someone = person(mock, "000")
    card = mock.world.cards[someone.id_number].card_number
    typed = card if number == "card" else card[5:]  # the 2021 card model prints the 10-digit number alone
    asked = len(mock.gateway.asked)
    done = agent(desk, "verify", "--bhyt", typed, "--name", someone.full_name, "--dob", dmy(someone.date_of_birth),
                 "--operator", STAFF[0][0], "--json")
    assert done.returncode == 0, done.stderr
    OUTPUTS.append(done.stdout + done.stderr)
    result = json.loads(done.stdout)["result"]
    [check] = result["checks"]
    assert check["status"] == "valid" and check["details"]["card_number"] == card
    assert result["source"] == "manual" and result["identity"]["id_number"] == ""
    assert [a["maThe"] for a in mock.gateway.asked[asked:]] == [typed]


def test_a_bhyt_card_number_that_is_none_is_refused_before_anything_is_sent(desk, mock):
    asked = len(mock.gateway.asked)
    done = agent(desk, "verify", "--bhyt", "GD9383812345678", "--name", "Ai Đó", "--dob", "1990")
    assert done.returncode == 2 and "--bhyt" in done.stderr  # argparse's usage error
    assert len(mock.gateway.asked) == asked


@pytest.mark.parametrize(("change", "code"), [("name", "060"), ("first_letter", "061"), ("dob", "070"),
                                              ("year", "000")])
def test_wrong_details_are_mismatches_and_a_birth_year_is_enough(desk, mock, change, code):
    someone = person(mock, "000")
    name, born = someone.full_name, dmy(someone.date_of_birth)
    if change == "name":
        name = "Zzz " + name
    elif change == "first_letter":
        name = name + " Thị"
    elif change == "dob":
        born = dmy(someone.date_of_birth.replace(year=someone.date_of_birth.year - 1))
    else:
        born = str(someone.date_of_birth.year)
    check = verify(desk, someone.id_number, name, born, "--operator", STAFF[0][0])
    assert check["details"]["gateway_code"] == code
    assert check["status"] == ("valid" if code == "000" else "mismatch")


@pytest.mark.parametrize(("operator", "code"), [(UNREGISTERED_CCCD, "054"), (STAFF[1][0], "055")])
def test_staff_the_gateway_does_not_know_are_a_configuration_error(desk, mock, operator, code):
    someone = person(mock, "000")
    check = verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", operator)
    assert check["status"] == "config_error" and check["details"]["gateway_code"] == code


def test_a_token_that_died_after_the_login_is_renewed_once(desk, mock):
    someone = person(mock, "000")
    logins = mock.gateway.logins
    mock.gateway.dead_tokens = 1  # the gateway restarted between the login and the lookup
    check = verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", STAFF[0][0])
    assert check["status"] == "valid"
    assert mock.gateway.logins == logins + 2  # the first login, then one more after the 401
    mock.gateway.dead_tokens = 2  # both die: no third login, a configuration error
    check = verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", STAFF[0][0])
    assert check["status"] == "config_error"
    assert mock.gateway.logins == logins + 4
    mock.gateway.dead_tokens = 0


def test_a_wrong_password_is_a_configuration_error(desk, mock):
    someone = person(mock, "000")
    check = verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", STAFF[0][0],
                   password="not-the-password")
    assert check["status"] == "config_error" and check["details"]["gateway_code"] == "401"


def test_a_missing_name_is_named_before_anything_is_sent(desk, mock):
    someone = person(mock, "000")
    checks = mock.gateway.checks
    done = agent(desk, "verify", "--id", someone.id_number, "--dob", dmy(someone.date_of_birth), "--operator",
                 STAFF[0][0])
    assert done.returncode == 65, done.stderr  # EX_DATAERR
    assert "full_name" in done.stderr and "họ tên" in done.stderr
    assert mock.gateway.checks == checks


def test_several_operators_and_none_chosen_is_refused(desk, mock):
    someone = person(mock, "000")
    done = agent(desk, "verify", "--id", someone.id_number, "--name", someone.full_name, "--dob",
                 dmy(someone.date_of_birth))
    assert done.returncode != 0 and "--operator" in done.stderr


def test_no_credential_reaches_a_log_the_store_the_audit_or_any_output(desk, mock):
    """Runs last in this module: every command above has left its traces by now."""
    someone = person(mock, "000")
    verify(desk, someone.id_number, someone.full_name, dmy(someone.date_of_birth), "--operator", STAFF[0][0])
    md5 = hashlib.md5(DEFAULT_PASSWORD.encode(), usedforsecurity=False).hexdigest()
    secrets = [DEFAULT_PASSWORD, md5, md5.upper(), *mock.gateway.issued]
    assert len(mock.gateway.issued) >= 4
    sync = agent(desk, "sync", "--status")
    config = agent(desk, "config")
    assert sync.returncode == 0 and config.returncode == 0, sync.stderr + config.stderr
    traces = {
        "log file": (desk / "agent.log").read_text(encoding="utf-8"),
        "audit log": (desk / "audit.jsonl").read_text(encoding="utf-8"),
        "store file": (desk / "agent.sqlite3").read_bytes().decode("latin-1"),
        "store rows": _store_rows(desk / "agent.sqlite3"),
        "sync --status": sync.stdout + sync.stderr,
        "config": config.stdout + config.stderr,
        "verify output": "\n".join(OUTPUTS),
    }
    assert "KQNhanLichSuKCB2024" in traces["log file"] or "gateway" in traces["log file"].lower()  # it did log
    for where, text in traces.items():
        for secret in secrets:
            assert secret not in text, f"a credential in the {where}"
        assert "password=" not in text and "token=" not in text and "id_token" not in text, where
    assert "bhxh_password" in traces["config"]  # named, never shown


def _store_rows(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"'))

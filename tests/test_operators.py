"""Who is at the desk: the operators file (agent.operators) and its errors, PIN hashes, signing in and
out (agent.service.operators) with the lockout after wrong PINs, every lookup and audit entry in the
signed-in operator's name, lookups refused with nobody signed in, the local API's sign-in endpoints,
and the ``operators`` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.api.app import create_api
from agent.errors import ConfigError, OperatorRequiredError, OperatorSignInError
from agent.models import Operator
from agent.operators import hash_pin, load_operators, pin_matches
from agent.service.operators import LOCKOUT_S, MAX_WRONG_PINS, SignIn
from tests.api.desk_fakes import GENUINE, ID_HANG, FakeCard, FakeChipRead, identity, make_desk, qr_text

ROOT = Path(__file__).resolve().parents[1]
CHI = ("Nguyễn Thảo Chi", "072188004365")
KHOA = ("Trần Minh Khoa", "079090001234")
PIN = "2468"
TOKEN = "operators-test-token-0123"


def operators_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "operators.toml"
    path.write_text(text, encoding="utf-8")
    return path


def entry(name: str, cccd: str, pin_hash: str = "") -> str:
    return f'[[operator]]\nname = "{name}"\ncccd = "{cccd}"\n' + (f'pin_hash = "{pin_hash}"\n' if pin_hash else "")


# --- the file ---------------------------------------------------------------------------------------------


def test_the_file_lists_names_cccd_numbers_and_pin_hashes(tmp_path):
    pin_hash = hash_pin(PIN)
    path = operators_file(tmp_path, entry("  Nguyễn   Thảo Chi ", CHI[1]) + "\n" + entry(*KHOA, pin_hash))
    first, second = load_operators(path)
    assert first == Operator(CHI[0], CHI[1], "") and not first.needs_pin  # spaces tidied
    assert second.name == KHOA[0] and second.needs_pin and second.pin_hash == pin_hash


def test_a_decomposed_name_is_stored_composed(tmp_path):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", CHI[0])
    [operator] = load_operators(operators_file(tmp_path, entry(decomposed, CHI[1])))
    assert operator.name == CHI[0]  # what the gateway compares with its staff list


@pytest.mark.parametrize(("text", "key"), [
    ("", "operator"),
    ("[site]\nx = 1\n", "site"),
    ('[[operator]]\nname = "A"\ncccd = "123"\n', "operator 1.cccd"),
    ('[[operator]]\nname = ""\ncccd = "072188004365"\n', "operator 1.name"),
    ('[[operator]]\nname = "A"\ncccd = "072188004365"\nrole = "x"\n', "operator 1.role"),
    ('[[operator]]\nname = "A"\ncccd = "072188004365"\npin_hash = "1234"\n', "operator 1.pin_hash"),
    (entry(*CHI) + entry("Khác", CHI[1]), "operator 2.cccd"),
    ("operator = 3\n", "operator"),
])
def test_every_mistake_in_the_file_names_the_file_and_the_entry(tmp_path, text, key):
    path = operators_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_operators(path)
    assert caught.value.source == str(path) and caught.value.key == key


@pytest.mark.parametrize(("text", "problem"), [("[[operator]\n", "not valid TOML"), (None, "file not found")])
def test_an_unreadable_file_says_why(tmp_path, text, problem):
    path = tmp_path / "operators.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_operators(path)


def test_pin_hashes_are_salted_and_checked_in_full():
    first, second = hash_pin(PIN), hash_pin(PIN)
    assert first != second  # a new salt each time
    assert pin_matches(first, PIN) and pin_matches(second, PIN)
    assert not pin_matches(first, "2469") and not pin_matches(first, "") and not pin_matches(first, "abcd")
    tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
    assert not pin_matches(tampered, PIN)
    stronger = hash_pin(PIN, iterations=300_000)
    assert stronger.split("$")[1] == "300000" and pin_matches(stronger, PIN)
    assert PIN not in first
    with pytest.raises(ConfigError):
        hash_pin("12")


# --- signing in -------------------------------------------------------------------------------------------


def test_a_single_operator_is_signed_in_for_good():
    sign_in = SignIn([Operator(*CHI)])
    assert sign_in.automatic and sign_in.required() == Operator(*CHI)


def test_with_several_nobody_is_signed_in_until_one_chooses():
    sign_in = SignIn([Operator(*CHI), Operator(*KHOA, hash_pin(PIN))])
    with pytest.raises(OperatorRequiredError):
        sign_in.required()
    assert sign_in.sign_in(1) == Operator(*CHI)  # no PIN set: none asked
    with pytest.raises(OperatorSignInError, match="wrong PIN"):
        sign_in.sign_in(2, "1111")
    assert sign_in.current == Operator(*CHI)  # a failed sign-in leaves who was there
    assert sign_in.sign_in(2, PIN).name == KHOA[0]
    sign_in.sign_out()
    with pytest.raises(OperatorRequiredError):
        sign_in.required()
    with pytest.raises(OperatorSignInError):
        sign_in.sign_in(3)


def test_wrong_pins_lock_the_operator_out_for_a_while():
    now = [100.0]
    sign_in = SignIn([Operator(*CHI), Operator(*KHOA, hash_pin(PIN))], monotonic=lambda: now[0])
    for _ in range(MAX_WRONG_PINS):
        with pytest.raises(OperatorSignInError, match="wrong PIN"):
            sign_in.sign_in(2, "0000")
    with pytest.raises(OperatorSignInError, match="too many") as caught:
        sign_in.sign_in(2, PIN)  # even the right PIN waits
    assert caught.value.locked_for_s == LOCKOUT_S
    assert sign_in.sign_in(1) == Operator(*CHI)  # the others are not locked out
    now[0] += LOCKOUT_S + 1
    assert sign_in.sign_in(2, PIN).name == KHOA[0]


def test_the_command_line_chooses_by_cccd():
    sign_in = SignIn([Operator(*CHI), Operator(*KHOA, hash_pin(PIN))])
    assert sign_in.choose(KHOA[1]).name == KHOA[0]
    with pytest.raises(OperatorSignInError):
        sign_in.choose("001099000000")


# --- the desk -----------------------------------------------------------------------------------------------


@pytest.fixture
def desk(tmp_path) -> Iterator[object]:
    made = make_desk(tmp_path, operators=[Operator(*CHI), Operator(*KHOA, hash_pin(PIN))])
    yield made
    made.close()


def test_nothing_is_looked_up_in_nobodys_name(desk):
    for attempt in (lambda: desk.service.verify_manual(ID_HANG), lambda: desk.service.verify_qr_text(qr_text()),
                    lambda: desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)))):
        with pytest.raises(OperatorRequiredError):
            attempt()
    assert desk.insurance.calls == 0 and desk.chip.calls == [] and desk.service.latest() is None


def test_every_result_audit_entry_and_lookup_carries_the_signed_in_operator(desk):
    desk.service.sign_in_operator(2, PIN)
    result = desk.service.verify_qr_text(qr_text()).result
    assert result.operator == KHOA[0]
    assert desk.insurance.queries[-1].operator == Operator(*KHOA, desk.service.sign_in.current.pin_hash)
    entries = list(desk.audit.entries())
    assert [e["action"] for e in entries] == ["operator_signed_in", "verification"]
    assert all(e["operator"] == KHOA[0] for e in entries)
    assert KHOA[1] not in (desk.folder / "audit.jsonl").read_text(encoding="utf-8")  # no CCCD in the audit
    assert PIN not in (desk.folder / "audit.jsonl").read_text(encoding="utf-8")


def test_sign_in_failures_and_sign_outs_are_audited(desk):
    with pytest.raises(OperatorSignInError):
        desk.service.sign_in_operator(2, "1111")
    desk.service.sign_in_operator(1)
    desk.service.sign_out_operator()
    actions = [(e["action"], e["operator"]) for e in desk.audit.entries()]
    assert actions[0][0] == "operator_sign_in_failed"
    assert actions[1:] == [("operator_signed_in", CHI[0]), ("operator_signed_out", CHI[0])]


def test_the_api_lists_signs_in_and_refuses_lookups_with_nobody(desk):
    api = create_api(desk.service, token=TOKEN, status=lambda: {}, sync_status=lambda: {})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(api, base_url="http://127.0.0.1:8780") as client:
        listed = client.get("/api/operators", headers=auth).json()
        assert listed["required"] and listed["signed_in"] is None and not listed["automatic"]
        assert [(o["number"], o["name"], o["pin"]) for o in listed["operators"]] == [(1, CHI[0], False),
                                                                                      (2, KHOA[0], True)]
        assert CHI[1] not in json.dumps(listed) and KHOA[1] not in json.dumps(listed)  # no CCCD handed out
        refused = client.post("/api/verify/manual", headers=auth, json={"id_number": ID_HANG})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "OperatorRequiredError"
        wrong = client.post("/api/operator", headers=auth, json={"number": 2, "pin": "1111"})
        assert wrong.status_code == 403 and wrong.json()["error"]["message_vi"]
        signed = client.post("/api/operator", headers=auth, json={"number": 2, "pin": PIN}).json()
        assert signed["signed_in"] == {"number": 2, "name": KHOA[0]}
        assert client.post("/api/verify/manual", headers=auth, json={"id_number": ID_HANG}).status_code == 200
        assert client.delete("/api/operator", headers=auth).json()["signed_in"] is None
        assert client.post("/api/operator", json={"number": 1}).status_code == 401  # the token still guards it


# --- the command ------------------------------------------------------------------------------------------


def run_agent(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_hash_pin_prints_a_line_the_file_takes_and_never_the_pin(tmp_path):
    done = run_agent("operators", "hash-pin", "--stdin", stdin=PIN + "\n")
    assert done.returncode == 0, done.stderr
    # One line, the hash and nothing else: the PIN itself is never printed.
    assert re.fullmatch(r'pin_hash = "pbkdf2-sha256\$\d+\$[0-9a-f]{32}\$[0-9a-f]{64}"\n', done.stdout)
    path = operators_file(tmp_path, entry(*CHI) + done.stdout)
    [operator] = load_operators(path)
    assert pin_matches(operator.pin_hash, PIN)
    refused = run_agent("operators", "hash-pin", "--stdin", stdin="12\n")
    assert refused.returncode != 0 and "4 to 12 digits" in refused.stderr


def test_the_operators_command_lists_masked_numbers(tmp_path):
    path = operators_file(tmp_path, entry(*CHI) + entry(*KHOA, hash_pin(PIN)))
    done = run_agent("operators", "--json", env={"CCCD_AGENT__SITE__OPERATORS_FILE": str(path)})
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["operators"]
    assert [(o["name"], o["cccd"], o["pin"]) for o in listed] == [(CHI[0], "072*******65", False),
                                                                   (KHOA[0], "079*******34", True)]
    broken = operators_file(tmp_path, "[[operator]]\nname = 1\n")
    done = run_agent("operators", env={"CCCD_AGENT__SITE__OPERATORS_FILE": str(broken)})
    assert done.returncode == 78 and "operator 1.name" in done.stderr  # EX_CONFIG, naming the entry


def test_the_gateway_is_not_wired_without_an_operators_file(tmp_path):
    from agent.settings import load_settings
    from agent.wiring.production import build_backends, build_service, open_audit, open_store

    settings = load_settings(environ={}, overrides={
        "backends": {"insurance_protocol": "bhxh-egw-2024", "bhxh_url": "http://127.0.0.1:9", "bhxh_username": "u",
                     "bhxh_password": "p"},
        "store": {"path": str(tmp_path / "a.sqlite3"), "key_file": str(tmp_path / "k"), "key_source": "file"},
        "audit": {"path": str(tmp_path / "audit.jsonl")}})
    with open_store(settings) as store, pytest.raises(ConfigError) as caught:
        build_service(settings, store=store, audit=open_audit(settings), backends=build_backends(settings))
    assert caught.value.key == "site.operators_file"

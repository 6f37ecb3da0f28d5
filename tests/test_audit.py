"""The audit trail (agent.audit): a hash chain an auditor can check with ``python -m agent audit verify``,
which reports the first broken link whatever was done to the file, and which never holds personal
data in clear."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.audit import GENESIS, AuditKeys, AuditLog, entry_hash, person_fields, verify_log
from agent.cli import main
from agent.errors import StoreError, StoreLockedError

KEY = bytes(range(32))
ROOT = Path(__file__).resolve().parents[1]


def make_log(tmp_path: Path, operator: str = "le-tan-01", keys: AuditKeys | None = None) -> AuditLog:
    return AuditLog(tmp_path / "audit.jsonl", keys if keys is not None else AuditKeys(KEY), operator=operator,
                    site_id="bv-38001")


def fill(log: AuditLog, count: int = 5) -> None:
    for number in range(count):
        log.append("verification", {"result_id": f"r-{number}", "verdict": "verified",
                                    **person_fields(log.keys, f"03818700{number:04d}")})


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_appended_entries_form_an_intact_chain(tmp_path):
    log = make_log(tmp_path)
    fill(log, 3)
    make_log(tmp_path, operator="le-tan-02").append("receipt_viewed", {"result_id": "r-1"})
    entries = list(log.entries())
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.ok and report.entries == 4 and report.macs_checked
    assert report.operators == {"le-tan-01": 3, "le-tan-02": 1}
    assert report.actions == {"verification": 3, "receipt_viewed": 1}


def test_no_personal_data_in_clear(tmp_path):
    log = make_log(tmp_path)
    fields = person_fields(log.keys, "038187001234")
    assert fields["id_masked"] == "038*******34"
    assert len(fields["subject"]) == 32 and "038187001234" not in fields["subject"]
    assert person_fields(log.keys, "038187001234") == fields  # the same person, the same subject
    assert person_fields(AuditKeys(bytes(32)), "038187001234")["subject"] != fields["subject"]  # keyed
    assert person_fields(None, "038187001234") == {"id_masked": "038*******34"}
    fill(log)
    assert "03818700" not in log.path.read_text(encoding="utf-8").replace("038*******", "")


def edit_field(rows: list[str], index: int, **changes) -> list[str]:
    entry = json.loads(rows[index])
    entry["data"].update(changes)
    return [*rows[:index], json.dumps(entry, sort_keys=True, separators=(",", ":")), *rows[index + 1:]]


def rehash(entry: dict) -> dict:
    entry["hash"] = entry_hash(entry)
    return entry


@pytest.mark.parametrize(("tamper", "line", "words"), [
    (lambda rows: edit_field(rows, 2, verdict="rejected"), 3, "does not match its hash"),
    (lambda rows: rows[:1] + rows[2:], 2, "sequence number 3 where 2 was expected"),
    (lambda rows: [rows[0], rows[2], rows[1], *rows[3:]], 2, "sequence number 3 where 2 was expected"),
    (lambda rows: [*rows[:3], "{broken", *rows[4:]], 4, "not a JSON entry"),
    (lambda rows: [*rows[:3], "", *rows[3:]], 4, "empty line"),
    (lambda rows: [*rows[:1], json.dumps({**json.loads(rows[1]), "seq": "2"}), *rows[2:]], 2, "field 'seq'"),
])
def test_tampering_is_reported_at_the_first_broken_link(tmp_path, tamper, line, words):
    log = make_log(tmp_path)
    fill(log)
    write(log.path, tamper(lines(log.path)))
    report = verify_log(log.path, AuditKeys(KEY))
    assert not report.ok
    assert report.first_problem.line == line
    assert words in report.first_problem.problem
    assert report.entries == line - 1


def test_a_rewritten_chain_is_caught_by_the_mac_only(tmp_path):
    """Someone edits an entry and recomputes every hash after it: the chain links, the MAC does not."""
    log = make_log(tmp_path)
    fill(log)
    entries = [json.loads(row) for row in lines(log.path)]
    entries[1]["data"]["verdict"] = "rejected"
    previous = entries[0]["hash"]
    for entry in entries[1:]:
        entry["prev"] = previous
        previous = rehash(entry)["hash"]
    write(log.path, [json.dumps(e, sort_keys=True, separators=(",", ":")) for e in entries])
    assert verify_log(log.path, None).ok  # without the key only the chain can be checked
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.first_problem.line == 2 and "MAC" in report.first_problem.problem


def test_a_torn_last_write_is_reported_and_the_log_goes_on(tmp_path):
    log = make_log(tmp_path)
    fill(log, 3)
    with log.path.open("ab") as handle:
        handle.write(b'{"seq":4,"at":"2025')  # the agent died in the middle of a write
    log.append("agent_started", {})
    rows = lines(log.path)
    assert len(rows) == 5 and json.loads(rows[4])["seq"] == 4
    assert json.loads(rows[4])["prev"] == json.loads(rows[2])["hash"]
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.first_problem.line == 4 and "torn" in report.first_problem.problem


def test_concurrent_appends_keep_one_chain(tmp_path):
    log = make_log(tmp_path)

    def worker(name: str) -> None:
        other = make_log(tmp_path, operator=name)
        for number in range(40):
            other.append("verification", {"result_id": f"{name}-{number}"})

    threads = [threading.Thread(target=worker, args=(f"op-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    code = ("import sys; from agent.audit import AuditLog, AuditKeys\n"
            "log = AuditLog(sys.argv[1], AuditKeys(bytes(range(32))), operator=sys.argv[2], site_id='s')\n"
            "[log.append('verification', {'n': n}) for n in range(40)]\n")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(log.path), f"proc-{n}"], cwd=ROOT) for n in range(2)]
    assert all(p.wait(timeout=60) == 0 for p in processes)
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.ok, report.first_problem
    assert report.entries == 4 * 40 + 2 * 40


def test_appends_from_processes_started_together_keep_one_chain(tmp_path):
    # Several processes opening the log at the same instant, each appending as fast as it can: with a lock
    # that gave up (the old Windows one did after 10 s, silently) two of them could chain on the same entry.
    log = make_log(tmp_path)
    code = ("import sys, time; from agent.audit import AuditLog, AuditKeys\n"
            "log = AuditLog(sys.argv[1], AuditKeys(bytes(range(32))), operator=sys.argv[2], site_id='s')\n"
            "while time.time() < float(sys.argv[3]): pass\n"
            "[log.append('verification', {'n': n}) for n in range(60)]\n")
    start_at = str(time.time() + 1.5)
    processes = [subprocess.Popen([sys.executable, "-c", code, str(log.path), f"p{n}", start_at], cwd=ROOT)
                 for n in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in processes)
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.ok, report.first_problem
    assert report.entries == 4 * 60


def test_a_lock_held_by_another_process_is_an_error_not_a_fork(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl", AuditKeys(KEY), operator="op", site_id="s", lock_timeout_s=0.3)
    log.append("agent_started", {})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, filelock\n"
         "with filelock.FileLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(30)\n",
         str(tmp_path / "audit.jsonl.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError, match="locked by another process"):
            log.append("verification", {"result_id": "r1"})
    finally:
        holder.kill()
        holder.wait(10)
    log.append("verification", {"result_id": "r2"})  # free again: the chain goes on, unforked
    report = verify_log(log.path, AuditKeys(KEY))
    assert report.ok and report.entries == 2


def test_entries_carry_time_operator_and_site(tmp_path):
    moment = datetime(2025, 3, 14, 8, 30, tzinfo=UTC)
    log = AuditLog(tmp_path / "a.jsonl", None, operator="op", site_id="site", clock=lambda: moment)
    entry = log.append("agent_started", {"version": "1"})
    assert entry["at"] == "2025-03-14T08:30:00.000+00:00"
    assert entry["operator"] == "op" and entry["site_id"] == "site" and "mac" not in entry
    assert log.append("x", operator="other")["operator"] == "other"


def test_missing_log_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError):
        verify_log(tmp_path / "nothing.jsonl", None)
    with pytest.raises(StoreError):
        AuditKeys(b"short")


def test_audit_verify_command(tmp_path, capsys):
    log = make_log(tmp_path)
    fill(log)
    assert main(["audit", "verify", "--file", str(log.path)]) == 0
    out = capsys.readouterr().out
    assert "AUDIT LOG INTACT" in out and "le-tan-01: 5" in out
    write(log.path, edit_field(lines(log.path), 3, verdict="rejected"))
    assert main(["audit", "verify", "--file", str(log.path)]) == 65
    assert "AUDIT LOG BROKEN at line 4 (seq 4)" in capsys.readouterr().out
    assert main(["audit", "verify", "--file", str(log.path), "--json"]) == 65
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["first_problem"]["line"] == 4


def test_audit_show_command_filters_by_operator(tmp_path, capsys):
    fill(make_log(tmp_path, operator="a"), 2)
    fill(make_log(tmp_path, operator="b"), 3)
    assert main(["audit", "show", "--file", str(tmp_path / "audit.jsonl"), "--operator", "b", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["operator"] for e in entries] == ["b", "b", "b"]
    assert main(["audit", "show", "--file", str(tmp_path / "missing.jsonl")]) == 74

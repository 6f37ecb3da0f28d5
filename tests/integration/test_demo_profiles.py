"""``python -m agent demo --profile notary|exam`` as a subprocess (in-process card simulator, short
steps, one round): every scripted outcome of the site kind is found through the API, and Ctrl-C
(SIGINT) stops everything the demo started. The process helpers are those of test_demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent.errors import ConfigError
from agent.wiring.demo import demo_people, simulated_site
from tests.integration.test_demo import CYCLE_TIMEOUT_S, Demo, Running, results, stop_with_sigint, wait_started

ROOT = Path(__file__).resolve().parents[2]


def start_one_round(profile: str) -> Demo:
    return Demo("--profile", profile, "--simulator", "in-process", "--cycles", "1")


def detail(running: Running, result_id: str) -> dict:
    answer = httpx.get(f"{running.url}/api/results/{result_id}", headers=running.headers, timeout=10)
    assert answer.status_code == 200
    return answer.json()["result"]


def reason_keys(result: dict) -> set[str]:
    return {reason["key"] for reason in result["reasons"]}


@pytest.mark.slow
def test_notary_demo_flags_typed_differences_and_saves_receipts(tmp_path):
    people = demo_people(profile="notary")
    demo = start_one_round("notary")
    try:
        running = wait_started(demo, "notary")
        demo.wait_for(r"\[demo\] cycles done", CYCLE_TIMEOUT_S)
        history = results(running)
        typed = [r for r in history if r["source"] == "manual"]
        chip = {r["result_id"]: detail(running, r["result_id"]) for r in history if r["source"] == "chip"}
        assert len(typed) == 4 and all(r["verdict"] == "warning" for r in typed)
        assert sorted(r["verdict"] for r in chip.values()) == ["rejected", "rejected", "verified", "warning"]

        matching = next(r for r in chip.values() if r["verdict"] == "verified")
        assert matching["entitlement"]["kind"] == "notary"
        assert {row["field"] for row in matching["comparison"]} == {"full_name", "date_of_birth", "sex"}
        assert all(row["same"] for row in matching["comparison"])

        # The mistyped date of birth is flagged; the result keeps the chip's date, not the typed one.
        differing = next(r for r in chip.values() if r["verdict"] == "warning")
        assert "reason.notary_differences" in reason_keys(differing)
        [row] = [row for row in differing["comparison"] if not row["same"]]
        born = people["differing"].date_of_birth.isoformat()
        assert row["field"] == "date_of_birth" and row["chip"] == born and row["entered"] != born
        assert differing["display"]["date_of_birth"] == born

        rejected = [r for r in chip.values() if r["verdict"] == "rejected"]
        assert {"reason.passive_failed", "reason.clone"} <= set().union(*(reason_keys(r) for r in rejected))
        assert all(r["badge"] == "failed" for r in rejected)

        # One receipt saved per chip result, with the chip's own receipt (hashes of the files read), signed.
        saved = sorted((running.data_dir / "receipts").glob("receipt-*.json"))
        receipts = [json.loads(path.read_text(encoding="utf-8")) for path in saved]
        assert {r["result"]["result_id"] for r in receipts} == set(chip)
        assert all(r["chip"]["files"] and r["signature"]["algorithm"] == "Ed25519" for r in receipts)
        check_a_downloaded_receipt(running, matching["result_id"], tmp_path)
        stop_with_sigint(demo, running)
    finally:
        demo.stop()
    output = "\n".join(demo.lines)
    for person in people.values():
        for value in (person.id_number, person.full_name, person.date_of_birth.isoformat()):
            assert value not in output, "personal data in the demo's output"


def check_a_downloaded_receipt(running: Running, result_id: str, folder: Path) -> None:
    """A notary's receipt, downloaded as the desk page does, passes ``verify-receipt`` against the site's
    key and trust store; with its verdict edited it is "changed" in its signature only: the chip part
    still re-verifies offline against the trust store."""
    answer = httpx.get(f"{running.url}/api/receipts/{result_id}?download=1", headers=running.headers, timeout=10)
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    downloaded = folder / "receipt.json"
    downloaded.write_bytes(answer.content)
    config = folder / "agent.toml"
    config.write_text(f'[trust]\ncsca_dir = "{(running.data_dir / "trust").as_posix()}"\n'
                      f'[receipts]\nkey_file = "{(running.data_dir / "keys" / "receipt.key").as_posix()}"\n',
                      encoding="utf-8")
    same = verify_receipt_cli(downloaded, config)
    assert same.returncode == 0, same.stdout + same.stderr
    assert json.loads(same.stdout)["signature"]["status"] == "ok" and json.loads(same.stdout)["changed_parts"] == []

    edited = json.loads(answer.content)
    assert edited["result"]["verdict"] == "verified"
    edited["result"]["verdict"] = "rejected"
    downloaded.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    changed = verify_receipt_cli(downloaded, config)
    report = json.loads(changed.stdout)
    assert changed.returncode == 1 and report["changed_parts"] == ["signature"]
    assert report["changed"] == [] and report["passive"] == "ok" and report["chip"] == "ok"


def verify_receipt_cli(path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "verify-receipt", str(path), "--json", "--config",
                           str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_exam_demo_checks_in_from_the_roster_online_and_offline():
    demo = start_one_round("exam")
    try:
        running = wait_started(demo, "exam")
        demo.wait_for(r"\[demo\] cycles done", CYCLE_TIMEOUT_S)
        assert demo.wait_for(r"backend up; records pending: (\d+)", 5).group(1) == "0"
        history = results(running)
        assert all(r["source"] == "chip" and r["site_profile"] == "exam" for r in history)
        seen = [(r["verdict"], r["check"] and (r["check"]["status"], r["check"]["from_cache"])) for r in history]
        assert seen.count(("verified", ("on_roster", False))) == 2, seen
        assert ("verified", ("on_roster", True)) in seen, seen  # checked in from the roster kept offline
        assert ("rejected", ("not_on_roster", False)) in seen, seen

        again = [r for r in history if r["verdict"] == "warning"]
        assert len(again) == 1 and again[0]["check"]["status"] == "on_roster"
        assert "reason.already_checked_in" in reason_keys(detail(running, again[0]["result_id"]))

        tampered = [r for r in history if r["badge"] == "failed"]
        assert len(tampered) == 1 and tampered[0]["verdict"] == "rejected" and tampered[0]["check"] is None
        assert "reason.passive_failed" in reason_keys(detail(running, tampered[0]["result_id"]))
        stop_with_sigint(demo, running)
    finally:
        demo.stop()


def test_an_unknown_site_kind_is_refused_before_anything_starts(tmp_path):
    with pytest.raises(ConfigError) as raised, simulated_site(tmp_path, profile="bank"):
        pass
    assert raised.value.key == "--profile"
    assert not any(tmp_path.iterdir())

"""``python -m agent demo --profile notary|exam`` as a subprocess (in-process card simulator, short
steps, one round): every scripted outcome of the site kind is found through the API, and Ctrl-C
(SIGINT) stops everything the demo started. The process helpers are those of test_demo."""

from __future__ import annotations

import json

import httpx
import pytest

from agent.commands.demo import demo_people, simulated_site
from agent.errors import ConfigError
from tests.integration.test_demo import CYCLE_TIMEOUT_S, Demo, Running, results, stop_with_sigint, wait_started


def start_one_round(profile: str) -> Demo:
    return Demo("--profile", profile, "--simulator", "in-process", "--cycles", "1")


def detail(running: Running, result_id: str) -> dict:
    answer = httpx.get(f"{running.url}/api/results/{result_id}", headers=running.headers, timeout=10)
    assert answer.status_code == 200
    return answer.json()["result"]


def reason_keys(result: dict) -> set[str]:
    return {reason["key"] for reason in result["reasons"]}


@pytest.mark.slow
def test_notary_demo_flags_typed_differences_and_saves_receipts():
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

        # One receipt saved per chip result, with the chip's own receipt (hashes of the files read).
        saved = sorted((running.data_dir / "receipts").glob("receipt-*.json"))
        receipts = [json.loads(path.read_text(encoding="utf-8")) for path in saved]
        assert {r["result"]["result_id"] for r in receipts} == set(chip)
        assert all(r["chip_receipt"] and r["digest_sha256"] for r in receipts)
        stop_with_sigint(demo, running)
    finally:
        demo.stop()
    output = "\n".join(demo.lines)
    for person in people.values():
        for value in (person.id_number, person.full_name, person.date_of_birth.isoformat()):
            assert value not in output, "personal data in the demo's output"


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

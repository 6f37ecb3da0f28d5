"""Offline, then online: with the real mock backends over loopback and a real SQLite file, checks
made while the backend is down are answered from the cache (or "cannot check now" for someone never
seen), queued, and delivered exactly once when the backend returns. The same through the command
line (``verify`` and ``sync``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from agent.models import Verdict
from agent.settings import load_settings
from agent.wiring.production import build_backends, build_service, build_syncer, open_audit, open_store
from tests.integration.agent_cli import ROOT, TOKEN, agent, write_config


def settings_for(tmp_path, backends, **store):
    return load_settings(environ={}, overrides={
        "backends": {"insurance_url": backends.insurance_url, "licensing_url": backends.licensing_url,
                     "token": TOKEN, "retries": 1, "connect_timeout_s": 0.5, "read_timeout_s": 1.0,
                     "breaker_failures": 2, "breaker_reset_s": 60.0},
        "store": {"path": str(tmp_path / "agent.sqlite3"), "key_file": str(tmp_path / "keys" / "store.key"), **store},
        "sync": {"batch_size": 4},
    })


def desk_of(settings, store, clients, profile: str, session_id: str | None = None):
    """The desk's pipeline, as ``python -m agent verify`` builds it."""
    return build_service(settings, store=store, audit=open_audit(settings), backends=clients, profile=profile,
                         exam_session_id=session_id)


def test_clinic_offline_then_online(tmp_path, backends, world):
    settings = settings_for(tmp_path, backends)
    seen, expired, stranger = world.ids_with_status("valid")[0], world.ids_with_status("expired")[0], \
        world.ids_with_status("valid")[1]
    with open_store(settings) as store:
        clients = build_backends(settings)
        desk = desk_of(settings, store, clients, "clinic")
        syncer = build_syncer(settings, store, clients)

        online = [desk.verify_manual(i).result for i in (seen, expired)]
        assert [r.verdict for r in online] == [Verdict.VERIFIED, Verdict.WARNING]
        assert not online[0].checks[0].from_cache
        assert syncer.drain().complete

        backends.stop()  # the network goes down
        offline = [
            desk.verify_manual(seen).result,
            desk.verify_manual(expired).result,
            desk.verify_manual(stranger).result,
        ]
        cached = offline[0].checks[0]
        assert cached.from_cache and cached.status == "valid" and cached.checked_at == online[0].checks[0].checked_at
        assert offline[0].verdict is Verdict.VERIFIED and "reason.offline" in offline[0].reasons
        assert offline[1].checks[0].from_cache and offline[1].verdict is Verdict.WARNING
        assert offline[2].checks[0].status == "unavailable" and offline[2].verdict is Verdict.CANNOT_CHECK
        report = syncer.drain()
        assert report.remaining == 3 and report.error
        assert store.outbox.status().pending == 3

        backends.start()  # and comes back
        clients.insurance.http.breaker.record_success()  # as a trial call after breaker_reset_s would
        clients.licensing.http.breaker.record_success()
        assert syncer.drain().complete
        assert syncer.drain().delivered == 0  # nothing is sent twice

        every = [*online, *offline]
        events = backends.events("insurance")
        assert sorted(e["event_id"] for e in events) == sorted(r.result_id for r in every)
        assert all(e["deliveries"] == 1 for e in events)
        assert Counter(e["data"]["id_number"] for e in events) == Counter({seen: 2, expired: 2, stranger: 1})
        by_id = {e["event_id"]: e["data"] for e in events}
        assert by_id[offline[0].result_id]["from_cache"] is True
        assert by_id[offline[2].result_id]["verdict"] == "cannot_check"
        for r in every:
            assert store.results.get(r.result_id) == r


def test_a_stale_cache_answer_is_not_used(tmp_path, backends, world):
    settings = settings_for(tmp_path, backends)
    someone = world.ids_with_status("valid")[0]
    with open_store(settings) as store:
        clients = build_backends(settings)
        desk = desk_of(settings, store, clients, "clinic")
        desk.verify_manual(someone)
        desk.entitlement.cache_ttl_s = 0.000001  # everything cached is now too old
        backends.set_faults(down=True)
        answer = desk.verify_manual(someone).result
        assert answer.verdict is Verdict.CANNOT_CHECK and not answer.checks[0].from_cache


def test_exam_roster_is_held_offline(tmp_path, backends, world):
    settings = settings_for(tmp_path, backends)
    session = sorted(world.sessions.values(), key=lambda s: s.exam_date)[0]
    on_roster = [c.id_number for c in session.candidates[:3]]
    outsider = next(i for i in world.citizens if i not in {c.id_number for c in session.candidates})
    with open_store(settings) as store:
        clients = build_backends(settings)
        first = desk_of(settings, store, clients, "exam", session.session_id).verify_manual(on_roster[0]).result
        assert first.verdict is Verdict.VERIFIED and not first.checks[0].from_cache
        assert store.rosters.info(session.session_id) is not None  # the whole roster came down with it

        backends.set_faults(down=True)
        desk = desk_of(settings, store, clients, "exam")
        offline = [desk.verify_manual(i).result for i in [*on_roster[1:], outsider]]
        assert [r.verdict for r in offline] == [Verdict.VERIFIED, Verdict.VERIFIED, Verdict.REJECTED]
        assert all(r.checks[0].from_cache for r in offline)
        assert offline[0].checks[0].details["candidate_no"] == session.candidates[1].candidate_no

        backends.clear_faults()
        clients.licensing.http.breaker.record_success()
        assert build_syncer(settings, store, clients).drain().complete
        events = backends.events("licensing")
        assert len(events) == 4 and {e["data"]["session_id"] for e in events} == {session.session_id}


def test_notary_records_are_queued_and_delivered(tmp_path, backends, world):
    settings = settings_for(tmp_path, backends)
    person = next(iter(world.citizens.values()))
    with open_store(settings) as store:
        clients = build_backends(settings)
        backends.set_faults(down=True)
        typed = {"full_name": person.full_name, "date_of_birth": person.date_of_birth.isoformat()}
        answer = desk_of(settings, store, clients, "notary").verify_manual(person.id_number, typed).result
        # A typed number is only a warning at a notary's desk (tap the card), wherever it is typed.
        assert answer.verdict is Verdict.WARNING and answer.reasons == ("reason.typed", "check.notary.recorded")
        assert not build_syncer(settings, store, clients).drain().complete
        backends.clear_faults()
        clients.licensing.http.breaker.record_success()
        assert build_syncer(settings, store, clients).drain().complete
    (event,) = backends.events("licensing")
    assert event["type"] == "notary_record" and event["data"]["full_name"] == person.full_name


# --- the same through the command line -------------------------------------------------------------


def test_command_line_offline_then_online(tmp_path, backends, world):
    config = write_config(tmp_path, backends)
    seen, stranger = world.ids_with_status("valid")[:2]

    online = agent(config, "verify", "--id", seen, "--json")
    assert online.returncode == 0, online.stderr
    answer = json.loads(online.stdout)
    assert answer["result"]["verdict"] == "verified" and answer["delivery"] == "sent"

    backends.stop()
    from_cache = agent(config, "verify", "--id", seen)
    assert from_cache.returncode == 0, from_cache.stderr
    assert "From cache, as of" in from_cache.stdout and "Theo dữ liệu đã lưu" in from_cache.stdout
    never_seen = json.loads(agent(config, "verify", "--id", stranger, "--json").stdout)
    assert never_seen["result"]["verdict"] == "cannot_check" and never_seen["delivery"] == "queued"

    failed = agent(config, "sync", "--once", "--json")
    assert failed.returncode == 75 and json.loads(failed.stdout.splitlines()[-1])["remaining"] == 2
    status = json.loads(agent(config, "sync", "--status", "--json").stdout)
    assert (status["pending"], status["sent"]) == (2, 1) and "backend unavailable" in status["last_error"]

    backends.start()
    done = agent(config, "sync", "--once", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["delivered"] == 2
    status = json.loads(agent(config, "sync", "--status", "--json").stdout)
    assert (status["pending"], status["sent"], status["failed"]) == (0, 3, 0)
    assert Counter(e["data"]["id_number"] for e in backends.events()) == Counter({seen: 2, stranger: 1})


def test_command_line_rejects_a_bad_id(tmp_path, backends):
    config = write_config(tmp_path, backends)
    bad = agent(config, "verify", "--id", "12345")
    assert bad.returncode == 2 and "12 digits" in bad.stderr
    assert not (tmp_path / "agent.sqlite3").exists()


def test_command_line_damaged_store_fails_once_clearly_and_leaves_the_file(tmp_path, backends, world):
    config = write_config(tmp_path, backends)
    assert agent(config, "verify", "--id", world.ids_with_status("valid")[0]).returncode == 0
    database = tmp_path / "agent.sqlite3"
    damaged = b"this is not a database" + database.read_bytes()[22:]
    database.write_bytes(damaged)
    for args in (("sync",), ("sync", "--once"), ("verify", "--id", world.ids_with_status("valid")[1])):
        run = agent(config, *args)  # the endless "sync" too: it must stop, not spin
        assert run.returncode == 74, (args, run.stdout, run.stderr)
        assert "StoreCorruptError" in run.stderr and "hỏng" in run.stderr
    assert database.read_bytes() == damaged
    as_json = json.loads(agent(config, "sync", "--status", "--json").stdout)
    assert as_json["error"]["type"] == "StoreCorruptError" and as_json["error"]["retryable"] is False


def test_command_line_locked_store_is_a_clear_retryable_error_and_nothing_is_lost(tmp_path, backends, world):
    import sqlite3

    config = write_config(tmp_path, backends)
    config.write_text(config.read_text(encoding="utf-8") + "busy_timeout_s = 0.3\n", encoding="utf-8")
    valid = world.ids_with_status("valid")
    assert agent(config, "verify", "--id", valid[0]).returncode == 0
    holder = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = agent(config, "verify", "--id", valid[1], "--json")
        assert locked.returncode == 74
        error = json.loads(locked.stdout)["error"]
        assert error["type"] == "StoreLockedError" and error["retryable"] is True
        assert "bận" in error["message_vi"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    status = json.loads(agent(config, "sync", "--status", "--json").stdout)
    assert (status["pending"], status["sent"]) == (0, 1)  # the refused check was not half-recorded
    assert agent(config, "verify", "--id", valid[1]).returncode == 0


def test_sync_service_waits_out_a_locked_store_then_delivers(tmp_path, backends, world):
    import sqlite3
    import time

    config = write_config(tmp_path, backends)
    config.write_text(config.read_text(encoding="utf-8") + "busy_timeout_s = 0.2\n[sync]\ninterval_s = 0.2\n",
                      encoding="utf-8")
    backends.set_faults(down=True)
    assert agent(config, "verify", "--id", world.ids_with_status("valid")[0]).returncode == 0
    backends.clear_faults()
    holder = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    service = subprocess.Popen([sys.executable, "-m", "agent", "sync", "--config", str(config)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        assert service.poll() is None, "the service gave up instead of waiting"
        assert backends.events() == []
        holder.execute("ROLLBACK")
        deadline = time.monotonic() + 20
        while not backends.events() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(backends.events()) == 1
        assert service.poll() is None
    finally:
        holder.close()
        service.kill()
        _out, err = service.communicate(timeout=10)
    assert "The local database is busy" in err


def test_verify_on_the_command_line_is_the_desks_own_pipeline(tmp_path, backends, world):
    """The same backend answer gives the same verdict and reasons (catalogue keys) at the desk and on the
    command line, and every result the command records has its audit entry."""
    from agent.audit import verify_log

    config = write_config(tmp_path, backends)
    desk_folder = tmp_path / "desk"
    desk_settings = settings_for(desk_folder, backends)
    people = [world.ids_with_status(status)[0] for status in ("valid", "expired", "suspended", "not_found")]
    with open_store(desk_settings) as store:
        desk = desk_of(desk_settings, store, build_backends(desk_settings), "clinic")
        at_the_desk = {i: desk.verify_manual(i).result for i in people}
    for id_number in people:
        done = agent(config, "verify", "--id", id_number, "--json")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)["result"]
        expected = at_the_desk[id_number]
        assert (result["verdict"], result["reasons"]) == (str(expected.verdict), list(expected.reasons))
        assert result["checks"][0]["status"] == expected.check.status
    human = agent(config, "verify", "--id", people[1])
    assert "Thẻ BHYT đã hết hạn" in human.stdout and "Health-insurance card expired" in human.stdout
    report = verify_log(tmp_path / "audit.jsonl", None)
    assert report.ok and report.actions == {"verification": len(people) + 1}
    with open_store(settings_for(tmp_path, backends, path=str(tmp_path / "agent.sqlite3"),
                                 key_file=str(tmp_path / "store.key"))) as store:
        assert store.results.count() == report.actions["verification"]

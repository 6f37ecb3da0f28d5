"""The store: results, check cache with TTL, rosters, outbox, migrations, retention; no plaintext
personal data in the database or its WAL; damaged, locked and wrongly keyed files give clear typed
errors and are never rewritten."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import unicodedata

import pytest

from agent.errors import InvalidInputError, StoreCorruptError, StoreError, StoreLockedError
from agent.models import BackendCheck, Status
from sync.keys import KeyFile, StoreKeys
from sync.migrations import LATEST_VERSION, MIGRATIONS
from sync.store import OutboundEvent, RosterCopy, Store
from tests.sync.helpers import T0, Clock, event_for, identity, insurance_check, open_store, result


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    with open_store(tmp_path, clock) as opened:
        yield opened


# --- results ----------------------------------------------------------------------------------------


def test_a_result_round_trips(store):
    original = result()
    store.record(original)
    assert store.results.get(original.result_id) == original
    assert store.results.get("no-such-id") is None
    assert store.results.count() == 1


def test_results_are_found_by_id_number(store, clock):
    first, other = result(identity(1)), result(identity(2, "Trần Văn Nam"))
    clock.advance(hours=1)
    second = result(identity(1), at=clock.now)
    for r in (first, other, second):
        store.record(r)
    assert [r.result_id for r in store.results.for_person(identity(1).id_number)] == [first.result_id, second.result_id]
    assert [r.result_id for r in store.results.for_person(identity(1).id_number, since=clock.now)] == [second.result_id]
    assert store.results.for_person("099999999999") == []


def test_a_result_and_its_events_are_written_together_or_not_at_all(store):
    first = result()
    store.record(first, [event_for(first)])
    clash = result()
    with pytest.raises(StoreError):
        # the event id is already queued: the whole write is refused, the result too
        store.record(clash, [OutboundEvent(first.result_id, "insurance", {"x": 1})])
    assert store.results.get(clash.result_id) is None
    assert store.results.count() == 1 and store.outbox.status().pending == 1


def test_the_chip_receipt_is_kept_with_the_result(store):
    original = result()
    store.record(original)
    assert original.chip_receipt and store.results.get(original.result_id).chip_receipt == original.chip_receipt


@pytest.mark.parametrize("stored", [b'{"result_id": "x"}', b"[1, 2]", b'{"result_id": "x", "identity": [],'
                                    b' "source": "chip", "created_at": "2025-03-14T08:00:00+00:00", "verdict": "ok"}'])
def test_a_stored_result_of_another_shape_is_a_corrupt_store_error(tmp_path, clock, stored):
    res = result()
    with open_store(tmp_path, clock) as store:
        store.record(res)
        keys = store.database.keys
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:  # sealed right, but not a result
        conn.execute("UPDATE results SET payload = ?", (keys.seal(stored, b"result\x00" + res.result_id.encode()),))
    with open_store(tmp_path, clock) as store:
        with pytest.raises(StoreCorruptError, match="expected shape"):
            store.results.get(res.result_id)


def test_a_repository_write_outside_the_stores_transaction_is_refused(store):
    row = store.results.row_for(result())
    with pytest.raises(RuntimeError):
        store.results.write(row)  # it would commit on its own: Store.record's all-or-nothing would not hold
    assert store.results.count() == 0


def test_one_store_is_shared_by_threads(store):
    failures: list[BaseException] = []

    def desk(n: int) -> None:
        try:
            for i in range(15):
                r = result(identity(n * 100 + i))
                store.record(r, [event_for(r)], cache=[(r.identity.id_number, insurance_check())])
                assert store.results.get(r.result_id) == r
                assert store.outbox.status().pending >= 1 and store.results.page(5)
        except BaseException as failure:  # reported by the main thread
            failures.append(failure)

    threads = [threading.Thread(target=desk, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.results.count() == 60 == store.outbox.status().pending == store.cache.count()


# --- the history, a page at a time ------------------------------------------------------------------


def record_series(store, clock, count: int) -> list[str]:
    """``count`` results a minute apart, oldest first; their ids."""
    ids = []
    for i in range(count):
        res = result(identity(i), at=clock.now)
        store.record(res)
        ids.append(res.result_id)
        clock.advance(minutes=1)
    return ids


def test_results_page_pages_newest_first(store, clock):
    ids = record_series(store, clock, 7)
    newest_first = ids[::-1]
    assert [r.result_id for r in store.results.page(3, 0)] == newest_first[:3]
    assert [r.result_id for r in store.results.page(3, 3)] == newest_first[3:6]
    assert [r.result_id for r in store.results.page(3, 6)] == newest_first[6:]
    assert store.results.page(3, 7) == [] and store.results.page(0, 0) == []
    assert store.results.page(100, 0)[0] == store.results.get(ids[-1])  # whole results, decrypted
    assert store.results.count(include_purged=False) == 7


def test_results_page_of_an_empty_store(store):
    assert store.results.page(20, 0) == []
    assert store.results.count(include_purged=False) == 0


def test_results_page_orders_by_time_then_by_recording(store, clock):
    late = result(identity(1), at=T0.replace(hour=9))
    early = result(identity(2), at=T0)  # recorded after, but checked earlier (a desk clock set back)
    same_a, same_b = result(identity(3), at=T0.replace(hour=8, minute=30)), result(identity(4), at=T0.replace(
        hour=8, minute=30))
    for r in (late, early, same_a, same_b):
        store.record(r)
    assert [r.result_id for r in store.results.page(10, 0)] == [
        late.result_id, same_b.result_id, same_a.result_id, early.result_id]


def test_results_page_leaves_out_purged_results(store, clock):
    old = record_series(store, clock, 3)
    clock.advance(days=40)
    kept = record_series(store, clock, 2)
    store.purge(retention_days=30)
    assert [r.result_id for r in store.results.page(10, 0)] == kept[::-1]
    assert store.results.page(10, 2) == []
    assert store.results.count(include_purged=False) == 2
    assert store.results.count() == 5  # the non-personal rows still count
    assert all(store.results.get(i) is None for i in old)


def test_results_page_decrypts_only_the_page(tmp_path, clock):
    with open_store(tmp_path, clock) as store:
        ids = record_series(store, clock, 4)
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:  # damage the oldest result only
        (payload,) = conn.execute("SELECT payload FROM results WHERE result_id = ?", (ids[0],)).fetchone()
        conn.execute("UPDATE results SET payload = ? WHERE result_id = ?",
                     (payload[:-1] + bytes([payload[-1] ^ 1]), ids[0]))
    with open_store(tmp_path, clock) as store:
        opened = []
        unseal = store.database.unseal
        store.database.unseal = lambda sealed, context: (opened.append(context), unseal(sealed, context))[1]
        assert [r.result_id for r in store.results.page(2, 1)] == [ids[2], ids[1]]
        assert len(opened) == 2
        with pytest.raises(StoreCorruptError):
            store.results.page(2, 2)  # the page holding the damaged one says so


@pytest.mark.parametrize(("limit", "offset", "field"), [(-1, 0, "limit"), (1001, 0, "limit"), (10, -1, "offset"),
                                                        (10, 2**63, "offset")])
def test_results_page_refuses_bad_paging(store, limit, offset, field):
    with pytest.raises(InvalidInputError) as caught:
        store.results.page(limit, offset)
    assert caught.value.field == field


def test_a_roster_downloaded_with_a_result_is_written_with_it(store, clock):
    person = identity(5).id_number
    copy = RosterCopy("SH-38-B2", {"centre": "Thanh Hóa"}, ((person, {"candidate_no": "B2-0005"}),),
                      downloaded_at=T0.replace(hour=7))
    first = result()
    store.record(first, [event_for(first)], roster=copy)
    assert store.rosters.info("SH-38-B2").downloaded_at == T0.replace(hour=7)
    assert store.rosters.entry("SH-38-B2", person) == {"candidate_no": "B2-0005"}
    clash = result()
    newer = RosterCopy("SH-01-A1", {}, ((person, {"candidate_no": "A1-0001"}),))
    with pytest.raises(StoreError):
        store.record(clash, [OutboundEvent(first.result_id, "licensing", {})], roster=newer)
    assert store.rosters.info("SH-01-A1") is None  # all or nothing: the roster went with the refused result
    assert store.results.count() == 1


# --- check cache ------------------------------------------------------------------------------------


def test_cache_answers_marked_from_cache_with_their_time(store, clock):
    person = identity(1).id_number
    store.cache.put(person, insurance_check("expired", at=T0))
    clock.advance(hours=5)
    cached = store.cache.get("insurance", person, max_age_s=86400)
    assert cached == BackendCheck("insurance", "expired", insurance_check().details, from_cache=True, checked_at=T0)
    assert store.cache.get("roster", person, max_age_s=86400) is None
    assert store.cache.get("insurance", identity(2).id_number, max_age_s=86400) is None


def test_cache_entries_expire_after_the_ttl(store, clock):
    person = identity(1).id_number
    store.cache.put(person, insurance_check(at=T0))
    clock.advance(seconds=3600)
    assert store.cache.get("insurance", person, max_age_s=3601) is not None
    assert store.cache.get("insurance", person, max_age_s=3599) is None


def test_cache_keeps_the_newest_answer(store, clock):
    person = identity(1).id_number
    store.cache.put(person, insurance_check("valid", at=T0))
    clock.advance(minutes=1)
    store.record(result(), cache=[(person, insurance_check("suspended", at=clock.now))])
    store.cache.put(person, insurance_check("expired", at=T0))  # an older answer arriving late
    assert store.cache.get("insurance", person, max_age_s=1e9).status == "suspended"


def test_cache_scopes_are_separate(store):
    person = identity(1).id_number
    store.cache.put(person, insurance_check("valid"), scope="site-a")
    assert store.cache.get("insurance", person, max_age_s=1e9) is None
    assert store.cache.get("insurance", person, max_age_s=1e9, scope="site-a").status == "valid"


def test_bulk_cache_fill(store):
    count = store.cache.put_many((f"{i:012d}", insurance_check()) for i in range(12_345))
    assert count == 12_345 == store.cache.count()
    assert store.cache.get("insurance", f"{777:012d}", max_age_s=1e9).status == "valid"


# --- rosters ----------------------------------------------------------------------------------------


def test_rosters_are_stored_and_replaced(store, clock):
    entries = [(identity(i).id_number, {"candidate_no": f"B2-{i:04d}", "full_name": "Lê Văn Tám"}) for i in range(300)]
    assert store.rosters.save("SH-38-B2", {"centre": "Trung tâm Sát hạch lái xe Thanh Hóa"}, entries) == 300
    info = store.rosters.info("SH-38-B2")
    assert info.downloaded_at == T0 and info.info["centre"].startswith("Trung tâm")
    assert store.rosters.entry("SH-38-B2", identity(7).id_number)["candidate_no"] == "B2-0007"
    assert store.rosters.entry("SH-38-B2", identity(301).id_number) is None
    assert store.rosters.entry("OTHER", identity(7).id_number) is None
    clock.advance(hours=1)
    store.rosters.save("SH-38-B2", {}, entries[:1])
    assert store.rosters.entry("SH-38-B2", identity(7).id_number) is None
    clock.advance(hours=1)
    store.rosters.save("SH-01-A1", {}, [])
    assert store.rosters.info().session_id == "SH-01-A1"  # the latest download
    assert store.rosters.info("NONE") is None


# --- outbox -----------------------------------------------------------------------------------------


def test_outbox_pending_settle_and_status(store, clock):
    results = [result(identity(i)) for i in range(5)]
    for r in results:
        store.record(r, [event_for(r)])
    pending = store.outbox.pending(3)
    assert [p.event_id for p in pending] == [r.result_id for r in results[:3]]
    assert pending[0].payload["full_name"] == "Nguyễn Thị Thu Hằng"
    store.outbox.note_attempt_failed([pending[0].event_id], "BackendUnavailableError: down")
    clock.advance(minutes=1)
    store.outbox.settle(delivered=[pending[0].event_id, pending[1].event_id],
                        rejected={pending[2].event_id: "bad shape"})
    status = store.outbox.status()
    assert (status.pending, status.sent, status.failed) == (2, 2, 1)
    assert status.oldest_pending_at == T0 and status.last_sent_at == clock.now
    assert status.last_error == "rejected by the backend: bad shape"
    assert store.outbox.state(pending[0].event_id) == "sent" and store.outbox.state(pending[2].event_id) == "failed"
    assert store.outbox.state("nothing") is None
    assert [p.event_id for p in store.outbox.pending(10)] == [r.result_id for r in results[3:]]
    store.outbox.settle(delivered=[pending[2].event_id])  # a failed event is not silently flipped to sent
    assert store.outbox.state(pending[2].event_id) == "failed"
    assert status.to_json()["pending"] == 2


# --- retention --------------------------------------------------------------------------------------


def test_personal_data_is_purged_after_the_retention_period(store, clock):
    old, pending_old = result(identity(1)), result(identity(2))
    store.record(old, [event_for(old)], cache=[(old.identity.id_number, insurance_check(at=T0))])
    store.record(pending_old, [event_for(pending_old)])
    store.rosters.save("S1", {}, [(identity(3).id_number, {"candidate_no": "1"})])
    store.outbox.settle(delivered=[old.result_id])
    clock.advance(days=29)
    fresh = result(identity(4), at=clock.now)
    store.record(fresh, cache=[(fresh.identity.id_number, insurance_check(at=clock.now))])
    clock.advance(days=2)
    report = store.purge(retention_days=30)
    assert (report.results, report.cache, report.outbox, report.rosters) == (2, 1, 1, 1)
    assert store.results.get(old.result_id) is None and store.results.for_person(old.identity.id_number) == []
    assert store.results.get(fresh.result_id) == fresh
    assert store.cache.get("insurance", old.identity.id_number, max_age_s=1e12) is None
    assert store.cache.get("insurance", fresh.identity.id_number, max_age_s=1e12) is not None
    assert store.rosters.info("S1") is None and store.rosters.entry("S1", identity(3).id_number) is None
    assert [p.event_id for p in store.outbox.pending(10)] == [pending_old.result_id]  # undelivered: kept
    assert store.results.count() == 3  # the non-personal rows stay for counts


# --- nothing personal in clear ---------------------------------------------------------------------


def test_database_and_wal_hold_no_plaintext_personal_data(tmp_path, clock):
    store = open_store(tmp_path, clock)
    person = identity(42, "Phạm Thị Ngọc Ánh")
    res = result(person)
    store.record(res, [event_for(res)], cache=[(person.id_number, insurance_check())])
    store.rosters.save("SH-38-B2", {"centre": "x"}, [(person.id_number, {"full_name": person.full_name})])
    database, wal = tmp_path / "agent.sqlite3", tmp_path / "agent.sqlite3-wal"
    assert wal.exists() and wal.stat().st_size > 0
    secrets_ = [person.id_number, person.full_name, person.full_name.upper(),
                unicodedata.normalize("NFD", person.full_name), "Ngọc Ánh", "Lê Lợi", "Quảng Tâm",
                "GD4383812345678", "1987-05-06", "06/05/1987", res.chip_receipt["files"]["DG13"]]
    key = KeyFile(tmp_path / "keys" / "store.key").load(create=False)
    try:
        for path in (database, wal):
            raw = path.read_bytes()
            assert key not in raw
            for secret in secrets_:
                for encoding in ("utf-8", "utf-16-le"):
                    assert secret.encode(encoding) not in raw, (path.name, secret, encoding)
    finally:
        store.close()
    raw = database.read_bytes()  # after the checkpoint on close, everything is in the main file
    assert store.path == database and raw.startswith(b"SQLite format 3\x00")
    for secret in secrets_:
        assert secret.encode() not in raw
    # ... and it all comes back with the key.
    with open_store(tmp_path, clock) as again:
        assert again.results.get(res.result_id).identity.full_name == "Phạm Thị Ngọc Ánh"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_database_file_is_private(tmp_path, clock):
    with open_store(tmp_path, clock) as store:
        store.record(result())
        for path in tmp_path.glob("agent.sqlite3*"):
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


# --- opening, migrations, keys ------------------------------------------------------------------


def test_reopening_keeps_everything_and_schema_is_current(tmp_path, clock):
    res = result()
    with open_store(tmp_path, clock) as store:
        store.record(res, [event_for(res)])
    with open_store(tmp_path, clock) as store:
        assert store.results.get(res.result_id) == res
        assert store.db.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert store.db.journal_mode == "wal"


def _seal(keys: StoreKeys, data, context: bytes) -> bytes:
    return keys.seal(json.dumps(data, ensure_ascii=False).encode(), context)


def test_a_store_file_in_the_format_written_so_far_still_opens(tmp_path, clock):
    """The file format is the contract with every store already out there: rows hashed and sealed by
    hand here, the way agents have always written them, read back through the repositories."""
    keys = StoreKeys(KeyFile(tmp_path / "keys" / "store.key").load(create=True))
    person, at = identity(1), T0.timestamp()
    stored = {"result_id": "r-1", "source": "chip", "identity": person.to_json(), "created_at": T0.isoformat(),
              "verdict": "verified", "reasons": ["insurance: valid"],
              # before the chip receipt had its own field, it was inside "authenticity"
              "authenticity": {"passive": "ok", "chip": "ok", "receipt": {"files": {"DG1": "AAA="}}},
              "checks": [insurance_check().to_json()], "site_profile": "clinic", "operator": "le-tan-1"}
    cache_lookup, roster_lookup = keys.lookup("insurance", person.id_number), keys.lookup("roster", person.id_number,
                                                                                          "S1")
    conn = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None)
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO meta VALUES ('key_check', ?)", (keys.check_value.hex(),))
    conn.execute("INSERT INTO results VALUES ('r-1', ?, 'verified', 'clinic', 'chip', ?, ?)",
                 (at, keys.lookup("result", person.id_number), _seal(keys, stored, b"result\x00r-1")))
    conn.execute("INSERT INTO check_cache VALUES (?, ?, ?)", (cache_lookup, at, _seal(
        keys, {"kind": "insurance", "status": "expired", "details": {"card_number": "GD4383812345678"}},
        b"cache\x00" + cache_lookup)))
    conn.execute("INSERT INTO roster_sessions VALUES ('S1', ?, ?)", (at, '{"centre": "Thanh Hóa"}'))
    conn.execute("INSERT INTO roster_entries VALUES ('S1', ?, ?)",
                 (roster_lookup, _seal(keys, {"candidate_no": "B2-0001"}, b"roster\x00S1" + roster_lookup)))
    conn.execute("INSERT INTO outbox (event_id, destination, created_at, updated_at, payload) VALUES"
                 " ('r-1', 'insurance', ?, ?, ?)", (at, at, _seal(keys, {"x": 1}, b"outbox\x00r-1")))
    conn.close()
    with open_store(tmp_path, clock) as store:
        found = store.results.get("r-1")
        assert found.identity == person and found.evidence.passive is Status.OK
        assert found.chip_receipt == {"files": {"DG1": "AAA="}} and found.checks == (insurance_check(),)
        assert [r.result_id for r in store.results.for_person(person.id_number)] == ["r-1"]
        assert store.cache.get("insurance", person.id_number, max_age_s=60).status == "expired"
        assert store.rosters.info("S1").info == {"centre": "Thanh Hóa"}
        assert store.rosters.entry("S1", person.id_number) == {"candidate_no": "B2-0001"}
        assert [(item.event_id, item.payload) for item in store.outbox.pending(10)] == [("r-1", {"x": 1})]


def test_rows_are_written_in_the_format_so_far(tmp_path, clock):
    res = result()
    with open_store(tmp_path, clock) as store:
        store.record(res, [event_for(res)], cache=[(res.identity.id_number, insurance_check())],
                     roster=RosterCopy("S1", {"centre": "Thanh Hóa"}, ((res.identity.id_number, {"n": 1}),)))
        keys = store.database.keys
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:
        row = conn.execute("SELECT created_at, verdict, profile, source, lookup, payload FROM results").fetchone()
        cache = conn.execute("SELECT lookup, checked_at, payload FROM check_cache").fetchone()
        session = conn.execute("SELECT session_id, downloaded_at, info FROM roster_sessions").fetchone()
        entry = conn.execute("SELECT lookup, payload FROM roster_entries").fetchone()
        event = conn.execute("SELECT event_id, state, payload FROM outbox").fetchone()
    person = res.identity.id_number
    assert row[:5] == (T0.timestamp(), "verified", "clinic", "chip", keys.lookup("result", person))
    assert json.loads(keys.open(row[5], b"result\x00" + res.result_id.encode())) == res.to_json(with_chip_receipt=True)
    assert cache[:2] == (keys.lookup("insurance", person), T0.timestamp())
    assert json.loads(keys.open(cache[2], b"cache\x00" + cache[0])) == {
        "kind": "insurance", "status": "valid", "details": insurance_check().details}
    assert session == ("S1", T0.timestamp(), '{"centre": "Thanh Hóa"}')
    assert entry[0] == keys.lookup("roster", person, "S1")
    assert json.loads(keys.open(entry[1], b"roster\x00S1" + entry[0])) == {"n": 1}
    assert event[:2] == (res.result_id, "pending")
    assert json.loads(keys.open(event[2], b"outbox\x00" + res.result_id.encode())) == event_for(res).payload


def test_a_store_missing_a_table_is_refused_and_left_as_it_is(tmp_path, clock):
    open_store(tmp_path, clock).close()
    path = tmp_path / "agent.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE check_cache")
    before = path.read_bytes()
    with pytest.raises(StoreCorruptError, match="check_cache"):
        open_store(tmp_path, clock)  # at open, not at the first write; and never created again
    assert path.read_bytes() == before


def test_a_store_from_a_newer_agent_is_refused(tmp_path, clock):
    open_store(tmp_path, clock).close()
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(StoreError, match="newer agent"):
        open_store(tmp_path, clock)


def test_a_missing_key_file_is_an_error_and_no_new_key_is_made(tmp_path, clock):
    with open_store(tmp_path, clock) as store:
        store.record(result())
    (tmp_path / "keys" / "store.key").unlink()
    with pytest.raises(StoreError, match="missing"):
        open_store(tmp_path, clock)
    assert not (tmp_path / "keys" / "store.key").exists()


def test_the_wrong_key_is_a_corrupt_store_error(tmp_path, clock):
    with open_store(tmp_path, clock) as store:
        store.record(result())
    other = KeyFile(tmp_path / "other.key")
    other.load(create=True)
    with pytest.raises(StoreCorruptError, match="another key"):
        Store.open(tmp_path / "agent.sqlite3", other, clock=clock)


def test_a_tampered_sealed_value_is_a_corrupt_store_error(tmp_path, clock):
    res = result()
    with open_store(tmp_path, clock) as store:
        store.record(res)
    with sqlite3.connect(tmp_path / "agent.sqlite3") as conn:
        (payload,) = conn.execute("SELECT payload FROM results").fetchone()
        conn.execute("UPDATE results SET payload = ?", (payload[:-1] + bytes([payload[-1] ^ 1]),))
    with open_store(tmp_path, clock) as store:
        with pytest.raises(StoreCorruptError):
            store.results.get(res.result_id)


def _damaged_copy(tmp_path, clock, damage):
    with open_store(tmp_path, clock) as store:
        for i in range(80):
            r = result(identity(i))
            store.record(r, [event_for(r)])
    path = tmp_path / "agent.sqlite3"
    data = bytearray(path.read_bytes())
    damage(data)
    path.write_bytes(bytes(data))
    return path, bytes(data)


@pytest.mark.parametrize("damage", [
    pytest.param(lambda d: d.__setitem__(slice(0, 100), b"\x5a" * 100), id="header"),
    pytest.param(lambda d: d.__setitem__(slice(100, 4096), os.urandom(3996)), id="schema-page"),
    pytest.param(lambda d: d.__setitem__(slice(4096, len(d)), b"\xff" * (len(d) - 4096)), id="data-pages"),
    pytest.param(lambda d: d.__delitem__(slice(len(d) // 2, len(d))), id="truncated"),
])
def test_a_damaged_file_gives_store_corrupt_error_and_is_left_as_it_is(tmp_path, clock, damage):
    path, damaged = _damaged_copy(tmp_path, clock, damage)
    with pytest.raises(StoreCorruptError):
        store = open_store(tmp_path, clock)
        try:  # some damage shows only when the data is read
            store.outbox.pending(500)
            store.outbox.status()
            store.results.count()
            for r in store.results.for_person(identity(1).id_number):
                assert r
        finally:
            store.close()
    assert path.read_bytes() == damaged  # never "repaired" by deleting or recreating


def test_a_locked_store_gives_store_locked_error_and_loses_nothing(tmp_path, clock):
    store = open_store(tmp_path, clock, busy_timeout_s=0.2)
    first = result(identity(1))
    store.record(first, [event_for(first)])
    holder = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        blocked = result(identity(2))
        with pytest.raises(StoreLockedError) as caught:
            store.record(blocked, [event_for(blocked)])
        assert caught.value.retryable
        with pytest.raises(StoreLockedError):
            open_store(tmp_path, clock, busy_timeout_s=0.2)
        assert store.results.get(first.result_id) == first  # WAL readers still read
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.record(blocked, [event_for(blocked)])  # the same write, once the lock is gone
    assert store.results.count() == 2 and store.outbox.status().pending == 2
    store.close()


def test_a_writer_waits_for_a_short_lock_instead_of_failing(tmp_path, clock):
    store = open_store(tmp_path, clock, busy_timeout_s=5)
    holder = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: (holder.execute("COMMIT"), holder.close()))
    release.start()
    store.record(result())
    release.join()
    assert store.results.count() == 1
    store.close()


def test_an_unopenable_path_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        Store.open(blocker / "agent.sqlite3", KeyFile(tmp_path / "store.key"))

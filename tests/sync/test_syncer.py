"""The syncer: batches, receipts, failures that keep events queued, backoff, the run loop (no crash
loop on a damaged store), and exactly-once delivery to the real mock backend while it loses answers
or dies mid-batch."""

from __future__ import annotations

import dataclasses
import random
import threading

import pytest

from agent.checks.http import BackendHttp, new_session
from agent.checks.insurance import InsuranceClient
from agent.checks.licensing import LicensingClient
from agent.checks.uploader import BackendUploader
from agent.errors import BackendRejectedError, BackendResponseError, BackendUnavailableError, StoreCorruptError
from simulators.backends.server import MockBackends
from sync.syncer import DrainReport, Syncer
from tests.sync.helpers import Clock, event_for, identity, open_store, result


@dataclasses.dataclass(frozen=True)
class Receipt:
    status: str
    reason: str = ""


class FakeUploader:
    """Accepts everything, unless told to fail; remembers every batch."""

    def __init__(self):
        self.batches: list[tuple[str, list[dict]]] = []
        self.failures: list[Exception] = []
        self.answers: dict[str, Receipt] = {}
        self.seen: set[str] = set()

    def upload(self, destination, events):
        self.batches.append((destination, [dict(e) for e in events]))
        if self.failures:
            raise self.failures.pop(0)
        receipts = {}
        for e in events:
            answer = self.answers.get(e["event_id"])
            if answer is None:
                answer = Receipt("duplicate" if e["event_id"] in self.seen else "accepted")
            self.seen.add(e["event_id"])
            receipts[e["event_id"]] = answer
        return receipts


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path, Clock()) as opened:
        yield opened


def queue(store, count, destination="insurance"):
    ids = []
    for i in range(count):
        r = result(identity(i))
        store.record(r, [event_for(r, destination)])
        ids.append(r.result_id)
    return ids


def test_drains_in_batches_oldest_first(store):
    ids = queue(store, 7)
    uploader = FakeUploader()
    report = Syncer(store, uploader, batch_size=3).drain()
    assert report == DrainReport(delivered=7, remaining=0) and report.complete
    assert [len(b) for _, b in uploader.batches] == [3, 3, 1]
    assert [e["event_id"] for _, b in uploader.batches for e in b] == ids
    assert store.outbox.status().sent == 7
    assert Syncer(store, uploader).drain() == DrainReport()  # nothing left, nothing sent
    assert len(uploader.batches) == 3


def test_events_go_to_their_own_backend(store):
    queue(store, 2, "insurance")
    queue(store, 2, "licensing")
    uploader = FakeUploader()
    Syncer(store, uploader, batch_size=10).drain()
    assert [(d, len(b)) for d, b in uploader.batches] == [("insurance", 2), ("licensing", 2)]


def test_the_event_id_sent_is_the_outbox_key(store):
    r = result()
    store.record(r, [dataclasses.replace(event_for(r), payload={"event_id": "forged", "x": 1})])
    uploader = FakeUploader()
    Syncer(store, uploader).drain()
    assert uploader.batches[0][1] == [{"event_id": r.result_id, "x": 1}]


@pytest.mark.parametrize(("failure", "noted"), [
    (BackendUnavailableError("insurance: HTTP 503"), "insurance: backend unavailable (HTTP 503)"),
    # the backend may have stored it: try again later, it dedupes
    (BackendResponseError("garbled"), "insurance: backend malformed answer"),
    # e.g. a wrong token: fix it, nothing is dropped
    (BackendRejectedError("HTTP 401 (id 001089012345 unknown)", status=401), "insurance: backend rejected (HTTP 401)"),
])
def test_a_failed_batch_stays_queued_and_is_noted(store, failure, noted):
    ids = queue(store, 4)
    uploader = FakeUploader()
    uploader.failures.append(failure)
    report = Syncer(store, uploader, batch_size=2).drain()
    assert report.delivered == 0 and report.remaining == 4 and not report.complete
    assert report.error == noted  # classified: the backend's own text is not kept
    status = store.outbox.status()
    assert status.pending == 4 and status.last_error == noted
    assert store.outbox.pending(1)[0].attempts == 1
    assert Syncer(store, uploader, batch_size=2).drain().delivered == 4
    assert store.outbox.status().sent == 4 and [e["event_id"] for e in uploader.batches[-1][1]] == ids[2:]


def test_rejected_events_are_kept_as_failed_and_do_not_block_the_rest(store):
    ids = queue(store, 3)
    uploader = FakeUploader()
    uploader.answers[ids[1]] = Receipt("rejected", "unknown session")
    report = Syncer(store, uploader).drain()
    assert (report.delivered, report.rejected, report.remaining) == (2, 1, 0)
    status = store.outbox.status()
    assert (status.sent, status.failed) == (2, 1) and "unknown session" in status.last_error
    assert store.outbox.state(ids[1]) == "failed"


def test_events_without_a_receipt_stay_pending(store):
    ids = queue(store, 2)

    class HalfUploader(FakeUploader):
        def upload(self, destination, events):
            return dict(list(super().upload(destination, events).items())[:1])

    report = Syncer(store, HalfUploader()).drain()
    assert report.delivered == 1 and report.remaining == 1 and "no receipt" in report.error
    assert store.outbox.state(ids[1]) == "pending"


def test_duplicates_count_as_delivered(store):
    ids = queue(store, 2)
    uploader = FakeUploader()
    uploader.seen.add(ids[0])  # the backend got it before we were killed
    report = Syncer(store, uploader).drain()
    assert (report.delivered, report.duplicates) == (1, 1) and store.outbox.status().sent == 2


def test_max_batches_limits_a_pass(store):
    queue(store, 5)
    report = Syncer(store, FakeUploader(), batch_size=2).drain(max_batches=1)
    assert report.delivered == 2 and report.remaining == 3


def test_backoff_grows_with_jitter_up_to_a_cap(store):
    syncer = Syncer(store, FakeUploader(), backoff_base_s=1, backoff_max_s=60, rng=random.Random(3))
    for failures, step in [(1, 1), (2, 2), (3, 4), (7, 60), (30, 60)]:
        delays = [syncer.backoff_delay(failures) for _ in range(100)]
        assert all(step / 2 <= d <= step for d in delays) and len(set(delays)) > 50


def test_run_loop_backs_off_while_failing_and_recovers(store):
    queue(store, 3)
    uploader = FakeUploader()
    uploader.failures += [BackendUnavailableError("down")] * 2
    stop = threading.Event()
    reports: list[DrainReport] = []

    def on_report(report):
        reports.append(report)
        if report.complete:
            stop.set()

    syncer = Syncer(store, uploader, backoff_base_s=0.01, backoff_max_s=0.02)
    syncer.run(interval_s=30, stop=stop, retention_days=30, on_report=on_report)
    assert [bool(r.error) for r in reports] == [True, True, False]
    assert store.outbox.status().sent == 3


def test_run_loop_stops_on_a_damaged_store_instead_of_looping(tmp_path):
    store = open_store(tmp_path, Clock())
    queue(store, 1)
    path = tmp_path / "agent.sqlite3"
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\x00\xff" * 1998
    path.write_bytes(bytes(data))
    reports: list[DrainReport] = []
    with pytest.raises(StoreCorruptError):
        broken = open_store(tmp_path, Clock())
        Syncer(broken, FakeUploader()).run(interval_s=0.01, stop=threading.Event(), on_report=reports.append)
    assert reports == []


def test_run_loop_waits_out_a_locked_store(tmp_path):
    import sqlite3

    store = open_store(tmp_path, Clock(), busy_timeout_s=0.05)
    queue(store, 2)
    holder = sqlite3.connect(tmp_path / "agent.sqlite3", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    stop = threading.Event()
    reports: list[DrainReport] = []

    def on_report(report):
        reports.append(report)
        if len(reports) == 2:
            holder.execute("ROLLBACK")
        if report.complete:
            stop.set()

    Syncer(store, FakeUploader(), backoff_base_s=0.01, backoff_max_s=0.02).run(
        interval_s=30, stop=stop, on_report=on_report)
    holder.close()
    assert "locked" in reports[0].error and reports[-1].complete and store.outbox.status().sent == 2
    store.close()


# --- against the real mock backend ----------------------------------------------------------------

TOKEN = "tok-sync"


def real_uploader(backends, *, retries=0):
    session = new_session()

    def http(name, url):
        return BackendHttp(session, url, name=name, token=TOKEN, connect_timeout_s=0.5, read_timeout_s=2,
                           retries=retries, backoff_base_s=0.005, rng=random.Random(0))

    return BackendUploader(InsuranceClient(http("insurance", backends.insurance_url)),
                           LicensingClient(http("licensing", backends.licensing_url)))


def insurance_events(store, count):
    ids = []
    for i in range(count):
        r = result(identity(i))
        store.record(r, [dataclasses.replace(event_for(r), payload={
            "event_id": r.result_id, "type": "insurance_checkin", "id_number": r.identity.id_number,
            "occurred_at": r.created_at.isoformat()})])
        ids.append(r.result_id)
    return ids


def test_exactly_once_when_the_backend_loses_its_answers(store):
    ids = insurance_events(store, 60)
    with MockBackends(token=TOKEN) as backends:
        backends.set_faults(ack_loss_rate=0.5)
        syncer = Syncer(store, real_uploader(backends), batch_size=7)
        for _ in range(60):
            if syncer.drain().complete:
                break
        assert store.outbox.status().sent == 60
        stored = backends.events()
        assert sorted(e["event_id"] for e in stored) == sorted(ids)  # each once
        assert backends.services.deliveries > 60  # and some were really sent twice


def test_backend_dying_mid_batch_then_returning(store):
    ids = insurance_events(store, 30)
    with MockBackends(token=TOKEN) as backends:
        uploader = real_uploader(backends)

        class DiesAfterOneBatch:
            def __init__(self):
                self.calls = 0

            def upload(self, destination, events):
                self.calls += 1
                if self.calls == 2:
                    # The backend takes this batch in, then dies before answering.
                    answer = uploader.upload(destination, events)
                    backends.stop()
                    assert all(r.status == "accepted" for r in answer.values())
                    raise BackendUnavailableError("connection lost")
                return uploader.upload(destination, events)

        report = Syncer(store, DiesAfterOneBatch(), batch_size=10).drain()
        assert report.delivered == 10 and report.remaining == 20 and report.error
        assert Syncer(store, uploader, batch_size=10).drain().remaining == 20  # still down
        backends.start()
        report = Syncer(store, uploader, batch_size=10).drain()
        assert report.complete and (report.delivered, report.duplicates) == (10, 10)
        assert sorted(e["event_id"] for e in backends.events()) == sorted(ids)

"""A verdict while the card is still reading (agent.service.lookahead through the desk service): the
lookup starts as soon as DG13 is in (or the QR is read), the desk shows the identity then the face then
the verdict, one answer serves a QR and the card tapped after it, and a chip that fails its checks is
rejected whatever the lookup said. Ordering is asserted, never timing."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator

import pytest

from agent.api.views import event_view
from agent.errors import CardRemovedError, IdentityDetailsMissingError
from agent.models import CheckKind, InsuranceQuery, Verdict
from agent.service.lookahead import Lookahead
from agent.service.state import PreviewShown, ReaderChanged, ResultShown
from tests.api.desk_fakes import (
    FACE,
    GENUINE,
    ID_HANG,
    NAME_HANG,
    TAMPERED,
    Desk,
    FakeCard,
    FakeChipRead,
    FakeInsurance,
    identity,
    make_desk,
    qr_text,
)


class TimelineInsurance(FakeInsurance):
    """Notes when each lookup starts and ends on a shared timeline; may be held until released."""

    def __init__(self, timeline: list[str]) -> None:
        super().__init__()
        self.timeline = timeline
        self.release = threading.Event()
        self.release.set()

    def lookup(self, query: InsuranceQuery):
        self.timeline.append("lookup started")
        self.release.wait(10)
        answer = super().lookup(query)
        self.timeline.append("lookup done")
        return answer


@pytest.fixture
def timeline() -> list[str]:
    return []


@pytest.fixture
def desk(tmp_path, timeline) -> Iterator[Desk]:
    made = make_desk(tmp_path, insurance=TimelineInsurance(timeline))
    yield made
    made.close()


def test_the_lookup_starts_once_dg13_is_in_and_the_verdict_waits_for_it(desk, timeline):
    desk.service.expect_card(ID_HANG)
    desk.insurance.release.clear()  # the gateway is slow: it answers once the chip read is over
    card = FakeCard(FakeChipRead(identity(), GENUINE))
    original = desk.chip.read

    def read(*args, **kwargs):
        answer = original(*args, **kwargs)
        timeline.append("chip read done")
        desk.insurance.release.set()
        return answer

    desk.chip.read = read
    result = desk.service.verify_chip(card, reader="Test reader").result
    assert timeline == ["lookup started", "chip read done", "lookup done"]  # the two ran side by side
    assert result.verdict is Verdict.VERIFIED and result.checks[0].status == "valid"
    assert desk.insurance.calls == 1
    assert desk.insurance.queries[0].full_name == NAME_HANG  # from DG13, before the checks
    assert desk.store.cache.get(CheckKind.INSURANCE, ID_HANG, max_age_s=3600) is not None  # kept as any answer


def test_the_desk_shows_the_identity_then_the_face_then_the_verdict(desk):
    desk.service.expect_card(ID_HANG)
    loop = asyncio.new_event_loop()
    try:
        subscription = desk.service.hub.subscribe(loop)
        result = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader").result

        async def drain() -> list:
            got = []
            while True:
                try:
                    got.append((await subscription.get(0.2)).event)
                except TimeoutError:
                    return got

        events = [e for e in loop.run_until_complete(drain()) if not isinstance(e, ReaderChanged)]
    finally:
        loop.close()
    assert [type(e) for e in events] == [PreviewShown, PreviewShown, ResultShown]
    first, second, last = events
    assert first.preview.stage == "identity" and first.preview.face is None
    assert second.preview.stage == "face" and second.preview.face == FACE
    assert first.preview.result_id == second.preview.result_id == result.result_id == last.desk.result_id
    name, view = event_view(first)
    assert name == "preview" and view["display"]["full_name"] == NAME_HANG
    assert view["display"]["id_masked"] == "038*******34" and ID_HANG not in str(view)
    assert view["text"]["key"] == "desk.checking" and view["face"] is None
    assert event_view(second)[1]["face"].startswith("data:image/jpeg;base64,")


def test_a_chip_that_fails_its_checks_is_rejected_whatever_the_lookup_said(desk):
    desk.service.expect_card(ID_HANG)
    result = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), TAMPERED)), reader="Test reader").result
    assert desk.insurance.calls == 1  # it was asked, as soon as DG13 was in
    assert result.verdict is Verdict.REJECTED and not result.checks
    assert desk.store.cache.get(CheckKind.INSURANCE, ID_HANG, max_age_s=3600) is None


def test_a_qr_then_its_card_share_one_lookup(desk):
    qr = desk.service.verify_qr_text(qr_text()).result
    chip = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader").result
    assert desk.insurance.calls == 1
    assert qr.checks[0].status == chip.checks[0].status == "valid"
    assert qr.verdict is Verdict.VERIFIED and chip.verdict is Verdict.VERIFIED


def test_another_person_or_another_operator_is_looked_up_anew(desk):
    desk.service.verify_qr_text(qr_text())
    someone_else = identity(name="Nguyễn Thị Thu Hà")  # the same number, another name: not the same question
    desk.service.verify_chip(FakeCard(FakeChipRead(someone_else, GENUINE)), reader="Test reader")
    assert desk.insurance.calls == 2


def test_a_card_pulled_after_dg13_gives_no_result_and_the_next_tap_uses_the_answer(desk):
    desk.service.expect_card(ID_HANG)
    pulled = FakeCard(FakeChipRead(identity(), GENUINE), fails_after_identity=CardRemovedError("card removed"))
    assert desk.service.verify_chip(pulled, reader="Test reader") is None
    assert desk.service.reader_state.state == "error" and desk.service.latest() is None
    desk.service.expect_card(ID_HANG)
    result = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader").result
    assert result.verdict is Verdict.VERIFIED and desk.insurance.calls == 1
    desk.service.expect_card(ID_HANG)
    desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader")
    assert desk.insurance.calls == 2  # a chip's result used the answer up: the next tap asks again


def test_an_old_answer_is_not_taken(desk):
    now = [1000.0]
    lookahead = Lookahead(desk.service.policy, desk.service.entitlement, clock=desk.service._clock,
                          monotonic=lambda: now[0], max_age_s=60.0)
    lookahead.start(identity(), None)
    assert lookahead.take(identity(), None, keep=True).check.status == "valid"
    now[0] += 61.0
    assert lookahead.take(identity(), None) is None
    lookahead.start(identity(), None)
    assert lookahead.take(identity(), None) is not None and desk.insurance.calls == 2


def test_a_failed_lookup_ahead_leaves_the_pipeline_to_ask_itself(desk):
    lookahead = Lookahead(desk.service.policy, desk.service.entitlement, clock=desk.service._clock)

    class BrokenError(Exception):
        pass

    def broken(*_args, **_kwargs):
        raise BrokenError

    lookahead.policy = type("BrokenPolicy", (), {"assess": staticmethod(broken)})()
    lookahead.start(identity(), None)
    assert lookahead.take(identity(), None) is None
    assert lookahead.take(identity(id_number="001099012345"), None) is None  # nothing started for this one


def test_a_typed_number_with_name_and_birth_date_then_its_card_share_one_lookup(desk):
    typed = desk.service.verify_manual(ID_HANG, {"full_name": NAME_HANG, "date_of_birth": "06/05/1987"}).result
    chip = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader").result
    assert desk.insurance.calls == 1 and typed.checks[0].status == chip.checks[0].status == "valid"
    desk.service.verify_manual(ID_HANG)  # the number alone: another question (no name), asked anew
    assert desk.insurance.calls == 2


def test_the_same_code_shown_again_is_asked_anew(desk):
    desk.service.verify_qr_text(qr_text())
    desk.insurance.down = True
    again = desk.service.verify_qr_text(qr_text()).result
    assert desk.insurance.calls == 2 and again.checks[0].from_cache  # today's answer, or the store's


class DetailsNeeded(FakeInsurance):
    """An insurance port that, like the BHXH gateway, cannot look up without a birth date."""

    def lookup(self, query: InsuranceQuery):
        if query.date_of_birth is None and query.birth_year is None:
            self.calls += 1
            raise IdentityDetailsMissingError("needs the date of birth", field="date_of_birth")
        return super().lookup(query)


def test_a_card_without_a_birth_date_keeps_its_result_and_cannot_be_checked(tmp_path):
    desk = make_desk(tmp_path, insurance=DetailsNeeded())
    try:
        desk.service.expect_card(ID_HANG)
        undated = dataclasses.replace(identity(), date_of_birth=None)
        result = desk.service.verify_chip(FakeCard(FakeChipRead(undated, GENUINE)), reader="Test reader").result
        assert result.verdict is Verdict.CANNOT_CHECK and result.checks[0].status == "unavailable"
        assert result.checks[0].details["field"] == "date_of_birth"
        assert "check.insurance.details_missing" in result.reasons
        assert desk.service.latest().next_steps == ("next.type_identity_details",)
        assert desk.store.results.get(result.result_id) is not None  # the chip's result is kept
        with pytest.raises(IdentityDetailsMissingError):  # typed: the operator is asked for it
            desk.service.verify_manual(ID_HANG)
    finally:
        desk.close()



class DetailsNeededSeen(DetailsNeeded):
    """DetailsNeeded that says when a lookup it could answer (one with a birth date) has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.answerable = threading.Event()

    def lookup(self, query: InsuranceQuery):
        if query.date_of_birth is not None or query.birth_year is not None:
            self.answerable.set()
        return super().lookup(query)


def answered(insurance: FakeInsurance) -> int:
    return sum(1 for query in insurance.queries if query.date_of_birth is not None)


def test_a_number_alone_for_a_returning_card_looks_its_earlier_identity_up_before_the_tap(tmp_path):
    """At the gateway a typed number alone cannot be looked up: for a card read here before, the lookup
    for who it said it was starts at once (before the tap), and the tap takes that answer."""
    desk = make_desk(tmp_path, insurance=DetailsNeededSeen())
    try:
        desk.service.expect_card(ID_HANG)
        desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader")
        assert answered(desk.insurance) == 1  # the first visit: looked up once DG13 was in
        desk.insurance.answerable.clear()

        with pytest.raises(IdentityDetailsMissingError):
            desk.service.verify_manual(ID_HANG)  # the operator is still asked for the details
        assert desk.insurance.answerable.wait(5)  # asked before the card is on the reader
        result = desk.service.verify_chip(FakeCard(FakeChipRead(identity(), GENUINE)), reader="Test reader").result
        assert answered(desk.insurance) == 2  # the tap took the answer asked ahead
        assert result.verdict is Verdict.VERIFIED and result.checks[0].status == "valid"
        assert desk.insurance.queries[-1].full_name == NAME_HANG
    finally:
        desk.close()


def test_a_number_alone_looks_nothing_up_ahead_for_a_card_never_read_or_one_that_failed(tmp_path):
    desk = make_desk(tmp_path, insurance=DetailsNeededSeen())
    try:
        with pytest.raises(IdentityDetailsMissingError):
            desk.service.verify_manual(ID_HANG)  # never read here
        assert desk.service.lookahead.started == 1  # the typed number only (refused by the port)

        desk.service.verify_chip(FakeCard(FakeChipRead(identity(), TAMPERED)), reader="Test reader")
        started = desk.service.lookahead.started
        with pytest.raises(IdentityDetailsMissingError):
            desk.service.verify_manual(ID_HANG)  # read here, but its checks failed: not trusted to ask by
        assert desk.service.lookahead.started == started + 1
    finally:
        desk.close()

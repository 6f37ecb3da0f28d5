"""Fuzzing as part of the suite (issue 13): every parser that sees outside data gets a bounded number of
structure-aware examples on every run (tests/fuzz/targets.py says what each target builds), and may
raise only the agent's typed errors. benchmarks/fuzz.py runs the same targets for a long campaign.

The inputs that once broke a parser are replayed first, as explicit examples."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.errors import AgentError, DocumentError
from tests.fuzz import targets as t


@pytest.mark.parametrize("target", t.TARGETS, ids=lambda target: target.name)
def test_only_typed_errors(target: t.Target) -> None:
    strategy = target.inputs()

    @settings(max_examples=target.examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(value=strategy)
    def check(value: Any) -> None:
        t.exercise(target, value)

    check()


def test_the_targets_are_named_once() -> None:
    assert len(t.BY_NAME) == len(t.TARGETS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("security_infos", t.DEFECT_1),  # issue 13 item 1: a DH PACEDomainParameterInfo with p only
        ("lds.DG14", t.wrap(0x6E, t.DEFECT_1)),
        ("backend.json", t.HOSTILE_JSON[0]),
        ("backend.json", t.HOSTILE_JSON[2]),
        ("receipt", t.HOSTILE_JSON[2]),
        ("receipt", t.HOSTILE_JSON[0]),
    ],
)
def test_inputs_that_once_escaped_are_typed_errors_now(name: str, value: Any) -> None:
    with pytest.raises(AgentError):
        t.BY_NAME[name].run(value)


@given(st.sampled_from(["DG14", "EF.CardAccess"]))
@example("DG14")
def test_defect_1_bytes_name_their_file(name: str) -> None:
    from agent.icao.security_infos import parse_security_infos

    with pytest.raises(DocumentError) as raised:
        parse_security_infos(t.DEFECT_1, file=name)
    assert raised.value.file == name


def test_a_hostile_answer_never_becomes_a_check() -> None:
    # The seed answers are good ones: the targets start from the right shape.
    for name, answers in (("backend.insurance", [(200, json.dumps(t.INSURANCE_ANSWER).encode())]),
                          ("backend.events", [(200, json.dumps(t.EVENTS_ANSWER).encode())])):
        t.BY_NAME[name].run(answers)

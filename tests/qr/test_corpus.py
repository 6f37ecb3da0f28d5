"""The seeded corpus and its generator: reproducible frames, consistent made-up people whose payloads
the agent's (independently written) parser accepts, and detection on a small sample of each tier
(the fixed-focus tier and its steady-card streams included).

The sample is a smoke check that the generator and the pipeline fit together; the detection rates
themselves are measured by benchmarks/qr.py on the full corpus."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from agent.id_number import id_consistency_problems
from agent.qr.decoder import create_decoder
from agent.qr.payload import parse_cccd
from simulators.camera import corpus
from simulators.camera.qr_image import QrEncodeError, qr_matrix, render_qr
from simulators.camera.vietnamese import cccd_payload, random_person

SEED = 77
SAMPLE = 6


@pytest.fixture(scope="module")
def decoder():  # type: ignore[no-untyped-def]
    return create_decoder()


def test_frames_are_a_pure_function_of_their_coordinates() -> None:
    a = corpus.make_frame(seed=SEED, tier="hard", size=(640, 480), index=3)
    b = corpus.make_frame(seed=SEED, tier="hard", size=(640, 480), index=3)
    c = corpus.make_frame(seed=SEED, tier="hard", size=(640, 480), index=4)
    assert np.array_equal(a.image, b.image) and a.text == b.text and a.effects == b.effects
    assert a.text != c.text
    assert a.image.shape == (480, 640, 3)
    assert a.effects and a.effects[0] in corpus.HARD_EFFECTS
    with pytest.raises(ValueError):
        corpus.make_frame(seed=SEED, tier="impossible", size=(640, 480), index=0)


def test_generated_people_are_consistent_and_parse() -> None:
    rng = random.Random(SEED)
    short_names = long_addresses = 0
    for _ in range(200):
        person = random_person(rng)
        assert id_consistency_problems(person.id_number, date_of_birth=person.date_of_birth, sex=person.sex) == ()
        qr = parse_cccd(cccd_payload(person))
        assert (qr.id_number, qr.old_id_number, qr.full_name) == (
            person.id_number, person.old_id_number, person.full_name
        )
        assert (qr.date_of_birth, qr.issue_date, qr.sex) == (person.date_of_birth, person.issue_date, person.sex)
        assert len(qr.extra_fields) == person.trailing_fields
        short_names += len(person.full_name.split()) <= 3
        long_addresses += len(person.address) > 60
    assert short_names > 20 and long_addresses > 20  # both short and long texts are in the corpus


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_normal_sample_is_all_read_exactly(decoder, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    for index in range(SAMPLE):
        frame = corpus.make_frame(seed=SEED, tier="normal", size=size, index=index)
        assert [s.text for s in decoder.decode(frame.image).symbols] == [frame.text], frame.name


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_hard_sample_is_mostly_read_and_never_wrong(decoder, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    read = 0
    for index in range(2 * SAMPLE):
        frame = corpus.make_frame(seed=SEED, tier="hard", size=size, index=index)
        texts = [s.text for s in decoder.decode(frame.image).symbols]
        assert texts in ([], [frame.text]), frame.name
        read += texts == [frame.text]
    assert read >= 9  # 75 % of a small sample; the benchmark measures the real rate


@pytest.mark.parametrize("size", [(640, 480), (1280, 720)])
def test_empty_frames_give_nothing(decoder, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    for index in range(SAMPLE):
        frame = corpus.make_frame(seed=SEED, tier="empty", size=size, index=index)
        assert frame.text is None
        assert decoder.decode(frame.image).symbols == ()


def test_fixed_focus_frames_are_reproducible_and_within_the_model() -> None:
    a = corpus.make_frame(seed=SEED, tier="fixed-focus", size=corpus.FIXED_FOCUS_SIZE, index=5)
    b = corpus.make_frame(seed=SEED, tier="fixed-focus", size=corpus.FIXED_FOCUS_SIZE, index=5)
    assert np.array_equal(a.image, b.image) and a.text == b.text and a.conditions == b.conditions
    assert a.image.shape == (720, 1280, 3) and a.effects == ()
    rng = random.Random(SEED)
    drawn = [corpus.fixed_focus_conditions(rng) for _ in range(300)]
    assert all(2.6 <= c.module_px <= 3.4 and 0.9 <= c.blur_sigma <= 1.6 and 0.45 <= c.contrast <= 1.0 for c in drawn)
    assert all(0 <= c.tilt_deg <= 30 and 7.5 <= c.noise_sigma <= 10.5 and 70 <= c.jpeg_quality <= 90 for c in drawn)
    glare = sum(c.glare > 0 for c in drawn)
    assert 70 < glare < 130  # a third of the frames
    assert min(c.blur_sigma for c in drawn) < 0.95 and max(c.blur_sigma for c in drawn) > 1.55


def test_a_steady_card_starts_with_the_single_frame_then_moves_a_little() -> None:
    frames = corpus.steady_card(seed=SEED, index=5, count=4)
    single = corpus.make_frame(seed=SEED, tier="fixed-focus", size=corpus.FIXED_FOCUS_SIZE, index=5)
    assert np.array_equal(frames[0].image, single.image)
    assert all(f.text == single.text and f.conditions == single.conditions for f in frames)
    first, later = (f.image.astype(np.int16) for f in (frames[0], frames[3]))
    difference = np.abs(first - later).mean()
    assert 2 < difference < 20  # fresh noise and a little movement, not another scene
    again = corpus.steady_card(seed=SEED, index=5, count=4)
    assert np.array_equal(again[3].image, frames[3].image)


def test_fixed_focus_sample_is_mostly_read_and_never_wrong(decoder) -> None:  # type: ignore[no-untyped-def]
    read = 0
    for index in range(10):
        frame = corpus.make_frame(seed=SEED, tier="fixed-focus", size=corpus.FIXED_FOCUS_SIZE, index=index)
        texts = [s.text for s in decoder.decode(frame.image).symbols]
        assert texts in ([], [frame.text]), frame.name
        read += texts == [frame.text]
    assert read >= 7  # 70 % of a small sample; the benchmark measures the real rate (about 90 %)


def test_write_corpus_and_the_command(tmp_path: Path) -> None:
    from simulators.__main__ import main

    assert main(["corpus", "--out", str(tmp_path / "c"), "--count", "1", "--sizes", "640x480"]) == 0
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text(encoding="utf-8"))
    assert [m["tier"] for m in manifest] == ["normal", "hard", "empty"]
    assert all((tmp_path / "c" / m["file"]).is_file() for m in manifest)
    assert manifest[0]["text"] and manifest[2]["text"] is None
    assert main(["corpus", "--out", str(tmp_path / "f"), "--count", "1", "--sizes", "1280x720",
                 "--tiers", "fixed-focus"]) == 0
    fixed = json.loads((tmp_path / "f" / "manifest.json").read_text(encoding="utf-8"))
    assert fixed[0]["tier"] == "fixed-focus" and 0.9 <= fixed[0]["conditions"]["blur_sigma"] <= 1.6
    assert main(["corpus", "--out", str(tmp_path / "one.png"), "--tiers", "hard", "--index", "2"]) == 0
    assert (tmp_path / "one.png").stat().st_size > 10_000
    assert main(["corpus", "--out", str(tmp_path / "demo.avi")]) == 0
    assert (tmp_path / "demo.avi").stat().st_size > 100_000


def test_qr_image_helpers() -> None:
    image = render_qr("Nữ", module_px=3, quiet_zone=4)
    modules = qr_matrix("Nữ").shape[0]
    assert image.shape == ((modules + 8) * 3,) * 2
    assert image[0, 0] == 255 and image.dtype == np.uint8
    with pytest.raises(QrEncodeError):
        qr_matrix("x" * 4000, ec_level="H")

"""``python -m agent qr`` as a separate process: --image and --video with --json, the human output,
and the error cases (nothing decoded, a malformed CCCD code, no camera) as JSON with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

from simulators.camera.corpus import make_frame
from simulators.camera.files import card_video, write_video
from simulators.camera.qr_image import render_qr

ROOT = Path(__file__).resolve().parents[2]


def agent(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "CCCD_AGENT__LOG__LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "agent", "qr", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def as_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("cli")
    card = make_frame(seed=3, tier="normal", size=(640, 480), index=1)
    cv2.imwrite(str(directory / "card.png"), card.image)
    cv2.imwrite(str(directory / "empty.png"), make_frame(seed=3, tier="empty", size=(640, 480), index=0).image)
    bad = "001093047064|123456789|Lê Thị Hà|31022000|Nữ|Hà Nội|04102021"
    cv2.imwrite(str(directory / "bad.png"), render_qr(bad, module_px=4))
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlMTIzNDU2Nzg5MA"
    cv2.imwrite(str(directory / "vneid.png"), render_qr(token, module_px=4))
    frames, texts = card_video(seed=4, script=[("empty", 5), ("card:0", 10)])
    write_video(directory / "card.avi", frames)
    return {"dir": directory, "card": card.text, "video_card": texts[-1], "token": token}


def test_image_json_carries_the_card_fields(files: dict[str, Any]) -> None:
    result = agent("--image", str(files["dir"] / "card.png"), "--json")
    assert result.returncode == 0, result.stderr
    document = as_json(result)
    fields = files["card"].split("|")
    assert document["kind"] == "cccd"
    assert document["id_number"] == fields[0]
    assert document["old_id_number"] == fields[1]
    assert document["full_name"] == fields[2]
    assert document["date_of_birth"] == f"{fields[3][4:]}-{fields[3][2:4]}-{fields[3][:2]}"
    assert document["sex"] == fields[4]
    assert document["address"] == fields[5]
    assert document["issue_date"] == f"{fields[6][4:]}-{fields[6][2:4]}-{fields[6][:2]}"


def test_nothing_decoded_is_a_json_error_and_a_non_zero_exit(files: dict[str, Any]) -> None:
    result = agent("--image", str(files["dir"] / "empty.png"), "--json")
    assert result.returncode != 0
    error = as_json(result)["error"]
    assert error["type"] == "QrDecodeError" and error["code"] == "error.qr_decode"
    assert error["message_vi"] and error["message_en"]


def test_a_malformed_cccd_code_is_a_json_error_naming_the_field(files: dict[str, Any]) -> None:
    result = agent("--image", str(files["dir"] / "bad.png"), "--json")
    assert result.returncode != 0
    error = as_json(result)["error"]
    assert error["type"] == "QrFormatError" and "date_of_birth" in error["message"]
    assert "31022000" not in result.stdout


def test_a_vneid_code(files: dict[str, Any]) -> None:
    result = agent("--image", str(files["dir"] / "vneid.png"), "--json")
    assert result.returncode == 0, result.stderr
    assert as_json(result)["kind"] == "vneid" and as_json(result)["token"] == files["token"]


def test_video(files: dict[str, Any]) -> None:
    result = agent("--video", str(files["dir"] / "card.avi"), "--json")
    assert result.returncode == 0, result.stderr
    assert as_json(result)["id_number"] == files["video_card"].split("|")[0]


def test_missing_camera_and_missing_file(files: dict[str, Any]) -> None:
    result = agent("--camera", "97", "--json")
    assert result.returncode != 0
    assert as_json(result)["error"]["type"] == "CameraUnavailableError"
    result = agent("--image", str(files["dir"] / "missing.png"), "--json")
    assert result.returncode != 0
    assert as_json(result)["error"]["type"] == "CameraUnavailableError"


def test_human_output_in_vietnamese(files: dict[str, Any]) -> None:
    result = agent("--image", str(files["dir"] / "card.png"))
    assert result.returncode == 0, result.stderr
    assert "Số định danh" in result.stdout and files["card"].split("|")[2] in result.stdout
    result = agent("--image", str(files["dir"] / "empty.png"))
    assert result.returncode != 0 and "Không tìm thấy mã QR" in result.stderr

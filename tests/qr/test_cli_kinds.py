"""``python -m agent qr --image FILE --json`` says which kind of code it read: a BHYT card's (with its
fields), and ``unknown`` for a code that is none of the agent's, as a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from simulators.camera.qr_image import render_qr
from tests.qr.bhyt_samples import PUBLIC_2018

ROOT = Path(__file__).resolve().parents[2]


def agent(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "CCCD_AGENT__LOG__LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "agent", "qr", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize(("text", "kind"), [(PUBLIC_2018, "bhyt"), ("WIFI:S:phong-kham;T:WPA;P:x;;", "unknown")])
def test_the_kind_of_code_in_an_image(tmp_path: Path, text: str, kind: str) -> None:
    image = tmp_path / f"{kind}.png"
    cv2.imwrite(str(image), render_qr(text, module_px=4))
    result = agent("--image", str(image), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["kind"] == kind
    if kind == "bhyt":
        assert document["card_number"] == "DN4797937337969" and document["full_name"] == "Phan Hoàng Quý"
        assert document["date_of_birth"] == "1994-05-31" and document["facility_code"] == "79426"
        human = agent("--image", str(image))
        assert human.returncode == 0 and "Mã QR trên thẻ BHYT" in human.stdout and "DN4797937337969" in human.stdout

"""One bad file in the trust directory (issue 13 item 2): a master list whose RSASSA-PSS parameters give a
salt length of 2^64 (cryptography's C layer overflowed on it) is reported by ``trust list`` with its file
name and reason and skipped, while the rest loads; ``trust import`` still works beside it; ``serve``
starts, logs it and answers; the same signature in a card's EF.SOD is a failed check, not a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import DocumentError
from agent.icao.passive_auth import passive_authentication
from tests.fuzz.targets import huge_salt
from tests.icao import pki_fixtures as f
from tests.serve_process import serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    world = f.test_pki("rsa2048", "rsa2048", label="hostile-trust", pss=True)
    other = f.test_pki("p256", "p256", label="hostile-other")
    good_list = f.make_master_list([world.csca], world.dsc_key, world.dsc, scheme="pss")
    return {"csca.der": world.csca, "other.der": other.csca, "bad.ml": huge_salt(good_list)}


@pytest.fixture
def trust_dir(tmp_path: Path, files: dict[str, bytes]) -> Path:
    directory = tmp_path / "trust"
    directory.mkdir()
    (directory / "csca.der").write_bytes(files["csca.der"])
    (directory / "bad.ml").write_bytes(files["bad.ml"])
    return directory


def env_for(tmp_path: Path, trust_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCCD_AGENT__")}
    return {**env, "PYTHONUNBUFFERED": "1", "CCCD_AGENT__TRUST__CSCA_DIR": str(trust_dir),
            "CCCD_AGENT__STORE__PATH": str(tmp_path / "agent.sqlite3"),
            "CCCD_AGENT__STORE__KEY_FILE": str(tmp_path / "store.key"),
            "CCCD_AGENT__AUDIT__PATH": str(tmp_path / "audit.jsonl")}


def agent(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_trust_list_reports_the_bad_file_and_loads_the_rest(tmp_path, trust_dir):
    done = agent(env_for(tmp_path, trust_dir), "trust", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    listing = json.loads(done.stdout)
    text = json.dumps(listing)
    assert "bad.ml" in text and "salt length" in text
    assert "csca.der" in text


def test_trust_import_works_beside_the_bad_file(tmp_path, trust_dir, files):
    source = tmp_path / "other.der"
    source.write_bytes(files["other.der"])
    done = agent(env_for(tmp_path, trust_dir), "trust", "import", str(source), "--json")
    assert done.returncode == 0, done.stderr
    assert (trust_dir / "other.der").is_file()


def test_importing_the_bad_list_is_refused_with_a_reason(tmp_path, trust_dir, files):
    source = tmp_path / "incoming.ml"
    source.write_bytes(files["bad.ml"])
    done = agent(env_for(tmp_path, trust_dir), "trust", "import", str(source))
    assert done.returncode == 65, done.stdout + done.stderr
    assert "salt length" in done.stderr and "Traceback" not in done.stderr


def test_serve_starts_with_the_bad_file_in_the_trust_directory(tmp_path, trust_dir):
    with serve(env_for(tmp_path, trust_dir), "trust-token") as served:
        assert served.status("trust-token").status_code == 200
        served.process.send_signal(signal.SIGINT)
        rest, _ = served.process.communicate(timeout=20)
        assert served.process.returncode == 0
    log = "".join(served.output) + rest
    assert "Traceback" not in log and "OverflowError" not in log


def test_the_same_signature_in_a_card_s_sod_is_a_typed_error():
    import hashlib

    from agent.icao import pki
    from agent.icao.trust import TrustStore
    from tests.icao import lds_fixtures as lds

    world = f.test_pki("rsa2048", "rsa2048", label="hostile-trust", pss=True)
    groups = {1: lds.encode_dg1()}
    content = f.lds_security_object({1: hashlib.sha256(groups[1]).digest()}, f.HASH_OIDS["sha256"])
    sod = f.wrap(0x77, huge_salt(f.signed_data(content, f.OID_LDS_SECURITY_OBJECT, world.dsc_key, world.dsc,
                                               scheme="pss")))
    with pytest.raises(DocumentError) as raised:
        passive_authentication(sod, groups, TrustStore.of([pki.parse_certificate(world.csca, file="t")]), at=f.NOW)
    assert raised.value.file == "EF.SOD" and "salt length" in raised.value.message

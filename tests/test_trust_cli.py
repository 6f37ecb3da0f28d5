"""``python -m agent trust import`` and ``trust list`` end to end: a subprocess, a temporary trust
directory given with --config, and a generated test PKI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.icao import pki_fixtures as f
from tests.icao import realdata

ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.now(UTC)


def agent(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # --config after the action: the argparse sub-parsers give it their own default (see the report).
    command = [sys.executable, "-m", "agent", "trust", *args, "--config", str(config)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def pki_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    csca_key = f.private_key("p256", "cli-csca")
    csca_name = f.name("CSCA CLI Test")
    csca = f.make_certificate(csca_key, csca_name, csca_key, csca_name, ca=True,
                              not_before=TODAY - timedelta(days=900), not_after=TODAY + timedelta(days=3000))
    soon_key = f.private_key("p256", "cli-soon")
    soon_name = f.name("CSCA Expiring", "FR")
    soon = f.make_certificate(soon_key, soon_name, soon_key, soon_name, ca=True,
                              not_before=TODAY - timedelta(days=900), not_after=TODAY + timedelta(days=20))
    other_key = f.private_key("rsa2048", "cli-other")
    other_name = f.name("CSCA Other", "DE")
    other = f.make_certificate(other_key, other_name, other_key, other_name, ca=True,
                               not_before=TODAY - timedelta(days=10), not_after=TODAY + timedelta(days=4000))
    dsc = f.make_certificate(f.private_key("p256", "cli-dsc"), f.name("DS"), csca_key, csca_name, ca=False,
                             not_before=TODAY - timedelta(days=10), not_after=TODAY + timedelta(days=400))
    signer_key = f.private_key("p256", "cli-ml-signer")
    signer = f.make_certificate(signer_key, f.name("ML Signer"), csca_key, csca_name, ca=False,
                                not_before=TODAY - timedelta(days=10), not_after=TODAY + timedelta(days=400))
    bad_other = other[:-1] + bytes([other[-1] ^ 1])
    crl = f.make_crl(csca_key, csca_name, (1234,), this_update=TODAY - timedelta(days=1),
                     next_update=TODAY + timedelta(days=30))
    files = {
        "csca.der": csca,
        "soon.pem": b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(soon) + b"-----END CERTIFICATE-----\n",
        "dsc.der": dsc,
        "garbage.der": b"\x30\x03\x02\x01\x05",
        "list.ml": f.make_master_list([csca, other, bad_other], signer_key, signer),
        "broken.ml": f.make_master_list([other], signer_key, signer, corrupt_signature=True),
        "vn.crl": crl,
        "forged.crl": f.make_crl(f.private_key("p256", "cli-forger"), csca_name, (1,)),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(f'[trust]\ncsca_dir = "{(tmp_path / "trust").as_posix()}"\nexpiry_warning_days = 90\n')
    return path


def test_import_then_list(pki_files: dict[str, Path], config: Path) -> None:
    trust_dir = config.parent / "trust"
    done = agent(config, "import", str(pki_files["csca.der"]), "--json")
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    assert imported["kind"] == "certificates"
    assert not imported["already_present"]
    assert (trust_dir / "csca.der").read_bytes() == pki_files["csca.der"].read_bytes()

    again = agent(config, "import", str(pki_files["csca.der"]), "--json")
    assert json.loads(again.stdout)["already_present"]

    for name in ("soon.pem", "list.ml", "vn.crl"):
        result = agent(config, "import", str(pki_files[name]))
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    assert "Imported" in result.stdout

    (trust_dir / "dropped-by-hand.der").write_bytes(b"\x30\x00")
    (trust_dir / "README.txt").write_text("notes")

    listing = agent(config, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    payload = json.loads(listing.stdout)
    by_subject = {item["subject"].rsplit("=", 1)[1]: item for item in payload["certificates"]}
    assert set(by_subject) == {"CSCA CLI Test", "CSCA Expiring", "CSCA Other"}
    assert by_subject["CSCA Expiring"]["status"] == "expires_soon"
    assert by_subject["CSCA CLI Test"]["status"] == "valid"
    assert by_subject["CSCA CLI Test"]["key"] == "EC secp256r1"
    assert by_subject["CSCA Other"]["source"] == "list.ml"
    (crl,) = payload["crls"]
    assert crl["signature"] == "verified" and crl["revoked"] == 1 and not crl["outdated"]
    (master_list,) = payload["master_lists"]
    assert master_list["signature"]["status"] == "ok"
    assert master_list["signer_chain"]["status"] == "ok"
    assert [r["index"] for r in master_list["rejected"]] == [2]
    assert payload["problems"] == [{"file": "dropped-by-hand.der", "problem": "empty SEQUENCE"}]
    assert payload["skipped"] == ["README.txt"]

    text = agent(config, "list")
    assert text.returncode == 0
    assert "CSCA Expiring" in text.stdout
    assert "expires within 90 days" in text.stdout
    assert "hết hạn trong 90 ngày tới" in text.stdout
    assert "rejected #2" in text.stdout


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("dsc.der", "not a CA certificate"),
        ("garbage.der", "not a certificate, CRL or master list"),
        ("broken.ml", "master list signature"),
        ("forged.crl", "not signed by the loaded CSCA"),
    ],
)
def test_invalid_files_are_refused(pki_files: dict[str, Path], config: Path, name: str, words: str) -> None:
    if name == "forged.crl":
        assert agent(config, "import", str(pki_files["csca.der"])).returncode == 0
    result = agent(config, "import", str(pki_files[name]), "--json")
    assert result.returncode == 65, result.stdout + result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "TrustFileError"
    assert words in error["message"]
    assert error["message_en"].startswith("The certificate file")
    assert not (config.parent / "trust" / name).exists()


def test_an_empty_or_missing_trust_directory_lists_nothing(config: Path) -> None:
    result = agent(config, "list")
    assert result.returncode == 0
    assert "No CSCA certificate loaded" in result.stdout


def test_a_missing_file_is_a_config_error(config: Path) -> None:
    result = agent(config, "import", str(config.parent / "nope.der"))
    assert result.returncode == 78
    assert "file not found" in result.stderr


# --- the real German and Dutch master lists (issue 12 item 7) -----------------------------------


@pytest.mark.parametrize(("listed", "root"), [(realdata.DE_MASTER_LIST, realdata.DE_ROOT),
                                              (realdata.NL_MASTER_LIST, realdata.NL_ROOT)])  # fmt: skip
def test_import_and_list_a_real_master_list(config: Path, listed: str, root: str) -> None:
    list_file, root_file = realdata.path(listed), realdata.path(root)
    # The list first: its signature verifies, but its signer is not yet traced to a root.
    first = agent(config, "import", str(list_file), "--json")
    assert first.returncode == 0, first.stderr
    imported = json.loads(first.stdout)
    assert imported["kind"] == "master_list"
    assert any("not traced" in note for note in imported["notes"])
    vietnam = [c for c in imported["certificates"] if realdata.VIETNAM_CSCA_CN in c["subject"]]
    assert len(vietnam) == 1 and vietnam[0]["key"] == "EC brainpoolP512r1 (explicit parameters)"
    # Then the root that signs it: the listing now shows the list's signer chained to it.
    assert agent(config, "import", str(root_file)).returncode == 0
    listing = agent(config, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    payload = json.loads(listing.stdout)
    (master_list,) = payload["master_lists"]
    assert master_list["signature"]["status"] == "ok"
    assert master_list["signer_chain"]["status"] == "ok", master_list["signer_chain"]
    assert master_list["source"] == list_file.name
    found = [c for c in payload["certificates"] if realdata.VIETNAM_CSCA_CN in c["subject"]]
    assert len(found) == 1
    assert found[0]["country"] == "VN" and found[0]["not_after"].startswith("2037-10-01")
    assert found[0]["source"] == list_file.name
    assert payload["problems"] == []
    text = agent(config, "list")
    assert realdata.VIETNAM_CSCA_CN in text.stdout and "signature ok" in text.stdout

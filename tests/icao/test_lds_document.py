"""ChipDocument: raw bytes of every file, parsed views, problems per file, the step log."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agent.icao.lds.document import ChipDocument, ReadStep
from agent.icao.passive_auth import passive_authentication
from agent.icao.trust import TrustStore
from tests.icao import lds_fixtures as lds
from tests.icao import pki_fixtures as f


def files() -> dict[str | int, bytes]:
    world = f.test_pki()
    aa = f.private_key("p256", "doc").public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    groups = {
        1: lds.encode_dg1(),
        2: lds.dg2_with_image(lds.make_image("JPEG"), 0),
        13: lds.encode_dg13(),
        14: lds.encode_dg14(),
        15: lds.encode_dg15(aa),
    }
    return {"EF.COM": lds.encode_com(), 0x011D: f.make_sod(groups, world.dsc_key, world.dsc), **groups}


def test_every_file_is_kept_raw_and_parsed() -> None:
    raw = files()
    document = ChipDocument.from_files(raw)
    assert set(document.files) == {"EF.COM", "EF.SOD", "DG1", "DG2", "DG13", "DG14", "DG15"}
    assert document.files["DG13"] == raw[13]
    assert document.raw_sod == raw[0x011D]
    assert document.problems == {}
    assert document.com is not None and document.com.data_groups == (1, 2, 13, 14, 15)
    assert document.sod is not None and document.sod.data_groups == (1, 2, 13, 14, 15)
    assert document.dg1 is not None and document.dg1.document_format == "TD1"
    assert document.dg2 is not None and document.dg2.face.image_format == "jpeg"
    assert document.dg13 is not None and document.dg13.full_name == "Nguyễn Thị Hồng Nhung"
    assert document.dg14 is not None and document.dg14.pace
    assert document.dg15 is not None and document.dg15.kind == "EC"
    assert list(document.data_groups) == [1, 2, 13, 14, 15]


def test_a_malformed_file_is_a_problem_and_the_others_still_verify() -> None:
    raw = files()
    raw[13] = lds.wrap(0x6D, b"\x02\x01")
    document = ChipDocument.from_files(raw)
    assert set(document.problems) == {"DG13"}
    assert document.problems["DG13"].file == "DG13"
    assert document.dg13 is None
    assert document.files["DG13"] == raw[13]
    assert document.sod is not None
    result = passive_authentication(document.sod, document.data_groups, TrustStore(), at=f.NOW)
    assert result.data_groups[13].status == "failed"
    assert result.data_groups[1].is_ok


def test_re_adding_a_file_clears_its_problem() -> None:
    document = ChipDocument()
    assert document.add_file("DG1", b"\x61\x00") is not None
    assert "DG1" in document.problems
    assert document.add_file(1, lds.encode_dg1()) is None
    assert document.problems == {}
    assert document.dg1 is not None


def test_unknown_files_are_kept_without_parsing() -> None:
    document = ChipDocument()
    assert document.add_file(0x0103, b"\x63\x00") is None
    assert document.files == {"DG3": b"\x63\x00"}
    assert document.data_groups == {3: b"\x63\x00"}


def test_files_are_kept_under_the_registry_names() -> None:
    keys: list[str | int] = [1, 0x010D, 0x011E, 0x011D, 0x011C, "dg02", "ef.sod", "EF.CardAccess"]
    document = ChipDocument()
    names = []
    for key in keys:
        document.add_file(key, b"")
        names.append(list(document.files)[-1])
        document.files.clear()
    assert names == ["DG1", "DG13", "EF.COM", "EF.SOD", "EF.CardAccess", "DG2", "EF.SOD", "EF.CardAccess"]


def test_a_name_the_registry_does_not_know_is_kept_unparsed_and_a_number_refused() -> None:
    document = ChipDocument()
    assert document.add_file("EF.CardSecurity", b"\x31\x00") is None
    assert document.files == {"EF.CardSecurity": b"\x31\x00"} and document.data_groups == {}
    with pytest.raises(ValueError):
        document.add_file(0x0111, b"")


def test_the_step_log_and_summary_hold_no_personal_data() -> None:
    document = ChipDocument.from_files(files())
    document.log(ReadStep("READ BINARY DG13", 0x9000, 812, 41.5))
    summary = document.summary()
    assert summary["steps"] == [{"step": "READ BINARY DG13", "sw": "9000", "bytes": 812, "ms": 41.5, "note": ""}]
    text = repr(document) + repr(summary)
    for secret in ("Nguyễn", "001093047064", "093047064"):
        assert secret not in text

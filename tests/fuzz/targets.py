"""Fuzz targets: one per parser that sees outside data (a card, a file, a backend, a QR code), each a
Hypothesis strategy that builds structure-aware inputs (real files mutated, random BER-TLV trees, DER of
the right shape with hostile values, JSON of the right shape with wrong types) and the real entry point
it is fed to.

The contract every target checks (issue 13): the entry point raises only the agent's typed errors
(:class:`agent.errors.AgentError` and its subclasses), never another exception; it does not hang and
does not take unbounded memory (the campaign, benchmarks/fuzz.py, watches those two). The suite runs a
bounded number of examples of each (tests/fuzz/test_targets.py); the campaign runs the same targets
for a long time through ``fuzz_one_input``.

Seeds are built lazily, once per process, from the suite's own fixtures (the test PKI, the LDS
encoders, the simulated card).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import strategies as st

from agent.errors import AgentError
from tests.icao.pki_fixtures import wrap

# --- generic strategies ----------------------------------------------------------------------------------

MUTATIONS = ("flip", "set", "truncate", "insert", "delete", "duplicate", "length")


def mutate(seed: bytes, mutation: str, position: float, value: int, size: int) -> bytes:
    """One change to ``seed``: a bit flipped, a byte set, the tail cut, bytes inserted, deleted or a
    chunk duplicated, or a byte made a large BER length (0x84 / 0x8F: length fields that lie)."""
    if not seed:
        return bytes([value]) * size
    index = min(int(position * len(seed)), len(seed) - 1)
    if mutation == "flip":
        return seed[:index] + bytes([seed[index] ^ (1 << (value % 8))]) + seed[index + 1 :]
    if mutation == "set":
        return seed[:index] + bytes([value]) + seed[index + 1 :]
    if mutation == "truncate":
        return seed[:index]
    if mutation == "insert":
        return seed[:index] + bytes([value]) * size + seed[index:]
    if mutation == "delete":
        return seed[:index] + seed[index + size :]
    if mutation == "length":
        return seed[:index] + bytes([0x80 | (value % 16)]) + b"\xff" * (value % 5) + seed[index + 1 :]
    return seed[:index] + seed[index : index + size] * 2 + seed[index + size :]


def _one_mutation(draw: Callable[..., Any], seed: bytes) -> bytes:
    return mutate(
        seed,
        draw(st.sampled_from(MUTATIONS)),
        draw(st.floats(min_value=0, max_value=1, exclude_max=True)),
        draw(st.integers(min_value=0, max_value=255)),
        draw(st.integers(min_value=1, max_value=16)),
    )


def mutated(seeds: Sequence[bytes], *, most: int = 3) -> st.SearchStrategy[bytes]:
    """A seed with one to ``most`` mutations applied in turn."""

    @st.composite
    def build(draw: Callable[..., Any]) -> bytes:
        data = draw(st.sampled_from(list(seeds)))
        for _ in range(draw(st.integers(min_value=1, max_value=most))):
            data = _one_mutation(draw, data)
        return data

    return build()


def der_int(number: int) -> bytes:
    """A DER INTEGER (two's complement, minimal)."""
    size = max(1, (number.bit_length() + 8) // 8)
    return wrap(0x02, number.to_bytes(size, "big", signed=True))


def der_oid(dotted: str) -> bytes:
    from agent.icao import tlv

    return wrap(0x06, tlv.encode_oid(dotted))


TAGS = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x30, 0x31, 0x5F1F, 0x5F01, 0x5F36, 0x5C,
        0x7F61, 0x7F60, 0xA1, 0x5F2E, 0x7F2E, 0xA0, 0xA3, 0x80, 0x81, 0x86, 0x87, 0x8E, 0x99]
CONSTRUCTED = [0x30, 0x31, 0x7F61, 0x7F60, 0xA1, 0xA0, 0xA3, 0x7F2E, 0x61, 0x6E, 0x77]


def tlv_trees(tags: Sequence[int] = TAGS, max_leaves: int = 12) -> st.SearchStrategy[bytes]:
    """Well-formed BER-TLV trees of the tags documents use, with random leaf values."""
    leaves = st.tuples(st.sampled_from(list(tags)), st.binary(max_size=24)).map(lambda item: wrap(*item))

    def nest(inner: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        pairs = st.tuples(st.sampled_from(CONSTRUCTED), st.lists(inner, max_size=4))
        return pairs.map(lambda item: wrap(item[0], b"".join(item[1])))

    return st.recursive(leaves, nest, max_leaves=max_leaves)


def ber_inputs(seeds: Sequence[bytes], outer_tag: int | None = None) -> st.SearchStrategy[bytes]:
    """Random bytes, random TLV trees (behind the file's outer tag) and mutated real files."""
    choices = [st.binary(max_size=300), mutated(seeds), mutated(seeds, most=8)]
    trees = st.lists(tlv_trees(), max_size=4).map(b"".join)
    choices.append(trees if outer_tag is None else trees.map(lambda body: wrap(outer_tag, body)))
    return st.one_of(choices)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["", "000", "200", "401", "accepted", "valid", "on_roster", "2025-01-01", "01/01/2025",
                     "001089012345", "HS4010123456789", "79014", "2017-11-13T03:51:20.1047187Z", "9" * 40,
                     "2017-13-45T03:51:20Z", "9999-12-31T23:59:59-23:59", "31/02/2024", "1" * 400]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=10,
)


def json_edits(seed: Any) -> st.SearchStrategy[Any]:
    """``seed`` (a decoded JSON document) with one to four of its values replaced by values of any type,
    or deleted: the right shape with the wrong content."""

    @st.composite
    def build(draw: Callable[..., Any]) -> Any:
        document = copy.deepcopy(seed)
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            paths = list(_paths(document))
            if not paths:
                return draw(JSON_VALUES)
            path = draw(st.sampled_from(paths))
            if not path:
                document = draw(JSON_VALUES)
                continue
            parent = document
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(JSON_VALUES)
        return document

    return build()


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


HOSTILE_JSON = [
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json.loads
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"1" + b"0" * 5000,  # ValueError: integer string too long
    b'{"maKetQua": ' + b"9" * 5000 + b"}",
    b"\xff\xfe{}",
    b'{"results": [{"event_id": ["x"], "status": {}}]}',
]


def json_bodies(seed: Any) -> st.SearchStrategy[bytes]:
    """What a backend may send: the seed answer edited, any JSON value, raw bytes, hostile JSON."""
    return st.one_of(
        json_edits(seed).map(lambda value: json.dumps(value).encode()),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=64),
        st.sampled_from(HOSTILE_JSON),
    )


# --- the targets -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    """One entry point and how to build its inputs (lazily: seeds need the test PKI and the card)."""

    name: str
    inputs: Callable[[], st.SearchStrategy[Any]]
    run: Callable[[Any], object]
    # The suite runs this many examples (a few targets cost milliseconds per example).
    examples: int = 60


def exercise(target: Target, value: Any) -> None:
    """Feed one input: a typed error is the contract, anything else escapes (a finding)."""
    try:
        target.run(value)
    except AgentError:
        pass


@functools.cache
def _pki() -> Any:
    from tests.icao import pki_fixtures as f

    return f


@functools.cache
def _lds() -> Any:
    from tests.icao import lds_fixtures as lds

    return lds


@functools.cache
def pki_world() -> dict[str, Any]:
    """The test PKI (P-256 CSCA and signer), an RSA-PSS pair, data groups, EF.SOD, a CRL, a master list."""
    from agent.icao import pki
    from agent.icao.trust import TrustStore, parse_crl

    f, lds = _pki(), _lds()
    world = f.test_pki("p256", "p256", label="fuzz")
    pss = f.test_pki("rsa2048", "rsa2048", label="fuzz-pss", pss=True)
    aa_key = f.private_key("rsa1024", "fuzz").public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    groups = {
        1: lds.encode_dg1(),
        2: lds.dg2_with_image(lds.make_image("JPEG", 24, 32), 0),
        13: lds.encode_dg13(),
        14: lds.encode_dg14(),
        15: lds.encode_dg15(aa_key),
    }
    sod = f.make_sod(groups, world.dsc_key, world.dsc)
    crl = f.make_crl(world.csca_key, world.csca_name, [7, 9])
    store = TrustStore.of([pki.parse_certificate(world.csca, file="t")], [parse_crl(crl)])
    return {
        "world": world,
        "pss": pss,
        "groups": groups,
        "sod": sod,
        "pss_sod": f.make_sod(groups, pss.dsc_key, pss.dsc, scheme="pss"),
        "crl": crl,
        "store": store,
        "explicit": f.with_explicit_curve(world.dsc, world.csca_key),
        "master_list": f.make_master_list([world.csca, pss.csca], world.dsc_key, world.dsc),
        "pss_master_list": f.make_master_list([world.csca], pss.dsc_key, pss.dsc, scheme="pss"),
        "huge_salt_master_list": huge_salt(f.make_master_list([world.csca], pss.dsc_key, pss.dsc, scheme="pss")),
        "com": lds.encode_com(),
        "jp2_dg2": lds.dg2_with_image(lds.make_image("JPEG2000", 24, 32), 1),
    }


def huge_salt(content_info_der: bytes, salt: int = 2**64) -> bytes:
    """A CMS SignedData whose signer's RSASSA-PSS parameters say ``salt`` bytes of salt (issue 13 item 2:
    2^64 overflowed cryptography's C integer)."""
    from asn1crypto import algos, cms

    from agent.icao import pki

    info = cms.ContentInfo.load(content_info_der)
    signer = info["content"]["signer_infos"][0]
    sha256 = {"algorithm": "2.16.840.1.101.3.4.2.1"}
    signer["signature_algorithm"] = {"algorithm": pki.OID_RSASSA_PSS, "parameters": algos.RSASSAPSSParams({
        "hash_algorithm": sha256, "mask_gen_algorithm": {"algorithm": pki.OID_MGF1, "parameters": sha256},
        "salt_length": salt, "trailer_field": 1})}
    return bytes(info.dump(force=True))


# TLV


def _tlv_run(data: bytes) -> None:
    from agent.icao import tlv

    tlv.header_length(data)
    tlv.spans(data)
    pending = tlv.decode_all(data)
    seen = 0
    while pending and seen < 2000:
        item = pending.pop()
        seen += 1
        if item.constructed:
            pending += item.children()


# LDS files, each through its own parser and through ChipDocument (how a read and a receipt see them)


def _lds_seed(name: str) -> bytes:
    world = pki_world()
    numbers = {"DG1": 1, "DG2": 2, "DG13": 13, "DG14": 14, "DG15": 15}
    if name in numbers:
        return bytes(world["groups"][numbers[name]])
    return bytes(world["sod"] if name == "EF.SOD" else world["com"])


OUTER_TAGS = {"EF.COM": 0x60, "EF.SOD": 0x77, "DG1": 0x61, "DG2": 0x75, "DG13": 0x6D, "DG14": 0x6E, "DG15": 0x6F}


def _lds_target(name: str) -> Target:
    def inputs() -> st.SearchStrategy[Any]:
        seeds = [_lds_seed(name)] + ([pki_world()["jp2_dg2"]] if name == "DG2" else [])
        return ber_inputs(seeds, OUTER_TAGS[name])

    def run(data: bytes) -> None:
        from agent.icao.lds.document import PARSERS, ChipDocument
        from agent.icao.lds_registry import by_name

        PARSERS[by_name(name)](data)
        ChipDocument.from_files({name: data}).summary()

    return Target(f"lds.{name}", inputs, run)


# SecurityInfos (EF.CardAccess before any access control, EF.CardSecurity, DG14)

DEFECT_1 = bytes.fromhex(
    "31343032060904007f000702020401302206072a8648ce3e02013017021500f518aa8781a8df278aba4e7d64b7cb9d49462353020121"
)
_SI_OIDS = [
    "0.4.0.127.0.7.2.2.4.1.1", "0.4.0.127.0.7.2.2.4.2.2", "0.4.0.127.0.7.2.2.4.3.2", "0.4.0.127.0.7.2.2.4.4.4",
    "0.4.0.127.0.7.2.2.4.6.2", "0.4.0.127.0.7.2.2.4.1", "0.4.0.127.0.7.2.2.4.2", "0.4.0.127.0.7.2.2.4.3",
    "0.4.0.127.0.7.2.2.4.4", "0.4.0.127.0.7.2.2.4.6", "0.4.0.127.0.7.2.2.3.1.1", "0.4.0.127.0.7.2.2.3.2.2",
    "0.4.0.127.0.7.2.2.1.1", "0.4.0.127.0.7.2.2.1.2", "2.23.136.1.1.5", "0.4.0.127.0.7.2.2.2", "1.2.3.4",
]
_ALGORITHM_OIDS = ["0.4.0.127.0.7.1.2", "1.2.840.10045.2.1", "1.2.840.10046.2.1", "1.2.840.113549.1.3.1",
                   "1.2.840.10045.3.1.7", "1.3.36.3.3.2.8.1.1.7"]


@st.composite
def _security_info_fields(draw: Callable[..., Any]) -> bytes:
    integers = st.one_of(st.integers(min_value=-5, max_value=40), st.integers(min_value=0, max_value=2**700))
    small = integers.map(der_int)
    integer_sequence = st.lists(small, max_size=5).map(lambda items: wrap(0x30, b"".join(items)))
    parameters = st.one_of(small, integer_sequence, st.just(b"\x05\x00"), st.binary(max_size=16).map(
        lambda raw: wrap(0x30, raw)), tlv_trees(max_leaves=4))
    algorithm = st.tuples(st.sampled_from(_ALGORITHM_OIDS).map(der_oid), st.lists(parameters, max_size=2)).map(
        lambda item: wrap(0x30, item[0] + b"".join(item[1])))
    key_bits = st.one_of(st.binary(max_size=70), small, st.just(b"\x04" + b"\x01" * 64)).map(
        lambda raw: wrap(0x03, b"\x00" + raw))
    spki = st.tuples(algorithm, key_bits).map(lambda item: wrap(0x30, item[0] + item[1]))
    field = st.one_of(small, algorithm, spki, der_oid_strategy(), tlv_trees(max_leaves=3))
    return b"".join(draw(st.lists(field, max_size=3)))


def der_oid_strategy() -> st.SearchStrategy[bytes]:
    return st.sampled_from(_SI_OIDS + _ALGORITHM_OIDS).map(der_oid)


@st.composite
def _security_infos(draw: Callable[..., Any]) -> bytes:
    entries = draw(st.lists(st.tuples(st.sampled_from(_SI_OIDS), _security_info_fields()), max_size=4))
    body = wrap(0x31, b"".join(wrap(0x30, der_oid(oid) + fields) for oid, fields in entries))
    return wrap(0x6E, body) if draw(st.booleans()) else body


def _security_infos_inputs() -> st.SearchStrategy[Any]:
    lds = _lds()
    seeds = [lds.SECURITY_INFOS, lds.encode_dg14(), DEFECT_1]
    return st.one_of(_security_infos(), mutated(seeds), ber_inputs(seeds))


def _security_infos_run(data: bytes) -> None:
    from agent.icao.security_infos import parse_security_infos

    infos = parse_security_infos(data)
    for info in infos.pace:
        infos.pace_domain(info)
    infos.chip_authentication_key()


# CMS SignedData, EF.SOD and passive authentication


def _passive_inputs() -> st.SearchStrategy[Any]:
    world = pki_world()
    return ber_inputs([world["sod"], world["pss_sod"]], 0x77)


def _passive_run(data: bytes) -> None:
    from agent.icao.passive_auth import passive_authentication

    world = pki_world()
    passive_authentication(data, world["groups"], world["store"], at=_pki().NOW).to_json()


def _signed_data_inputs() -> st.SearchStrategy[Any]:
    from agent.icao import tlv

    world = pki_world()
    seeds = [tlv.decode_single(world["sod"]).value, world["master_list"], world["pss_master_list"]]
    return ber_inputs(seeds)


def _signed_data_run(data: bytes) -> None:
    from agent.icao import signed_data

    for content_type in ("2.23.136.1.1.1", "2.23.136.1.1.2"):
        signed = signed_data.read_signed_data(data, file="fuzz", content_type=content_type)
        match = signed.find_signer()
        signed_data.check_message_digest(signed)
        if match.certificate is not None:
            signed_data.check_signature(signed, match.certificate)


# certificates, CRLs, master lists, trust files


def _certificate_inputs() -> st.SearchStrategy[Any]:
    world = pki_world()
    return ber_inputs([world["world"].csca, world["world"].dsc, world["pss"].dsc, world["explicit"]])


def _certificate_run(data: bytes) -> None:
    from agent.icao import pki

    certificate = pki.parse_certificate(data, file="fuzz")
    certificate.verify_issued_by(certificate.public_key)
    world = pki_world()
    certificate.verify_issued_by(pki.parse_certificate(world["world"].csca, file="t").public_key)
    certificate.valid_at(_pki().NOW)
    _ = certificate.fingerprint, certificate.self_issued, certificate.public_key.description


def _crl_run(data: bytes) -> None:
    from agent.icao import pki
    from agent.icao.trust import parse_crl

    crl = parse_crl(data)
    crl.verify_issued_by(pki.parse_certificate(pki_world()["world"].csca, file="t").public_key)
    crl.outdated_at(_pki().NOW)


def _master_list_run(data: bytes) -> None:
    from agent.icao import pki
    from agent.icao.trust import check_master_list, read_trust_file

    read = read_trust_file(data, name="fuzz.ml")
    if hasattr(read, "certificates") and hasattr(read, "signature"):
        check_master_list(read, roots=[pki.parse_certificate(pki_world()["world"].csca, file="t")])  # type: ignore[arg-type]


def _trust_file_inputs() -> st.SearchStrategy[Any]:
    world = pki_world()
    ders = [world["world"].csca, world["crl"], world["master_list"], world["pss_master_list"]]

    def pem(der: bytes, label: str) -> bytes:
        body = base64.encodebytes(der).decode("ascii")
        return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()

    pems = [pem(world["world"].csca, "CERTIFICATE"), pem(world["crl"], "X509 CRL"), pem(world["master_list"], "CMS")]
    return st.one_of(ber_inputs(ders), mutated(pems), st.lists(st.sampled_from([*pems, b"junk\n"]), max_size=3).map(
        b"".join))


# MRZ, QR payloads, secure messaging, APDUs

_MRZ_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
CCCD_MRZ_SEED = "IDVNM0890123459001089012345<<8\n8901239M3001015VNM<<<<<<<<<<<0\nNGUYEN<<VAN<AN<<<<<<<<<<<<<<<"


@st.composite
def _mrz_text(draw: Callable[..., Any]) -> str:
    lengths = draw(st.sampled_from([(30, 30, 30), (44, 44), (36, 36), (30, 30)]))
    alphabet = st.sampled_from(_MRZ_ALPHABET)
    lines = ["".join(draw(st.lists(alphabet, min_size=n - 2, max_size=n + 1))) for n in lengths]
    return draw(st.sampled_from(["\n", "\r\n", ""])).join(lines)


def _mrz_inputs() -> st.SearchStrategy[Any]:
    seed = _lds().CCCD_MRZ if hasattr(_lds(), "CCCD_MRZ") else CCCD_MRZ_SEED
    edits = st.tuples(st.integers(0, len(seed) - 1), st.sampled_from(_MRZ_ALPHABET + "\n x\x00é")).map(
        lambda item: seed[: item[0]] + item[1] + seed[item[0] + 1 :])
    return st.one_of(_mrz_text(), edits, st.text(max_size=100))


def _mrz_run(text: str) -> None:
    from agent.icao.mrz import parse_mrz

    parse_mrz(text)


@st.composite
def _qr_text(draw: Callable[..., Any]) -> str:
    fields = [
        st.text(alphabet="0123456789", min_size=0, max_size=14),
        st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=8, max_size=13)),
        st.text(max_size=30),
        st.text(alphabet="0123456789", min_size=6, max_size=9),
        st.sampled_from(["Nam", "Nữ", "Nu", "", "nam", "N\u0303"]),
        st.text(max_size=40),
        st.text(alphabet="0123456789", min_size=6, max_size=9),
    ]
    values = [draw(strategy) for strategy in fields]
    values += draw(st.lists(st.text(max_size=10), max_size=4))
    count = draw(st.integers(min_value=0, max_value=len(values)))
    return "|".join(values[: max(count, 1)])


_QR_SEEDS = [
    "001089012345|123456789|Nguyễn Văn An|01011989|Nam|Số 1, Hà Nội|01012021",
    "079190004365||Trần Thị Bích|15071990|Nữ|Quận 1, TP Hồ Chí Minh|20052022|extra",
    "https://vneid.gov.vn/qr?t=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEyMyJ9.MTIzNDU2Nzg5MGFiY2RlZg",
]


def _qr_inputs() -> st.SearchStrategy[Any]:
    edits = st.tuples(st.sampled_from(_QR_SEEDS), st.integers(0, 120), st.text(max_size=3)).map(
        lambda item: item[0][: item[1]] + item[2] + item[0][item[1] + 1 :])
    return st.one_of(_qr_text(), edits, st.text(max_size=200), st.text(max_size=3000))


def _qr_run(text: str) -> None:
    from agent.qr.payload import parse_payload

    parse_payload(text).to_json()


@functools.cache
def _sm_keys() -> tuple[Any, bytes, bytes]:
    from agent.icao.crypto import AES_128

    return AES_128, bytes(range(16)), bytes(range(16, 32))


@st.composite
def _sm_response(draw: Callable[..., Any]) -> tuple[bytes, int, bool]:
    """A protected response: random DO'87/'85/'99/'8E objects, or a card-side wrap of random plain data
    (a good MAC, so the decryption and unpadding are reached), possibly mutated."""
    from simulators.card.secure_messaging import CardSession

    suite, k_enc, k_mac = _sm_keys()
    kind = draw(st.sampled_from(["objects", "wrapped", "wrapped-mutated"]))
    sw = draw(st.sampled_from([0x9000, 0x6282, 0x6982, 0x6A82]))
    if kind == "objects":
        objects = draw(st.lists(st.tuples(st.sampled_from([0x87, 0x85, 0x99, 0x8E, 0x97, 0x01]),
                                          st.binary(max_size=40)), max_size=4))
        return b"".join(wrap(tag, value) for tag, value in objects), sw, False
    card = CardSession(suite, k_enc, k_mac, 0)
    raw = card.wrap(draw(st.sampled_from([0xB0, 0xB1])), draw(st.binary(max_size=80)), sw)
    data = raw[:-2]
    if kind == "wrapped-mutated":
        data = _one_mutation(draw, data)
    return data, sw, True


def _sm_run(value: tuple[bytes, int, bool]) -> None:
    from agent.icao.apdu import ResponseApdu
    from agent.icao.secure_messaging import SecureMessaging

    data, sw, _wrapped = value
    suite, k_enc, k_mac = _sm_keys()
    SecureMessaging(suite, k_enc, k_mac, 0).unwrap(ResponseApdu(data, sw))


def _apdu_run(data: bytes) -> None:
    from agent.icao.apdu import CommandApdu, ResponseApdu

    CommandApdu.decode(data)
    if len(data) >= 2:
        ResponseApdu(data[:-2], int.from_bytes(data[-2:], "big"))


# receipts


@functools.cache
def _receipt_world() -> dict[str, Any]:
    from agent.chip import read_chip
    from agent.receipt import ReceiptKey, build_receipt
    from agent.settings import load_settings
    from simulators.card.transport import InProcessTransport
    from tests.chip_support import READ_AT, access_of, make_card, simulator_trust

    trust = simulator_trust()
    read = read_chip(InProcessTransport(make_card("normal")), settings=load_settings(None, environ={}),
                     trust_store=trust, transaction_id="fuzz-1", id_number=access_of("normal").id_number, at=READ_AT)
    key = ReceiptKey(bytes(range(32)))
    envelope = build_receipt(site_id="fuzz", issued_at=datetime(2025, 6, 1, tzinfo=UTC), key=key, chip=read.receipt)
    return {"chip": json.loads(json.dumps(read.receipt)), "envelope": json.loads(json.dumps(envelope)),
            "trust": trust, "key": key}


@st.composite
def _receipt_with_file_mutated(draw: Callable[..., Any]) -> Any:
    world = _receipt_world()
    receipt = copy.deepcopy(world[draw(st.sampled_from(["chip", "envelope"]))])
    chip = receipt["chip"] if "chip" in receipt else receipt
    name = draw(st.sampled_from(sorted(chip["files"])))
    raw = base64.b64decode(chip["files"][name])
    if name in ("DG14", "EF.CardAccess") and draw(st.booleans()):
        raw = DEFECT_1 if name != "DG14" else wrap(0x6E, DEFECT_1)
    else:
        raw = _one_mutation(draw, raw)
    chip["files"][name] = base64.b64encode(raw).decode("ascii")
    return receipt


def _receipt_inputs() -> st.SearchStrategy[Any]:
    world = _receipt_world()
    as_bytes = st.one_of(json_edits(world["envelope"]), json_edits(world["chip"])).map(
        lambda value: json.dumps(value).encode())
    return st.one_of(
        json_edits(world["envelope"]),
        json_edits(world["chip"]),
        _receipt_with_file_mutated(),
        as_bytes,
        mutated([json.dumps(world["chip"]).encode()]),
        st.sampled_from(HOSTILE_JSON),
    )


def _receipt_run(value: Any) -> None:
    from agent.receipt import parse_receipt, verify_receipt

    world = _receipt_world()
    receipt = parse_receipt(value, name="fuzz") if isinstance(value, bytes) else value
    if not isinstance(receipt, dict):
        receipt = parse_receipt(json.dumps(receipt).encode(), name="fuzz")
    json.dumps(verify_receipt(receipt, world["trust"], [world["key"].public]).to_json())


# backend answers, through the clients' real HTTP layer with a session that answers what it is given


class _Answer:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code = status
        self.content = content
        self.headers: dict[str, str] = {}


class _Session:
    """A requests-like session whose answers are the fuzzer's (the last one repeats)."""

    def __init__(self, answers: Sequence[tuple[int, bytes]]) -> None:
        self._answers = [_Answer(status, content) for status, content in answers]

    def request(self, method: str, url: str, **options: Any) -> _Answer:
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


STATUSES = st.sampled_from([200, 200, 200, 201, 400, 401, 404, 409, 422, 500, 503])

INSURANCE_ANSWER = {"id_number": "001089012345", "status": "valid", "valid_from": "2025-01-01",
                    "valid_to": "2025-12-31", "card_number": "HS4010123456789", "benefit_level": 4,
                    "facility": {"code": "01001", "name": "Bệnh viện"}, "benefit_rate": 80}
SESSION = {"session_id": "S-1", "centre": "C", "exam_date": "2025-06-01", "licence_class": "B2", "candidate_count": 1}
ROSTER_ANSWER = {**SESSION, "candidates": [{"candidate_no": "1", "id_number": "001089012345", "full_name": "A",
                                            "date_of_birth": "1989-01-01", "licence_class": "B2"}]}
CANDIDATE_ANSWER = {"id_number": "001089012345", "status": "on_roster", "candidate_no": "1", "full_name": "A",
                    "date_of_birth": "1989-01-01", "licence_class": "B2"}
EVENTS_ANSWER = {"results": [{"event_id": "e-1", "status": "accepted"}, {"event_id": "e-2", "status": "rejected",
                                                                         "reason": "no"}]}
BHXH_LOGIN = {"maKetQua": "200", "APIKey": {"access_token": "a", "id_token": "i", "token_type": "bearer",
                                            "username": "79014_BV", "expires_in": "2030-11-13T03:51:20.1047187Z"}}
BHXH_CARD = {"maKetQua": "003", "ghiChu": "x", "maThe": "HS4010123456789", "gtTheTu": "01/01/2024",
             "gtTheDen": "31/12/2024", "maDKBD": "01001", "maKV": "K1", "ngayDu5Nam": "01/01/2029",
             "maTheMoi": "HS4010123456780", "gtTheTuMoi": "01/01/2025", "gtTheDenMoi": "31/12/2030",
             "maDKBDMoi": "01002", "tenDKBDMoi": "BV"}


def _answers(seed: Any, count: int = 1) -> st.SearchStrategy[list[tuple[int, bytes]]]:
    return st.lists(st.tuples(STATUSES, json_bodies(seed)), min_size=count, max_size=count + 1)


def _http(answers: Sequence[tuple[int, bytes]]) -> Any:
    from agent.checks.http import BackendHttp

    return BackendHttp(_Session(answers), "http://backend.invalid", name="fuzz", retries=1, sleep=lambda _s: None)


def _insurance_run(answers: list[tuple[int, bytes]]) -> None:
    from agent.checks.insurance import InsuranceClient
    from agent.models import InsuranceQuery

    InsuranceClient(_http(answers)).lookup(InsuranceQuery("001089012345", "Nguyen Van A"))


def _licensing_run(answers: list[tuple[int, bytes]]) -> None:
    from agent.checks.licensing import LicensingClient

    client = LicensingClient(_http(answers))
    for call in (client.sessions, lambda: client.roster("S-1"), lambda: client.candidate("S-1", "001089012345")):
        try:
            call()
        except AgentError:
            pass


def _events_run(answers: list[tuple[int, bytes]]) -> None:
    from agent.checks.events import send_batch

    send_batch(_http(answers), [{"event_id": "e-1"}, {"event_id": "e-2"}], what="fuzz")


def _bhxh_inputs() -> st.SearchStrategy[Any]:
    return st.tuples(st.tuples(STATUSES, json_bodies(BHXH_LOGIN)), st.tuples(STATUSES, json_bodies(BHXH_CARD)),
                     st.tuples(STATUSES, json_bodies(BHXH_CARD)))


def _bhxh_run(answers: tuple[tuple[int, bytes], ...]) -> None:
    from agent.checks.bhxh import BhxhGateway
    from agent.models import InsuranceQuery, Operator

    gateway = BhxhGateway(_Session(list(answers)), "http://gateway.invalid", username="79014_BV", password="p",
                          sleep=lambda _s: None)
    query = InsuranceQuery("001089012345", "Nguyen Van A", birth_year=1989, operator=Operator("Chi", "072188004365"))
    gateway.lookup(query).to_json()


# the face image (Pillow, outside the core)


def _face_inputs() -> st.SearchStrategy[Any]:
    lds = _lds()
    images = [lds.make_image("JPEG", 24, 32), lds.make_image("JPEG2000", 24, 32)]
    return st.tuples(st.sampled_from([0, 1]), mutated(images, most=4))


def _face_run(value: tuple[int, bytes]) -> None:
    from agent.faces import FaceDecoder
    from agent.icao.lds.dg2 import parse_dg2

    kind, image = value
    dg2 = parse_dg2(_lds().dg2_with_image(image, kind))
    for face in dg2.faces:
        FaceDecoder().to_displayable(face)


def _json_run(data: bytes) -> None:
    from agent.checks.http import json_object

    json_object(data, what="fuzz")


TARGETS: tuple[Target, ...] = (
    Target("tlv", lambda: ber_inputs([_lds_seed("EF.SOD"), _lds_seed("DG13")]), _tlv_run, examples=100),
    *(_lds_target(name) for name in ("EF.COM", "EF.SOD", "DG1", "DG2", "DG13", "DG14", "DG15")),
    Target("security_infos", _security_infos_inputs, _security_infos_run, examples=150),
    Target("signed_data", _signed_data_inputs, _signed_data_run),
    Target("passive_authentication", _passive_inputs, _passive_run, examples=40),
    Target("certificate", _certificate_inputs, _certificate_run),
    Target("crl", lambda: ber_inputs([pki_world()["crl"]]), _crl_run),
    Target("master_list", lambda: ber_inputs([pki_world()["master_list"], pki_world()["pss_master_list"],
                                              pki_world()["huge_salt_master_list"]]),
           _master_list_run, examples=40),
    Target("trust_file", _trust_file_inputs, _master_list_run, examples=40),
    Target("mrz", _mrz_inputs, _mrz_run, examples=100),
    Target("qr_payload", _qr_inputs, _qr_run, examples=100),
    Target("secure_messaging", lambda: _sm_response(), _sm_run, examples=100),
    Target("apdu", lambda: st.binary(max_size=300), _apdu_run, examples=60),
    Target("receipt", _receipt_inputs, _receipt_run, examples=40),
    Target("backend.json", lambda: json_bodies(INSURANCE_ANSWER), _json_run, examples=60),
    Target("backend.insurance", lambda: _answers(INSURANCE_ANSWER, 2), _insurance_run, examples=80),
    Target("backend.licensing", lambda: _answers(ROSTER_ANSWER, 3).flatmap(
        lambda first: _answers(CANDIDATE_ANSWER).map(lambda rest: [*first, *rest])), _licensing_run, examples=60),
    Target("backend.events", lambda: _answers(EVENTS_ANSWER, 2), _events_run, examples=80),
    Target("backend.bhxh", _bhxh_inputs, _bhxh_run, examples=100),
    Target("face", _face_inputs, _face_run, examples=30),
)
BY_NAME = {target.name: target for target in TARGETS}


def image_bytes(width: int, height: int, image_format: str) -> bytes:
    """An image of the given size (the face-bomb tests)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format=image_format)
    return buffer.getvalue()

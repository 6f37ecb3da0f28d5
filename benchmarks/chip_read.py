"""A whole CCCD chip read through pcscd + vpcd (EF.ATR/INFO, access control, EF.COM, EF.SOD, DG1, DG2
~18 KB, DG13, DG14, DG15, Chip Authentication, Active Authentication, passive authentication), as
agent.chip.read_chip does it at a desk: APDU count, the agent's CPU time, wall time and the link model's
estimate of the same read on a real 424 kbit/s reader (simulators/card/link.py).

The cards (issue 12): the realistic default card ("normal": responses of at most 2 KB, announced in
EF.ATR/INFO, short EF identifiers), read with short EF identifiers and without them (ReadLimits(sfi_ok=
False): a SELECT per file); the same card on a reader whose receive buffer takes 1 KB (the first read
recovers from the failed transfer, the reader's ReadLimits remember it: the steady state is measured, the
first read reported); the short-only card ("no-extended-length"); and the simulator's first card
("generous": all of DG2 in one response, no EF.ATR/INFO), the card of the figures before issue 12.

The APDU count is compared with the minimum the card's limits allow: EF.ATR/INFO, the access-control
APDUs, then per file ceil(size / largest chunk) READ BINARYs (and one SELECT without short EF
identifiers), then CA and AA. The estimate is broken down by the model's own terms (per-APDU
turnaround, air time, the chip's cryptography) and by phase.

CPU: the simulated card runs in a thread of this process (the vpcd bridge), so the agent's CPU is the
reading thread's time (time.thread_time); the process time, which includes the card, is recorded too.
Without pcscd + vpcd the reads run in process, and the JSON says so.

Writes benchmarks/results/chip_read.json and chip_read.png.   Usage: .venv/bin/python benchmarks/chip_read.py [N]
Aims (issue 4; reported, not asserted): APDUs within 10% of the minimum; agent CPU <= 150 ms per read;
link-model estimate <= 1.0 s (extended length) and <= 2.0 s (short APDUs only). Issue 12: short EF
identifiers save at least six APDUs per read on the realistic card.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from agent.chip import read_chip  # noqa: E402
from agent.errors import AgentError  # noqa: E402
from agent.icao.crypto import AES_128, TDES, CipherSuite  # noqa: E402
from agent.icao.files import ReadLimits  # noqa: E402
from agent.icao.secure_messaging import max_plain_read  # noqa: E402
from agent.icao.trust import TrustStore  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from agent.trust_files import load_trust_directory  # noqa: E402
from agent.wiring.simulated import free_vpcd_slots, simulator_trust_dir  # noqa: E402
from simulators.card.card import SimulatedCard  # noqa: E402
from simulators.card.image import CardImage  # noqa: E402
from simulators.card.link import LinkModel  # noqa: E402
from simulators.card.personalise import build_card_image  # noqa: E402
from simulators.card.profiles import get_profile, profile_access  # noqa: E402
from simulators.card.transport import InProcessTransport  # noqa: E402
from simulators.card.vpcd import VpcdBridge  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
JSON_PATH = RESULTS / "chip_read.json"
PNG_PATH = RESULTS / "chip_read.png"
DEFAULT_RUNS = 10
APPEAR_TIMEOUT_S = 3.0
CONNECT_ATTEMPTS = 10

AIM_APDU_RATIO = 1.10
AIM_CPU_MS = 150.0
AIM_LINK_EXTENDED_MS = 1000.0
AIM_LINK_SHORT_MS = 2000.0
AIM_SFI_SAVED_APDUS = 6

FID_CARD_ACCESS = 0x011C
FID_EF_ATR_INFO = 0x2F01
FILES_READ = (("EF.COM", 0x011E), ("EF.SOD", 0x011D), ("DG1", 0x0101), ("DG2", 0x0102), ("DG13", 0x010D),
              ("DG14", 0x010E), ("DG15", 0x010F))  # fmt: skip
SFI_NAMES = {0x1C: "EF.CardAccess", 0x1E: "EF.COM", 0x1D: "EF.SOD", 0x01: "DG1", 0x02: "DG2", 0x0D: "DG13",
             0x0E: "DG14", 0x0F: "DG15"}  # fmt: skip
PACE_APDUS = 1 + 4 + 1  # MSE:Set AT, four GENERAL AUTHENTICATE, SELECT of the eMRTD application
BAC_APDUS = 1 + 1 + 1  # SELECT application, GET CHALLENGE, EXTERNAL AUTHENTICATE
AA_APDUS = 1  # INTERNAL AUTHENTICATE
ATR_INFO = "EF.ATR/INFO"

INS_NAMES = {0xA4: "SELECT", 0xB0: "READ BINARY", 0xB1: "READ BINARY", 0x22: "MSE", 0x86: "GENERAL AUTHENTICATE",
             0x84: "GET CHALLENGE", 0x82: "EXTERNAL AUTHENTICATE", 0x88: "INTERNAL AUTHENTICATE"}  # fmt: skip
CLA_SM = 0x0C
SW_WRONG_LENGTH = 0x6700
CARD_ACCESS = "EF.CardAccess"
SHORT_MAX = 256


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    profile: str
    limits: Callable[[], ReadLimits]
    description: str
    receive_limit: int | None = None  # the simulated reader's buffer (VpcdBridge / InProcessTransport)


def _shared(limits: ReadLimits) -> Callable[[], ReadLimits]:
    """One ReadLimits for every read of a configuration: what a desk keeps per reader (ReaderMemory)."""
    return lambda: limits


SMALL_BUFFER = 1024

CONFIGS = (
    Config("realistic", "normal", ReadLimits,
           "the realistic default card (2 KB responses, EF.ATR/INFO, short EF identifiers), the agent's own reads"),
    Config("realistic-no-sfi", "normal", lambda: ReadLimits(sfi_ok=False),
           "the same card, every file selected by its identifier first (ReadLimits(sfi_ok=False))"),
    Config("realistic-1k-reader", "normal", _shared(ReadLimits()),
           f"the same card on a reader that receives at most {SMALL_BUFFER}-byte responses; the reader's "
           "ReadLimits kept across reads: the first read recovers from the failed transfer (reported as "
           "first_read), the measured ones need no recovery", receive_limit=SMALL_BUFFER),
    Config("short-only", "no-extended-length", ReadLimits, "short-APDU card (223-byte reads under AES), EF.ATR/INFO"),
    Config("generous", "generous", ReadLimits,
           "the simulator's first card: 64 KB responses, no EF.ATR/INFO (the card of the figures before issue 12)"),
)  # fmt: skip


# --- a card that prices every exchange with the link model and keeps the parts -------------------------


class RecordingLink:
    """The card's link model, recording each exchange's lengths, chip operations and estimate."""

    def __init__(self, model: LinkModel) -> None:
        self.model = model
        self.records: list[dict[str, Any]] = []

    def estimate_ms(self, command_len: int, response_len: int, operation: Any = None) -> float:
        total = self.model.estimate_ms(command_len, response_len, operation)
        ops = dict(operation) if isinstance(operation, collections.abc.Mapping) else {}
        self.records.append({"command_len": command_len, "response_len": response_len, "ops": ops, "ms": total})
        return total


class MeteredCard(SimulatedCard):
    """A simulated card whose link records also keep each command's header."""

    def __init__(self, image: CardImage) -> None:
        self.recorder = RecordingLink(image.link)
        super().__init__(image, link=self.recorder)  # type: ignore[arg-type]

    def process(self, apdu: bytes) -> bytes:
        count = len(self.recorder.records)
        response = super().process(apdu)
        if len(self.recorder.records) > count:
            self.recorder.records[-1]["header"] = bytes(apdu[:4])
            self.recorder.records[-1]["sw"] = int.from_bytes(response[-2:], "big")
        return response


# --- the reads --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def card_on_reader(card: SimulatedCard, force_in_process: bool,
                   receive_limit: int | None = None) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(transport kind, a function opening a fresh connection to the card). Through pcscd + vpcd on a
    free slot when possible: every connection resets the card when it closes (SCARD_RESET_CARD)."""
    if not force_in_process:
        from agent.nfc.pcsc import PcscSystem

        for reader, port in free_vpcd_slots():
            bridge = VpcdBridge(card, port=port, receive_limit=receive_limit)
            bridge.start()
            try:
                if bridge.wait_connected(APPEAR_TIMEOUT_S) and _wait_state(PcscSystem(), reader, present=True):
                    yield "pcsc", lambda reader=reader: _connect(reader)  # type: ignore[misc]
                    return
            finally:
                bridge.stop()
                # pcscd polls vpcd about every 0.4 s: let it see the card go before the next slot is chosen
                _wait_state(PcscSystem(), reader, present=False)
    yield "in-process", lambda: InProcessTransport(card, receive_limit=receive_limit)


def _connect(reader: str) -> Any:
    """A new PC/SC connection; retried briefly, since on a shared machine another program may hold
    the reader for a moment (SCARD_E_SHARING_VIOLATION)."""
    from agent.nfc.pcsc import PcscTransport

    for _ in range(CONNECT_ATTEMPTS - 1):
        try:
            return PcscTransport(reader)
        except AgentError:
            time.sleep(0.2)
    return PcscTransport(reader)


def _wait_state(system: Any, reader: str, *, present: bool) -> bool:
    deadline = time.monotonic() + APPEAR_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if any(status.name == reader and status.card_present == present for status in system.readers()):
                return True
        except AgentError:
            return False
        time.sleep(0.02)
    return False


def one_read(open_transport: Callable[[], Any], card: MeteredCard, config: Config, trust: TrustStore,
             settings: Any, limits: ReadLimits) -> dict[str, Any]:
    access = profile_access(get_profile(config.profile))
    assert access is not None
    card.recorder.records.clear()
    estimate_before = card.link_estimate_ms
    transport = open_transport()
    try:
        wall = time.perf_counter()
        thread_cpu = time.thread_time()
        process_cpu = time.process_time()
        result = read_chip(
            transport, settings=settings, trust_store=trust, transaction_id="benchmark",
            id_number=access.id_number, limits=limits,
        )  # fmt: skip
        thread_cpu = time.thread_time() - thread_cpu
        process_cpu = time.process_time() - process_cpu
        wall = time.perf_counter() - wall
    finally:
        transport.close()
    steps = result.reading.document.steps if result.reading else []
    return {
        "apdus": result.stats.apdus,
        "bytes": result.stats.bytes_sent + result.stats.bytes_received,
        "agent_cpu_ms": thread_cpu * 1000.0,
        "process_cpu_ms": process_cpu * 1000.0,
        "wall_ms": wall * 1000.0,
        "read_elapsed_ms": result.stats.elapsed_ms,
        "link_estimate_ms": card.link_estimate_ms - estimate_before,
        "passive": str(result.evidence.passive),
        "chip": str(result.evidence.chip),
        "steps": [step.step for step in steps],
        "recoveries": sum(1 for step in steps if step.step.startswith("access control again")),
        "atr_info_read": any(step.step == "read EF.ATR/INFO" and step.note != "absent" for step in steps),
        "records": list(card.recorder.records),
    }


# --- the minimum, the breakdown, the savings ----------------------------------------------------------------


def card_chunk(image: CardImage, suite: CipherSuite | None) -> int:
    """The largest plain READ BINARY answer the card gives in one APDU under ``suite``: its largest
    response APDU (EF.ATR/INFO) less the status word, protected."""
    behaviour = image.behaviour
    if not behaviour.supports_extended_length:
        return min(behaviour.max_le, max_plain_read(suite))
    return min(behaviour.max_le, max_plain_read(suite, extended=True, limit=behaviour.max_response_apdu - 2))


def minimum_apdus(image: CardImage, pace: bool, chunk: int, plain_chunk: int, *, sfi: bool) -> dict[str, Any]:
    """EF.ATR/INFO + access control + per file (ceil(size / chunk) reads, and a SELECT without short EF
    identifiers) + CA + AA."""
    select = 0 if sfi else 1
    per_file = {name: select + math.ceil(len(image.files[fid]) / chunk) for name, fid in FILES_READ}
    atr_info = 2 if FID_EF_ATR_INFO in image.files else 1  # SELECT + READ BINARY, or the refused SELECT
    if pace:
        access = atr_info + PACE_APDUS + select + math.ceil(len(image.files[FID_CARD_ACCESS]) / plain_chunk)
    else:
        access = atr_info + BAC_APDUS
    chip_auth = 2 if pace else 1  # AES: MSE:Set AT + GENERAL AUTHENTICATE; 3DES: MSE:Set KAT
    total = access + sum(per_file.values()) + chip_auth + AA_APDUS
    return {"total": total, "access_control_with_ef_atr_info": access, "files": per_file,
            "chip_authentication": chip_auth, "active_authentication": AA_APDUS, "chunk": chunk}  # fmt: skip


def breakdown(records: list[dict[str, Any]], model: LinkModel) -> dict[str, float]:
    """The estimate split into the model's terms."""
    parts: dict[str, float] = collections.defaultdict(float)
    for record in records:
        parts["per-APDU turnaround (reader 3 ms + chip 1 ms)"] += model.turnaround_ms + model.chip_dispatch_ms
        parts["air time"] += model.transfer_ms(record["command_len"], model.fsc) + model.transfer_ms(
            record["response_len"], model.fsd
        )
        for name, count in record["ops"].items():
            kind = name.split("/")[0]
            label = {"ec_mult": "chip EC scalar multiplications", "rsa_sign": "chip RSA signature (AA)",
                     "modexp": "chip DH exponentiations", "sm": "chip secure messaging",
                     "sym": "chip secure messaging", "bac": "chip BAC"}.get(kind, kind)  # fmt: skip
            parts[label] += model.operation_ms(name) * count
    return {name: round(value, 1) for name, value in sorted(parts.items(), key=lambda item: -item[1])}


def phases(records: list[dict[str, Any]], steps: list[str], card_access_read: bool,
           atr_info_read: bool) -> list[dict[str, Any]]:
    """Each exchange labelled with the phase or file it belongs to, from the wire headers (a READ BINARY by
    short EF identifier names its file in P1, in the clear even under secure messaging) and the order of
    the agent's step log (a SELECT by file identifier takes the next file of that order)."""
    order = ([ATR_INFO] if atr_info_read else []) + ([CARD_ACCESS] if card_access_read else [])
    order += [s[5:] for s in steps if s.startswith("read ") and s[5:] != ATR_INFO]
    labelled = []
    current = "access control"
    position = 0
    after_access = False
    for record in records:
        cla, ins, p1, _p2 = record.get("header", b"\x00\x00\x00\x00")
        protected = cla & CLA_SM == CLA_SM
        if ins == 0xA4 and p1 in (0x00, 0x02):
            current = order[position] if position < len(order) else "unattributed"
            position += 1
        elif ins == 0xB0 and p1 & 0x80:
            current = SFI_NAMES.get(p1 & 0x1F, "unattributed")
            if current in order[position:]:
                position = order.index(current, position) + 1
        elif ins == 0xA4 and p1 == 0x04:
            current = "access control"
            after_access = True
        elif ins in (0x22, 0x86) and protected and after_access:
            current = "chip authentication"
        elif ins in (0x22, 0x86, 0x84, 0x82):
            current = "access control"
            after_access = after_access or ins == 0x82
        elif ins == 0x88:
            current = "active authentication"
        labelled.append({**record, "phase": current, "ins": INS_NAMES.get(ins, f"{ins:02X}")})
    return labelled


def probe_savings(labelled: list[dict[str, Any]], sizes: dict[str, int], chunk: int,
                  plain_chunk: int) -> dict[str, Any]:
    """READ BINARYs beyond ceil(size / chunk) per file, at the chunk this read used: the cost of
    learning each file's length from an 8-byte header probe first. A probe costs nothing when the
    remainder needs as many reads anyway."""
    apdus = 0
    link_ms = 0.0
    for name, size in sizes.items():
        reads = [r for r in labelled if r["phase"] == name and r["ins"] == "READ BINARY" and r["response_len"] > 2]
        extra = len(reads) - math.ceil(size / (plain_chunk if name == CARD_ACCESS else chunk))
        if extra > 0:
            apdus += extra
            link_ms += sum(r["ms"] for r in reads[:extra])  # the probe comes first
    return {"apdus": apdus, "link_ms": round(link_ms, 1)}


def summarise(config: Config, runs: list[dict[str, Any]], image: CardImage, transport: str,
              first_read: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    last = runs[-1]
    model: LinkModel = image.link
    pace = bool(image.pace)
    suite = AES_128 if pace else TDES
    limits = config.limits()
    sfi = image.behaviour.supports_sfi and limits.sfi_ok is not False
    chunk = card_chunk(image, suite)
    if limits.max_response is not None:
        chunk = min(chunk, max_plain_read(suite, extended=True, limit=limits.max_response - 2))
    plain_chunk = min(image.behaviour.max_le, max_plain_read(
        None, extended=image.behaviour.supports_extended_length, limit=image.behaviour.max_response_apdu - 2))
    minimum = minimum_apdus(image, pace, chunk, plain_chunk, sfi=sfi)
    labelled = phases(last["records"], last["steps"], card_access_read=pace, atr_info_read=last["atr_info_read"])
    by_phase: collections.Counter[str] = collections.Counter()
    apdus_by_phase: collections.Counter[str] = collections.Counter()
    for record in labelled:
        by_phase[record["phase"]] += record["ms"]
        apdus_by_phase[record["phase"]] += 1
    sizes = {CARD_ACCESS: len(image.files[FID_CARD_ACCESS])} if pace else {}
    sizes.update({name: len(image.files[fid]) for name, fid in FILES_READ})
    # An extended READ BINARY the card refuses (6700 without data), a READ BINARY by short EF identifier
    # it refuses (6A86): learned per reader (ReadLimits), paid by a read that starts without that memory.
    refused_extended = [r for r in labelled if r["ins"] == "READ BINARY" and r.get("sw") == SW_WRONG_LENGTH
                        and r["response_len"] == 2]  # fmt: skip
    refused_sfi = [r for r in labelled if r["ins"] == "READ BINARY" and r.get("sw") == 0x6A86]
    avoidable = {
        "header_probe_reads": probe_savings(labelled, sizes, chunk, plain_chunk),
        "refused_extended_read": {"apdus": len(refused_extended),
                                  "link_ms": round(sum(r["ms"] for r in refused_extended), 1)},
        "refused_short_ef_identifier": {"apdus": len(refused_sfi),
                                        "link_ms": round(sum(r["ms"] for r in refused_sfi), 1)},
    }  # fmt: skip
    saved_apdus = sum(item["apdus"] for item in avoidable.values())
    saved_ms = sum(item["link_ms"] for item in avoidable.values())
    apdus = [run["apdus"] for run in runs]
    median = statistics.median
    summary: dict[str, Any] = {
        "description": config.description,
        "profile": config.profile,
        "transport": transport,
        "runs": len(runs),
        "outcomes": sorted({f"{run['passive']}/{run['chip']}" for run in runs}),
        "short_ef_identifiers": sfi,
        "card_response_apdu_limit": image.behaviour.max_response_apdu if image.behaviour.supports_extended_length
        else 258,
        "reader_receive_limit": config.receive_limit,
        "apdus": round(median(apdus)),
        "apdus_min_max": [min(apdus), max(apdus)],
        "recoveries_per_read": max(run["recoveries"] for run in runs),
        "bytes": median(run["bytes"] for run in runs),
        "agent_cpu_ms": round(median(run["agent_cpu_ms"] for run in runs), 1),
        "agent_cpu_ms_max": round(max(run["agent_cpu_ms"] for run in runs), 1),
        "process_cpu_ms_incl_simulated_card": round(median(run["process_cpu_ms"] for run in runs), 1),
        "wall_ms": round(median(run["wall_ms"] for run in runs), 1),
        "link_estimate_ms": round(median(run["link_estimate_ms"] for run in runs), 1),
        "minimum_apdus": minimum,
        "apdus_over_minimum": round(median(apdus) / minimum["total"], 3),
        "link_breakdown_ms": breakdown(last["records"], model),
        "link_by_phase_ms": {name: round(value, 1) for name, value in by_phase.most_common()},
        "apdus_by_phase": dict(apdus_by_phase.most_common()),
        "avoidable": avoidable,
        "without_avoidable": {
            "apdus": median(apdus) - saved_apdus,
            "apdus_over_minimum": round((median(apdus) - saved_apdus) / minimum["total"], 3),
            "link_estimate_ms": round(median(run["link_estimate_ms"] for run in runs) - saved_ms, 1),
        },
        "first_read": {"apdus": first_read["apdus"], "recoveries": first_read["recoveries"],
                       "link_estimate_ms": round(first_read["link_estimate_ms"], 1),
                       "wall_ms": round(first_read["wall_ms"], 1)},
    }
    return summary


def aims(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    realistic, short = configs["realistic"], configs["short-only"]
    return {
        "apdus_within_10pct_of_minimum": {
            name: {"ratio": configs[name]["apdus_over_minimum"], "met": configs[name]["apdus_over_minimum"]
                   <= AIM_APDU_RATIO} for name in ("realistic", "realistic-no-sfi", "short-only", "generous")
        },
        "agent_cpu_le_150ms": {name: {"ms": c["agent_cpu_ms"], "met": c["agent_cpu_ms"] <= AIM_CPU_MS}
                               for name, c in configs.items()},
        "link_estimate_le_1000ms_extended": {"ms": realistic["link_estimate_ms"],
                                             "met": realistic["link_estimate_ms"] <= AIM_LINK_EXTENDED_MS},
        "link_estimate_le_2000ms_short": {"ms": short["link_estimate_ms"],
                                          "met": short["link_estimate_ms"] <= AIM_LINK_SHORT_MS},
        "short_ef_identifiers_save_6_apdus": {
            "saved": configs["realistic-no-sfi"]["apdus"] - realistic["apdus"],
            "met": configs["realistic-no-sfi"]["apdus"] - realistic["apdus"] >= AIM_SFI_SAVED_APDUS,
        },
    }


def plot(configs: dict[str, dict[str, Any]], path: Path, transport: str) -> None:
    names = list(configs)
    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    x = range(len(names))

    ax = axes[0][0]
    ax.bar([i - 0.27 for i in x], [configs[n]["apdus"] for n in names], 0.27, label="actual (steady state)")
    ax.bar(list(x), [configs[n]["first_read"]["apdus"] for n in names], 0.27, label="first read on the reader")
    ax.bar([i + 0.27 for i in x], [configs[n]["minimum_apdus"]["total"] for n in names], 0.27,
           label="minimum the card and reader allow")  # fmt: skip
    ax.set_title("APDUs per read")
    ax.legend(fontsize=8)

    ax = axes[0][1]
    categories: list[str] = []
    for name in names:
        categories += [c for c in configs[name]["link_breakdown_ms"] if c not in categories]
    bottom = [0.0] * len(names)
    for category in categories:
        values = [configs[n]["link_breakdown_ms"].get(category, 0.0) for n in names]
        ax.bar(list(x), values, 0.6, bottom=bottom, label=category)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.axhline(AIM_LINK_EXTENDED_MS, color="green", linestyle="--", linewidth=1, label="aim, extended (1.0 s)")
    ax.axhline(AIM_LINK_SHORT_MS, color="orange", linestyle="--", linewidth=1, label="aim, short only (2.0 s)")
    ax.set_title("link-model estimate on a 424 kbit/s reader (ms)")
    ax.set_ylim(0, max(max(bottom), AIM_LINK_SHORT_MS) * 1.45)
    ax.legend(fontsize=7, ncol=2, loc="upper left")

    ax = axes[1][0]
    ax.bar(list(x), [configs[n]["agent_cpu_ms"] for n in names], 0.6)
    ax.axhline(AIM_CPU_MS, color="green", linestyle="--", linewidth=1, label="aim (150 ms)")
    ax.set_title("agent CPU per read (reading thread, ms, median)")
    ax.legend(fontsize=8)

    ax = axes[1][1]
    ax.bar(list(x), [configs[n]["wall_ms"] for n in names], 0.6)
    ax.set_title(f"wall time per read through {transport} (ms, median)")

    for row in axes:
        for ax in row:
            ax.set_xticks(list(x))
            ax.set_xticklabels(names, rotation=15, fontsize=8)
    figure.suptitle("Full CCCD read: EF.ATR/INFO, access control, EF.COM, SOD, DG1, DG13, DG2, DG14, DG15, CA, AA, PA")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS
    force_in_process = "--in-process" in sys.argv
    settings = load_settings(None, environ={})
    with tempfile.TemporaryDirectory() as directory:
        simulator_trust_dir(directory)
        trust, _ = load_trust_directory(Path(directory))
    results: dict[str, dict[str, Any]] = {}
    transports = set()
    for config in CONFIGS:
        image = build_card_image(config.profile)
        card = MeteredCard(image)
        with card_on_reader(card, force_in_process, config.receive_limit) as (transport, open_transport):
            transports.add(transport)
            # The first read also warms up imports and caches; with a shared ReadLimits it is the one
            # that learns the reader (reported as first_read).
            first = one_read(open_transport, card, config, trust, settings, config.limits())
            measured = [one_read(open_transport, card, config, trust, settings, config.limits()) for _ in range(runs)]
        results[config.name] = summarise(config, measured, image, transport, first)
        summary = results[config.name]
        print(f"{config.name:20} {transport:10} apdus {summary['apdus']:>5} (min {summary['minimum_apdus']['total']}, "
              f"x{summary['apdus_over_minimum']:.2f})  cpu {summary['agent_cpu_ms']:6.1f} ms  "
              f"wall {summary['wall_ms']:6.1f} ms  link {summary['link_estimate_ms']:7.1f} ms  "
              f"first read {first['apdus']} APDUs, {first['recoveries']} recoveries {summary['outcomes']}")  # fmt: skip
    transport = "pcsc" if transports == {"pcsc"} else ", ".join(sorted(transports))
    document = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "transport": transport,
        "transport_note": "pyscard -> pcscd -> vpcd -> the simulated card (vpcd bridge thread in this process)"
        if transport == "pcsc"
        else "pcscd / vpcd unavailable (or --in-process given): the simulated card was read in process",
        "runs_per_config": runs,
        "statistic": "median",
        "cpu_clock": "time.thread_time of the reading thread"
        + (" (the simulated card's thread excluded)" if transport == "pcsc"
           else " (in process the simulated card runs in that thread: its CPU is included)"),
        "link_model": dataclasses.asdict(LinkModel()),
        "configs": results,
        "aims": aims(results),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(results, PNG_PATH, transport)
    print(f"wrote {JSON_PATH.relative_to(ROOT)} and {PNG_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

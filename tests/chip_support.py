"""Shared helpers of the chip-path tests (read sequence, read_chip, receipts, the read command, tearing,
PC/SC end to end): the simulator's trust store, each profile's access keys, a card that records the
plain commands it executes, a transport that records what crossed the link, and the personal values
of a profile's holder (to prove they never reach a log)."""

from __future__ import annotations

import collections
import dataclasses
import functools
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.files import ReadLimits
from agent.icao.keys import CanKey, MrzKey
from agent.icao.read_sequence import ChipReading, FileProgress, FileRead, read_document
from agent.icao.transport import build_send
from agent.icao.trust import TrustStore
from agent.trust_files import load_trust_directory
from agent.wiring.simulated import simulator_trust_dir
from simulators.card.card import SimulatedCard
from simulators.card.personalise import build_card_image
from simulators.card.profiles import PROFILES, AccessData, get_profile, profile_access, profile_person
from simulators.card.transport import InProcessTransport

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1
INS_MSE = 0x22
INS_GENERAL_AUTHENTICATE = 0x86
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_INTERNAL_AUTHENTICATE = 0x88

FID_DG3 = 0x0103
FID_DG4 = 0x0104

CCCD_PROFILES = tuple(name for name, profile in PROFILES.items() if profile.kind == "cccd")
AA_CHALLENGE = bytes.fromhex("0102030405060708")
READ_AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)  # inside every test signer's validity but expired-signer's


@functools.cache
def _trust_files() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as directory:
        simulator_trust_dir(directory)
        return {path.name: path.read_bytes() for path in Path(directory).iterdir() if path.is_file()}


def write_simulator_trust(directory: Path) -> Path:
    """The simulator's test CSCAs and CRLs written into ``directory`` (created), which is returned."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in _trust_files().items():
        (directory / name).write_bytes(data)
    return directory


def simulator_trust() -> TrustStore:
    """A fresh trust store holding the simulator's trusted test CSCAs and their CRLs."""
    with tempfile.TemporaryDirectory() as directory:
        store, report = load_trust_directory(write_simulator_trust(Path(directory)))
    assert not report.problems, report.problems
    return store


def access_of(profile: str) -> AccessData:
    access = profile_access(get_profile(profile))
    assert access is not None, profile
    return access


def can_of(profile: str) -> CanKey:
    return CanKey(access_of(profile).can)


def mrz_of(profile: str) -> MrzKey:
    access = access_of(profile)
    return MrzKey(access.document_number, access.date_of_birth, access.date_of_expiry)


def config_file(directory: Path, trust_dir: Path) -> Path:
    """A settings file for ``python -m agent --config``: the trust store in ``trust_dir``, the receipt key
    in ``directory``, quiet logs."""
    path = directory / "agent.toml"
    path.write_text(f'[trust]\ncsca_dir = "{trust_dir.as_posix()}"\n\n[receipts]\n'
                    f'key_file = "{(directory / "receipt.key").as_posix()}"\n\n[log]\nlevel = "WARNING"\n',
                    encoding="utf-8")
    return path


@functools.cache
def _image(profile: str) -> Any:
    return build_card_image(profile)


class RecordingCard(SimulatedCard):
    """A simulated card that keeps every command it executes, after secure messaging was removed, so
    that a test can see which files the host asked for (the wire only shows encrypted selects)."""

    def __init__(self, image: Any, **options: Any) -> None:
        super().__init__(image, **options)
        self.plain_commands: list[CommandApdu] = []

    def _dispatch(self, command: CommandApdu, limit: int, ops: collections.Counter[str]) -> Any:
        self.plain_commands.append(command)
        return super()._dispatch(command, limit, ops)

    def files_requested(self) -> set[int]:
        """Every file the host selected by FID or named in a READ BINARY (short EF id, DO'54 form)."""
        fids: set[int] = set()
        for command in self.plain_commands:
            if command.ins == INS_SELECT and command.p1 in (0x00, 0x02) and len(command.data) == 2:
                fids.add(int.from_bytes(command.data, "big"))
            elif command.ins == INS_READ_BINARY and command.p1 & 0x80:
                fids.add(0x0100 | (command.p1 & 0x1F))
            elif command.ins == INS_READ_BINARY_ODD and (command.p1 or command.p2):
                reference = (command.p1 << 8) | command.p2
                fids.add(0x0100 | reference if reference < 0x20 else reference)
        return fids


def make_card(profile: str = "normal", *, recording: bool = False) -> SimulatedCard:
    """A fresh card of ``profile`` (the personalisation is cached: cards share no state)."""
    image = _image(profile)
    return RecordingCard(image) if recording else SimulatedCard(image)


class WireLog:
    """A transport wrapper that keeps every (command, response) pair that crossed the link."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.exchanges: list[tuple[bytes, ResponseApdu]] = []

    def transmit(self, apdu: bytes) -> ResponseApdu:
        response: ResponseApdu = self.inner.transmit(apdu)
        self.exchanges.append((bytes(apdu), response))
        return response

    def close(self) -> None:
        self.inner.close()

    def count(self, ins: int) -> int:
        return sum(1 for apdu, _ in self.exchanges if apdu[1] == ins)

    @property
    def instructions(self) -> list[int]:
        return [apdu[1] for apdu, _ in self.exchanges]


@dataclasses.dataclass
class ProfileRead:
    reading: ChipReading
    card: SimulatedCard
    wire: WireLog


def read_profile(
    profile: str,
    *,
    card: SimulatedCard | None = None,
    can: CanKey | bool | None = True,
    mrz: MrzKey | bool | None = True,
    trust: TrustStore | None = None,
    limits: ReadLimits | None = None,
    progress: FileProgress | None = None,
    on_file: FileRead | None = None,
    recording: bool = False,
) -> ProfileRead:
    """Read ``profile``'s card in process with read_document. ``can`` / ``mrz``: True for the
    profile's own key, False for none, or a key."""
    card = card if card is not None else make_card(profile, recording=recording)
    wire = WireLog(InProcessTransport(card))
    can_key = can_of(profile) if can is True else (can or None)
    mrz_key = mrz_of(profile) if mrz is True else (mrz or None)
    reading = read_document(
        build_send(wire),
        can=can_key if isinstance(can_key, CanKey) else None,
        mrz=mrz_key if isinstance(mrz_key, MrzKey) else None,
        trust=trust if trust is not None else simulator_trust(),
        at=READ_AT,
        aa_challenge=AA_CHALLENGE,
        limits=limits,
        progress=progress,
        on_file=on_file,
    )
    return ProfileRead(reading, card, wire)


def personal_values(profile: str) -> list[str]:
    """Strings that identify the holder of ``profile``'s card: none may appear in a log."""
    person = profile_person(get_profile(profile))
    access = access_of(profile)
    dob = person.date_of_birth
    values = [
        person.id_number,
        access.can,
        person.document_number,
        person.full_name,
        *(word for word in person.full_name.split() if len(word) >= 3),
        person.full_name.upper(),
        dob.strftime("%d/%m/%Y"),
        dob.isoformat(),
        access.date_of_birth,
        access.date_of_expiry,
        person.place_of_origin,
        person.permanent_residence,
        person.card_serial,
        person.father_name,
        person.mother_name,
        *access.mrz,
    ]
    if person.old_id_number:
        values.append(person.old_id_number)
    return [value for value in values if value]


def leaked(texts: Iterable[str], profile: str) -> list[str]:
    """The personal values of ``profile`` found in any of ``texts``."""
    joined = "\n".join(texts)
    return [value for value in personal_values(profile) if value in joined]


def arm_after(file_name: str, action: Callable[[], object]) -> FileProgress:
    """A progress callback that runs ``action`` once, as soon as ``file_name`` has been read whole
    (the next command the card sees belongs to the next file)."""
    fired = False

    def progress(name: str, done: int, total: int) -> None:
        nonlocal fired
        if not fired and name == file_name and done >= total:
            fired = True
            action()

    return progress

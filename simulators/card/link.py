"""An estimate of how long an APDU exchange would take on a real contactless reader (ISO/IEC 14443-4
block transmission over the 14443-2/-3 air interface, plus the reader's and the chip's processing), so
that a read on the simulator, which is nearly instantaneous, also yields the time the same read would
take at a clinic desk.

The model, per APDU: the command is cut into I-blocks of at most FSC bytes (prologue PCB and CRC_A
included), the response into I-blocks of at most FSD bytes; every block but the last of a chain is
acknowledged by an R(ACK) block from the other side; every frame costs its bits on air plus one frame
delay time; the reader adds a fixed turnaround (firmware, driver, PC/SC), the chip a fixed dispatch
time plus the cost of the cryptographic operations it performed.

Every number below is an ASSUMPTION with its reasoning, not a measurement; change them per profile
(e.g. a slow link at 106 kbit/s) and calibrate them against a real card when one is available:

- ``bit_rate`` 424 kbit/s: the highest rate most desktop readers negotiate with eMRTD chips; 106
  kbit/s is the 14443 default when no higher rate is negotiated.
- ``bits_per_byte`` 9: 14443-3 Type A frames carry an odd parity bit per byte (Type B uses 10 with
  start/stop bits); ``frame_overhead_bits`` 2 stands for SOF/EOF.
- ``block_overhead`` 3 bytes: PCB plus the two CRC bytes of an I-block (no CID, no NAD).
- ``fsc`` / ``fsd`` 256: the largest frame sizes of 14443-4 (FSCI/FSDI 8); many readers use 64 or 128.
- ``frame_delay_ms`` 0.1: the 14443-3 frame delay time (~86 us at 106 kbit/s) rounded up.
- ``turnaround_ms`` 3.0 per APDU: a USB CCID reader, its driver and PC/SC (brief of issue 4).
- ``chip_dispatch_ms`` 1.0 per APDU: the chip's operating system parsing a command, file access.
- ``ec_mult_256_ms`` 90: one scalar multiplication on a 256-bit curve. Derived from the only
  measurement of a CCCD we have (docs/reference/card.md "Timings", a phone): BAC ~50 ms for 2 APDUs
  (so ~25 ms per APDU of phone overhead, BAC's own crypto being negligible) and Chip Authentication
  ~230 ms for 2 APDUs, leaving ~180 ms of chip time for an ECDH with public-key validation: ~2 multiplications.
  Other sizes scale with the cube of the size (scalar length x field multiplication cost).
- ``modexp_2048_224_ms`` 90: one DH exponentiation, 2048-bit modulus, 224-bit exponent; assumed to
  cost about an EC multiplication of similar strength; scales with exponent bits x modulus bits^2.
- ``rsa_sign_2048_ms`` 250: an RSA-2048 private-key operation with CRT; scales with the cube of the
  modulus size.
- ``sm_apdu_ms`` 0.5 plus ``sym_block_ms`` 0.02 per 16 bytes: wrapping/unwrapping one APDU with the
  chip's symmetric coprocessor.

Operations are named ``"ec_mult/<bits>"``, ``"modexp/<modulus bits>/<exponent bits>"``,
``"rsa_sign/<bits>"``, ``"sm"`` (one protected APDU), ``"sym/<bytes>"`` and ``"bac"``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping

from agent.errors import ConfigError

R_BLOCK_BYTES = 3  # PCB + CRC_A


@dataclasses.dataclass(frozen=True)
class LinkModel:
    """Timing assumptions of one reader + chip pair (see the module docstring for the reasoning)."""

    bit_rate: int = 424_000
    bits_per_byte: int = 9
    frame_overhead_bits: int = 2
    block_overhead: int = 3
    fsc: int = 256
    fsd: int = 256
    frame_delay_ms: float = 0.1
    turnaround_ms: float = 3.0
    chip_dispatch_ms: float = 1.0
    ec_mult_256_ms: float = 90.0
    modexp_2048_224_ms: float = 90.0
    rsa_sign_2048_ms: float = 250.0
    sm_apdu_ms: float = 0.5
    sym_block_ms: float = 0.02
    bac_ms: float = 2.0

    def __post_init__(self) -> None:
        if self.bit_rate <= 0:
            raise ConfigError("bit rate must be positive", key="bit_rate")
        for name in ("fsc", "fsd"):
            if getattr(self, name) <= self.block_overhead:
                raise ConfigError("frame size must exceed the block overhead", key=name)

    # --- air interface ------------------------------------------------------------------------

    def frame_ms(self, frame_bytes: int) -> float:
        """One frame on air plus the frame delay before the other side may answer."""
        bits = frame_bytes * self.bits_per_byte + self.frame_overhead_bits
        return bits * 1000.0 / self.bit_rate + self.frame_delay_ms

    def blocks(self, apdu_bytes: int, frame_size: int) -> int:
        return max(1, math.ceil(apdu_bytes / (frame_size - self.block_overhead)))

    def transfer_ms(self, apdu_bytes: int, frame_size: int) -> float:
        """One APDU as a chain of I-blocks, each but the last acknowledged by an R(ACK)."""
        count = self.blocks(apdu_bytes, frame_size)
        total = apdu_bytes + count * self.block_overhead
        full_ms = total * self.bits_per_byte * 1000.0 / self.bit_rate
        per_frame = count * (self.frame_overhead_bits * 1000.0 / self.bit_rate + self.frame_delay_ms)
        acks = (count - 1) * self.frame_ms(R_BLOCK_BYTES)
        return full_ms + per_frame + acks

    # --- chip processing ----------------------------------------------------------------------

    def operation_ms(self, operation: str) -> float:
        """The chip time of one named operation (module docstring); unknown names are an error."""
        kind, _, size = operation.partition("/")
        try:
            if kind == "ec_mult":
                return self.ec_mult_256_ms * (int(size) / 256) ** 3
            if kind == "modexp":
                modulus, _, exponent = size.partition("/")
                return self.modexp_2048_224_ms * (int(exponent) / 224) * (int(modulus) / 2048) ** 2
            if kind == "rsa_sign":
                return self.rsa_sign_2048_ms * (int(size) / 2048) ** 3
            if kind == "sym":
                return self.sym_block_ms * math.ceil(int(size) / 16)
        except ValueError as exc:
            raise ConfigError(f"operation {operation!r} has a malformed size", key="operation") from exc
        if kind == "sm" and not size:
            return self.sm_apdu_ms
        if kind == "bac" and not size:
            return self.bac_ms
        raise ConfigError(f"unknown chip operation {operation!r}", key="operation")

    def estimate_ms(
        self,
        command_len: int,
        response_len: int,
        operation: str | Iterable[str] | Mapping[str, int] | None = None,
    ) -> float:
        """Estimated milliseconds for one APDU exchange on the modelled reader."""
        if command_len < 0 or response_len < 0:
            raise ConfigError("APDU lengths cannot be negative", key="length")
        total = self.turnaround_ms + self.chip_dispatch_ms
        total += self.transfer_ms(command_len, self.fsc) + self.transfer_ms(response_len, self.fsd)
        if operation is None:
            return total
        if isinstance(operation, str):
            return total + self.operation_ms(operation)
        if isinstance(operation, Mapping):
            return total + sum(self.operation_ms(name) * count for name, count in operation.items())
        return total + sum(self.operation_ms(name) for name in operation)


SLOW_LINK = LinkModel(bit_rate=106_000, fsc=64, fsd=64)
"""A 106 kbit/s reader with 64-byte frames, as cheap readers and far-from-antenna cards behave."""

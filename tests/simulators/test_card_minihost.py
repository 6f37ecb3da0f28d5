"""A tiny test-only terminal written from Doc 9303-11 for exercising the simulated card's protocols
(BAC, PACE, secure messaging, Chip Authentication) without the agent's own host code
(docs/architecture.md "Layers", rule 5: the card is checked against the published examples and against
this, the real host is cross-checked by the lead). The tests in this module check the mini host itself
against Appendix D, so that the other card tests can trust it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from agent.icao import dh, ec, tlv
from agent.icao.crypto import KDF_ENC, KDF_MAC, KDF_PACE, TDES, CipherSuite, pad, unpad
from simulators.card.card import SimulatedCard
from simulators.card.pace import PaceProtocol, point_encoding, pseudo_random


class ScriptedRng:
    """Hands out fixed byte strings in order, checking that each request has the expected length."""

    def __init__(self, *chunks: str, fallback: Callable[[int], bytes] | None = None) -> None:
        self.chunks = [bytes.fromhex(chunk) for chunk in chunks]
        self.fallback = fallback

    def __call__(self, length: int) -> bytes:
        if not self.chunks:
            assert self.fallback is not None, f"unexpected request for {length} random bytes"
            return self.fallback(length)
        chunk = self.chunks.pop(0)
        assert len(chunk) == length, f"card asked for {length} bytes, script has {len(chunk)}"
        return chunk


def seeded_rng(seed: int) -> Callable[[int], bytes]:
    generator = random.Random(seed)
    return lambda length: generator.randbytes(length)


class MiniSm:
    """Terminal-side secure messaging of §9.8, just enough for the tests."""

    def __init__(self, suite: CipherSuite, ks_enc: bytes, ks_mac: bytes, ssc: int) -> None:
        self.suite, self.ks_enc, self.ks_mac, self.ssc = suite, ks_enc, ks_mac, ssc

    def _next(self) -> bytes:
        self.ssc += 1
        return self.ssc.to_bytes(self.suite.block_size, "big")

    def _iv(self, ssc: bytes) -> bytes | None:
        return self.suite.encrypt(self.ks_enc, ssc) if self.suite.is_aes else None

    def wrap(self, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None, *,
             extended: bool = False, cla: int = 0x0C) -> bytes:
        ssc = self._next()
        header = bytes([cla, ins, p1, p2])
        objects = b""
        if data:
            cryptogram = self.suite.encrypt(self.ks_enc, pad(data, self.suite.block_size), self._iv(ssc))
            objects += tlv.encode(0x85, cryptogram) if ins & 1 else tlv.encode(0x87, b"\x01" + cryptogram)
        if le is not None:
            objects += tlv.encode(0x97, (le & (0xFFFF if extended else 0xFF)).to_bytes(2 if extended else 1, "big"))
        mac = self.suite.mac(self.ks_mac, pad(ssc + pad(header, self.suite.block_size) + objects,
                                              self.suite.block_size))
        body = objects + tlv.encode(0x8E, mac)
        if extended:
            return header + b"\x00" + len(body).to_bytes(2, "big") + body + b"\x00\x00"
        return header + bytes([len(body)]) + body + b"\x00"

    def unwrap(self, response: bytes) -> tuple[bytes, int]:
        sw = int.from_bytes(response[-2:], "big")
        if len(response) == 2:
            return b"", sw  # an unprotected status word: no MAC, so no SSC step either
        ssc = self._next()
        objects = tlv.decode_all(response[:-2])
        assert objects[-1].tag == 0x8E
        macced = b"".join(item.encode() for item in objects[:-1])
        expected = self.suite.mac(self.ks_mac, pad(ssc + macced, self.suite.block_size))
        assert objects[-1].value == expected, "response MAC does not verify"
        data = b""
        for item in objects[:-1]:
            if item.tag in (0x85, 0x87):
                cryptogram = item.value[1:] if item.tag == 0x87 else item.value
                data = unpad(self.suite.decrypt(self.ks_enc, cryptogram, self._iv(ssc)))
            elif item.tag == 0x99:
                assert int.from_bytes(item.value, "big") == sw
        return data, sw


def sw_of(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big")


def select_emrtd() -> bytes:
    return bytes.fromhex("00A4040C07A0000002471001")


def run_bac(
    card: SimulatedCard, mrz_information: str, rng: Callable[[int], bytes], *, select_first: bool = True
) -> MiniSm:
    """BAC from the terminal's side (§4.3), after SELECT of the eMRTD application unless
    ``select_first`` is False; returns the terminal's SM."""
    seed = hashlib.sha1(mrz_information.encode()).digest()[:16]
    k_enc, k_mac = TDES.derive(seed, KDF_ENC), TDES.derive(seed, KDF_MAC)
    if select_first:
        assert sw_of(card.process(select_emrtd())) == 0x9000
    challenge = card.process(bytes.fromhex("0084000008"))
    assert sw_of(challenge) == 0x9000
    rnd_ic = challenge[:8]
    rnd_ifd, k_ifd = rng(8), rng(16)
    e_ifd = TDES.encrypt(k_enc, rnd_ifd + rnd_ic + k_ifd)
    m_ifd = TDES.mac(k_mac, pad(e_ifd, 8))
    answer = card.process(bytes.fromhex("0082000028") + e_ifd + m_ifd + b"\x28")
    assert sw_of(answer) == 0x9000, f"{sw_of(answer):04X}"
    e_ic, m_ic = answer[:32], answer[32:40]
    assert TDES.mac(k_mac, pad(e_ic, 8)) == m_ic
    r = TDES.decrypt(k_enc, e_ic)
    assert r[:8] == rnd_ic and r[8:16] == rnd_ifd
    shared = bytes(a ^ b for a, b in zip(r[16:], k_ifd, strict=True))
    return MiniSm(TDES, TDES.derive(shared, KDF_ENC), TDES.derive(shared, KDF_MAC),
                  int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"))


class PaceRefusedError(Exception):
    def __init__(self, step: str, sw: int) -> None:
        super().__init__(f"{step}: {sw:04X}")
        self.step, self.sw = step, sw


def _ga(card: SimulatedCard, objects: bytes, *, last: bool = False, extended: bool = False) -> bytes:
    body = tlv.encode(0x7C, objects)
    cla = 0x00 if last else 0x10
    if extended:
        raw = bytes([cla, 0x86, 0, 0, 0]) + len(body).to_bytes(2, "big") + body + b"\x00\x00"
    else:
        raw = bytes([cla, 0x86, 0, 0, len(body)]) + body + b"\x00"
    response = card.process(raw)
    if sw_of(response) != 0x9000:
        raise PaceRefusedError("GENERAL AUTHENTICATE", sw_of(response))
    return tlv.decode_single(response[:-2], 0x7C).value


def run_pace(card: SimulatedCard, oid: str, parameter_id: int, reference: int, password: bytes,
             rng: Callable[[int], bytes], *, send_parameter_id: bool = True) -> MiniSm:
    """PACE from the terminal's side (§4.4) with GM or IM over ECDH or DH; returns the terminal's SM.

    ``password`` is f(π): SHA-1 of the MRZ information, or the CAN."""
    protocol = PaceProtocol.parse(oid)
    suite = protocol.suite
    data = tlv.encode(0x80, tlv.encode_oid(oid)) + tlv.encode(0x83, bytes([reference]))
    if send_parameter_id:
        data += tlv.encode(0x84, bytes([parameter_id]))
    answer = card.process(bytes([0x00, 0x22, 0xC1, 0xA4, len(data)]) + data)
    if sw_of(answer) != 0x9000:
        raise PaceRefusedError("MSE:Set AT", sw_of(answer))
    k_pi = suite.derive(password, KDF_PACE)
    z = tlv.decode_single(_ga(card, b""), 0x80).value
    s = suite.decrypt(k_pi, z)
    extended = parameter_id in (1, 2)  # 2048-bit DH values need extended length
    if protocol.agreement == "ECDH":
        curve = ec.CURVES_BY_PARAMETER_ID[parameter_id]

        def secret_scalar() -> int:
            return int.from_bytes(rng(curve.order_byte_length + 8), "big") % (curve.n - 1) + 1

        if protocol.mapping == "GM":
            sk_map = secret_scalar()
            pk = ec.encode_point(curve, ec.scalar_mult(curve, sk_map, curve.generator))
            chip_pk = ec.decode_point(curve, tlv.decode_single(_ga(card, tlv.encode(0x81, pk)), 0x82).value)
            shared = ec.scalar_mult(curve, sk_map, chip_pk)
            generator = ec.point_add(curve, ec.scalar_mult(curve, int.from_bytes(s, "big"), curve.generator), shared)
        else:
            t = rng(protocol.terminal_nonce_length)
            assert _ga(card, tlv.encode(0x81, t)) == b""
            generator = point_encoding(curve, pseudo_random(suite, s, t, curve.p))
        assert generator is not None
        sk = secret_scalar()
        my_public = ec.encode_point(curve, ec.scalar_mult(curve, sk, generator))
        chip_public = tlv.decode_single(_ga(card, tlv.encode(0x83, my_public)), 0x84).value
        point = ec.scalar_mult(curve, sk, ec.decode_point(curve, chip_public))
        assert point is not None
        secret = point[0].to_bytes(curve.byte_length, "big")
        public_tag = 0x86
    else:
        group = dh.GROUPS_BY_PARAMETER_ID[parameter_id]
        assert group.q is not None
        q = group.q

        def secret_exponent() -> int:
            return int.from_bytes(rng(group.order_byte_length + 8), "big") % (q - 1) + 1

        def unsigned(value: int) -> bytes:
            return value.to_bytes((value.bit_length() + 7) // 8, "big")

        if protocol.mapping == "GM":
            sk_map = secret_exponent()
            chip_value = tlv.decode_single(
                _ga(card, tlv.encode(0x81, unsigned(pow(group.g, sk_map, group.p))), extended=extended), 0x82).value
            h = pow(int.from_bytes(chip_value, "big"), sk_map, group.p)
            g_hat = pow(group.g, int.from_bytes(s, "big"), group.p) * h % group.p
        else:
            t = rng(protocol.terminal_nonce_length)
            assert _ga(card, tlv.encode(0x81, t)) == b""
            g_hat = pow(pseudo_random(suite, s, t, group.p), (group.p - 1) // q, group.p)
        sk = secret_exponent()
        my_public = unsigned(pow(g_hat, sk, group.p))
        chip_public = tlv.decode_single(_ga(card, tlv.encode(0x83, my_public), extended=extended), 0x84).value
        secret = pow(int.from_bytes(chip_public, "big"), sk, group.p).to_bytes(group.byte_length, "big")
        public_tag = 0x84
    ks_enc, ks_mac = suite.derive(secret, KDF_ENC), suite.derive(secret, KDF_MAC)

    def token(public: bytes) -> bytes:
        data = tlv.encode(0x7F49, tlv.encode(0x06, tlv.encode_oid(oid)) + tlv.encode(public_tag, public))
        return suite.mac(ks_mac, data if suite.is_aes else pad(data, suite.block_size))

    t_ic = tlv.decode_single(_ga(card, tlv.encode(0x85, token(chip_public)), last=True), 0x86).value
    assert t_ic == token(my_public), "the chip's token does not verify"
    return MiniSm(suite, ks_enc, ks_mac, 0)


# --- the mini host checked against Appendix D.4 ---------------------------------------------------------


def test_mini_sm_reproduces_appendix_d4_commands() -> None:
    sm = MiniSm(TDES, bytes.fromhex("979EC13B1CBFE9DCD01AB0FED307EAE5"),
                bytes.fromhex("F1CB1F1FB5ADF208806B89DC579DC1F8"), 0x887022120C06C226)
    assert sm.wrap(0xA4, 0x02, 0x0C, bytes.fromhex("011E")).hex().upper() == (
        "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    assert sm.unwrap(bytes.fromhex("990290008E08FA855A5D4C50A8ED9000")) == (b"", 0x9000)
    assert sm.wrap(0xB0, 0, 0, le=4).hex().upper() == "0CB000000D9701048E08ED6705417E96BA5500"
    assert sm.unwrap(bytes.fromhex("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")) == (
        bytes.fromhex("60145F01"), 0x9000)

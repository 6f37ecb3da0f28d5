"""Access control order for a CCCD: EF.CardAccess first, then PACE-CAN, PACE-MRZ and BAC, each at
most once, with every attempt recorded; fallbacks when EF.CardAccess cannot be read. PACE is a fake
here (it has its own known-answer tests); BAC runs for real against the Appendix D card answers."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import pytest

from agent.errors import AccessDeniedError, AuthenticationFailedError, CardRemovedError, SecureMessagingError
from agent.icao.access import (
    DEFAULT_PACE_INFO,
    Attempt,
    choose_pace_info,
    open_secure_channel,
    parse_order,
)
from agent.icao.apdu import CommandApdu, ResponseApdu
from agent.icao.crypto import AES_128, CipherSuite
from agent.icao.keys import CanKey, MrzKey
from agent.icao.security_infos import PaceInfo, SecurityInfos, parse_security_infos
from tests.icao.test_secure_messaging import CardSideSM

CARD_ACCESS_G1 = bytes.fromhex("31143012060A04007F0007020204020202010202010D")
MRZ = MrzKey("L898902C", "690806", "940623")  # the Appendix D document, so that BAC can succeed
CAN = CanKey("047064")
RND_IC = bytes.fromhex("4608F91988702212")
BAC_ANSWER = bytes.fromhex("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")
BAC_RNG = bytes.fromhex("781723860C06C2260B795240CB7049B01C19B33E32804F0B")
SESSION_ENC = bytes(range(16))
SESSION_MAC = bytes(range(16, 32))


@dataclasses.dataclass(frozen=True)
class FakePaceResult:
    suite: CipherSuite
    k_enc: bytes
    k_mac: bytes


@dataclasses.dataclass
class FakeCard:
    """A CCCD as access control sees it. ``pace`` maps password reference to "ok" or an SW."""

    card_access_sw: int = 0x9000
    card_access: bytes = CARD_ACCESS_G1
    pace: dict[int, str] = dataclasses.field(default_factory=lambda: {1: "ok", 2: "ok"})
    bac_sw: int = 0x9000
    emrtd_sw: int = 0x9000  # the answer to SELECT of the eMRTD application
    garbled_answers: bool = False  # protected answers arrive with a broken MAC (a noisy link)
    log: list[str] = dataclasses.field(default_factory=list)
    pace_calls: list[tuple[bytes, int, PaceInfo]] = dataclasses.field(default_factory=list)
    sm: CardSideSM | None = None
    selected: str = ""

    def __call__(self, command: CommandApdu) -> ResponseApdu:
        if command.cla & 0x0C:
            assert self.sm is not None, "protected command without a session"
            try:
                plain = self.sm.unwrap_command(command)
            except AssertionError:  # wrong MAC: the card answers 6988 in plain and ends the session
                self.sm = None
                return ResponseApdu(b"", 0x6988)
            self.log.append("SM " + plain.encode().hex().upper())
            response = self._plain(plain)
            wrapped = self.sm.wrap_response(response.data, response.sw)
            if self.garbled_answers:
                return ResponseApdu(wrapped.data[:-1] + bytes([wrapped.data[-1] ^ 0x01]), wrapped.sw)
            return wrapped
        self.log.append(command.encode().hex().upper())
        return self._plain(command)

    def _plain(self, command: CommandApdu) -> ResponseApdu:
        if command.ins == 0xA4 and command.p1 == 0x02:
            if self.card_access_sw != 0x9000:
                return ResponseApdu(b"", self.card_access_sw)
            self.selected = "card-access"
            return ResponseApdu(b"", 0x9000)
        if command.ins == 0xA4 and command.p1 == 0x04:
            if self.emrtd_sw != 0x9000:
                return ResponseApdu(b"", self.emrtd_sw)
            self.selected = "emrtd"
            return ResponseApdu(b"", 0x9000)
        if command.ins == 0xB0:
            if command.p1 & 0x80:  # by short EF identifier: only EF.CardAccess (1C) is read here
                assert command.p1 & 0x1F == 0x1C
                if self.card_access_sw != 0x9000:
                    return ResponseApdu(b"", self.card_access_sw)
                self.selected = "card-access"
                offset = command.p2
            else:
                offset = (command.p1 << 8) | command.p2
            assert command.le is not None
            return ResponseApdu(self.card_access[offset : offset + command.le], 0x9000)
        if command.ins == 0x84:
            return ResponseApdu(RND_IC, 0x9000)
        if command.ins == 0x82:
            if self.bac_sw != 0x9000:
                return ResponseApdu(b"", self.bac_sw)
            return ResponseApdu(BAC_ANSWER, 0x9000)
        return ResponseApdu(b"", 0x6D00)

    def perform_pace(
        self, send: object, password: bytes, password_reference: int, pace_info: PaceInfo, *, rng: object
    ) -> FakePaceResult:
        self.pace_calls.append((password, password_reference, pace_info))
        self.log.append(f"PACE {password_reference}")
        outcome = self.pace.get(password_reference, "6A80")
        if outcome in ("ok", "other keys"):
            self.sm = CardSideSM(True, SESSION_ENC, SESSION_MAC if outcome == "ok" else bytes(16), 0)
            return FakePaceResult(AES_128, SESSION_ENC, SESSION_MAC)
        sw = int(outcome, 16)
        if sw == 0x6300:
            kind = "CAN" if password_reference == 2 else "MRZ"
            raise AuthenticationFailedError("PACE failed", key_kind=kind, sw=sw)
        raise AccessDeniedError("MSE:Set AT refused", sw, command="MSE:Set AT")


def ticking_clock() -> Callable[[], float]:
    """One second passes between any two readings."""
    counter = itertools.count()
    return lambda: float(next(counter))


def fixed_rng(n: int) -> bytes:
    assert n == len(BAC_RNG)
    return BAC_RNG


def open_with(card: FakeCard, **kwargs: object):  # type: ignore[no-untyped-def]
    return open_secure_channel(
        card,
        perform_pace=card.perform_pace,
        rng=fixed_rng,
        clock=ticking_clock(),
        **kwargs,  # type: ignore[arg-type]
    )


def summary(attempts: tuple[Attempt, ...]) -> list[tuple[str, bool, int | None]]:
    return [(a.method, a.ok, a.sw) for a in attempts]


def test_pace_can_first_with_the_parameters_of_ef_cardaccess() -> None:
    card = FakeCard()
    result = open_with(card, can=CAN, mrz=MRZ)
    assert result.method == "pace-can"
    assert summary(result.attempts) == [("card-access", True, None), ("pace-can", True, None)]
    assert card.pace_calls == [(b"047064", 2, PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13))]
    assert result.pace_info == PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)
    assert result.card_access == CARD_ACCESS_G1
    assert result.channel.suite is AES_128
    # the eMRTD application is selected through the new secure channel
    assert card.log[-1] == "SM 00A4040C07A0000002471001" and card.selected == "emrtd"
    # and the returned send keeps working under secure messaging
    assert result.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001"))).sw == 0x9000


def test_wrong_can_falls_through_to_pace_mrz() -> None:
    card = FakeCard(pace={2: "6300", 1: "ok"})
    result = open_with(card, can=CAN, mrz=MRZ)
    assert result.method == "pace-mrz"
    assert summary(result.attempts) == [
        ("card-access", True, None),
        ("pace-can", False, 0x6300),
        ("pace-mrz", True, None),
    ]
    assert result.attempts[1].error == "AuthenticationFailedError"
    assert [call[1] for call in card.pace_calls] == [2, 1]
    assert card.pace_calls[1][0] == MRZ.pace_password()


def test_pace_mrz_refused_falls_through_to_bac() -> None:
    card = FakeCard(pace={2: "6300", 1: "6982"})
    result = open_with(card, can=CAN, mrz=MRZ)
    assert result.method == "bac"
    assert summary(result.attempts)[1:] == [
        ("pace-can", False, 0x6300),
        ("pace-mrz", False, 0x6982),
        ("bac", True, None),
    ]
    assert result.attempts[2].error == "AccessDeniedError"
    assert result.pace_info is None
    assert result.channel.ssc == 0x887022120C06C226  # the Appendix D session
    # BAC ran after a plain SELECT of the application
    assert card.log[-3:] == ["00A4040C07A0000002471001", "0084000008", card.log[-1]]


def test_every_method_fails_once_and_the_error_lists_them() -> None:
    card = FakeCard(pace={2: "6300", 1: "6300"}, bac_sw=0x6300)
    with pytest.raises(AuthenticationFailedError) as caught:
        open_with(card, can=CAN, mrz=MRZ)
    error = caught.value
    assert error.key_kind == "CAN,MRZ"
    assert error.sw == 0x6300
    assert [a.split(":")[0] for a in error.attempts] == ["card-access", "pace-can", "pace-mrz", "bac"]
    assert all("6300" in a for a in error.attempts[1:])
    # no hammering: each PACE once, EXTERNAL AUTHENTICATE once
    assert [call[1] for call in card.pace_calls] == [2, 1]
    assert sum(1 for line in card.log if line.startswith("0082")) == 1
    assert "047064" not in str(error) and "L898902C" not in str(error)


@pytest.mark.parametrize("sw", [0x6982, 0x6A82])
def test_unreadable_card_access_tries_default_pace_can_then_bac(sw: int) -> None:
    card = FakeCard(card_access_sw=sw, pace={2: "6300"})
    result = open_with(card, can=CAN, mrz=MRZ)
    assert result.method == "bac"
    assert summary(result.attempts) == [("card-access", False, sw), ("pace-can", False, 0x6300), ("bac", True, None)]
    assert card.pace_calls == [(b"047064", 2, DEFAULT_PACE_INFO)]
    assert DEFAULT_PACE_INFO == PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)
    assert result.card_access is None


def test_unreadable_card_access_and_pace_can_success() -> None:
    card = FakeCard(card_access_sw=0x6982)
    result = open_with(card, can=CAN)
    assert (result.method, result.pace_info) == ("pace-can", DEFAULT_PACE_INFO)


def test_garbled_card_access_uses_the_defaults() -> None:
    card = FakeCard(card_access=bytes.fromhex("3003020101"))
    result = open_with(card, can=CAN)
    assert result.attempts[0].error == "DocumentError" and result.pace_info == DEFAULT_PACE_INFO


def test_card_without_pace_goes_straight_to_bac() -> None:
    card = FakeCard(card_access=bytes.fromhex("3100"))
    result = open_with(card, can=CAN, mrz=MRZ)
    assert result.method == "bac" and card.pace_calls == []


def test_order_is_configurable() -> None:
    card = FakeCard()
    result = open_with(card, can=CAN, mrz=MRZ, order=["bac", "pace-can"])
    assert result.method == "bac" and card.pace_calls == []


def test_repeated_methods_in_the_order_are_tried_once() -> None:
    card = FakeCard(pace={2: "6300"})
    with pytest.raises(AuthenticationFailedError) as caught:
        open_with(card, can=CAN, order=["pace-can", "pace-can", "pace-can"])
    assert len(card.pace_calls) == 1
    assert caught.value.key_kind == "CAN"


def test_methods_without_a_key_are_skipped() -> None:
    card = FakeCard(pace={2: "6300", 1: "ok"})
    with pytest.raises(AuthenticationFailedError) as caught:
        open_with(card, can=CAN)  # no MRZ key: neither PACE-MRZ nor BAC can run
    assert caught.value.key_kind == "CAN"
    result = open_with(FakeCard(), mrz=MRZ)
    assert result.method == "pace-mrz"


def test_no_key_at_all() -> None:
    card = FakeCard()
    with pytest.raises(AuthenticationFailedError) as caught:
        open_with(card)
    assert caught.value.key_kind is None
    assert card.log == []  # nothing was sent


def test_bad_order_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_order(["pace-can", "eac"])
    assert parse_order(["bac", "pace-mrz", "bac"]) == ("bac", "pace-mrz")


def test_card_removed_passes_through_at_once() -> None:
    card = FakeCard()

    def removed(*args: object, **kwargs: object) -> FakePaceResult:
        raise CardRemovedError("card left the field")

    with pytest.raises(CardRemovedError):
        open_secure_channel(card, can=CAN, mrz=MRZ, perform_pace=removed, rng=fixed_rng)
    assert not any(line.startswith("0084") for line in card.log)  # BAC was not attempted after it


def test_attempts_carry_times_from_the_injected_clock() -> None:
    card = FakeCard(pace={2: "6300"})
    result = open_with(card, can=CAN, mrz=MRZ)
    assert [a.ms for a in result.attempts] == [1000.0] * 4  # card-access, pace-can, pace-mrz, bac
    text = str(result.attempts[1])
    assert text.startswith("pace-can: failed SW 6300 AuthenticationFailedError (") and text.endswith(" ms)")


def test_choose_pace_info_prefers_known_parameters() -> None:
    unknown = PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 40)
    known = PaceInfo("0.4.0.127.0.7.2.2.4.4.2", 2, 13)
    assert choose_pace_info(SecurityInfos(pace=(unknown, known))) == known
    assert choose_pace_info(SecurityInfos(pace=(unknown,))) == unknown
    assert choose_pace_info(SecurityInfos()) is None
    assert choose_pace_info(parse_security_infos(CARD_ACCESS_G1)) == PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13)


def test_the_real_pace_is_used_by_default() -> None:
    # No fake handed in: agent.icao.pace runs, sends MSE:Set AT with the parameter ID, and the
    # card's refusal is recorded before BAC opens the chip.
    card = FakeCard()
    result = open_secure_channel(card, can=CAN, mrz=MRZ, order=["pace-can", "bac"], rng=fixed_rng)
    assert result.method == "bac"
    assert summary(result.attempts)[1] == ("pace-can", False, 0x6D00)
    mse = next(line for line in card.log if line.startswith("0022C1A4"))
    assert mse.endswith("830102" + "84010D")


def test_a_pace_channel_the_card_does_not_share_falls_through() -> None:
    card = FakeCard(pace={2: "other keys"})
    result = open_with(card, can=CAN, mrz=MRZ, order=["pace-can", "bac"])
    assert result.method == "bac"
    assert summary(result.attempts)[1] == ("pace-can", False, 0x6988)


def test_a_secure_messaging_failure_after_pace_is_a_link_fault_not_a_wrong_key() -> None:
    # PACE succeeded (its tokens proved both sides share the keys); the protected SELECT's answer
    # then fails its MAC: a retryable link fault, not "the ID/MRZ does not match"
    card = FakeCard(garbled_answers=True)
    with pytest.raises(SecureMessagingError) as caught:
        open_with(card, can=CAN, mrz=MRZ)
    assert caught.value.retryable
    assert not isinstance(caught.value, AuthenticationFailedError)
    assert [call[1] for call in card.pace_calls] == [2]  # no other method after it
    assert not any(line.startswith("0084") for line in card.log)  # nor BAC
    assert card.log[-1] == "SM 00A4040C07A0000002471001"


def test_a_protected_refusal_of_the_application_moves_on_to_the_next_method() -> None:
    # a plain error status word under secure messaging (6A82: no eMRTD application here) is the
    # card's answer, not a link fault: the next method is tried as before
    card = FakeCard(emrtd_sw=0x6A82)
    with pytest.raises(AuthenticationFailedError) as caught:
        open_with(card, can=CAN, mrz=MRZ, order=["pace-can", "pace-mrz"])
    assert [call[1] for call in card.pace_calls] == [2, 1]
    assert [a.split(":")[0] for a in caught.value.attempts] == ["card-access", "pace-can", "pace-mrz"]
    assert all("SW 6A82 FileNotFoundOnCardError" in a for a in caught.value.attempts[1:])


def test_bac_selects_the_application_in_plain_before_bac() -> None:
    card = FakeCard()
    result = open_with(card, mrz=MRZ, order=["bac"])
    assert result.method == "bac"
    assert card.log[:2] == ["00A4040C07A0000002471001", "0084000008"]
    assert not any(line.startswith("SM ") for line in card.log)  # nothing protected sent by access control


def test_without_the_application_select_an_sm_fault_shows_up_later() -> None:
    # select_emrtd_application=False: access control sends no protected command, so PACE is the
    # result and a garbled answer is the caller's first protected command's problem
    card = FakeCard(garbled_answers=True)
    result = open_with(card, can=CAN, select_emrtd_application=False)
    assert result.method == "pace-can"
    with pytest.raises(SecureMessagingError):
        result.send(CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001")))

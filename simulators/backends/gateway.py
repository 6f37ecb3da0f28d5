"""The mock BHXH gateway (``egw.baohiemxahoi.gov.vn``) for BHYT card checks, speaking the gateway's own
dialect over the mock backends' HTTP server: ``POST /api/token/take`` (form-encoded or JSON ``username``
and the MD5 hex ``password``, either case) and ``POST /api/egw/KQNhanLichSuKCB2024`` with ``token``,
``id_token``, ``username`` and ``password`` in the query string and ``maThe``, ``hoTen``, ``ngaySinh``,
``hoTenCb``, ``cccdCb`` in the body (JSON or form). Answers are strings, dates ``dd/MM/yyyy``, with a
``maKetQua`` of the gateway's codes; see docs/reference/bhxh-gateway.md.

It answers from the seeded world (simulators.backends.data) and puts seeded people in every class of
result code: valid (000), expired (010), withdrawn (110) and decreased (120-124) cards, army and police
cards (001, 002), a new card issued while the old one is still valid (004) or has expired (003),
children without a card (130), people with no card (050); wrong card codes (051-053), a wrong name (060,
061) or date of birth (070) come from the request itself, as do an unregistered staff member (054) or a
staff name that does not match (055) and malformed parameters (205). Tokens expire after
``token_life_s`` (a test makes it short); an expired or unknown token answers HTTP 401 with
``maKetQua`` "401", a bad login HTTP 200 with ``maKetQua`` "401". Written apart from the agent's client,
from the same public description, so that a misreading shared by both cannot pass every test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from simulators.backends.data import Citizen, InsuranceCard, World
from simulators.backends.services import Answer

LOGIN_PATH = ("api", "token", "take")
CARD_CHECK_PATH = ("api", "egw", "KQNhanLichSuKCB2024")
DEFAULT_USERNAME = "79014_BV"
DEFAULT_PASSWORD = "bhxh-demo-password"  # noqa: S105 - the mock gateway's account, loopback only
DEFAULT_STAFF = {"072188004365": "Nguyễn Thảo Chi", "079090001234": "Trần Minh Khoa"}
TOKEN_LIFE_S = 3600.0
CARD_15 = re.compile(r"^[A-Z]{2}[1-5][0-9]{12}$")
SOCIAL_INSURANCE_10 = re.compile(r"^[0-9]{10}$")
ID_12 = re.compile(r"^[0-9]{12}$")
DAY = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")
YEAR = re.compile(r"^[0-9]{4}$")

NOTES = {
    "000": "Thẻ còn giá trị sử dụng.",
    "001": "Thẻ do BHXH Bộ Quốc phòng quản lý, đề nghị kiểm tra thẻ và giấy tờ tùy thân.",
    "002": "Thẻ do BHXH Bộ Công an quản lý, đề nghị kiểm tra thẻ và giấy tờ tùy thân.",
    "003": "Thẻ cũ hết giá trị sử dụng, đã được cấp thẻ mới.",
    "004": "Thẻ cũ còn giá trị sử dụng, đã được cấp thẻ mới.",
    "010": "Thẻ hết giá trị sử dụng.",
    "050": "Không có thông tin thẻ.",
    "051": "Mã thẻ không đúng.",
    "052": "Mã tỉnh cấp thẻ không đúng.",
    "053": "Mã quyền lợi của thẻ không đúng.",
    "054": "Số CCCD của cán bộ tra cứu không có trong danh sách do cơ sở đăng ký.",
    "055": "Họ tên cán bộ tra cứu không khớp với số CCCD.",
    "060": "Thẻ sai họ tên.",
    "061": "Thẻ sai họ tên (đúng ký tự đầu).",
    "070": "Thẻ sai ngày sinh.",
    "101": "Lỗi server.",
    "110": "Thẻ đã thu hồi.",
    "120": "Thẻ đã báo giảm.",
    "121": "Thẻ đã báo giảm chuyển ngoại tỉnh.",
    "122": "Thẻ đã báo giảm chuyển nội tỉnh.",
    "123": "Thẻ đã báo giảm do tăng lại cùng đơn vị.",
    "124": "Thẻ đã báo giảm ngừng tham gia.",
    "130": "Trẻ em không xuất trình thẻ.",
    "205": "Lỗi sai định dạng tham số.",
    "401": "Lỗi xác thực tài khoản.",
    "500": "Lỗi hệ thống.",
}
SEEDED_CLASSES = ("001", "002", "003", "004", "120", "121", "122", "123", "124")


@dataclasses.dataclass(frozen=True)
class _Token:
    access_token: str
    id_token: str
    username: str
    expires_at: float  # time.time()


class Gateway:
    """The gateway's state: its accounts, the facility's registered staff, live tokens, seeded classes."""

    def __init__(self, world: World, *, seed: int = 2024, accounts: Mapping[str, str] | None = None,
                 staff: Mapping[str, str] | None = None, token_life_s: float = TOKEN_LIFE_S) -> None:
        self.world = world
        # username -> MD5 hex of the password (compared case-insensitively, as HIS clients send either case)
        self.accounts = {u: _md5(p) for u, p in (accounts or {DEFAULT_USERNAME: DEFAULT_PASSWORD}).items()}
        self.staff = dict(staff if staff is not None else DEFAULT_STAFF)
        self.token_life_s = token_life_s
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.logins = 0
        self.checks = 0
        self.asked: list[dict[str, Any]] = []  # card-check bodies as received (in memory, for tests)
        self.issued: list[str] = []  # every access and id token handed out (a test greps for them)
        # The next this-many tokens die as soon as they are handed out, as when the gateway restarts
        # between a login and the lookup: the client sees 401 on a token it believes alive.
        self.dead_tokens = 0
        rng = random.Random(f"gateway:{seed}")  # apart from the world's own draws: its samples stay the same
        insured = sorted(i for i, card in world.cards.items() if card.status_on(world.today) == "valid")
        chosen = rng.sample(insured, min(len(insured), 3 * len(SEEDED_CLASSES)))
        self.classes: dict[str, str] = {id_number: SEEDED_CLASSES[n // 3] for n, id_number in enumerate(chosen)}
        for id_number, card in world.cards.items():
            if card.suspended:
                self.classes[id_number] = "110"
        self.children = {c.id_number: c for c in (_child(rng, world.today, n) for n in range(3))}
        self.by_card_number = {card.card_number: card for card in world.cards.values()}

    # --- samples for tests and the demo ----------------------------------------------------------------

    def ids_with_code(self, code: str) -> list[str]:
        """ID numbers the gateway answers ``code`` for when asked with the right name and date of birth."""
        if code == "130":
            return sorted(self.children)
        return sorted(i for i in self.world.citizens if self.code_of(i) == code)

    def code_of(self, id_number: str) -> str:
        if id_number in self.children:
            return "130"
        if id_number in self.classes:
            return self.classes[id_number]
        card = self.world.cards.get(id_number)
        if card is None:
            return "050"
        return "000" if card.status_on(self.world.today) == "valid" else "010"

    # --- the endpoints ----------------------------------------------------------------------------------

    def login(self, form: Mapping[str, Any]) -> Answer:
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        expected = self.accounts.get(username)
        if expected is None or not secrets.compare_digest(expected.upper(), password.upper()):
            return Answer(200, {"maKetQua": "401", "APIKey": None})
        now = time.time()
        token = _Token(secrets.token_urlsafe(32), str(secrets.token_hex(16)), username, now + self.token_life_s)
        with self._lock:
            self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
            if self.dead_tokens > 0:
                self.dead_tokens -= 1
            else:
                self._tokens[token.access_token] = token
            self.issued += [token.access_token, token.id_token]
            self.logins += 1
        expires = datetime.fromtimestamp(token.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
        return Answer(200, {"maKetQua": "200", "APIKey": {
            "access_token": token.access_token, "id_token": token.id_token, "token_type": "Bearer",
            "username": username, "expires_in": expires}})

    def expire_tokens(self) -> None:
        """Every token dies now (the gateway restarted, or a test wants a re-login)."""
        with self._lock:
            self._tokens.clear()

    def card_check(self, query: Mapping[str, str], body: Mapping[str, Any]) -> Answer:
        with self._lock:
            self.checks += 1
            token = self._tokens.get(query.get("token", ""))
        username = query.get("username", "")
        expected = self.accounts.get(username)
        if (token is None or token.expires_at <= time.time() or token.id_token != query.get("id_token")
                or token.username != username or expected is None
                or not secrets.compare_digest(expected.upper(), query.get("password", "").upper())):
            return Answer(401, {"maKetQua": "401", "ghiChu": NOTES["401"]})
        fields = {name: body.get(name) for name in ("maThe", "hoTen", "ngaySinh", "hoTenCb", "cccdCb")}
        with self._lock:
            self.asked.append(dict(fields))
        if not all(isinstance(value, str) and value.strip() for value in fields.values()):
            return _result("205")
        staff_name = self.staff.get(str(fields["cccdCb"]).strip())
        if staff_name is None:
            return _result("054")
        if _folded(staff_name) != _folded(str(fields["hoTenCb"])):
            return _result("055")
        born = str(fields["ngaySinh"]).strip()
        if not (DAY.fullmatch(born) or YEAR.fullmatch(born)):
            return _result("205")
        card_code = str(fields["maThe"]).strip().upper()
        person, card, problem = self._find(card_code)
        if problem:
            return _result(problem)
        assert person is not None
        name_problem = _name_problem(person.full_name, str(fields["hoTen"]))
        if name_problem:
            return _result(name_problem)
        if not _same_birth(person.date_of_birth, born):
            return _result("070")
        return self._answer(person, card)

    def _find(self, card_code: str) -> tuple[Citizen | None, InsuranceCard | None, str]:
        if ID_12.fullmatch(card_code):
            if card_code in self.children:
                return self.children[card_code], None, ""
            person = self.world.citizens.get(card_code)
            if person is None:
                return None, None, "050"
            return person, self.world.cards.get(card_code), ""
        if CARD_15.fullmatch(card_code):
            card = self.by_card_number.get(card_code)
            if card is None:
                near = next((c for c in self.by_card_number.values() if c.card_number[5:] == card_code[5:]), None)
                if near is not None:
                    # the same social-insurance number: only the province or the benefit code is wrong
                    return None, None, "052" if near.card_number[3:5] != card_code[3:5] else "053"
                return None, None, "051"
            return self.world.citizens[card.id_number], card, ""
        if SOCIAL_INSURANCE_10.fullmatch(card_code):  # the 2021 card model's QR carries this number alone
            card = next((c for c in self.by_card_number.values() if c.card_number[5:] == card_code), None)
            if card is None:
                return None, None, "051"
            return self.world.citizens[card.id_number], card, ""
        return None, None, "051"

    def _answer(self, person: Citizen, card: InsuranceCard | None) -> Answer:
        code = "130" if person.id_number in self.children else self.code_of(person.id_number)
        answer: dict[str, Any] = {
            "maKetQua": code, "ghiChu": NOTES.get(code, ""), "hoTen": person.full_name,
            "ngaySinh": person.date_of_birth.strftime("%d/%m/%Y"), "gioiTinh": person.sex, "diaChi": person.address,
            "dsLichSuKCB2018": None, "dsLichSuKT2018": None,
        }
        if card is not None and code != "050":
            answer |= {
                "maThe": card.card_number, "maDKBD": card.facility.code, "cqBHXH": f"BHXH tỉnh {person.province_code}",
                "gtTheTu": card.valid_from.strftime("%d/%m/%Y"), "gtTheDen": card.valid_to.strftime("%d/%m/%Y"),
                "maKV": "", "ngayDu5Nam": (card.valid_from - timedelta(days=5 * 365)).strftime("%d/%m/%Y"),
                "maSoBHXH": card.card_number[5:], "maTheCu": "", "maTheMoi": "", "gtTheTuMoi": "", "gtTheDenMoi": "",
                "maDKBDMoi": "", "tenDKBDMoi": "",
            }
            if code in ("003", "004"):
                answer |= self._new_card(card, expired_old=code == "003")
        return Answer(200, answer)

    def _new_card(self, card: InsuranceCard, *, expired_old: bool) -> dict[str, str]:
        today = self.world.today
        new_from = today - timedelta(days=10)
        new_to = new_from + timedelta(days=364)
        old_to = today - timedelta(days=1) if expired_old else today + timedelta(days=20)
        return {
            "gtTheDen": old_to.strftime("%d/%m/%Y"), "maTheCu": card.card_number,
            "maTheMoi": card.card_number[:2] + str(min(5, card.benefit_level + 1)) + card.card_number[3:],
            "gtTheTuMoi": new_from.strftime("%d/%m/%Y"), "gtTheDenMoi": new_to.strftime("%d/%m/%Y"),
            "maDKBDMoi": card.facility.code, "tenDKBDMoi": card.facility.name,
        }


def _result(code: str) -> Answer:
    return Answer(200, {"maKetQua": code, "ghiChu": NOTES.get(code, "")})


def _md5(password: str) -> str:
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def _name_problem(on_card: str, given: str) -> str:
    card, asked = _folded(on_card), _folded(given)
    if card == asked:
        return ""
    return "061" if card[:1] == asked[:1] else "060"


def _same_birth(born: date, given: str) -> bool:
    match = DAY.fullmatch(given)
    if match is None:
        return int(given) == born.year  # only the year was given
    return (int(match.group(3)), int(match.group(2)), int(match.group(1))) == (born.year, born.month, born.day)


def _child(rng: random.Random, today: date, number: int) -> Citizen:
    born = today - timedelta(days=rng.randint(200, 5 * 365))
    digit = 2 + (number % 2)  # born in the 2000s
    id_number = f"001{digit}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    given = ("Minh Anh", "Gia Bảo", "Ngọc Hân")[number % 3]
    return Citizen(id_number, f"Nguyễn {given}", born, "Nam" if digit == 2 else "Nữ",
                   "Số 5, phố Hàng Bạc, phường Hàng Đào, quận Hoàn Kiếm, thành phố Hà Nội", "01")

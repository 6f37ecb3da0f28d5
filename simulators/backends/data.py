"""The seeded world the mock backends serve: Vietnamese citizens (names and addresses with
diacritics, 12-digit ID numbers laid out as docs/reference/card.md "The ID number" describes), their
health-insurance (BHYT) cards with the registered first-contact facility, and driving-test sessions of
about 300 candidates each.

Everything comes from one ``random.Random(seed)``: the same seed gives the same people, cards and
rosters, so tests and the demo can name them. Dates are laid out around ``today`` so that "valid" and
"expired" mean what they say on the day the server runs. The data is made up; only the shapes are
real (province codes, the 15-character BHYT card number: 2-letter beneficiary group, benefit level
1-5, 2-digit province, 10-digit social-insurance number).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
    "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Đoàn", "Trương", "Lâm", "Cao", "Hà", "Tạ",
)
# Weights roughly follow how common the family names are: Nguyễn alone is close to four in ten.
FAMILY_WEIGHTS = (38, 11, 9, 7, 5, 4, 4, 4, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
MALE_MIDDLE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Xuân", "Đình", "Công", "Trọng", "Gia", "Bảo")
FEMALE_MIDDLE = ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Thùy", "Mỹ", "Kim", "Phương", "Diệu", "Hoài", "Khánh")
MALE_GIVEN = (
    "An", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hùng", "Khoa", "Long", "Minh", "Nam",
    "Nghĩa", "Phúc", "Quân", "Sơn", "Thắng", "Tiến", "Trí", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Lực",
)
FEMALE_GIVEN = (
    "Anh", "Châu", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Huyền", "Lan", "Linh", "Mai", "Ngân",
    "Ngọc", "Nhung", "Phượng", "Quỳnh", "Tâm", "Thảo", "Thủy", "Trang", "Uyên", "Vân", "Yến", "Ánh", "Loan",
)
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hai Bà Trưng", "Quang Trung", "Lý Thường Kiệt",
    "Phan Chu Trinh", "Hùng Vương", "Nguyễn Trãi", "Bà Triệu", "Điện Biên Phủ", "Võ Nguyên Giáp",
)


@dataclasses.dataclass(frozen=True)
class Province:
    """A province: its two-digit administrative code (BHYT, facility codes), the three-digit code
    that starts the ID numbers registered there, and a few of its districts and communes."""

    code: str  # "38"
    name: str  # "Thanh Hóa"
    kind: str  # "tỉnh" | "thành phố"
    districts: tuple[str, ...]
    communes: tuple[str, ...]

    @property
    def id_prefix(self) -> str:
        return "0" + self.code

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}"


PROVINCES = (
    Province("01", "Hà Nội", "thành phố", ("quận Ba Đình", "quận Đống Đa", "quận Cầu Giấy", "huyện Gia Lâm"),
             ("phường Kim Mã", "phường Láng Hạ", "phường Dịch Vọng", "xã Bát Tràng")),
    Province("79", "Hồ Chí Minh", "thành phố", ("quận 1", "quận Bình Thạnh", "thành phố Thủ Đức", "huyện Củ Chi"),
             ("phường Bến Nghé", "phường Tân Định", "phường An Khánh", "xã Tân Thông Hội")),
    Province("38", "Thanh Hóa", "tỉnh", ("thành phố Thanh Hóa", "huyện Quảng Xương", "huyện Đông Sơn",
                                        "thị xã Nghi Sơn"),
             ("phường Điện Biên", "xã Quảng Tâm", "xã Đông Hoàng", "phường Hải Hòa")),
    Province("52", "Bình Định", "tỉnh", ("thành phố Quy Nhơn", "huyện Tuy Phước", "thị xã An Nhơn", "huyện Phù Cát"),
             ("phường Lê Lợi", "xã Phước Sơn", "phường Nhơn Hưng", "xã Cát Tân")),
    Province("58", "Ninh Thuận", "tỉnh", ("thành phố Phan Rang - Tháp Chàm", "huyện Ninh Hải", "huyện Ninh Phước"),
             ("phường Đạo Long", "xã Hộ Hải", "xã Phước Thuận")),
    Province("48", "Đà Nẵng", "thành phố", ("quận Hải Châu", "quận Thanh Khê", "quận Ngũ Hành Sơn"),
             ("phường Hòa Xuân", "phường Thạc Gián", "phường Mỹ An")),
    Province("40", "Nghệ An", "tỉnh", ("thành phố Vinh", "huyện Nghi Lộc", "thị xã Cửa Lò"),
             ("phường Hưng Bình", "xã Nghi Phong", "phường Nghi Thủy")),
)

# BHYT beneficiary groups and the benefit level (mức hưởng) each usually carries.
BENEFICIARY_GROUPS = (("DN", 4), ("HC", 4), ("GD", 4), ("HS", 4), ("HT", 3), ("TE", 1), ("CN", 2), ("CC", 1))
BENEFIT_RATES = {1: 100, 2: 100, 3: 95, 4: 80, 5: 100}
LICENCE_CLASSES = ("A1", "B1", "B2", "C")

INSURANCE_STATES = ("valid", "expired", "suspended", "not_found")


@dataclasses.dataclass(frozen=True)
class Facility:
    code: str  # five digits: province code + number
    name: str


@dataclasses.dataclass(frozen=True)
class Citizen:
    id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date = dataclasses.field(repr=False)
    sex: str = dataclasses.field(repr=False)  # "Nam" | "Nữ"
    address: str = dataclasses.field(repr=False)
    province_code: str = ""


@dataclasses.dataclass(frozen=True)
class InsuranceCard:
    id_number: str = dataclasses.field(repr=False)
    card_number: str = dataclasses.field(repr=False)
    valid_from: date = date.min
    valid_to: date = date.min
    benefit_level: int = 4
    facility: Facility = Facility("", "")
    suspended: bool = False

    def status_on(self, day: date) -> str:
        if self.suspended:
            return "suspended"
        return "valid" if self.valid_from <= day <= self.valid_to else "expired"


@dataclasses.dataclass(frozen=True)
class Candidate:
    candidate_no: str
    id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date = dataclasses.field(repr=False)
    licence_class: str = ""


@dataclasses.dataclass(frozen=True)
class ExamSession:
    session_id: str
    centre: str
    exam_date: date
    licence_class: str
    candidates: tuple[Candidate, ...] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class World:
    """Everything the mock backends know, indexed for lookups."""

    today: date
    citizens: dict[str, Citizen] = dataclasses.field(repr=False)
    cards: dict[str, InsuranceCard] = dataclasses.field(repr=False)
    facilities: tuple[Facility, ...]
    sessions: dict[str, ExamSession] = dataclasses.field(repr=False)

    def insurance_status(self, id_number: str) -> str:
        card = self.cards.get(id_number)
        return card.status_on(self.today) if card else "not_found"

    def ids_with_status(self, status: str) -> list[str]:
        """Citizens whose insurance lookup answers ``status`` today (sorted, for stable samples)."""
        return sorted(i for i in self.citizens if self.insurance_status(i) == status)


def build_world(seed: int = 2024, *, today: date | None = None, population: int = 3000,
                sessions: int = 4, session_size: int = 300) -> World:
    """The seeded world: ``population`` citizens, most insured, and ``sessions`` exam rosters."""
    rng = random.Random(seed)
    day = today or date.today()
    facilities = _facilities()
    citizens: dict[str, Citizen] = {}
    while len(citizens) < population:
        citizen = _citizen(rng, day)
        citizens.setdefault(citizen.id_number, citizen)
    cards: dict[str, InsuranceCard] = {}
    for citizen in citizens.values():
        roll = rng.random()
        if roll < 0.05:
            continue  # no insurance card: the lookup answers not_found
        cards[citizen.id_number] = _card(rng, citizen, facilities, day, roll)
    exam_sessions = _sessions(rng, list(citizens.values()), day, sessions, session_size)
    return World(day, citizens, cards, tuple(facilities), exam_sessions)


def _facilities() -> list[Facility]:
    result: list[Facility] = []
    for province in PROVINCES:
        names = [f"Bệnh viện Đa khoa {province.full_name}"]
        names += [f"Trung tâm Y tế {district}" for district in province.districts]
        names += [f"Trạm Y tế {commune}" for commune in province.communes]
        result += [Facility(f"{province.code}{number:03d}", name) for number, name in enumerate(names, start=1)]
    return result


def _citizen(rng: random.Random, today: date) -> Citizen:
    province = rng.choice(PROVINCES)
    male = rng.random() < 0.5
    birth = today - timedelta(days=rng.randint(16 * 365, 85 * 365))
    century_digit = (0 if birth.year < 2000 else 2) + (0 if male else 1)
    id_number = f"{province.id_prefix}{century_digit}{birth.year % 100:02d}{rng.randrange(10**6):06d}"
    family = rng.choices(FAMILY_NAMES, weights=FAMILY_WEIGHTS)[0]
    middle = rng.choice(MALE_MIDDLE if male else FEMALE_MIDDLE)
    given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
    name = f"{family} {middle} {given}"
    if rng.random() < 0.15:  # four-word names are common
        name = f"{family} {rng.choice(FAMILY_NAMES)} {middle} {given}"
    place = rng.randrange(len(province.communes))  # commune i lies in district i (mod the list)
    address = (
        f"Số {rng.randint(1, 250)}, đường {rng.choice(STREETS)}, {province.communes[place]}, "
        f"{province.districts[place % len(province.districts)]}, {province.full_name}"
    )
    return Citizen(id_number, name, birth, "Nam" if male else "Nữ", address, province.code)


def _card(rng: random.Random, citizen: Citizen, facilities: list[Facility], today: date,
          roll: float) -> InsuranceCard:
    age = (today - citizen.date_of_birth).days // 365
    if age < 6:
        group, level = "TE", 1
    elif age >= 60 and rng.random() < 0.6:
        group, level = "HT", 3
    else:
        group, level = rng.choice(BENEFICIARY_GROUPS[:4] + BENEFICIARY_GROUPS[6:])
    social_no = f"{citizen.province_code}{rng.randrange(10**8):08d}"
    card_number = f"{group}{level}{citizen.province_code}{social_no}"
    local = [f for f in facilities if f.code.startswith(citizen.province_code)]
    facility = rng.choice(local)
    if roll < 0.15:  # expired between a week and a year ago
        valid_to = today - timedelta(days=rng.randint(7, 365))
    else:
        valid_to = today + timedelta(days=rng.randint(30, 365))
    valid_from = valid_to - timedelta(days=365 - 1)
    return InsuranceCard(citizen.id_number, card_number, valid_from, valid_to, level, facility,
                         suspended=0.15 <= roll < 0.19)


def _sessions(rng: random.Random, citizens: list[Citizen], today: date, count: int,
              size: int) -> dict[str, ExamSession]:
    adults = [c for c in citizens if (today - c.date_of_birth).days >= 18 * 365]
    result: dict[str, ExamSession] = {}
    for index in range(count):
        province = PROVINCES[index % len(PROVINCES)]
        licence_class = LICENCE_CLASSES[index % len(LICENCE_CLASSES)]
        exam_date = today + timedelta(days=index)
        session_id = f"SH-{province.code}-{exam_date:%Y%m%d}-{licence_class}"
        seats = size + rng.randint(-10, 10)
        chosen = rng.sample(adults, seats)
        candidates = tuple(
            Candidate(f"{licence_class}-{number:04d}", c.id_number, c.full_name, c.date_of_birth, licence_class)
            for number, c in enumerate(chosen, start=1)
        )
        centre = f"Trung tâm Sát hạch lái xe {province.name}"
        result[session_id] = ExamSession(session_id, centre, exam_date, licence_class, candidates)
    return result

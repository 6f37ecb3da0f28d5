"""Synthetic but realistic Vietnamese person records for the simulated CCCD, reproducible from a seed:
names and addresses with their diacritics (Unicode NFC), the 12-digit personal identification number
laid out as in docs/reference/card.md "The ID number" (3-digit province of birth registration,
century-and-sex digit, 2-digit birth year, 6 digits), the old 9-digit CMND number for people old
enough to have had one, and card dates that follow the renewal ages of the Law on Citizen
Identification (valid until the 25th, 40th or 60th birthday; a card issued within the 2 years before
such an age lasts to the next one).

Nobody here is real: every record is drawn from small tables of common names and places.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random
import unicodedata
from datetime import date

DEFAULT_SEED = b"cccd-simulator"

# Ages at which a card must be renewed (Luật Căn cước 2023, art. 21; 14 only for cards issued under it).
RENEWAL_AGES = (14, 25, 40, 60)
RENEWAL_GRACE_YEARS = 2

NATIONALITY = "Việt Nam"

SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Ưng", "Đinh", "Trương", "Lương",
)  # fmt: skip
MIDDLE_NAMES_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Xuân", "Đình", "Gia")
MIDDLE_NAMES_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Kim", "Bảo", "Diệu", "Mỹ")
GIVEN_NAMES_MALE = (
    "Anh", "Bảo", "Cường", "Dũng", "Đạt", "Hiếu", "Hùng", "Khánh", "Long", "Nam",
    "Phúc", "Quang", "Sơn", "Thắng", "Tuấn", "Việt", "Hiệp", "Lộc", "Trọng", "Nghĩa",
)  # fmt: skip
GIVEN_NAMES_FEMALE = (
    "Anh", "Châu", "Diệp", "Hà", "Hằng", "Hương", "Lan", "Linh", "Mai", "Ngọc",
    "Nhung", "Phương", "Thảo", "Trang", "Uyên", "Yến", "Huệ", "Nguyệt", "Thủy", "Oanh",
)  # fmt: skip
ETHNICITIES = (("Kinh", 86), ("Tày", 3), ("Thái", 2), ("Mường", 2), ("Khmer", 2), ("Hoa", 2), ("Nùng", 1), ("Ê Đê", 2))
RELIGIONS = (("Không", 80), ("Phật giáo", 12), ("Công giáo", 6), ("Cao Đài", 1), ("Tin Lành", 1))
IDENTIFYING_MARKS = (
    "Nốt ruồi C:2cm dưới sau đuôi mắt trái",
    "Sẹo chấm C:1cm trên trước đầu mày phải",
    "Nốt ruồi C:1,5cm trên sau cánh mũi phải",
    "Sẹo chấm C:3cm dưới trước mép trái",
    "Nốt ruồi C:2,5cm trên sau đầu mày trái",
    "Sẹo chấm C:1cm dưới cằm",
)

# (province code of birth registration, place of origin as printed: commune, district, province)
PLACES_OF_ORIGIN = (
    ("001", "Xã Phú Minh, Huyện Sóc Sơn, Hà Nội"),
    ("036", "Xã Hải Minh, Huyện Hải Hậu, Nam Định"),
    ("034", "Xã Đông Hợp, Huyện Đông Hưng, Thái Bình"),
    ("038", "Xã Hoằng Lộc, Huyện Hoằng Hóa, Thanh Hóa"),
    ("040", "Xã Quỳnh Đôi, Huyện Quỳnh Lưu, Nghệ An"),
    ("042", "Xã Thạch Long, Huyện Thạch Hà, Hà Tĩnh"),
    ("046", "Phường Thủy Xuân, Thành phố Huế, Thừa Thiên Huế"),
    ("048", "Xã Hòa Khương, Huyện Hòa Vang, Đà Nẵng"),
    ("052", "Xã Phước Sơn, Huyện Tuy Phước, Bình Định"),
    ("079", "Xã Tân Thông Hội, Huyện Củ Chi, Thành phố Hồ Chí Minh"),
    ("083", "Xã An Khánh, Huyện Châu Thành, Bến Tre"),
    ("092", "Phường Thới An, Quận Ô Môn, Cần Thơ"),
    ("031", "Xã Đại Hợp, Huyện Kiến Thụy, Hải Phòng"),
    ("066", "Xã Ea Tu, Thành phố Buôn Ma Thuột, Đắk Lắk"),
)

# (street, ward, district, province) of a permanent residence; a house number and lane are added.
RESIDENCES = (
    ("Phố Láng Hạ", "Phường Láng Hạ", "Quận Đống Đa", "Thành phố Hà Nội"),
    ("Đường Xuân Thủy", "Phường Dịch Vọng Hậu", "Quận Cầu Giấy", "Thành phố Hà Nội"),
    ("Phố Hàng Bạc", "Phường Hàng Bạc", "Quận Hoàn Kiếm", "Thành phố Hà Nội"),
    ("Đường Lê Lợi", "Phường Bến Nghé", "Quận 1", "Thành phố Hồ Chí Minh"),
    ("Đường Điện Biên Phủ", "Phường 25", "Quận Bình Thạnh", "Thành phố Hồ Chí Minh"),
    ("Đường Quốc Hương", "Phường Thảo Điền", "Thành phố Thủ Đức", "Thành phố Hồ Chí Minh"),
    ("Đường Bạch Đằng", "Phường Thạch Thang", "Quận Hải Châu", "Thành phố Đà Nẵng"),
    ("Đường Tô Hiệu", "Phường Trại Cau", "Quận Lê Chân", "Thành phố Hải Phòng"),
    ("Đường Hai Bà Trưng", "Phường Tân An", "Quận Ninh Kiều", "Thành phố Cần Thơ"),
    ("Đường Lê Duẩn", "Phường Hưng Bình", "Thành phố Vinh", "Tỉnh Nghệ An"),
    ("Đường Phan Bội Châu", "Phường Thắng Lợi", "Thành phố Buôn Ma Thuột", "Tỉnh Đắk Lắk"),
    ("Đường Lê Hoàn", "Phường Điện Biên", "Thành phố Thanh Hóa", "Tỉnh Thanh Hóa"),
)

EARLIEST_BIRTH_YEAR = 1968  # so that every generated card has an expiry date (issued before 58)
LATEST_BIRTH_YEAR = 2006
FIRST_ISSUE_DATE = date(2021, 1, 1)  # chip CCCD issued from 2021
LAST_ISSUE_DATE = date(2024, 6, 30)
OLD_ID_BORN_BEFORE = 2002  # people born later got a 12-digit card directly


@dataclasses.dataclass(frozen=True)
class Person:
    """One citizen as printed on (and stored in the chip of) a CCCD."""

    index: int
    id_number: str = dataclasses.field(repr=False)  # 12 digits
    full_name: str = dataclasses.field(repr=False)  # "Nguyễn Văn An", NFC
    sex: str = dataclasses.field(repr=False)  # "M" / "F" as in the MRZ
    date_of_birth: date = dataclasses.field(repr=False)
    date_of_issue: date = dataclasses.field(repr=False)
    date_of_expiry: date = dataclasses.field(repr=False)
    old_id_number: str | None = dataclasses.field(repr=False)  # 9-digit CMND, None when never issued
    nationality: str = dataclasses.field(repr=False)
    ethnicity: str = dataclasses.field(repr=False)
    religion: str = dataclasses.field(repr=False)
    place_of_origin: str = dataclasses.field(repr=False)
    permanent_residence: str = dataclasses.field(repr=False)
    identifying_marks: str = dataclasses.field(repr=False)
    father_name: str = dataclasses.field(repr=False)
    mother_name: str = dataclasses.field(repr=False)
    spouse_name: str | None = dataclasses.field(repr=False)
    card_serial: str = dataclasses.field(repr=False)  # 16 hex characters (DG13 field 16, confirm)

    @property
    def surname(self) -> str:
        return self.full_name.split()[0]

    @property
    def given_names(self) -> str:
        return " ".join(self.full_name.split()[1:])

    @property
    def sex_vi(self) -> str:
        return "Nam" if self.sex == "M" else "Nữ"

    @property
    def can(self) -> str:
        """The PACE CAN of a CCCD: the last 6 digits of the ID number (docs/reference/card.md "Access control")."""
        return self.id_number[-6:]

    @property
    def document_number(self) -> str:
        """The MRZ document number: the last 9 digits of the ID number."""
        return self.id_number[-9:]

    def qr_text(self) -> str:
        """The text of the QR code printed on the card (docs/reference/qr.md "The printed QR code")."""
        return "|".join(
            (
                self.id_number,
                self.old_id_number or "",
                self.full_name,
                self.date_of_birth.strftime("%d%m%Y"),
                self.sex_vi,
                self.permanent_residence,
                self.date_of_issue.strftime("%d%m%Y"),
            )
        )


def birthday_at(born: date, age: int) -> date:
    """The date a person born on ``born`` reaches ``age`` (29 February falls back to the 28th)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return born.replace(year=born.year + age, day=28)


def card_expiry(born: date, issued: date) -> date | None:
    """The expiry printed on a card issued on ``issued``: the birthday at the next renewal age, skipping
    an age that is less than 2 years away; None (no expiry) for cards issued from 58 on."""
    for age in RENEWAL_AGES:
        if issued < birthday_at(born, age - RENEWAL_GRACE_YEARS):
            return birthday_at(born, age)
    return None


def id_century_sex_digit(sex: str, birth_year: int) -> int:
    """The 4th digit of the ID number: 0/1 for men/women born in the 1900s, 2/3 in the 2000s, ..."""
    century_index = birth_year // 100 - 19
    return 2 * century_index + (0 if sex == "M" else 1)


def person_rng(seed: bytes, index: int) -> random.Random:
    digest = hmac.new(seed, b"person/%d" % index, hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def _random_date(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _name(rng: random.Random, sex: str, surname: str | None = None) -> str:
    middle = MIDDLE_NAMES_MALE if sex == "M" else MIDDLE_NAMES_FEMALE
    given = GIVEN_NAMES_MALE if sex == "M" else GIVEN_NAMES_FEMALE
    parts = [surname or rng.choice(SURNAMES), rng.choice(middle)]
    if rng.random() < 0.25:  # some names carry two middle names ("Nguyễn Thị Thu Hà")
        parts.append(rng.choice([m for m in middle if m != parts[1]]))
    parts.append(rng.choice(given))
    return unicodedata.normalize("NFC", " ".join(parts))


def make_person(seed: bytes = DEFAULT_SEED, index: int = 0) -> Person:
    """The ``index``-th person of the population drawn from ``seed`` (same inputs, same person)."""
    rng = person_rng(seed, index)
    sex = rng.choice("MF")
    born = _random_date(rng, date(EARLIEST_BIRTH_YEAR, 1, 1), date(LATEST_BIRTH_YEAR, 12, 31))
    first_issue = max(FIRST_ISSUE_DATE, birthday_at(born, 14))
    issued = _random_date(rng, first_issue, LAST_ISSUE_DATE)
    expiry = card_expiry(born, issued)
    assert expiry is not None  # the birth-year range keeps every issue age under 58
    province, origin = rng.choice(PLACES_OF_ORIGIN)
    id_number = f"{province}{id_century_sex_digit(sex, born.year)}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    surname = rng.choice(SURNAMES)
    full_name = _name(rng, sex, surname)
    street, ward, district, city = rng.choice(RESIDENCES)
    lane = f"Ngõ {rng.randint(2, 180)} " if rng.random() < 0.5 else ""
    residence = f"Số {rng.randint(1, 250)}, {lane}{street}, {ward}, {district}, {city}"
    old_id = f"{rng.randrange(10**9):09d}" if born.year < OLD_ID_BORN_BEFORE else None
    age_at_issue = (issued - born).days // 365
    spouse = _name(rng, "F" if sex == "M" else "M") if age_at_issue >= 24 and rng.random() < 0.65 else None
    serial = hmac.new(seed, b"serial/%d" % index, hashlib.sha256).hexdigest()[:16].upper()
    return Person(
        index=index,
        id_number=id_number,
        full_name=full_name,
        sex=sex,
        date_of_birth=born,
        date_of_issue=issued,
        date_of_expiry=expiry,
        old_id_number=old_id,
        nationality=NATIONALITY,
        ethnicity=_weighted(rng, ETHNICITIES),
        religion=_weighted(rng, RELIGIONS),
        place_of_origin=unicodedata.normalize("NFC", origin),
        permanent_residence=unicodedata.normalize("NFC", residence),
        identifying_marks=rng.choice(IDENTIFYING_MARKS),
        father_name=_name(rng, "M", surname),
        mother_name=_name(rng, "F"),
        spouse_name=spouse,
        card_serial=serial,
    )


def make_people(count: int, seed: bytes = DEFAULT_SEED) -> list[Person]:
    return [make_person(seed, index) for index in range(count)]


def mrz_transliterate(text: str) -> str:
    """Vietnamese text as MRZ characters: diacritics dropped, Đ as D, upper case, anything else '<'."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return "".join(ch if ("A" <= ch <= "Z" or "0" <= ch <= "9") else "<" for ch in plain)

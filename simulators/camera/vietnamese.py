"""Seeded random Vietnamese people and text for the QR corpus: names and addresses with diacritics
(short and long, title case and upper case), 12-digit ID numbers laid out as docs/reference/card.md
"The ID number" describes, and the printed-card QR payload
``ID12|oldID9|name|DDMMYYYY|Nam/Nữ|address|DDMMYYYY`` (docs/reference/qr.md "The printed QR code").

The payload is formatted here, on its own, and never with the agent's parser: a bug shared by the
two sides could otherwise pass every test. Every function takes a ``random.Random`` so that a corpus
is reproducible from its seed.
"""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from datetime import date, timedelta

SURNAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
    "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Mai", "Tạ", "Đoàn", "Trương", "Lâm", "Phùng",
    "Quách", "Kiều", "Cao", "Thái", "La", "Âu", "Ông", "Ưng", "Hà", "Tôn", "Khúc", "Lữ", "Giáp",
)
MIDDLE_NAMES = (
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Xuân", "Thu", "Hoài", "Gia", "Bảo",
    "Khánh", "Phương", "Anh", "Thùy", "Mỹ", "Đình", "Công", "Trọng", "Thế", "Kim", "Diệu", "Nhật",
)
GIVEN_NAMES = (
    "An", "Anh", "Bình", "Châu", "Cường", "Dũng", "Duy", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hằng",
    "Hiếu", "Hoa", "Hùng", "Hương", "Huyền", "Khoa", "Lan", "Linh", "Long", "Mai", "Minh", "Nam",
    "Ngân", "Nghĩa", "Ngọc", "Nhung", "Phúc", "Phượng", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo",
    "Thắng", "Thủy", "Tiến", "Trang", "Trí", "Trung", "Tuấn", "Tùng", "Uyên", "Vân", "Việt", "Vinh",
    "Xuân", "Yến", "Ánh", "Ðông", "Lực", "Nữ", "Ước", "Ỷ", "Hưởng", "Ngữ", "Khuê", "Loan", "Điệp",
)
PROVINCES = (
    "Hà Nội", "Thành phố Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Thanh Hóa", "Nghệ An",
    "Ninh Thuận", "Bình Định", "Đắk Lắk", "Đắk Nông", "Lâm Đồng", "Khánh Hòa", "Thừa Thiên Huế",
    "Quảng Ngãi", "Bà Rịa - Vũng Tàu", "Hòa Bình", "Bắc Giang", "Lạng Sơn", "Điện Biên", "Kiên Giang",
    "Sóc Trăng", "Bạc Liêu", "Cà Mau", "Hưng Yên", "Quảng Trị", "Phú Yên", "Tuyên Quang", "Yên Bái",
)
DISTRICTS = (
    "Hoàn Kiếm", "Đống Đa", "Cầu Giấy", "Thủ Đức", "Ninh Kiều", "Buôn Ma Thuột", "Phan Rang - Tháp Chàm",
    "Quy Nhơn", "Tuy Phước", "Sơn Tịnh", "Đức Trọng", "Mường Lay", "Krông Pắc", "Ea Súp", "Hải Châu",
    "Thanh Khê", "Ngũ Hành Sơn", "Hội An", "Bến Lức", "Châu Đốc",
)
WARDS = (
    "Hàng Bạc", "Láng Hạ", "Dịch Vọng", "Bến Nghé", "Tân Định", "An Khánh", "Ea Tam", "Đạo Long",
    "Nhơn Hưng", "Phước Sơn", "Tịnh Ấn Tây", "Quảng Thắng", "Hòa Xuân", "Xuân Phú", "Ngọc Khánh",
    "Thượng Đình", "Ỷ La", "Ưu Điềm", "Đông Hưng Thuận", "Mỹ Thới",
)
STREETS = (
    "Hàng Bạc", "Lê Duẩn", "Trần Hưng Đạo", "Nguyễn Thị Minh Khai", "Điện Biên Phủ", "Lý Thường Kiệt",
    "Võ Nguyên Giáp", "Hùng Vương", "Phạm Ngũ Lão", "Bà Triệu", "Nguyễn Trãi", "Quang Trung",
)

# Province-of-registration codes that start a 12-digit ID (the first three digits), a sample.
PROVINCE_CODES = ("001", "002", "004", "026", "031", "038", "040", "052", "058", "066", "068", "079", "092")

_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # grave, acute, hook, tilde, dot below
_ONSETS = ("", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh",
           "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x")
_CODAS = ("", "c", "ch", "m", "n", "ng", "nh", "p", "t", "i", "o", "u", "y")
_PUNCTUATION = " ,.-/()'\"&:;!?#%+"


@dataclasses.dataclass(frozen=True)
class Person:
    """A made-up citizen: what the QR on a card would carry."""

    id_number: str = dataclasses.field(repr=False)
    old_id_number: str = dataclasses.field(repr=False)
    full_name: str = dataclasses.field(repr=False)
    date_of_birth: date = dataclasses.field(repr=False)
    sex: str = dataclasses.field(repr=False)  # "Nam" | "Nữ"
    address: str = dataclasses.field(repr=False)
    issue_date: date = dataclasses.field(repr=False)
    trailing_fields: int = 0  # cards issued from July 2024 add empty fields at the end


def random_name(rng: random.Random, *, long: bool | None = None) -> str:
    """A full name: surname, zero to three middle names, a given name; sometimes upper case."""
    long = rng.random() < 0.3 if long is None else long
    middles = rng.sample(MIDDLE_NAMES, rng.randint(2, 3) if long else rng.randint(0, 1))
    words = [rng.choice(SURNAMES), *middles, rng.choice(GIVEN_NAMES)]
    name = " ".join(words)
    return name.upper() if rng.random() < 0.3 else name


def random_address(rng: random.Random, *, long: bool | None = None) -> str:
    """A permanent address: short ("Thôn 3, Xã Ea Tam, Krông Pắc, Đắk Lắk") or long with house and alley."""
    long = rng.random() < 0.5 if long is None else long
    province = rng.choice(PROVINCES)
    district = rng.choice(DISTRICTS)
    ward = rng.choice(WARDS)
    if not long:
        village = rng.choice((f"Thôn {rng.randint(1, 12)}", f"Tổ {rng.randint(1, 40)}", f"Ấp {rng.choice(WARDS)}"))
        return f"{village}, {rng.choice(('Xã', 'Phường'))} {ward}, {district}, {province}"
    house = f"Số {rng.randint(1, 999)}{rng.choice(('', '', '/12', 'A', 'B'))}"
    alley = rng.choice(("", f"Ngõ {rng.randint(1, 200)}, ", f"Hẻm {rng.randint(1, 300)}/{rng.randint(1, 30)}, "))
    street = rng.choice(STREETS)
    return (
        f"{house}, {alley}Đường {street}, Phường {ward}, {rng.choice(('Quận', 'Huyện', 'Thị xã'))} {district}, "
        f"{rng.choice(('Thành phố', 'Tỉnh'))} {province}"
    )


def random_person(rng: random.Random, *, today: date = date(2025, 6, 1)) -> Person:
    """A consistent citizen: the ID's century/sex digit and year digits agree with the birth date."""
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, (date(2010, 12, 31) - date(1940, 1, 1)).days))
    female = rng.random() < 0.5
    century_digit = (born.year // 100 - 19) * 2 + (1 if female else 0)
    id_number = f"{rng.choice(PROVINCE_CODES)}{century_digit}{born.year % 100:02d}{rng.randint(0, 999999):06d}"
    earliest_issue = max(date(2016, 1, 1), born + timedelta(days=14 * 365))
    span = max(1, (today - earliest_issue).days)
    issued = earliest_issue + timedelta(days=rng.randint(0, span))
    old_id = "" if rng.random() < 0.3 else f"{rng.randint(0, 999999999):09d}"
    trailing = 3 if issued >= date(2024, 7, 1) else 0
    return Person(
        id_number=id_number,
        old_id_number=old_id,
        full_name=random_name(rng),
        date_of_birth=born,
        sex="Nữ" if female else "Nam",
        address=random_address(rng),
        issue_date=issued,
        trailing_fields=trailing,
    )


def cccd_payload(person: Person) -> str:
    """The text of the QR printed on the card (NFC, as real encoders emit)."""
    fields = [
        person.id_number,
        person.old_id_number,
        person.full_name,
        person.date_of_birth.strftime("%d%m%Y"),
        person.sex,
        person.address,
        person.issue_date.strftime("%d%m%Y"),
        *([""] * person.trailing_fields),
    ]
    return unicodedata.normalize("NFC", "|".join(fields))


def random_syllable(rng: random.Random) -> str:
    """One Vietnamese-looking syllable with any vowel, tone mark and case (not always a real word)."""
    vowel = rng.choice(_VOWELS)
    if vowel == "u" and rng.random() < 0.3:
        vowel = rng.choice(("uô", "ươ", "ưa", "ua"))
    elif vowel in "ie" and rng.random() < 0.3:
        vowel = rng.choice(("iê", "ia", "yê"))
    toned = vowel[0] + rng.choice(_TONES) + vowel[1:]
    syllable = unicodedata.normalize("NFC", rng.choice(_ONSETS) + toned + rng.choice(_CODAS))
    roll = rng.random()
    if roll < 0.2:
        return syllable.upper()
    if roll < 0.5:
        return syllable[:1].upper() + syllable[1:]
    return syllable


def random_text(rng: random.Random, *, max_words: int = 8) -> str:
    """A stress string: 1..max_words syllables, sometimes digits and punctuation, often very short.

    Short strings matter most: they are the ones zbar's character-set guess gets wrong ("Lê", "Nữ").
    """
    words = [random_syllable(rng) for _ in range(rng.randint(1, max_words))]
    text = " ".join(words)
    if rng.random() < 0.3:
        text += rng.choice(_PUNCTUATION) + str(rng.randint(0, 99999))
    if rng.random() < 0.2:
        text = rng.choice(("Đ", "đ", "Ư", "ơ", "Ữ", "ệ")) + text
    return text

"""BHYT card QR payloads for the tests: codes quoted in public HIS source code as examples of what a
scanner gives (docs/reference/qr.md "The BHYT card's QR code", sources), and a builder of synthetic
ones from the project's own fictional people."""

from __future__ import annotations

from datetime import date

# A card of the 2015 model (QĐ 1351), quoted in an open HIS's test scenario ("Phan Hoàng Quý").
PUBLIC_2018 = (
    "DN4797937337969|5068616e20486fc3a06e67205175c3bd|31/05/1994|1|3839204e677579e1bb856e2056c4836e2043c3b46e672c"
    "205068c6b0e1bb9d6e672030332c205175e1baad6e2047c3b22056e1baa5702c205468c3a06e68207068e1bb912048e1bb9320436"
    "8c3ad204d696e68|79 - 426|01/10/2018|-|29/10/2018|79077937337969|-|4|01/11/2022|6f34b2d123350b6-7102|$"
)
# Quoted in a Flutter HIS client; the terminator "$" is missing, its separator kept.
PUBLIC_2020 = (
    "GD4494920711100|4cc6b0c6a16e67204de1baa16e68205469e1babf6e|02/01/1953|1|4c6f6e6720587579c3aa6e20312c205468e1"
    "bb8b207472e1baa56e204e616d205068c6b0e1bb9b632c20487579e1bb876e2044757920587579c3aa6e2c2054e1bb896e68205175e1"
    "baa36e67204e616d|49 - 895|22/07/2020|-|30/06/2020|49074920711100|-|4|22/07/2025|3163aee3cd56aceb-7102|"
)
# The 2021 model (QĐ 1666): the 10-digit social insurance number alone, two more fields after the check.
PUBLIC_2021 = (
    "0204287018|486fc3a06e67205875c3a26e2048e1baa56e|30/07/1981|1|43747920435020434e5454205669e1bb8774204261|"
    "79 - 034|01/02/2021|-|20/02/2021|79020204287018|-|4| 01/01/2015|15e89ac07ee8517f-7102|4|5175e1baad6e2031322"
    "c205468c3a06e68207068e1bb912048e1bb93204368c3ad204d696e68|$"
)
PUBLIC = (PUBLIC_2018, PUBLIC_2020, PUBLIC_2021)
# Quoted in a VNPT-HIS front end's comment with letters in place of card digits ("AA"): the shape of a
# real code, a card number that is none.
PUBLIC_ANONYMISED = (
    "DN401AA31900313|4cc3aa205669e1bb87742048c6b06e67|04/09/1985|1|437479207068e1baa76e206de1bb816d20564e50542d"
    "20434e2074e1bb956e6720437479204456205654|01 - 043|01/07/2017|31/12/2017|21/07/2017|01059710639215|-|4|"
    "01/07/2022|1f2fa22c47f0bd18-7102|$"
)


def bhyt_payload(card_number: str, full_name: str, born: date | int, *, sex: int = 1,
                 address: str = "Số 5, phố Hàng Bạc, Hoàn Kiếm, Hà Nội", facility: str = "01 - 001",
                 valid_from: date = date(2025, 1, 1), valid_to: date | None = date(2099, 12, 31),
                 check: str = "1a2b3c4d5e6f7a8b-7102") -> str:
    """A payload in the card's format (the check string is made up: its algorithm is not public)."""
    def day(value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else "-"

    born_text = str(born) if isinstance(born, int) else day(born)
    fields = [card_number, full_name.encode().hex(), born_text, str(sex), address.encode().hex(), facility,
              day(valid_from), day(valid_to), day(valid_from), card_number[-10:].rjust(14, "0"), "-", "4",
              day(valid_from), check]
    return "|".join(fields) + "|$"

"""Short-Weierstrass elliptic-curve arithmetic over prime fields and the standardised domain
parameters of ICAO Doc 9303-11 §9.5.1 (parameter IDs 8-18: the NIST curves of FIPS 186-4 and the
Brainpool curves of RFC 5639) with their OIDs, and the one reader of ECParameters (X9.62 / RFC 3279,
named or explicit) that maps them onto that table; shared by the host side and the simulated card as a
low-level primitive.

Points are plain affine tuples ``(x, y)`` of integers (:data:`Point`); ``None`` is the point at
infinity wherever a result may be infinity. Scalar multiplication runs in Jacobian coordinates over a
regular signed-window recoding (every window adds one odd multiple, so the schedule of operations does
not depend on the scalar's digits); it is not constant time (Python integers are not) and does not
claim to be: it is for a host-side reader and a test card. Decoding rejects anything that is not an
uncompressed point on the curve with :class:`InvalidPointError` (a :class:`ValueError`), which the
protocol layers translate into their own errors.
"""

from __future__ import annotations

import dataclasses
import hashlib

from asn1crypto import keys as asn1_keys

Point = tuple[int, int]
"""An affine point (x, y) with 0 <= x, y < p; ``None`` stands for the point at infinity."""

_Jacobian = tuple[int, int, int]  # (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z = 0 is infinity

POINT_UNCOMPRESSED = 0x04


class InvalidPointError(ValueError):
    """Bytes that do not encode a finite point of the curve, or a point that is not on it."""


def _h(*parts: str) -> int:
    return int("".join(parts), 16)


@dataclasses.dataclass(frozen=True)
class Curve:
    """y^2 = x^3 + a x + b over GF(p), base point (gx, gy) of prime order n, cofactor h; ``oid`` names
    a standardised curve (SEC 2, RFC 5639)."""

    name: str
    p: int = dataclasses.field(repr=False)
    a: int = dataclasses.field(repr=False)
    b: int = dataclasses.field(repr=False)
    gx: int = dataclasses.field(repr=False)
    gy: int = dataclasses.field(repr=False)
    n: int = dataclasses.field(repr=False)
    h: int = dataclasses.field(default=1, repr=False)
    # The named curve's OBJECT IDENTIFIER; empty for explicit parameters that name no curve of the table
    oid: str = dataclasses.field(default="", repr=False)

    @property
    def generator(self) -> Point:
        return (self.gx, self.gy)

    @property
    def byte_length(self) -> int:
        """Length in bytes of one field element (a coordinate) in encodings."""
        return (self.p.bit_length() + 7) // 8

    @property
    def order_byte_length(self) -> int:
        """Length in bytes of a scalar modulo n."""
        return (self.n.bit_length() + 7) // 8


# --- field and point arithmetic ------------------------------------------------------------------


def is_on_curve(curve: Curve, point: Point | None) -> bool:
    """True for a finite point with coordinates in [0, p) satisfying the curve equation; the point at
    infinity is not accepted here because no protocol message may carry it."""
    if point is None:
        return False
    x, y = point
    p = curve.p
    if not (0 <= x < p and 0 <= y < p):
        return False
    return (y * y - (x * x * x + curve.a * x + curve.b)) % p == 0


def point_neg(curve: Curve, point: Point | None) -> Point | None:
    if point is None:
        return None
    x, y = point
    return (x, (-y) % curve.p)


def point_add(curve: Curve, first: Point | None, second: Point | None) -> Point | None:
    """first + second in affine coordinates (one inversion); handles infinity, doubling and P + (-P)."""
    if first is None:
        return second
    if second is None:
        return first
    p = curve.p
    x1, y1 = first
    x2, y2 = second
    if x1 == x2:
        if (y1 + y2) % p == 0:
            return None
        slope = (3 * x1 * x1 + curve.a) * pow(2 * y1, -1, p) % p
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (slope * slope - x1 - x2) % p
    return (x3, (slope * (x1 - x3) - y1) % p)


def _double(curve: Curve, point: _Jacobian) -> _Jacobian:
    x, y, z = point
    p = curve.p
    if z == 0 or y == 0:
        return (1, 1, 0)
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    if curve.a == p - 3:  # NIST curves: 3x^2 - 3z^4 factors, saving a squaring
        m = 3 * (x - zz) * (x + zz) % p
    else:
        m = (3 * x * x + curve.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    return (x3, y3, 2 * y * z % p)


def _add(curve: Curve, first: _Jacobian, second: _Jacobian) -> _Jacobian:
    x1, y1, z1 = first
    x2, y2, z2 = second
    if z1 == 0:
        return second
    if z2 == 0:
        return first
    p = curve.p
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    if h == 0:
        # Exceptional inputs (equal or opposite points) only; regular windows never produce them
        # for scalars below the group order, but the result must still be right when they do.
        return _double(curve, first) if r == 0 else (1, 1, 0)
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    return (x3, y3, z1 * z2 * h % p)


def _to_affine(curve: Curve, point: _Jacobian) -> Point | None:
    x, y, z = point
    if z == 0:
        return None
    p = curve.p
    z_inv = pow(z, -1, p)
    z_inv2 = z_inv * z_inv % p
    return (x * z_inv2 % p, y * z_inv2 * z_inv % p)


def _window_width(curve: Curve) -> int:
    return 4 if curve.n.bit_length() <= 256 else 5


def _regular_digits(k: int, width: int, count: int) -> list[int]:
    """Signed base-2^width digits of an odd k, every digit odd with |d| < 2^width, least significant
    first, always ``count`` of them (Joye and Tunstall's regular recoding)."""
    digits = []
    base = 1 << width
    mask = (base << 1) - 1
    for _ in range(count - 1):
        digit = (k & mask) - base
        digits.append(digit)
        k = (k - digit) >> width
    digits.append(k)
    return digits


def scalar_mult(curve: Curve, k: int, point: Point | None) -> Point | None:
    """k * point for any integer k (None when the result is the point at infinity).

    The point is not validated here: callers check what they receive (:func:`decode_point`).
    """
    if point is None:
        return None
    if k < 0:
        return scalar_mult(curve, -k, point_neg(curve, point))
    if k == 0:
        return None
    width = _window_width(curve)
    # The recoding needs an odd scalar: multiply by k | 1 and take one P back off when k was even.
    odd_k = k | 1
    bits = max(odd_k.bit_length(), curve.n.bit_length())
    count = -(-bits // width) + 1
    digits = _regular_digits(odd_k, width, count)
    if not 0 < digits[-1] < (1 << width):
        raise ValueError("scalar recoding overflow")  # cannot happen with the count chosen above
    base: _Jacobian = (point[0], point[1], 1)
    twice = _double(curve, base)
    table = [base]  # odd multiples P, 3P, 5P, ..., (2^width - 1)P
    for _ in range((1 << (width - 1)) - 1):
        table.append(_add(curve, table[-1], twice))
    p = curve.p
    negated = [(x, (-y) % p, z) for x, y, z in table]
    acc = table[digits[-1] >> 1]
    for digit in reversed(digits[:-1]):
        for _ in range(width):
            acc = _double(curve, acc)
        acc = _add(curve, acc, table[digit >> 1] if digit > 0 else negated[(-digit) >> 1])
    corrected = _add(curve, acc, negated[0])
    return _to_affine(curve, (corrected, acc)[k & 1])


def ecdh(curve: Curve, private_key: int, peer: Point) -> Point:
    """private_key * peer, refusing a result at infinity (a degenerate shared secret)."""
    shared = scalar_mult(curve, private_key, peer)
    if shared is None:
        raise InvalidPointError("the shared point is the point at infinity")
    return shared


def public_point(curve: Curve, private_key: int) -> Point:
    """private_key * G for 1 <= private_key < n."""
    if not 0 < private_key < curve.n:
        raise ValueError("private key out of range")
    result = scalar_mult(curve, private_key, curve.generator)
    if result is None:  # pragma: no cover - impossible for a key in range on a valid curve
        raise InvalidPointError("public point at infinity")
    return result


# --- encodings (BSI TR-03111 §3.2, SEC 1 §2.3.3) ---------------------------------------------------


def encode_point(curve: Curve, point: Point | None) -> bytes:
    """Uncompressed encoding 04 || X || Y, each coordinate padded to the field's byte length."""
    if point is None:
        raise InvalidPointError("the point at infinity has no uncompressed encoding")
    length = curve.byte_length
    x, y = point
    return bytes([POINT_UNCOMPRESSED]) + x.to_bytes(length, "big") + y.to_bytes(length, "big")


def decode_point(curve: Curve, data: bytes) -> Point:
    """The finite point that ``data`` (04 || X || Y) encodes; raises :class:`InvalidPointError` for
    another form or length, coordinates out of range, or a point that is not on the curve."""
    length = curve.byte_length
    if len(data) != 1 + 2 * length or data[0] != POINT_UNCOMPRESSED:
        raise InvalidPointError(f"not an uncompressed point of {curve.name}")
    point = (int.from_bytes(data[1 : 1 + length], "big"), int.from_bytes(data[1 + length :], "big"))
    if not is_on_curve(curve, point):
        raise InvalidPointError(f"point is not on {curve.name}")
    return point


def _square_root(value: int, p: int) -> int | None:
    """A square root of ``value`` modulo the odd prime ``p`` (Tonelli-Shanks), or None when there is none."""
    value %= p
    if value == 0:
        return 0
    if pow(value, (p - 1) // 2, p) != 1:
        return None
    if p % 4 == 3:
        return pow(value, (p + 1) // 4, p)
    q, s = p - 1, 0
    while q % 2 == 0:
        q, s = q // 2, s + 1
    z = 2
    while pow(z, (p - 1) // 2, p) != p - 1:
        z += 1
    m, c, t, root = s, pow(z, q, p), pow(value, q, p), pow(value, (q + 1) // 2, p)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % p, i + 1
            if i == m:
                return None
        b = pow(c, 1 << (m - i - 1), p)
        m, c, t, root = i, b * b % p, t * b * b % p, root * b % p
    return root


def decode_public_point(curve: Curve, data: bytes) -> Point:
    """A public key point in either form of SEC 1 §2.3.4: uncompressed (04 || X || Y) or compressed
    (02 / 03 || X, the parity of y in the first byte), as certificates and DG15 may carry it. Protocol
    messages (PACE, Chip Authentication) use :func:`decode_point`, which takes the uncompressed form
    only. Raises :class:`InvalidPointError` for anything that is not a point of the curve."""
    length = curve.byte_length
    if len(data) == 1 + length and data[0] in (0x02, 0x03):
        x = int.from_bytes(data[1:], "big")
        if x >= curve.p:
            raise InvalidPointError(f"x coordinate out of range for {curve.name}")
        y = _square_root(x * x * x + curve.a * x + curve.b, curve.p)
        if y is None:
            raise InvalidPointError(f"point is not on {curve.name}")
        if y & 1 != data[0] & 1:
            y = (curve.p - y) % curve.p
        point = (x, y)
        if not is_on_curve(curve, point):  # pragma: no cover - a square root always satisfies the equation
            raise InvalidPointError(f"point is not on {curve.name}")
        return point
    return decode_point(curve, data)


def ecdsa_verify(curve: Curve, public: Point, digest: bytes, r: int, s: int) -> bool:
    """ECDSA signature verification (SEC 1 §4.1.4, BSI TR-03111 §4.2.1.2): whether (r, s) signs
    ``digest`` (the hash of the message, already computed) under the public point ``public``.

    The hash is truncated to the bit length of the group order n, r and s must lie in [1, n - 1], and
    the x coordinate of u1 G + u2 Q reduced modulo n must equal r. Used for the curves the crypto library
    does not offer (brainpoolP192r1, P224r1, P320r1, explicit parameters that name no curve)."""
    n = curve.n
    if not (0 < r < n and 0 < s < n) or not is_on_curve(curve, public):
        return False
    e = int.from_bytes(digest, "big")
    excess = 8 * len(digest) - n.bit_length()
    if excess > 0:
        e >>= excess
    try:
        w = pow(s, -1, n)
        u1 = e * w % n
        u2 = r * w % n
        total = point_add(curve, scalar_mult(curve, u1, curve.generator), scalar_mult(curve, u2, public))
    except ValueError:
        # An element without an inverse: p or n is not prime (explicit parameters from a file or a chip
        # that slipped past the primality test). Such a "curve" verifies nothing.
        return False
    return total is not None and total[0] % n == r


def field_element_bytes(curve: Curve, value: int) -> bytes:
    """A field element (such as the x coordinate used as a shared secret) as big-endian bytes of
    the field's length (Doc 9303-11 §9.4.3: the x coordinate is the shared secret)."""
    return value.to_bytes(curve.byte_length, "big")


# --- standardised domain parameters (FIPS 186-4 D.1.2, RFC 5639 §3) -----------------------------

P_192 = Curve(
    name="P-192",
    oid="1.2.840.10045.3.1.1",
    p=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF"),
    a=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC"),
    b=_h("64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1"),
    gx=_h("188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF1012"),
    gy=_h("07192B95FFC8DA78631011ED6B24CDD573F977A11E794811"),
    n=_h("FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831"),
    h=1,
)

BRAINPOOL_P192R1 = Curve(
    name="brainpoolP192r1",
    oid="1.3.36.3.3.2.8.1.1.3",
    p=_h("C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297"),
    a=_h("6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF"),
    b=_h("469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9"),
    gx=_h("C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD6"),
    gy=_h("14B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F"),
    n=_h("C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1"),
    h=1,
)

P_224 = Curve(
    name="P-224",
    oid="1.3.132.0.33",
    p=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000000000000000000000001"),
    a=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFE"),
    b=_h("B4050A850C04B3ABF54132565044B0B7D7BFD8BA270B39432355FFB4"),
    gx=_h("B70E0CBD6BB4BF7F321390B94A03C1D356C21122343280D6115C1D21"),
    gy=_h("BD376388B5F723FB4C22DFE6CD4375A05A07476444D5819985007E34"),
    n=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D"),
    h=1,
)

BRAINPOOL_P224R1 = Curve(
    name="brainpoolP224r1",
    oid="1.3.36.3.3.2.8.1.1.5",
    p=_h("D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF"),
    a=_h("68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43"),
    b=_h("2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B"),
    gx=_h("0D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D"),
    gy=_h("58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD"),
    n=_h("D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F"),
    h=1,
)

P_256 = Curve(
    name="P-256",
    oid="1.2.840.10045.3.1.7",
    p=_h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
    a=_h("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
    b=_h("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
    gx=_h("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"),
    gy=_h("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"),
    n=_h("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
    h=1,
)

BRAINPOOL_P256R1 = Curve(
    name="brainpoolP256r1",
    oid="1.3.36.3.3.2.8.1.1.7",
    p=_h("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"),
    a=_h("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9"),
    b=_h("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6"),
    gx=_h("8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262"),
    gy=_h("547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"),
    n=_h("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"),
    h=1,
)

BRAINPOOL_P320R1 = Curve(
    name="brainpoolP320r1",
    oid="1.3.36.3.3.2.8.1.1.9",
    p=_h("D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27"),
    a=_h("3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4"),
    b=_h("520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6"),
    gx=_h("43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E20611"),
    gy=_h("14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1"),
    n=_h("D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311"),
    h=1,
)

P_384 = Curve(
    name="P-384",
    oid="1.3.132.0.34",
    p=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFF"),
    a=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFFFC"),
    b=_h("B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF"),
    gx=_h("AA87CA22BE8B05378EB1C71EF320AD746E1D3B628BA79B9859F741E082542A385502F25DBF55296C3A545E3872760AB7"),
    gy=_h("3617DE4A96262C6F5D9E98BF9292DC29F8F41DBD289A147CE9DA3113B5F0B8C00A60B1CE1D7E819D7A431D7C90EA0E5F"),
    n=_h("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973"),
    h=1,
)

BRAINPOOL_P384R1 = Curve(
    name="brainpoolP384r1",
    oid="1.3.36.3.3.2.8.1.1.11",
    p=_h("8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53"),
    a=_h("7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826"),
    b=_h("04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11"),
    gx=_h("1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E"),
    gy=_h("8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315"),
    n=_h("8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565"),
    h=1,
)

BRAINPOOL_P512R1 = Curve(
    name="brainpoolP512r1",
    oid="1.3.36.3.3.2.8.1.1.13",
    p=_h(
        "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842"
        "AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3"
    ),
    a=_h(
        "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA1"
        "0A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA"
    ),
    b=_h(
        "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D"
        "77FC94CADC083E67984050B75EBAE5DD2809BD638016F723"
    ),
    gx=_h(
        "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D"
        "50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822"
    ),
    gy=_h(
        "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E"
        "5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892"
    ),
    n=_h(
        "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619"
        "418661197FAC10471DB1D381085DDADDB58796829CA90069"
    ),
    h=1,
)

P_521 = Curve(
    name="P-521",
    oid="1.3.132.0.35",
    p=_h(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    ),
    a=_h(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC"
    ),
    b=_h(
        "51953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E93"
        "7B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00"
    ),
    gx=_h(
        "C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE759"
        "28FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66"
    ),
    gy=_h(
        "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF4"
        "2640C550B9013FAD0761353C7086A272C24088BE94769FD16650"
    ),
    n=_h(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F"
        "966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409"
    ),
    h=1,
)

CURVES_BY_PARAMETER_ID: dict[int, Curve] = {
    8: P_192,
    9: BRAINPOOL_P192R1,
    10: P_224,
    11: BRAINPOOL_P224R1,
    12: P_256,
    13: BRAINPOOL_P256R1,
    14: BRAINPOOL_P320R1,
    15: P_384,
    16: BRAINPOOL_P384R1,
    17: BRAINPOOL_P512R1,
    18: P_521,
}
CURVES_BY_NAME: dict[str, Curve] = {curve.name: curve for curve in CURVES_BY_PARAMETER_ID.values()}
CURVES_BY_OID: dict[str, Curve] = {curve.oid: curve for curve in CURVES_BY_PARAMETER_ID.values()}


# --- ECParameters (X9.62 / RFC 3279 §2.3.5, BSI TR-03111 §4.1.1) ---------------------------------

OID_PRIME_FIELD = "1.2.840.10045.1.1"
# Explicit parameters come from a chip or a certificate: a size limit keeps hostile input cheap to reject.
MAX_PARAMETER_BYTES = 1024
_EXPLICIT_VERSIONS = frozenset({"ecdpVer1", "ecdpVer2", "ecdpVer3"})
# asn1crypto parses lazily and can raise almost any built-in exception on malformed input.
ASN1_FAILURES = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    UnicodeError,
    NotImplementedError,
    RecursionError,
)


class EcParametersError(ValueError):
    """ECParameters that are malformed or describe no usable prime-field curve."""


class UnknownCurveError(EcParametersError):
    """A named curve that is not in the table of standardised curves."""

    def __init__(self, oid: str) -> None:
        super().__init__(f"unknown named curve {oid}")
        self.oid = oid


def curve_from_ec_parameters(der: bytes) -> Curve:
    """The curve of a DER ECParameters: a namedCurve OID of the table above, or a specifiedCurve
    (SpecifiedECDomain, as CSCA certificates and DG14 keys often carry). Explicit parameters equal to a
    standardised curve yield that curve (base point uncompressed or compressed), others a curve named
    "explicit" after checking that its base point lies on it. Raises :class:`UnknownCurveError` for a
    named curve not in the table and :class:`EcParametersError` for anything else unusable
    (implicitlyCA, a binary field, malformed or out-of-range values)."""
    try:
        parameters = asn1_keys.ECDomainParameters.load(bytes(der), strict=True)
        if parameters.name == "named":
            oid = parameters.chosen.dotted
            named = CURVES_BY_OID.get(oid)
            if named is None:
                raise UnknownCurveError(oid)
            return named
        if parameters.name != "specified":
            raise EcParametersError("implicitlyCA parameters name no curve")
        return _specified_curve(parameters.chosen)
    except EcParametersError:
        raise
    except ASN1_FAILURES as exc:
        raise EcParametersError(f"malformed ECParameters: {exc}") from exc


def _specified_curve(domain: asn1_keys.SpecifiedECDomain) -> Curve:
    if domain["version"].native not in _EXPLICIT_VERSIONS:
        raise EcParametersError("unknown ECParameters version")
    if domain["field_id"]["field_type"].dotted != OID_PRIME_FIELD:
        raise EcParametersError("only prime-field curves are supported")
    p = _bounded_integer(domain["field_id"]["parameters"].native, "prime p")
    a = int.from_bytes(bytes(domain["curve"]["a"].native), "big")
    b = int.from_bytes(bytes(domain["curve"]["b"].native), "big")
    base = bytes(domain["base"].native)
    n = _bounded_integer(domain["order"].native, "order n")
    cofactor = domain["cofactor"].native
    h = 1 if cofactor is None else _bounded_integer(cofactor, "cofactor")
    if p < 5 or p % 2 == 0 or not (0 <= a < p and 0 <= b < p) or n < 3 or h < 1:
        raise EcParametersError("explicit curve parameters out of range")
    length = (p.bit_length() + 7) // 8
    if len(base) == 1 + 2 * length and base[0] == POINT_UNCOMPRESSED:
        gx, gy = int.from_bytes(base[1 : 1 + length], "big"), int.from_bytes(base[1 + length :], "big")
        for known in CURVES_BY_OID.values():
            if (known.p, known.a, known.b, known.gx, known.gy, known.n, known.h) == (p, a, b, gx, gy, n, h):
                return known
    elif len(base) == 1 + length and base[0] in (0x02, 0x03):
        # Compressed (SEC 1 §2.3.3): only a standardised curve's generator, matched by x and the parity of y
        gx = int.from_bytes(base[1:], "big")
        for known in CURVES_BY_OID.values():
            if (known.p, known.a, known.b, known.gx, known.n, known.h) == (p, a, b, gx, n, h) and (
                known.gy & 1 == base[0] & 1
            ):
                return known
        raise EcParametersError("compressed base point of a curve that is not a standardised one")
    else:
        raise EcParametersError("base point is neither an uncompressed nor a compressed point")
    if not (is_probable_prime(p) and is_probable_prime(n)):
        # Curve arithmetic needs a prime field and a prime order (inverses mod p and mod n): a hostile
        # certificate or chip could otherwise make any later inversion fail.
        raise EcParametersError("explicit curve parameters: p or the order n is not prime")
    curve = Curve(name="explicit", p=p, a=a, b=b, gx=gx, gy=gy, n=n, h=h)
    if not is_on_curve(curve, curve.generator):
        raise EcParametersError("base point is not on the curve")
    return curve


_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)
PRIME_TEST_ROUNDS = 24


def is_probable_prime(number: int) -> bool:
    """Miller-Rabin (FIPS 186-5 B.3.1) with bases derived from SHA-256 of the number itself: deterministic
    (no randomness to inject) yet not a fixed set of bases an attacker could build a pseudoprime for."""
    if number < 2:
        return False
    for small in (2, *_SMALL_PRIMES):
        if number % small == 0:
            return number == small
    odd, shifts = number - 1, 0
    while odd % 2 == 0:
        odd //= 2
        shifts += 1
    seed = number.to_bytes((number.bit_length() + 7) // 8, "big")
    for round_number in range(PRIME_TEST_ROUNDS):
        digest = hashlib.sha256(seed + round_number.to_bytes(2, "big")).digest()
        base = 2 + int.from_bytes(digest * 4, "big") % (number - 3)
        value = pow(base, odd, number)
        if value in (1, number - 1):
            continue
        for _ in range(shifts - 1):
            value = value * value % number
            if value == number - 1:
                break
        else:
            return False
    return True


def _bounded_integer(value: object, what: str) -> int:
    if not isinstance(value, int) or value.bit_length() > 8 * MAX_PARAMETER_BYTES:
        raise EcParametersError(f"{what} is not an INTEGER of at most {MAX_PARAMETER_BYTES} bytes")
    return value

"""Client of the social insurance agency's (BHXH/VSS) gateway for BHYT card checks, the service every
hospital information system (HIS) calls: ``insurance_protocol = "bhxh-egw-2024"``.

What it speaks, as public HIS code and BHXH's documentation establish it (the 2024 card check of dispatch
CV 1923/BHXH-CNTT; the service list of the QĐ 4750/QĐ-BYT interface guide, "Dịch vụ lấy phiên làm việc"
and "Dịch vụ tra cứu thẻ BHYT và Lịch sử KCB"; open HIS clients in PHP, C# and TypeScript call it the
same way; see docs/reference/bhxh-gateway.md):

- hosts: production ``https://egw.baohiemxahoi.gov.vn``, training ``https://daotaoegw.baohiemxahoi.gov.vn``;
  only the facility's registered Internet addresses are let in, so the host is a setting;
- login: ``POST /api/token/take``, form-encoded ``username`` (the facility account, ``<facility code>_BV``)
  and ``password`` as the MD5 hex digest of the password (the guide says upper case; HIS clients send
  either case). Answer ``{"maKetQua": "200", "APIKey": {"access_token", "id_token", "token_type",
  "username", "expires_in"}}``, ``expires_in`` being the token's expiry time in UTC
  (``2017-11-13T03:51:20.1047187Z``); a bad login answers ``maKetQua`` "401";
- card check: ``POST /api/egw/KQNhanLichSuKCB2024`` with ``token``, ``id_token``, ``username`` and the
  MD5 ``password`` in the **query string**, and a JSON body ``maThe`` (the BHYT card number; sites pass
  the 12-digit CCCD number), ``hoTen``, ``ngaySinh`` (``dd/MM/yyyy``, or ``yyyy`` for people with a birth
  year only), ``hoTenCb`` and ``cccdCb`` (the staff member looking the card up, who must be on the
  facility's registered staff list). The answer's fields are strings, dates ``dd/MM/yyyy``; business
  results come with HTTP 200 and some errors as 4xx whose JSON still carries ``maKetQua``.

Every ``maKetQua`` maps to one status and one operator message and next step (:data:`RESULT_CODES`);
a new card that covers today counts as valid and is shown. The token is kept until shortly before it
expires; a 401 gets one new login, and a second 401 is a configuration error, as are 054/055 (the staff
member is not registered): never retried. One retry, on connection errors only; ``Retry-After`` of a
429/503 is honoured. Lookups take 1-3 s; the whole call is bounded by one deadline.

The URLs carry credentials: no URL, query string or password ever reaches a log line, an exception
message (request exceptions are not chained, since they quote the URL), the store or the audit log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from agent import bhyt_number
from agent.checks.breaker import CircuitBreaker
from agent.checks.facilities import FacilityCatalogue
from agent.checks.http import SessionLike, json_object, read_body
from agent.errors import (
    BackendResponseError,
    BackendUnavailableError,
    IdentityDetailsMissingError,
    InvalidInputError,
    OperatorRequiredError,
)
from agent.models import BackendCheck, CheckKind, CheckStatus, InsuranceQuery

log = logging.getLogger(__name__)

PRODUCTION_URL = "https://egw.baohiemxahoi.gov.vn"
TRAINING_URL = "https://daotaoegw.baohiemxahoi.gov.vn"
PATH_LOGIN = "/api/token/take"
PATH_CARD_CHECK = "/api/egw/KQNhanLichSuKCB2024"
WHAT = "BHXH card check"

CODE_LOGIN_OK = "200"
CODE_UNAUTHORISED = "401"
# Renew a token this long before the gateway says it expires, and assume this life when it says nothing.
TOKEN_MARGIN_S = 60.0
DEFAULT_TOKEN_LIFE_S = 50 * 60.0
MAX_RETRY_AFTER_S = 300.0
MAX_TOKEN_LIFE_S = 24 * 3600.0  # a gateway that says "for ever" is asked again tomorrow

ID_NUMBER_12 = re.compile(r"^[0-9]{12}$")
GATEWAY_DAY = re.compile(r"^([0-9]{2})/([0-9]{2})/([0-9]{4})$")
RESULT_CODE = re.compile(r"^[0-9]{3}$")


@dataclasses.dataclass(frozen=True)
class ResultCode:
    """What one ``maKetQua`` means at the desk."""

    status: CheckStatus
    next_key: str = ""


_STEP_PAPERS = "next.bhyt_check_papers"
_STEP_NEW_CARD = "next.bhyt_new_card"
_STEP_CARD_NUMBER = "next.bhyt_check_card_number"
_STEP_STAFF = "next.bhyt_register_staff"
_STEP_NAME = "next.bhyt_check_name"
_STEP_BIRTH = "next.bhyt_check_birth_date"
_STEP_REDUCED = "next.bhyt_card_reduced"
_STEP_TECHNICIAN = "next.call_technician"

RESULT_CODES: Mapping[str, ResultCode] = {
    "000": ResultCode(CheckStatus.VALID),
    "001": ResultCode(CheckStatus.VALID_WITH_WARNING, _STEP_PAPERS),  # army social insurance: check the papers
    "002": ResultCode(CheckStatus.VALID_WITH_WARNING, _STEP_PAPERS),  # police social insurance
    "003": ResultCode(CheckStatus.EXPIRED, _STEP_NEW_CARD),  # the old card expired, a new one was issued
    "004": ResultCode(CheckStatus.VALID, _STEP_NEW_CARD),  # the old card still valid, a new one issued
    "010": ResultCode(CheckStatus.EXPIRED, "next.insurance_expired"),
    "050": ResultCode(CheckStatus.NOT_FOUND, "next.insurance_not_found"),
    "051": ResultCode(CheckStatus.NOT_FOUND, _STEP_CARD_NUMBER),  # wrong card code
    "052": ResultCode(CheckStatus.MISMATCH, _STEP_CARD_NUMBER),  # wrong province (4th-5th character)
    "053": ResultCode(CheckStatus.MISMATCH, _STEP_CARD_NUMBER),  # wrong benefit code (3rd character)
    "054": ResultCode(CheckStatus.CONFIG_ERROR, _STEP_STAFF),  # the staff CCCD is not registered
    "055": ResultCode(CheckStatus.CONFIG_ERROR, _STEP_STAFF),  # the staff name does not match that CCCD
    "060": ResultCode(CheckStatus.MISMATCH, _STEP_NAME),
    "061": ResultCode(CheckStatus.MISMATCH, _STEP_NAME),  # wrong name, first letter right
    "070": ResultCode(CheckStatus.MISMATCH, _STEP_BIRTH),
    "100": ResultCode(CheckStatus.UNAVAILABLE, "next.backend_down"),  # the card book could not be read
    "101": ResultCode(CheckStatus.UNAVAILABLE, "next.backend_down"),  # server error
    "110": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # withdrawn
    "120": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # reported as decreased
    "121": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # decreased: moved to another province
    "122": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # decreased: moved within the province
    "123": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # decreased, then increased again, same employer
    "124": ResultCode(CheckStatus.SUSPENDED, _STEP_REDUCED),  # decreased: stopped taking part
    "130": ResultCode(CheckStatus.VALID_WITH_WARNING, "next.bhyt_child_papers"),  # a child presented no card
    "205": ResultCode(CheckStatus.CONFIG_ERROR, _STEP_TECHNICIAN),  # malformed parameters
    "401": ResultCode(CheckStatus.CONFIG_ERROR, "next.bhyt_check_account"),  # authentication failed
    "500": ResultCode(CheckStatus.UNAVAILABLE, "next.backend_down"),
}
UNKNOWN_CODE = ResultCode(CheckStatus.UNAVAILABLE, _STEP_TECHNICIAN)
TRANSIENT_CODES = frozenset({"100", "101", "500"})
NEVER_RETRIED = frozenset({"054", "055"})


def reason_key(code: str) -> str:
    """The operator message of a result code (agent.messages ``bhyt.<code>``)."""
    return f"bhyt.{code}" if code in RESULT_CODES else "bhyt.unknown"


def md5_password(password: str) -> str:
    """What the gateway wants as the password: the MD5 hex digest, upper case as the guide shows."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


@dataclasses.dataclass(frozen=True)
class _Token:
    access_token: str = dataclasses.field(repr=False)
    id_token: str = dataclasses.field(repr=False)
    username: str
    expires_at: float  # monotonic


class BhxhGateway:
    """The gateway as an :class:`agent.ports.InsuranceLookup`."""

    def __init__(
        self,
        session: SessionLike,
        base_url: str,
        *,
        username: str,
        password: str,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        breaker: CircuitBreaker | None = None,
        facilities: FacilityCatalogue | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password_md5 = md5_password(password)
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.breaker = breaker or CircuitBreaker(failures=0, reset_s=1.0)
        self.facilities = facilities or FacilityCatalogue()
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._not_before = 0.0  # monotonic: the gateway asked us to wait until then (Retry-After)

    def __repr__(self) -> str:
        return f"BhxhGateway({self.base_url!r}, username={self.username!r})"

    # --- the port -------------------------------------------------------------------------------------

    def lookup(self, query: InsuranceQuery) -> BackendCheck:
        """The card's status now: a BackendCheck of kind insurance whatever the gateway answered (its
        result code in ``details``); BackendUnavailableError when the gateway could not be asked."""
        body = self._body(query)
        deadline = self._monotonic() + self.connect_timeout_s + self.read_timeout_s
        with self._lock:
            token = self._token if self._token is not None and self._monotonic() < self._token.expires_at else None
        token = token or self._login(deadline)
        if token is None:
            return self._check({"maKetQua": CODE_UNAUTHORISED})  # the account itself was refused
        answer = self._card_check(token, body, deadline)
        if answer.get("maKetQua") == CODE_UNAUTHORISED:
            # The gateway ended the session early (expired, or restarted even since this login): one new
            # login, then a second 401 is the account's.
            self.forget_token()
            token = self._login(deadline)
            if token is None:
                return self._check({"maKetQua": CODE_UNAUTHORISED})
            answer = self._card_check(token, body, deadline)
        return self._check(answer)

    def check_login(self) -> None:
        """Log in now (for the technician's doctor): BackendUnavailableError when the gateway cannot be
        reached, BackendResponseError on a malformed answer, InvalidInputError when the account is refused."""
        self.forget_token()
        token = self._login(self._monotonic() + self.connect_timeout_s + self.read_timeout_s)
        if token is None:
            raise InvalidInputError("the BHXH gateway refused the facility account (maKetQua 401)",
                                    field="backends.bhxh_username")

    def forget_token(self) -> None:
        with self._lock:
            self._token = None

    # --- the request ------------------------------------------------------------------------------------

    def _body(self, query: InsuranceQuery) -> dict[str, str]:
        card = query.card_number.strip().upper()
        # (HIS front ends pass the 2021 card's social insurance number as maThe: "the scanned card gives the
        # BHXH number ... used for the card check".)
        if not (ID_NUMBER_12.fullmatch(card) or bhyt_number.is_bhyt_number(card)):
            raise InvalidInputError("the gateway looks cards up by the 12-digit ID, the 15-character BHYT card "
                                    "number or the 10-digit social insurance number", field="id_number")
        name = " ".join(query.full_name.split())
        if not name:
            raise IdentityDetailsMissingError("the BHXH gateway needs the full name as on the card",
                                              field="full_name")
        if query.date_of_birth is not None:
            born = query.date_of_birth.strftime("%d/%m/%Y")
        elif query.birth_year is not None:
            born = f"{query.birth_year:04d}"
        else:
            raise IdentityDetailsMissingError("the BHXH gateway needs the date of birth (or the birth year)",
                                              field="date_of_birth")
        operator = query.operator
        if operator is None or not operator.cccd:
            raise OperatorRequiredError("a BHXH lookup names the staff member doing it: sign in at the desk")
        return {"maThe": card, "hoTen": name, "ngaySinh": born, "hoTenCb": operator.name, "cccdCb": operator.cccd}

    def _card_check(self, token: _Token, body: Mapping[str, str], deadline: float) -> dict[str, Any]:
        params = {"token": token.access_token, "id_token": token.id_token, "username": self.username,
                  "password": self._password_md5}
        status, data = self._exchange(PATH_CARD_CHECK, deadline, params=params, json=dict(body))
        if status == 401:
            data.setdefault("maKetQua", CODE_UNAUTHORISED)
        if "maKetQua" not in data:
            raise BackendResponseError(f"{WHAT}: HTTP {status} without a result code")
        return data

    def _login(self, deadline: float) -> _Token | None:
        """A new token, or None when the gateway refused the account."""
        form = {"username": self.username, "password": self._password_md5}
        _status, data = self._exchange(PATH_LOGIN, deadline, data=form)
        code = data.get("maKetQua")
        if code == CODE_UNAUTHORISED:
            log.warning("BHXH gateway: the facility account was refused (maKetQua 401)")
            return None
        key = data.get("APIKey")
        if code != CODE_LOGIN_OK or not isinstance(key, dict):
            raise BackendResponseError(f"BHXH login: unexpected answer (maKetQua {_shape(code)})")
        access, identity = key.get("access_token"), key.get("id_token")
        if not isinstance(access, str) or not access or not isinstance(identity, str):
            raise BackendResponseError("BHXH login: the answer has no access_token / id_token")
        life = _token_life(key.get("expires_in"), self._now())
        token = _Token(access, identity, str(key.get("username") or self.username),
                       self._monotonic() + max(0.0, life - TOKEN_MARGIN_S))
        with self._lock:
            self._token = token
        log.info("BHXH gateway: logged in, token valid for about %.0f min", life / 60)
        return token

    def _exchange(self, path: str, deadline: float, **options: Any) -> tuple[int, dict[str, Any]]:
        """One call, retried once on a connection error (never on a timeout: the gateway may still be
        working on the first one) or after a short ``Retry-After``; (HTTP status, JSON object)."""
        what = WHAT if path == PATH_CARD_CHECK else "BHXH login"
        for attempt in (1, 2):
            wait = self._not_before - self._monotonic()
            if wait > 0:
                raise BackendUnavailableError(f"{what}: the gateway asked to wait {wait:.0f} s")
            if not self.breaker.allow():
                raise BackendUnavailableError(f"{what}: circuit open, retry in {self.breaker.retry_in():.1f} s")
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise BackendUnavailableError(f"{what}: no time left for the call")
            try:
                response = self.session.request(
                    "POST", self.base_url + path, headers={"Accept": "application/json"}, stream=True,
                    timeout=(min(self.connect_timeout_s, remaining), remaining), **options)
                status = int(response.status_code)
                retry_after = _retry_after(getattr(response, "headers", None), self._now())
                content = read_body(response, what=what, deadline_at=deadline, monotonic=self._monotonic)
            except requests.exceptions.ConnectionError:
                # ConnectTimeout is a ConnectionError too: the request never reached the gateway.
                self.breaker.record_failure()
                if attempt == 1:
                    log.info("%s: cannot connect, trying once more", what)
                    continue
                raise BackendUnavailableError(f"{what}: cannot connect or connection lost") from None
            except requests.exceptions.Timeout:
                self.breaker.record_failure()
                raise BackendUnavailableError(f"{what}: no answer in time") from None
            except requests.exceptions.RequestException as exc:
                self.breaker.record_failure()
                # Not chained: a request exception quotes the URL, and the URL carries the credentials.
                raise BackendUnavailableError(f"{what}: request failed ({type(exc).__name__})") from None
            if status in (429, 503) and retry_after is not None:
                self._not_before = self._monotonic() + min(retry_after, MAX_RETRY_AFTER_S)
                self.breaker.record_failure()
                if attempt == 1 and retry_after <= deadline - self._monotonic() - 0.5:
                    self._sleep(retry_after)
                    self._not_before = 0.0
                    continue
                raise BackendUnavailableError(f"{what}: the gateway is busy (HTTP {status}), asked to wait "
                                              f"{retry_after:.0f} s")
            if status >= 500 or status in (408, 429):
                self.breaker.record_failure()
                try:
                    data = json_object(content, what=what)
                except BackendResponseError:
                    raise BackendUnavailableError(f"{what}: HTTP {status}") from None
                if _shape(data.get("maKetQua")) in TRANSIENT_CODES:
                    return status, data  # the gateway's own "server error" code: answered as such
                raise BackendUnavailableError(f"{what}: HTTP {status}")
            self.breaker.record_success()
            return status, json_object(content, what=what)
        raise BackendUnavailableError(f"{what}: cannot connect")

    # --- the answer --------------------------------------------------------------------------------------

    def _check(self, answer: Mapping[str, Any]) -> BackendCheck:
        code = answer.get("maKetQua")
        if not isinstance(code, str) or not RESULT_CODE.fullmatch(code):
            raise BackendResponseError(f"{WHAT}: 'maKetQua' is not a 3-digit result code")
        meaning = RESULT_CODES.get(code, UNKNOWN_CODE)
        if code in TRANSIENT_CODES:
            self.breaker.record_failure()
        details: dict[str, Any] = {"gateway_code": code, "message": _text(answer, "ghiChu")[:500]}
        card_number = _text(answer, "maThe").upper()
        if card_number:
            details["card_number"] = card_number
            level = benefit_level(card_number)
            if level is not None:
                details["benefit_level"] = level
                details["benefit_rate"] = BENEFIT_RATES[level]
        for name, field in (("valid_from", "gtTheTu"), ("valid_to", "gtTheDen"), ("five_year_date", "ngayDu5Nam")):
            day = _day(answer, field)
            if day is not None:
                details[name] = day.isoformat()
        facility = _text(answer, "maDKBD").upper()
        if facility:
            details["facility_code"] = facility
            name = self.facilities.name_of(facility)
            if name:
                details["facility_name"] = name
        area = _text(answer, "maKV")
        if area:
            details["area_code"] = area
        new_card = self._new_card(answer)
        status = meaning.status
        if new_card is not None:
            details["new_card"] = new_card
            if status is CheckStatus.EXPIRED and _covers_today(new_card, self._now().astimezone().date()):
                status = CheckStatus.VALID  # the new card covers today: the patient is insured
        return BackendCheck(CheckKind.INSURANCE, status, details, checked_at=self._now(),
                            reason_key=reason_key(code), next_key=meaning.next_key)

    def _new_card(self, answer: Mapping[str, Any]) -> dict[str, Any] | None:
        number = _text(answer, "maTheMoi").upper()
        if not number:
            return None
        card: dict[str, Any] = {"number": number}
        for name, field in (("valid_from", "gtTheTuMoi"), ("valid_to", "gtTheDenMoi")):
            day = _day(answer, field)
            if day is not None:
                card[name] = day.isoformat()
        code = _text(answer, "maDKBDMoi").upper()
        if code:
            card["facility"] = {"code": code, "name": _text(answer, "tenDKBDMoi") or self.facilities.name_of(code)}
        return card


# The share of a covered visit the fund pays, by benefit level (Luật BHYT 2008 amended 2014, art. 22; the
# level is the card number's third character, QĐ 1351/QĐ-BHXH): 1 and 2 in full (2 with the ceilings on
# high-technology services), 3 at 95 %, 4 at 80 %, 5 in full.
BENEFIT_RATES = {1: 100, 2: 100, 3: 95, 4: 80, 5: 100}


def benefit_level(card_number: str) -> int | None:
    """The benefit level (mức hưởng) is the card number's third character, on a 15-character card."""
    return int(card_number[2]) if bhyt_number.CARD_NUMBER.fullmatch(card_number) else None


def _covers_today(card: Mapping[str, Any], today: date) -> bool:
    try:
        starts = date.fromisoformat(card["valid_from"]) if "valid_from" in card else date.min
        ends = date.fromisoformat(card["valid_to"]) if "valid_to" in card else date.max
    except ValueError:
        return False
    return starts <= today <= ends


def _text(answer: Mapping[str, Any], field: str) -> str:
    """A text field of the answer; absent and null are empty, anything but a string is malformed."""
    value = answer.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BackendResponseError(f"{WHAT}: {field!r} is not a string")
    return value.strip()


def _day(answer: Mapping[str, Any], field: str) -> date | None:
    text = _text(answer, field)
    if not text:
        return None
    match = GATEWAY_DAY.fullmatch(text)
    if match is None:
        raise BackendResponseError(f"{WHAT}: {field!r} is not a dd/MM/yyyy date")
    try:
        return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        raise BackendResponseError(f"{WHAT}: {field!r} is not a real date") from None


def _token_life(expires_in: Any, now: datetime) -> float:
    """Seconds a token lives, at most a day: ``expires_in`` is the expiry time in UTC
    (``2017-11-13T03:51:20.1047187Z``); a number of seconds is taken too; anything else (an impossible
    date, a number beyond any clock) gets the usual hour, less a margin."""
    try:
        life = _stated_life(expires_in, now)
    except (ValueError, OverflowError):  # month 13, year 9999 plus an offset, 10^400 seconds
        return DEFAULT_TOKEN_LIFE_S
    return min(life, MAX_TOKEN_LIFE_S) if life == life else DEFAULT_TOKEN_LIFE_S  # NaN: not a life


def _stated_life(expires_in: Any, now: datetime) -> float:
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return max(0.0, float(expires_in))
    if isinstance(expires_in, str) and expires_in.strip():
        text = expires_in.strip()
        if text.replace(".", "", 1).isdigit():
            return max(0.0, float(text))
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", text)
        if match:
            stamp = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
            zone = match.group(4)
            if zone in (None, "Z"):
                stamp = stamp.replace(tzinfo=UTC)
            else:
                sign = 1 if zone[0] == "+" else -1
                hours, minutes = int(zone[1:3]), int(zone[-2:])
                stamp = stamp.replace(tzinfo=UTC) - sign * timedelta(hours=hours, minutes=minutes)
            return max(0.0, (stamp - now).total_seconds())
    return DEFAULT_TOKEN_LIFE_S


def _retry_after(headers: Any, now: datetime) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date), None without one."""
    value = headers.get("Retry-After") if headers is not None else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _shape(value: Any) -> str:
    return value if isinstance(value, str) and RESULT_CODE.fullmatch(value) else type(value).__name__

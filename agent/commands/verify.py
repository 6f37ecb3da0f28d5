"""``python -m agent verify --id 12DIGITS|--bhyt CARD [--name "..."] [--dob DD/MM/YYYY|YYYY] [--operator CCCD]
[--profile clinic|notary|exam] [--session ID] [--json]``:
the verification of a typed ID number (or a BHYT card's number) through the desk's one pipeline
(agent.service.pipeline), as if the operator had typed it at the desk: the entitlement (backend or
cache), the verdict and its reasons, the result recorded with its event queued, an audit entry, and,
when the backend answered just now, the event sent at once. The BHXH gateway needs the name and date of
birth (or birth year) too, and looks up in the name of the operator: the only one of the operators file,
or ``--operator CCCD`` among several."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from agent import messages
from agent.bhyt_number import is_bhyt_number
from agent.models import BackendCheck, CheckKind, CheckStatus
from agent.settings import PROFILES, Settings

ID_PATTERN = re.compile(r"^\d{12}$")
SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def id_number(text: str) -> str:
    if not ID_PATTERN.match(text):
        raise argparse.ArgumentTypeError("the ID number (số định danh) has exactly 12 digits")
    return text


def bhyt_card(text: str) -> str:
    number = text.replace(" ", "").upper()
    if not is_bhyt_number(number):
        raise argparse.ArgumentTypeError("a BHYT card number has 15 characters (2 letters, then 13 digits), "
                                         "or is the 10-digit social insurance number")
    return number


def session_id(text: str) -> str:
    if not SESSION_PATTERN.match(text):
        raise argparse.ArgumentTypeError("a session id is 1-64 letters, digits, '-', '_' or '.'")
    return text


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("verify", parents=[common], help="check an ID's entitlement and record it")
    number = parser.add_mutually_exclusive_group(required=True)
    number.add_argument("--id", dest="id_number", type=id_number, metavar="12DIGITS", help="the 12-digit ID number")
    number.add_argument("--bhyt", dest="id_number", type=bhyt_card, metavar="CARD",
                        help="a BHYT card's number instead (15 characters, or the 10-digit social insurance "
                             "number), for a patient with no CCCD")
    parser.add_argument("--name", dest="full_name", metavar="NAME", help="the full name, as on the card")
    parser.add_argument("--dob", dest="date_of_birth", metavar="DD/MM/YYYY", help="date of birth, or the year alone")
    parser.add_argument("--operator", type=id_number, metavar="CCCD",
                        help="the CCCD number of the operator looking up (when the operators file lists several)")
    parser.add_argument("--profile", choices=PROFILES, help="site kind (default: site.profile from the settings)")
    parser.add_argument("--session", type=session_id, help="exam session id (exam profile; default: today's)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import OperatorRequiredError, StoreError
    from agent.wiring.production import build_backends, build_service, build_syncer, open_audit, open_store

    backends = build_backends(settings)
    with open_store(settings) as store:
        service = build_service(settings, store=store, audit=open_audit(settings, store), backends=backends,
                                profile=args.profile, exam_session_id=args.session)
        if args.operator:
            service.sign_in.choose(args.operator)
        elif service.sign_in.current is None and service.sign_in.listed:
            raise OperatorRequiredError(f"the operators file lists {len(service.sign_in.operators)} operators: "
                                        "name the one looking up with --operator CCCD")
        typed = {"full_name": args.full_name, "date_of_birth": args.date_of_birth}
        result = service.verify_manual(args.id_number, {k: v for k, v in typed.items() if v}).result
        check = result.check
        state = "pending"
        if check is not None and check.status is not CheckStatus.UNAVAILABLE and not check.from_cache:
            try:  # the backend answered just now: hand the check-in over while it is reachable
                build_syncer(settings, store, backends).drain(max_batches=1)
            except StoreError:
                pass  # recorded and queued: the syncer will deliver it
            state = store.outbox.state(result.result_id) or "pending"
    delivery = "sent" if state == "sent" else "queued"
    if args.json:
        print(json.dumps({"result": result.to_json(), "recorded": True, "delivery": delivery}, ensure_ascii=False))
        return 0
    print(messages.both(f"verdict.{result.verdict}"))
    for reason in result.reasons:
        print("  - " + messages.both(reason).replace("\n", " / "))
    if check is not None:
        for line in _check_lines(check):
            print("  " + line)
    print("  " + messages.both("verify.delivered" if delivery == "sent" else "verify.queued").replace("\n", " / "))
    print(f"  result_id: {result.result_id}")
    return 0


def _check_lines(check: BackendCheck) -> list[str]:
    """The check as the operator reads it; every detail optional (the gateway leaves out what it lacks)."""
    lines = []
    details = check.details
    if check.kind is CheckKind.INSURANCE and "card_number" in details:
        parts = [details["card_number"]]
        if details.get("valid_from") or details.get("valid_to"):
            parts.append(f"{details.get('valid_from', '…')} → {details.get('valid_to', '…')}")
        if "benefit_level" in details:
            rate = f" ({details['benefit_rate']} %)" if "benefit_rate" in details else ""
            parts.append(f"mức hưởng / benefit level {details['benefit_level']}{rate}")
        if details.get("facility_code"):
            facility = " ".join(p for p in (details["facility_code"], details.get("facility_name", "")) if p)
            parts.append(f"KCB ban đầu / first-contact facility {facility}")
        lines.append("  ".join(parts))
        if details.get("five_year_date"):
            lines.append(f"đủ 5 năm liên tục từ / 5 continuous years from {details['five_year_date']}")
        new_card = details.get("new_card")
        if isinstance(new_card, dict):
            lines.append(f"thẻ mới / new card {new_card.get('number', '')}  "
                         f"{new_card.get('valid_from', '…')} → {new_card.get('valid_to', '…')}")
    if check.kind is CheckKind.INSURANCE and details.get("message"):
        lines.append(f"BHXH: {details['message']}")
    if check.kind is CheckKind.ROSTER and "candidate_no" in details:
        lines.append(f"{details['session_id']}  SBD / candidate {details['candidate_no']}  {details['full_name']}")
    if check.from_cache and check.checked_at:
        stamp = check.checked_at.astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append(messages.both("check.from_cache", time=stamp).replace("\n", " / "))
    return lines

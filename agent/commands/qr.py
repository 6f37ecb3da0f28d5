"""``python -m agent qr (--image FILE | --video FILE | --camera [N]) [--json]``: read one QR code (the
CCCD card's, a VNeID code, a BHYT card's, or anything else) from an image, a video file or a webcam and
print what it says; ``kind`` (``cccd``, ``vneid``, ``bhyt`` or ``unknown``) says which. Nothing decoded, a
camera that cannot be opened, or a malformed CCCD or BHYT code end with a non-zero exit (and, with
--json, a JSON error from agent.cli)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent import messages
from agent.settings import Settings

FIELD_KEYS = ("id_number", "old_id_number", "full_name", "date_of_birth", "sex", "address", "issue_date")
BHYT_KEYS = ("card_number", "full_name", "date_of_birth", "sex", "address", "facility_code", "valid_from", "valid_to")


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("qr", parents=[common],
                                   help="read a CCCD / VNeID / BHYT QR code from an image or camera")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", metavar="FILE", help="an image file (PNG, JPEG)")
    source.add_argument("--video", metavar="FILE", help="a video file, scanned until the first code")
    source.add_argument(
        "--camera",
        metavar="N",
        nargs="?",
        const="",
        help="a webcam index or stream URL (default: the [qr] camera setting)",
    )
    parser.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (default: [qr] timeout_s)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.qr.camera import open_camera, read_image
    from agent.qr.decoder import create_decoder
    from agent.qr.payload import parse_payload
    from agent.qr.scanner import ActivityGate, QrScanner

    decoder = create_decoder()
    if args.image:
        symbol = decoder.decode_one(read_image(args.image))
        payload = parse_payload(symbol.text)
        stage = symbol.stage
    else:
        if args.video:
            camera = open_camera(args.video)
            gate = None  # every frame of a file: it is read as fast as it decodes
        else:
            source = args.camera or settings.qr.camera
            camera = open_camera(source, width=settings.qr.width, height=settings.qr.height, fps=settings.qr.fps)
            gate = ActivityGate()
        timeout = args.timeout if args.timeout is not None else settings.qr.timeout_s
        try:
            event = QrScanner(camera, decoder, timeout_s=timeout, gate=gate).scan_once()
        finally:
            camera.close()
        if event.error is not None:
            raise event.error
        assert event.payload is not None  # an event has a payload or an error
        payload = event.payload
        stage = event.symbol.stage
    document: dict[str, Any] = {**payload.to_json(), "decoder_pass": stage}
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        _print_human(document, settings.site.language)
    return 0


def _print_human(document: dict[str, Any], language: str) -> None:
    kind = document["kind"]
    print(messages.text(f"qr.kind.{kind}", language))
    if kind == "cccd":
        for key in FIELD_KEYS:
            print(f"  {messages.text(f'qr.field.{key}', language)}: {document[key] or '-'}")
    elif kind == "bhyt":
        for key in BHYT_KEYS:
            value = document[key]
            if key == "date_of_birth" and value is None:
                value = document.get("birth_year")  # registered with a birth year only
            print(f"  {messages.text(f'qr.field.{key}', language)}: {value or '-'}")
    elif kind == "vneid":
        print(f"  {messages.text('qr.vneid_token_length', language)}: {len(document['token'])}")
    else:
        print(f"  {document['text']}")

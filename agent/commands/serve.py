"""``python -m agent serve [--port N] [--token T] [--no-camera] [--no-reader]``: the agent for a real
desk: the PC/SC reader (card monitor), the webcam's QR loop, the configured backends and store, the
local API and the desk page on 127.0.0.1. Prints the page's address with the access token once.
Ctrl-C, SIGTERM or (Windows) Ctrl-Break stops it cleanly, exit 0: what a service manager sends.
``--print-openapi`` prints the API description and exits."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from agent.settings import Settings, load_settings

log = logging.getLogger(__name__)


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a port is a number between 0 and 65535") from None
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError("a port is a number between 0 and 65535")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("serve", parents=[common], help="run the desk agent (reader, camera, API, page)")
    parser.add_argument("--port", type=port_number, help="API port on 127.0.0.1 (default: api.port)")
    parser.add_argument("--token", help="access token (default: api.token, else a new one)")
    parser.add_argument("--no-camera", action="store_true", help="do not scan QR codes from the camera")
    parser.add_argument("--no-reader", action="store_true", help="do not watch PC/SC readers")
    parser.add_argument("--print-openapi", action="store_true", help="print the OpenAPI description and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.api.server import LoopbackServer
    from agent.wiring.production import build_agent

    if args.port:
        settings = load_settings(getattr(args, "config", None), overrides={"api": {"port": args.port}})
    agent = build_agent(settings, token=args.token, use_pcsc=not args.no_reader, use_camera=not args.no_camera)
    try:
        if args.print_openapi:
            print(json.dumps(agent.api.openapi(), ensure_ascii=False, indent=2))
            return 0
        server = LoopbackServer(agent.api, host=settings.api.host,
                                port=settings.api.port if args.port != 0 else 0, on_stop=agent.service.hub.close)
        announce(server.url, agent.token, settings.site.profile)
        agent.start()
        server.run()
    finally:
        agent.close()
    return 0


def announce(url: str, token: str, profile: str, *, stream: Any = None) -> None:
    """The page's address (token in the fragment, never sent to a server) and the token, once."""
    out = stream or sys.stdout
    print(f"Trang bàn tiếp đón / Desk page ({profile}): {url}/#token={token}", file=out)
    print(f"API: {url}/api/  (Authorization: Bearer <token>; OpenAPI: {url}/api/openapi.json)", file=out)
    print(f"Mã truy cập / Access token: {token}", file=out)
    print("Ctrl-C để dừng / Ctrl-C to stop", file=out, flush=True)

"""``python -m agent sync [--once] [--status] [--json]``: deliver the outbox to the backends (once,
or every sync.interval_s until interrupted), or show what is pending, sent, refused and the last
error. A damaged store stops the loop with a clear error instead of retrying forever."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from agent import messages
from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("sync", parents=[common], help="send queued records to the backends")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass over the outbox, then exit")
    mode.add_argument("--status", action="store_true", help="show pending, sent, refused and the last error")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import SyncError
    from agent.wiring.production import build_backends, build_syncer, open_store

    stop = threading.Event()
    with (open_store(settings) if args.once or args.status else _open_when_free(settings, stop)) as store:
        if args.status:
            _print_status(store.outbox.status().to_json(), args.json)
            return 0
        syncer = build_syncer(settings, store, build_backends(settings))
        if args.once:
            store.purge(retention_days=settings.store.retention_days)
            report = syncer.drain()
            _print_report(report.to_json(), args.json)
            return 0 if report.complete else SyncError.exit_code
        syncer.run(interval_s=settings.sync.interval_s, stop=stop,
                   retention_days=settings.store.retention_days,
                   on_report=lambda r: _print_report(r.to_json(), args.json))
    return 0


def _open_when_free(settings: Settings, stop: threading.Event) -> Any:
    """The sync service waits out a store held by another process (StoreLockedError), backing off,
    instead of exiting and being restarted in a loop; any other store error ends it at once."""
    from agent.errors import StoreLockedError
    from agent.wiring.production import open_store

    delay = 1.0
    while True:
        try:
            return open_store(settings)
        except StoreLockedError as locked:
            print(messages.both(locked.message_key), file=sys.stderr, flush=True)
            stop.wait(delay)
            delay = min(delay * 2, 60.0)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, ensure_ascii=False), flush=True)
        return
    print(messages.both("sync.done", **report), flush=True)
    if report["error"]:
        print(f"  {report['error']}", flush=True)


def _print_status(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(status, ensure_ascii=False))
        return
    print(messages.both("sync.status", **status))
    if status["last_error"]:
        print(messages.both("sync.last_error", time=status["last_error_at"], error=status["last_error"]))
    if status["last_sent_at"]:
        print(f"last sent: {status['last_sent_at']}")

"""``python -m agent sync [--once] [--status] [--json]``: deliver the outbox to the backends (once,
or every sync.interval_s until interrupted), or show what is pending, sent, refused, parked and the last
error. A damaged store stops the loop with a clear error instead of retrying forever.

``--retry-parked`` offers the parked events again (an event the backend kept failing on while it took
the others). ``--export-outbox FILE`` writes the events still to deliver, sealed as stored, from a store
that may be damaged (it is only read); ``--import-outbox FILE`` queues them in the store now configured
(a new file beside the same key): how a damaged store is left without losing the outbox."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from agent import messages
from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("sync", parents=[common], help="send queued records to the backends")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass over the outbox, then exit")
    mode.add_argument("--status", action="store_true", help="show pending, sent, refused and the last error")
    mode.add_argument("--retry-parked", action="store_true", help="offer the parked records to the backend again")
    mode.add_argument("--export-outbox", type=Path, metavar="FILE",
                      help="write the records still to send to FILE (sealed), e.g. from a damaged store")
    mode.add_argument("--import-outbox", type=Path, metavar="FILE", help="queue the records exported to FILE")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.errors import SyncError
    from agent.wiring.production import build_backends, build_syncer, open_store

    stop = threading.Event()
    one_shot = args.once or args.status or args.retry_parked or args.export_outbox or args.import_outbox
    with (open_store(settings) if one_shot else _open_when_free(settings, stop)) as store:
        if args.status:
            _print_status(store.outbox.status().to_json(), args.json)
            return 0
        if args.retry_parked:
            print(messages.both("sync.requeued", count=store.outbox.requeue_parked()))
            return 0
        if args.export_outbox:
            return _export(store, args.export_outbox)
        if args.import_outbox:
            return _import(store, args.import_outbox)
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
    if status.get("parked"):
        print(messages.both("sync.parked", parked=status["parked"]))
        for event in status.get("parked_events", []):
            print(f"  {event['event_id']} -> {event['destination']}, {event['attempts']} attempts: {event['error']}")


EXPORT_FORMAT = "cccd-agent-outbox/1"


def _export(store: Any, path: Path) -> int:
    rows, unreadable = store.outbox.export()
    document = {"format": EXPORT_FORMAT, "events": rows, "unreadable": unreadable}
    # Owner-only from the first byte, as the store is: the payloads are sealed, the event ids are not.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
    print(messages.both("sync.exported", count=len(rows), path=path, unreadable=len(unreadable)))
    return 0


def _import(store: Any, path: Path) -> int:
    from agent.errors import DocumentError

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DocumentError("not an outbox export", file=str(path)) from exc
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT or not isinstance(
            document.get("events"), list):
        raise DocumentError("not an outbox export", file=str(path))
    added, skipped = store.outbox.import_rows(document["events"])
    print(messages.both("sync.imported", added=added, skipped=skipped))
    return 0

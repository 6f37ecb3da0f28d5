"""``cccd-agent doctor [--json]``: the desk's health, one line per part (agent.doctor), ok / warning /
fail with the fix in Vietnamese and English. Exit 0 when nothing failed (warnings included), 1 when a
part failed: a script or a remote-support tool can act on it."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from agent.settings import Settings

EXIT_FAILED = 1


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("doctor", parents=[common],
                                   help="check readers, camera, trust store, backends, store, logs: what to fix")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.doctor import FAIL, report_json, report_lines, run_checks, worst

    findings = run_checks(settings)
    if args.json:
        print(json.dumps(report_json(findings, now=datetime.now(UTC)), ensure_ascii=False, indent=2))
    else:
        for line in report_lines(findings):
            print(line)
    return EXIT_FAILED if worst(findings) == FAIL else 0

"""``python -m agent config``: show the effective settings and where they came from (secrets hidden)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from agent.settings import Settings

SECRET_KEYS = {"token"}


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("config", parents=[common], help="show the effective settings")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    shown: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            shown[field.name] = {
                k: ("***" if k in SECRET_KEYS and v else v) for k, v in dataclasses.asdict(value).items()
            }
    shown["sources"] = list(settings.sources)
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        for section, values in shown.items():
            if section == "sources":
                print("# sources: " + " -> ".join(values))
                continue
            print(f"[{section}]")
            for key, value in values.items():
                print(f"{key} = {value!r}")
    return 0

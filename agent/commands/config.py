"""``python -m agent config``: show the effective settings, the chain of settings files looked at (which
were used, which were not there) and the layer that set each value (secrets hidden)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from agent.settings import Settings


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("config", parents=[common], help="show the effective settings and their sources")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def shown_values(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every [section] and its values, secrets as ``***`` when set: a secret is a settings field declared
    ``repr=False`` (tokens, passwords), so a new secret is hidden here as soon as it is declared."""
    shown: dict[str, dict[str, Any]] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            secret = {f.name for f in dataclasses.fields(value) if not f.repr}
            shown[field.name] = {
                k: ("***" if k in secret and v else v) for k, v in dataclasses.asdict(value).items()
            }
    return shown


def run(args: argparse.Namespace, settings: Settings) -> int:
    values = shown_values(settings)
    if args.json:
        payload: dict[str, Any] = dict(values)
        payload["sources"] = list(settings.sources)
        payload["chain"] = [link.to_json() for link in settings.chain]
        payload["origins"] = {f"{section}.{key}": settings.origin(f"{section}.{key}")
                              for section, keys in values.items() for key in keys}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print("# settings chain, lowest first (a later layer wins):")
    for link in settings.chain:
        print(f"#   {link.layer:<18} {link.source}{'' if link.used else '  (not present)'}")
    for section, keys in values.items():
        print(f"[{section}]")
        for key, value in keys.items():
            print(f"{key} = {value!r}  # {settings.origin(f'{section}.{key}')}")
    return 0

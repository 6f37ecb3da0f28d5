"""Typed, frozen settings: config/default.toml, then the site profile file, then ``--config FILE``,
then environment variables ``CCCD_AGENT__SECTION__KEY``.

Every value is checked against the type declared here; a bad file, key or value is a ConfigError
that names the file (or variable), the key and the problem. Empty paths resolve to per-user
directories from platformdirs so the agent is portable between Windows and Linux desks.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models import SiteKind

APP_NAME = "cccd-agent"
ENV_PREFIX = "CCCD_AGENT__"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_FILE = CONFIG_DIR / "default.toml"
PROFILES = tuple(str(kind) for kind in SiteKind)
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclasses.dataclass(frozen=True)
class SiteSettings:
    profile: str = "clinic"
    site_id: str = "demo-site"
    operator: str = "operator"
    language: str = "vi"


@dataclasses.dataclass(frozen=True)
class ReaderSettings:
    name: str = ""
    exclusive: bool = True
    extended_length: str = "auto"
    access_order: tuple[str, ...] = ("pace-can", "pace-mrz", "bac")


@dataclasses.dataclass(frozen=True)
class QrSettings:
    camera: str = "0"
    width: int = 1280
    height: int = 720
    fps: int = 30
    timeout_s: float = 60.0


@dataclasses.dataclass(frozen=True)
class BackendSettings:
    insurance_url: str = ""
    licensing_url: str = ""
    token: str = dataclasses.field(default="", repr=False)
    connect_timeout_s: float = 1.0
    read_timeout_s: float = 2.0
    retries: int = 2
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    cache_ttl_s: float = 86400.0


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    path: str = ""
    key_file: str = ""
    retention_days: int = 30
    busy_timeout_s: float = 5.0


@dataclasses.dataclass(frozen=True)
class ReceiptSettings:
    key_file: str = ""


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    interval_s: float = 15.0
    batch_size: int = 50


@dataclasses.dataclass(frozen=True)
class TrustSettings:
    csca_dir: str = ""
    expiry_warning_days: int = 90


@dataclasses.dataclass(frozen=True)
class ApiSettings:
    host: str = "127.0.0.1"
    port: int = 8780
    token: str = dataclasses.field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ExamSettings:
    session_id: str = ""


@dataclasses.dataclass(frozen=True)
class AuditSettings:
    path: str = ""


@dataclasses.dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    apdu_trace: bool = False


@dataclasses.dataclass(frozen=True)
class Settings:
    site: SiteSettings = SiteSettings()
    reader: ReaderSettings = ReaderSettings()
    qr: QrSettings = QrSettings()
    backends: BackendSettings = BackendSettings()
    store: StoreSettings = StoreSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    sync: SyncSettings = SyncSettings()
    trust: TrustSettings = TrustSettings()
    api: ApiSettings = ApiSettings()
    exam: ExamSettings = ExamSettings()
    audit: AuditSettings = AuditSettings()
    log: LogSettings = LogSettings()
    sources: tuple[str, ...] = ()

    # Resolved per-user paths; the settings stay plain strings so that they can be printed.
    def store_path(self) -> Path:
        return Path(self.store.path) if self.store.path else _user_data_dir() / "agent.sqlite3"

    def store_key_path(self) -> Path:
        return Path(self.store.key_file) if self.store.key_file else _user_config_dir() / "store.key"

    def receipt_key_path(self) -> Path:
        """The receipt signing key: beside the store key unless set."""
        if self.receipts.key_file:
            return Path(self.receipts.key_file)
        return self.store_key_path().with_name("receipt.key")

    def trust_dir(self) -> Path:
        return Path(self.trust.csca_dir) if self.trust.csca_dir else _user_data_dir() / "trust"

    def audit_path(self) -> Path:
        return Path(self.audit.path) if self.audit.path else self.store_path().with_name("audit.jsonl")


def _user_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


_ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("site", "profile"): PROFILES,
    ("site", "language"): ("vi", "en"),
    ("reader", "extended_length"): ("auto", "always", "never"),
    ("log", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
}
_ACCESS_METHODS = ("pace-can", "pace-mrz", "bac")


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Load the layered settings; ``overrides`` (section -> key -> value) apply last (CLI flags)."""
    env = os.environ if environ is None else environ
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    sources: list[str] = []

    def apply(layer: Mapping[str, Any], source: str) -> None:
        for section, values in layer.items():
            if not isinstance(values, Mapping):
                raise ConfigError("expected a [section] table", source=source, key=section)
            for key, value in values.items():
                merged.setdefault(section, {})[key] = value
                origin[(section, key)] = source
        sources.append(source)

    apply(_read_toml(DEFAULT_FILE), str(DEFAULT_FILE))
    user_layer = _read_toml(Path(config_file)) if config_file else {}
    env_layer = _env_layer(env)
    env_profile = env_layer.get("site", {}).get("profile")
    profile = (
        (env_profile.text if isinstance(env_profile, _EnvValue) else None)
        or user_layer.get("site", {}).get("profile")
        or merged.get("site", {}).get("profile")
    )
    profile_file = CONFIG_DIR / f"{profile}.toml"
    if isinstance(profile, str) and profile in PROFILES and profile_file.is_file():
        apply(_read_toml(profile_file), str(profile_file))
    if config_file:
        apply(user_layer, str(config_file))
    if env_layer:
        apply(env_layer, "environment")
    if overrides:
        apply(overrides, "command line")
    settings = _build(merged, origin)
    return dataclasses.replace(settings, sources=tuple(sources))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from exc


def _env_layer(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    layer: dict[str, dict[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError("expected CCCD_AGENT__SECTION__KEY", source=name)
        layer.setdefault(parts[0], {})[parts[1]] = _EnvValue(raw, name)
    return layer


@dataclasses.dataclass(frozen=True)
class _EnvValue:
    """A raw environment string, converted once its target type is known."""

    text: str
    variable: str


def _build(merged: dict[str, dict[str, Any]], origin: dict[tuple[str, str], str]) -> Settings:
    hints = typing.get_type_hints(Settings)
    sections: dict[str, Any] = {}
    for section, values in merged.items():
        if section not in hints or section == "sources":
            source = origin.get((section, next(iter(values), "")), "?")
            raise ConfigError("unknown section", source=source, key=f"[{section}]")
        section_type = hints[section]
        field_types = typing.get_type_hints(section_type)
        converted: dict[str, Any] = {}
        for key, value in values.items():
            source = origin[(section, key)]
            dotted = f"{section}.{key}"
            if key not in field_types:
                raise ConfigError("unknown key", source=source, key=dotted)
            if isinstance(value, _EnvValue):
                source = value.variable
                value = _parse_env(value.text, field_types[key], source, dotted)
            converted[key] = _convert(value, field_types[key], source, dotted)
            allowed = _ALLOWED.get((section, key))
            if allowed and converted[key] not in allowed:
                raise ConfigError(
                    f"must be one of {', '.join(allowed)}, not {converted[key]!r}", source=source, key=dotted
                )
        sections[section] = section_type(**converted)
    settings = Settings(**sections)
    _validate(settings, origin)
    return settings


def _parse_env(text: str, target: Any, source: str, key: str) -> Any:
    if target is str:
        return text
    if typing.get_origin(target) is tuple:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ConfigError(f"cannot read {text!r} as {_type_name(target)}", source=source, key=key) from None


def _convert(value: Any, target: Any, source: str, key: str) -> Any:
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typing.get_origin(target) is tuple:
        (item_type, _ellipsis) = typing.get_args(target)
        if not isinstance(value, list | tuple) or not all(isinstance(v, item_type) for v in value):
            raise ConfigError(f"expected a list of {_type_name(item_type)}", source=source, key=key)
        return tuple(value)
    if target is int and isinstance(value, bool):
        raise ConfigError("expected an integer, not true/false", source=source, key=key)
    if not isinstance(value, target):
        raise ConfigError(
            f"expected {_type_name(target)}, got {type(value).__name__} {value!r}", source=source, key=key
        )
    return value


def _type_name(target: Any) -> str:
    if isinstance(target, type):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}.get(
            target.__name__, target.__name__
        )
    if isinstance(target, types.GenericAlias):
        return str(target)
    return repr(target)


def _validate(settings: Settings, origin: dict[tuple[str, str], str]) -> None:
    def fail(section: str, key: str, problem: str) -> None:
        raise ConfigError(problem, source=origin.get((section, key), "defaults"), key=f"{section}.{key}")

    if settings.api.host not in LOOPBACK_HOSTS:
        fail("api", "host", "the local API listens on loopback only (127.0.0.1, ::1 or localhost)")
    if not 0 < settings.api.port < 65536:
        fail("api", "port", "must be between 1 and 65535")
    bad = [m for m in settings.reader.access_order if m not in _ACCESS_METHODS]
    if bad or not settings.reader.access_order:
        fail("reader", "access_order", f"each entry must be one of {', '.join(_ACCESS_METHODS)}")
    for key in ("connect_timeout_s", "read_timeout_s", "breaker_reset_s", "cache_ttl_s"):
        if getattr(settings.backends, key) <= 0:
            fail("backends", key, "must be greater than zero")
    for key in ("retries", "breaker_failures"):
        if getattr(settings.backends, key) < 0:
            fail("backends", key, "must not be negative")
    if settings.store.retention_days < 1:
        fail("store", "retention_days", "must be at least 1 day")
    if settings.store.busy_timeout_s < 0:
        fail("store", "busy_timeout_s", "must not be negative")
    if settings.sync.batch_size < 1:
        fail("sync", "batch_size", "must be at least 1")
    for key in ("insurance_url", "licensing_url"):
        url = getattr(settings.backends, key)
        if url and not url.startswith(("http://", "https://")):
            fail("backends", key, "must be an http:// or https:// URL")

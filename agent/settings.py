"""Typed, frozen settings, layered from lowest to highest:

1. the defaults inside the package (``agent/config/default.toml``, read with :mod:`importlib.resources`
   so that a wheel or a frozen build carries them), then the site profile's file beside it
   (``agent/config/<profile>.toml``);
2. the user's file (platformdirs' user config directory, e.g. ``~/.config/cccd-agent/config.toml``);
3. the machine's site file (``%PROGRAMDATA%\\cccd-agent\\config.toml`` on Windows,
   ``/etc/xdg/cccd-agent/config.toml`` (the first of ``XDG_CONFIG_DIRS``) on Linux);
4. the file named by ``CCCD_AGENT_CONFIG``, then ``--config FILE``;
5. environment variables ``CCCD_AGENT__SECTION__KEY``, then what a command line sets.

The machine's file outranks the user's so that an operator's account cannot move the store or the
backends a technician set up for the desk. The user's and the machine's files are optional; a file named
by ``--config`` or ``CCCD_AGENT_CONFIG`` must exist. The settings remember the whole chain (which files
were looked for, which were used) and which layer set each value, for ``cccd-agent config``.

Every value is checked against the type declared here; a bad file, key or value is a ConfigError
that names the file (or variable), the key and the problem. Empty paths resolve to per-user
directories from platformdirs so the agent is portable between Windows and Linux desks.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.models import SiteKind

APP_NAME = "cccd-agent"
ENV_PREFIX = "CCCD_AGENT__"
CONFIG_ENV = "CCCD_AGENT_CONFIG"  # names a settings file, like --config (which wins over it)
CONFIG_FILE_NAME = "config.toml"  # the file's name in the user's and the machine's config directories
DEFAULT_FILE_NAME = "default.toml"
PROFILES = tuple(str(kind) for kind in SiteKind)
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# The rates serial QR scanners are set to (9600 is the factory default of most; 14400 and 115200 exist).
SERIAL_BAUDS = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200)


@dataclasses.dataclass(frozen=True)
class SiteSettings:
    profile: str = "clinic"
    site_id: str = "demo-site"
    operator: str = "operator"
    language: str = "vi"
    operators_file: str = ""  # TOML, one [[operator]] each: name, cccd, optional pin_hash (agent.operators)


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
    serial_port: str = ""  # a serial (COM) QR scanner: COM3 on Windows, /dev/ttyACM0 on Linux; empty = none
    serial_baud: int = 9600
    serial_idle_ms: int = 100  # a serial scan without CR/LF ends after this much silence
    wedge_idle_ms: int = 150  # a keyboard-wedge scan ends after this much silence (the desk page)


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
    insurance_protocol: str = "mock-v1"  # mock-v1 (a site-side proxy) | bhxh-egw-2024 (the BHXH gateway)
    bhxh_url: str = "https://egw.baohiemxahoi.gov.vn"
    bhxh_username: str = ""  # the facility account, <5-digit facility code>_BV
    bhxh_password: str = dataclasses.field(default="", repr=False)
    bhxh_connect_timeout_s: float = 3.0
    bhxh_read_timeout_s: float = 10.0
    facility_catalogue: str = ""  # a CSV code,name of first-contact facilities, over the bundled one


@dataclasses.dataclass(frozen=True)
class HisSettings:
    webhook_url: str = ""  # where check-ins go at a clinic on the BHXH gateway; empty = kept at the desk
    webhook_token: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class StoreSettings:
    path: str = ""
    key_file: str = ""
    key_source: str = "auto"  # auto | file | keyring (the receipt key follows it)
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
    file: str = ""  # the rotating log file; empty = <platform log dir>/agent.log
    max_bytes: int = 5_000_000
    backups: int = 5


@dataclasses.dataclass(frozen=True)
class SettingsLayer:
    """One link of the settings chain: what it is, where it was looked for, whether it was used."""

    layer: str  # defaults | profile | user | site | CCCD_AGENT_CONFIG | --config | environment | command line
    source: str
    used: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "source": self.source, "used": self.used}


@dataclasses.dataclass(frozen=True)
class Settings:
    site: SiteSettings = SiteSettings()
    reader: ReaderSettings = ReaderSettings()
    qr: QrSettings = QrSettings()
    backends: BackendSettings = BackendSettings()
    his: HisSettings = HisSettings()
    store: StoreSettings = StoreSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    sync: SyncSettings = SyncSettings()
    trust: TrustSettings = TrustSettings()
    api: ApiSettings = ApiSettings()
    exam: ExamSettings = ExamSettings()
    audit: AuditSettings = AuditSettings()
    log: LogSettings = LogSettings()
    # Where the values came from (filled in by load_settings): the layers used, the whole chain
    # looked at, and for each "section.key" the file, variable or "command line" that set it.
    sources: tuple[str, ...] = ()
    chain: tuple[SettingsLayer, ...] = ()
    origins: tuple[tuple[str, str], ...] = ()

    def origin(self, dotted_key: str) -> str:
        """Which layer set ``section.key`` ("built-in" when no file did: the dataclass default)."""
        return dict(self.origins).get(dotted_key, "built-in")

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

    def log_path(self) -> Path:
        return Path(self.log.file) if self.log.file else _user_log_dir() / "agent.log"


def _user_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _user_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    """The user's settings file (optional): ``<user config dir>/config.toml``."""
    return _user_config_dir() / CONFIG_FILE_NAME


def site_config_file() -> Path:
    """The machine's settings file (optional): ``%PROGRAMDATA%\\cccd-agent\\config.toml`` on Windows,
    the first of ``XDG_CONFIG_DIRS`` (``/etc/xdg``) on Linux, ``/Library/Application Support`` on macOS."""
    import platformdirs

    return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False, multipath=False)) / CONFIG_FILE_NAME


def builtin_file(name: str) -> Traversable:
    """A settings file shipped inside the package (``agent/config/NAME``), wherever it is installed."""
    return importlib.resources.files("agent").joinpath("config", name)


_ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("site", "profile"): PROFILES,
    ("site", "language"): ("vi", "en"),
    ("reader", "extended_length"): ("auto", "always", "never"),
    ("log", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
    ("store", "key_source"): ("auto", "file", "keyring"),
    ("backends", "insurance_protocol"): ("mock-v1", "bhxh-egw-2024"),
}
_ACCESS_METHODS = ("pace-can", "pace-mrz", "bac")
_META_FIELDS = frozenset({"sources", "chain", "origins"})  # fields of Settings that are not [sections]


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    user_file: str | os.PathLike[str] | None = None,
    site_file: str | os.PathLike[str] | None = None,
) -> Settings:
    """Load the layered settings (see the module docstring); ``overrides`` (section -> key -> value)
    apply last (CLI flags). ``user_file`` / ``site_file`` replace the platform's locations (tests)."""
    env = os.environ if environ is None else environ
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    sources: list[str] = []
    chain: list[SettingsLayer] = []

    def apply(layer: Mapping[str, Any], name: str, source: str) -> None:
        for section, values in layer.items():
            if not isinstance(values, Mapping):
                raise ConfigError("expected a [section] table", source=source, key=section)
            for key, value in values.items():
                merged.setdefault(section, {})[key] = value
                origin[(section, key)] = source
        sources.append(source)
        chain.append(SettingsLayer(name, source))

    default = builtin_file(DEFAULT_FILE_NAME)
    defaults_layer = _read_builtin(default)
    # The files, lowest first; each optional one is read only when it is there.
    files: list[tuple[str, str, dict[str, Any] | None]] = []
    for name, path in (("user", Path(user_file) if user_file else user_config_file()),
                       ("site", Path(site_file) if site_file else site_config_file())):
        files.append((name, str(path), _read_toml(path) if path.is_file() else None))
    named = env.get(CONFIG_ENV, "").strip()
    if named:
        files.append((CONFIG_ENV, named, _read_toml(Path(named), variable=CONFIG_ENV)))
    if config_file:
        files.append(("--config", str(config_file), _read_toml(Path(config_file))))
    env_layer = _env_layer(env)

    # The profile's file sits just above the defaults, but the profile is named by the highest layer.
    profile: Any = defaults_layer.get("site", {}).get("profile")
    for _name, _source, layer in files:
        if layer is not None and isinstance(layer.get("site"), Mapping) and "profile" in layer["site"]:
            profile = layer["site"]["profile"]
    env_profile = env_layer.get("site", {}).get("profile")
    if isinstance(env_profile, _EnvValue):
        profile = env_profile.text
    if overrides and "profile" in overrides.get("site", {}):
        profile = overrides["site"]["profile"]

    apply(defaults_layer, "defaults", str(default))
    if isinstance(profile, str) and profile in PROFILES:
        profile_file = builtin_file(f"{profile}.toml")
        if profile_file.is_file():
            apply(_read_builtin(profile_file), "profile", str(profile_file))
    for name, source, layer in files:
        if layer is None:
            chain.append(SettingsLayer(name, source, used=False))
        else:
            apply(layer, name, source)
    if env_layer:
        apply(env_layer, "environment", "environment")
    if overrides:
        apply(overrides, "command line", "command line")
    settings = _build(merged, origin)
    origins = tuple(
        (f"{section}.{key}", value.variable if isinstance(value, _EnvValue) else origin[(section, key)])
        for section, values in merged.items()
        for key, value in values.items()
    )
    return dataclasses.replace(settings, sources=tuple(sources), chain=tuple(chain), origins=origins)


def _read_builtin(resource: Traversable) -> dict[str, Any]:
    """A settings file of the package. Missing means a broken install (files left out of a wheel or a
    frozen build), which is said as such rather than as a problem of the site's settings."""
    try:
        text = resource.read_bytes().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError("missing from the installed package: reinstall the agent", source=str(resource)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the built-in settings: {exc}", source=str(resource)) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(resource)) from exc


def _read_toml(path: Path, *, variable: str | None = None) -> dict[str, Any]:
    source = f"{path} (from {variable})" if variable else str(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a settings file", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from exc
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from exc


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
        if section not in hints or section in _META_FIELDS:
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
    if settings.log.max_bytes < 10_000:
        fail("log", "max_bytes", "must be at least 10000 (a log file of a few lines would rotate at once)")
    if not 1 <= settings.log.backups <= 100:
        fail("log", "backups", "must be between 1 and 100")
    for section, key in (("backends", "insurance_url"), ("backends", "licensing_url"), ("backends", "bhxh_url"),
                         ("his", "webhook_url")):
        url = getattr(getattr(settings, section), key)
        if url and not url.startswith(("http://", "https://")):
            fail(section, key, "must be an http:// or https:// URL")
    if settings.qr.serial_baud not in SERIAL_BAUDS:
        fail("qr", "serial_baud", f"must be one of {', '.join(str(b) for b in SERIAL_BAUDS)}")
    for key in ("serial_idle_ms", "wedge_idle_ms"):
        if not 20 <= getattr(settings.qr, key) <= 2000:
            fail("qr", key, "must be between 20 and 2000 milliseconds")
    for key in ("bhxh_connect_timeout_s", "bhxh_read_timeout_s"):
        if getattr(settings.backends, key) <= 0:
            fail("backends", key, "must be greater than zero")

"""Adapter between the trust directory on disk and the pure :class:`agent.icao.trust.TrustStore`:
reads DER / PEM CSCA certificates, ICAO master lists (.ml) and CRLs from a directory, reporting each
file that cannot be used instead of stopping, and imports a new file into the directory after
validating it (the pure core does no file I/O: docs/architecture.md "Layers", rule 1).

Loading is in two steps so that the order of the files does not matter: every file is read first
(certificates and CRLs are added, master lists read and their own signatures checked), then each
master list is judged (:func:`agent.icao.trust.check_master_list`) with the directory's own
certificate files as the roots its signer must chain to and every other list's certificates as
further issuers (a link certificate whose older key only another country's list holds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from agent.errors import ConfigError, DocumentError, TrustFileError
from agent.icao import pki
from agent.icao.trust import (
    MasterListFile,
    TrustFile,
    TrustStore,
    check_master_list,
    parse_trust_file,
    read_trust_file,
)

TRUST_SUFFIXES = (".der", ".cer", ".crt", ".pem", ".ml", ".crl", ".cms", ".p7b", ".p7c")
MAX_FILE_BYTES = 64 * 1024 * 1024  # the largest public master lists are a few MB


@dataclasses.dataclass(frozen=True)
class FileProblem:
    path: str
    problem: str


@dataclasses.dataclass
class TrustLoadReport:
    """What loading a trust directory did, file by file."""

    directory: str
    loaded: list[str] = dataclasses.field(default_factory=list)
    problems: list[FileProblem] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    exists: bool = True


def trust_files_in(directory: Path) -> list[Path]:
    """Trust files of ``directory`` (and its sub-directories), in a stable order."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in TRUST_SUFFIXES
    )


def read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"file of {size} bytes is too large for a trust file", source=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from exc


def load_trust_directory(directory: Path) -> tuple[TrustStore, TrustLoadReport]:
    """Load every trust file of ``directory`` (see the module notes). A missing directory is an empty
    store."""
    store = TrustStore()
    report = TrustLoadReport(str(directory), exists=directory.is_dir())
    if not report.exists:
        return store, report
    report.skipped = sorted(
        str(path.relative_to(directory))
        for path in directory.rglob("*")
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() not in TRUST_SUFFIXES
    )
    lists: list[tuple[str, MasterListFile]] = []
    for path in trust_files_in(directory):
        name = str(path.relative_to(directory))
        try:
            read = read_trust_file(read_file(path), name=name)
        except (DocumentError, ConfigError) as error:
            report.problems.append(FileProblem(name, _problem(error.message, name, str(path))))
            continue
        if isinstance(read, MasterListFile):
            lists.append((name, read))
        else:
            _add(store, read, name, report)
    roots = store.roots
    pool = [certificate for _, read in lists for _, certificate in read.certificates]
    for name, read in lists:
        try:
            judged = check_master_list(read, roots=roots, pool=pool)
        except DocumentError as error:
            report.problems.append(FileProblem(name, _problem(error.message, name)))
            continue
        _add(store, TrustFile("master_list", master_list=judged), name, report)
    return store, report


def _problem(message: str, *prefixes: str) -> str:
    """The message without the file name it starts with (the report already names the file)."""
    for prefix in prefixes:
        message = message.removeprefix(f"{prefix}: ")
    return message


def _add(store: TrustStore, parsed: TrustFile, name: str, report: TrustLoadReport) -> None:
    if parsed.master_list is not None and not parsed.master_list.usable:
        store.add_file(parsed, source=name)  # recorded (with zero certificates) so that `trust list` shows it
        master_list = parsed.master_list
        reason = master_list.signature.reason if not master_list.signature.is_ok else master_list.signer_chain.reason
        report.problems.append(FileProblem(name, f"master list not trusted: {reason}"))
        return
    try:
        store.add_file(parsed, source=name)
    except DocumentError as error:
        report.problems.append(FileProblem(name, _problem(error.message, name)))
        return
    report.loaded.append(name)


@dataclasses.dataclass(frozen=True)
class ImportResult:
    kind: str  # "certificates" | "crl" | "master_list"
    destination: str
    already_present: bool
    certificates: tuple[pki.Certificate, ...] = ()
    notes: tuple[str, ...] = ()


def import_trust_file(source: Path, directory: Path) -> ImportResult:
    """Validate ``source`` and copy it into ``directory``.

    Refused (TrustFileError): a file that is not a certificate, CRL or master list; a certificate that
    is not a CA; a master list whose signature fails; a CRL whose signature fails against a loaded CSCA.
    """
    data = read_file(source)
    store, _report = load_trust_directory(directory)
    pool = [entry.certificate for entry in store.certificates]
    try:
        parsed = parse_trust_file(data, name=source.name, anchors=store.roots, pool=pool)
        notes = _validate(parsed, store, source.name)
    except DocumentError as error:
        problem = error.message.removeprefix(f"{source.name}: ")
        raise TrustFileError(problem, file=source.name) from error
    certificates = parsed.master_list.certificates if parsed.master_list else parsed.certificates
    digest = hashlib.sha256(data).hexdigest()
    for existing in trust_files_in(directory):
        if hashlib.sha256(read_file(existing)).hexdigest() == digest:
            return ImportResult(parsed.kind, str(existing), True, certificates, notes)
    destination = _free_name(directory, source.name, parsed.kind)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(f".{destination.name}.part")
        temporary.write_bytes(data)
        os.replace(temporary, destination)
    except OSError as exc:
        raise ConfigError(f"cannot write to the trust directory: {exc.strerror}", source=str(directory)) from exc
    return ImportResult(parsed.kind, str(destination), False, certificates, notes)


def _validate(parsed: TrustFile, store: TrustStore, name: str) -> tuple[str, ...]:
    notes: list[str] = []
    if parsed.master_list is not None:
        master_list = parsed.master_list
        if not master_list.signature.is_ok:
            raise DocumentError(f"master list signature: {master_list.signature.reason}", file=name)
        if not master_list.usable:
            raise DocumentError(f"master list signer: {master_list.signer_chain.reason}", file=name)
        if not master_list.signer_chain.is_ok:
            notes.append(f"master list signer not traced to a CSCA: {master_list.signer_chain.reason}")
        notes += [f"certificate {r.index} ({r.subject}) rejected: {r.reason}" for r in master_list.rejected]
        notes += list(master_list.notes)
    for certificate in parsed.certificates:
        if not certificate.is_ca:
            raise DocumentError(f"{certificate.subject.text} is not a CA certificate (CSCA)", file=name)
        if not certificate.public_key.usable:
            notes.append(f"{certificate.subject.text}: key not usable ({certificate.public_key.description})")
    for revocation_list in parsed.crls:
        issuers = [e.certificate for e in store.certificates if e.certificate.subject.key == revocation_list.issuer.key]
        if not issuers:
            notes.append(f"no CSCA {revocation_list.issuer.text} loaded: the CRL signature is checked when one is")
        elif not any(revocation_list.verify_issued_by(issuer.public_key).is_ok for issuer in issuers):
            raise DocumentError(f"the CRL is not signed by the loaded CSCA {revocation_list.issuer.text}", file=name)
    return tuple(notes)


def _free_name(directory: Path, name: str, kind: str) -> Path:
    base = Path(name)
    suffix = base.suffix.lower()
    if suffix not in TRUST_SUFFIXES:
        suffix = {"master_list": ".ml", "crl": ".crl"}.get(kind, ".der")
    stem = base.stem or "trust"
    candidate = directory / f"{stem}{suffix}"
    counter = 1
    while candidate.exists():
        candidate = directory / f"{stem}-{counter}{suffix}"
        counter += 1
    return candidate


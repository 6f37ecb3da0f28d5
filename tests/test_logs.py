"""The log file: where it is, that it is bounded and rotates, that a rotation refused by the OS (Windows:
another process has the file open) loses nothing, that a log that cannot be written never stops the
agent, and that the command line works with no console at all (a service, a windowed build)."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent import logs
from agent.settings import LogSettings, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if getattr(handler, logs._OURS, False):
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def with_log(tmp_path: Path, **values: object) -> Settings:
    settings = load_settings(environ={})
    return dataclasses.replace(settings, log=dataclasses.replace(
        settings.log, file=str(tmp_path / "logs" / "agent.log"), **values))  # type: ignore[arg-type]


def test_the_default_log_file_is_in_the_platform_log_directory() -> None:
    import platformdirs

    expected = Path(platformdirs.user_log_dir("cccd-agent", appauthor=False)) / "agent.log"
    assert load_settings(environ={}).log_path() == expected
    assert LogSettings().file == ""


def test_records_go_to_the_file_with_the_process_id(tmp_path: Path) -> None:
    path = logs.configure_logging(with_log(tmp_path))
    assert path == tmp_path / "logs" / "agent.log"
    logging.getLogger("agent.test").warning("reader %s unplugged", "ACR1252")
    text = path.read_text(encoding="utf-8")
    assert "WARNING agent.test: reader ACR1252 unplugged" in text
    assert f"[{os.getpid()}]" in text


def test_a_second_configuration_replaces_the_first(tmp_path: Path) -> None:
    logs.configure_logging(with_log(tmp_path))
    logs.configure_logging(with_log(tmp_path / "b"))
    ours = [h for h in logging.getLogger().handlers if getattr(h, logs._OURS, False)]
    assert len([h for h in ours if isinstance(h, logs.SharedRotatingFileHandler)]) == 1
    logging.getLogger("agent.test").warning("only once")
    assert "only once" not in (tmp_path / "logs" / "agent.log").read_text()
    assert (tmp_path / "b" / "logs" / "agent.log").read_text().count("only once") == 1


def test_the_file_rotates_and_stays_bounded(tmp_path: Path) -> None:
    path = logs.configure_logging(with_log(tmp_path, max_bytes=10_000, backups=2))
    assert path is not None
    for n in range(600):
        logging.getLogger("agent.test").warning("line %04d %s", n, "x" * 60)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["agent.log", "agent.log.1", "agent.log.2"]
    assert all((path.parent / name).stat().st_size <= 10_000 for name in files)
    assert "line 0599" in path.read_text()


def test_a_refused_rotation_keeps_writing_to_the_current_file(tmp_path: Path, monkeypatch) -> None:
    path = logs.configure_logging(with_log(tmp_path, max_bytes=10_000, backups=2))
    assert path is not None
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logs.SharedRotatingFileHandler))

    def refuse(source: str, dest: str) -> None:
        raise PermissionError(13, "The process cannot access the file because it is being used by another process")

    monkeypatch.setattr(handler, "rotate", refuse)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    for n in range(400):
        logging.getLogger("agent.test").warning("line %04d %s", n, "y" * 60)
    assert not errors
    assert sorted(p.name for p in path.parent.iterdir()) == ["agent.log"]
    text = path.read_text()
    assert "line 0000" in text and "line 0399" in text  # nothing lost, the file grew past its bound


def test_a_log_file_that_cannot_be_written_is_said_and_skipped(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = dataclasses.replace(load_settings(environ={}),
                                   log=LogSettings(file=str(blocker / "agent.log")))
    assert logs.configure_logging(settings) is None
    assert "no log file: cannot write" in capsys.readouterr().err


def test_commands_write_the_log_file_and_config_does_not(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "agent.log"
    env = {**os.environ, "CCCD_AGENT__LOG__FILE": str(log_file)}
    done = subprocess.run([sys.executable, "-m", "agent", "config"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not log_file.exists()
    done = subprocess.run([sys.executable, "-m", "agent", "trust", "list"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**env, "CCCD_AGENT__LOG__LEVEL": "DEBUG",
                                                      "CCCD_AGENT__TRUST__CSCA_DIR": str(tmp_path / "trust")})
    assert done.returncode == 0, done.stderr
    assert log_file.exists()


def test_the_command_line_runs_without_a_console(tmp_path: Path) -> None:
    # As pythonw / a windowed build / a service without a console: no stdout, no stderr at all.
    code = ("import sys\nsys.stdout = None\nsys.stderr = None\nfrom agent.cli import main\n"
            "code = main(['config'])\n"
            "try:\n    main(['--version'])\nexcept SystemExit as done:\n    code += done.code or 0\n"
            "raise SystemExit(code)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CCCD_AGENT__LOG__FILE": str(tmp_path / "agent.log")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_version_is_the_package_version() -> None:
    import agent

    done = subprocess.run([sys.executable, "-m", "agent", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith(f"cccd-agent {agent.__version__} (Python ")

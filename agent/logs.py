"""Where the agent's log records go: stderr (a console, journald, a service wrapper's own log) and a
rotating log file a technician can read on the desk PC (``[log] file``, by default ``agent.log`` in the
platform's log directory: ``%LOCALAPPDATA%\\cccd-agent\\Logs`` on Windows, ``~/.local/state/cccd-agent/log``
on Linux), bounded to ``[log] max_bytes`` per file and ``[log] backups`` old files.

Both get the same records, so the privacy rule of the logs (docs/architecture.md "Privacy": no personal
data, masked ID numbers, APDU headers and status words only) holds for the file as for stderr, and both
formatters strip credentials (:class:`agent.privacy.RedactingFormatter`). A log
file that cannot be opened never stops the agent: it is said once on stderr and the agent goes on.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from pathlib import Path

from agent.privacy import RedactingFormatter
from agent.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Several processes may write one file (the service, a technician's command): the pid tells them apart.
FILE_FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
ROLLOVER_RETRY_S = 60.0

_OURS = "_cccd_agent_handler"  # marks the handlers installed here, so that a second call replaces them


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-bounded rotating file that more than one process may have open.

    On Windows a file another process holds open cannot be renamed, so a rollover there fails; the
    records then go on into the current file (which grows past the bound until a rollover succeeds,
    retried at most once a minute) rather than being lost or printed as logging errors."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
        self._retry_at = 0.0

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - the base class names it so
        if time.monotonic() < self._retry_at:
            return False
        return bool(super().shouldRollover(record))

    def doRollover(self) -> None:  # noqa: N802 - the base class names it so
        try:
            super().doRollover()
        except OSError:
            self._retry_at = time.monotonic() + ROLLOVER_RETRY_S
            if self.stream is None:  # the base class closed it before renaming
                self.stream = self._open()


def configure_logging(settings: Settings, *, to_file: bool = True) -> Path | None:
    """Send log records to stderr and, with ``to_file``, to the rotating log file; returns the file's
    path, or None when there is none (not wanted, or it cannot be opened)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(settings.log.level)
    if sys.stderr is not None:  # no console at all (a windowed or service process): nothing to write to
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(RedactingFormatter(FORMAT))
        _install(root, console)
    if not to_file:
        return None
    path = settings.log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = SharedRotatingFileHandler(path, max_bytes=settings.log.max_bytes, backups=settings.log.backups)
        # Open now, not on the first record: a file that cannot be written is said at start, once.
        handler.stream = handler._open()
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file: cannot write %s (%s)", path, exc.strerror or exc)
        return None
    handler.setFormatter(RedactingFormatter(FILE_FORMAT))
    _install(root, handler)
    return path


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    setattr(handler, _OURS, True)
    root.addHandler(handler)

"""Logging set-up for the CLI: a rotating file in the data dir, stderr on -v/--debug,
and a filter that redacts credentials from every record (mailcli.service.redact).

Log lines quote servers and mail (folder names, NO texts), so the formatter neutralizes
escape sequences and control characters (mailcli.message.sanitize). The log file is
private (0600). A handler that cannot write (disk full, read-only data dir) says so once
on stderr and goes quiet, instead of a "--- Logging error ---" traceback per record."""
from __future__ import annotations

import copy
import logging
import os
import sys
from pathlib import Path
from typing import TextIO

from mailcli.service import make_private_dir, redact, repair_data_dir

_installed = False


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is logging's own error, never ours to raise
            return True
        record.msg = redact(msg)
        record.args = None
        return True


class SafeFormatter(logging.Formatter):
    """One record = one line of neutralized text; a traceback keeps its line breaks only."""

    def format(self, record: logging.LogRecord) -> str:
        # (imported here: a run that logs nothing, most no-change fetches, does without it)
        from mailcli.message.sanitize import safe_line, safe_text

        record = copy.copy(record)
        try:
            record.msg = safe_line(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken format string: logging's own error path reports it
            return super().format(record)
        record.args = None
        return safe_text(super().format(record))


class _Quiet:
    """Mixin: the first failure to write disables the handler with one stderr line."""

    failed = False
    announce = True  # False in the TUI: the screen is not for log trouble

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging API
        if self.failed:
            return
        self.failed = True
        if not self.announce:
            return
        from mailcli.message.sanitize import safe_line

        exc = sys.exc_info()[1]
        reason = getattr(exc, "strerror", None) or exc
        try:
            sys.stderr.write(f"mailcli: warning: logging stopped: {safe_line(str(reason))}\n")
        except Exception:  # noqa: BLE001 - stderr itself is gone: nothing left to tell
            pass

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)  # type: ignore[misc]


class _RotatingFileHandler(logging.FileHandler):
    """logging.handlers.RotatingFileHandler's size rotation (file, file.1 ... file.N),
    without importing logging.handlers (pickle, queue, socket: start-up time of every
    command, issue 15)."""

    def __init__(self, filename: Path, maxBytes: int, backupCount: int,  # noqa: N803 - stdlib's names
                 encoding: str) -> None:
        super().__init__(filename, mode="a", encoding=encoding)
        self.maxBytes = maxBytes
        self.backupCount = backupCount

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.should_rollover(record):
                self.do_rollover()
        except Exception:  # noqa: BLE001 - logging's own error path (handleError) reports it
            self.handleError(record)
            return
        super().emit(record)

    def should_rollover(self, record: logging.LogRecord) -> bool:
        if os.path.exists(self.baseFilename) and not os.path.isfile(self.baseFilename):
            return False   # never rotate /dev/null & co. (bpo-45401)
        if self.stream is None:
            self.stream = self._open()
        if self.maxBytes <= 0:
            return False
        msg = f"{self.format(record)}\n"
        self.stream.seek(0, 2)
        return bool(self.stream.tell() + len(msg) >= self.maxBytes)

    def do_rollover(self) -> None:
        if self.stream:
            self.stream.close()
            self.stream = None
        if self.backupCount > 0:
            for i in range(self.backupCount - 1, 0, -1):
                src, dst = f"{self.baseFilename}.{i}", f"{self.baseFilename}.{i + 1}"
                if os.path.exists(src):
                    if os.path.exists(dst):
                        os.remove(dst)
                    os.rename(src, dst)
            dst = f"{self.baseFilename}.1"
            if os.path.exists(dst):
                os.remove(dst)
            if os.path.exists(self.baseFilename):
                os.rename(self.baseFilename, dst)
        self.stream = self._open()


class QuietFileHandler(_Quiet, _RotatingFileHandler):
    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


class QuietStreamHandler(_Quiet, logging.StreamHandler[TextIO]):
    pass


FILE_ONLY = {"file_only": True}
"""`extra=` for records that repeat what stderr already said (the log keeps them for cron)."""


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "file_only", False)


def installed() -> bool:
    """Whether setup_logging has run in this process (the log file is in place)."""
    return _installed


def setup_logging(data_dir: Path, verbose: int = 0, debug: bool = False,
                  stderr: bool = True) -> None:
    global _installed
    root = logging.getLogger()
    if _installed:
        for h in list(root.handlers):
            if getattr(h, "_mailcli", False):
                root.removeHandler(h)
    _installed = True
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    redactor = RedactFilter()
    fmt = SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    fixed: list[str] = []
    try:
        make_private_dir(data_dir)
        fixed = repair_data_dir(data_dir)
        fh = QuietFileHandler(data_dir / "mailcli.log", maxBytes=2_000_000,
                              backupCount=3, encoding="utf-8")
        fh.announce = stderr
        fh.setLevel(logging.DEBUG if debug else logging.INFO)
        fh.setFormatter(fmt)
        fh.addFilter(redactor)
        fh._mailcli = True  # type: ignore[attr-defined]
        root.addHandler(fh)
    except OSError:  # read-only or full: no log file (and no logging.lastResort on stderr)
        null = logging.NullHandler()
        null._mailcli = True  # type: ignore[attr-defined]
        root.addHandler(null)
    if stderr and (verbose or debug):
        sh = QuietStreamHandler()
        sh.setLevel(logging.DEBUG if debug else logging.INFO)
        sh.setFormatter(SafeFormatter("mailcli: %(levelname)s %(name)s: %(message)s"))
        sh.addFilter(redactor)
        sh.addFilter(_not_file_only)
        sh._mailcli = True  # type: ignore[attr-defined]
        root.addHandler(sh)
    if fixed:
        logging.getLogger("mailcli").warning(
            "data dir %s was readable by others; made private (was: %s)", data_dir,
            ", ".join(fixed))
    # imapclient's own protocol logging: only under --debug
    logging.getLogger("imapclient").setLevel(logging.DEBUG if debug else logging.WARNING)

"""Logging set-up for the CLI: a rotating file in the data dir, stderr on -v/--debug,
and a filter that redacts credentials from every record (mailcli.redact)."""
from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from mailcli.redact import redact

_installed = False


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:
            return True
        record.msg = redact(msg)
        record.args = None
        return True


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
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(data_dir / "mailcli.log", maxBytes=2_000_000,
                                                  backupCount=3, encoding="utf-8")
        fh.setLevel(logging.DEBUG if debug else logging.INFO)
        fh.setFormatter(fmt)
        fh.addFilter(redactor)
        fh._mailcli = True  # type: ignore[attr-defined]
        root.addHandler(fh)
    except OSError:
        pass
    if stderr and (verbose or debug):
        sh = logging.StreamHandler()
        sh.setLevel(logging.DEBUG if debug else logging.INFO)
        sh.setFormatter(logging.Formatter("mailcli: %(levelname)s %(name)s: %(message)s"))
        sh.addFilter(redactor)
        sh._mailcli = True  # type: ignore[attr-defined]
        root.addHandler(sh)
    # imapclient's own protocol logging: only under --debug
    logging.getLogger("imapclient").setLevel(logging.DEBUG if debug else logging.WARNING)

"""The CLI's log file rotates like logging.handlers.RotatingFileHandler (which it no
longer imports, for start-up time): same files, same contents, private."""
from __future__ import annotations

import logging
import logging.handlers
import stat
from pathlib import Path

from mailcli.cli.logging import QuietFileHandler


def _write(handler: logging.Handler, n: int) -> None:
    handler.setFormatter(logging.Formatter("%(message)s"))
    for i in range(n):
        handler.emit(logging.LogRecord("t", logging.INFO, __file__, 1, f"line {i:03d} " + "x" * 20,
                                       None, None))
    handler.close()


def _files(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(d.iterdir())}


def test_rotation_matches_the_stdlib_handler(tmp_path: Path) -> None:
    ours, stdlib = tmp_path / "ours", tmp_path / "stdlib"
    ours.mkdir()
    stdlib.mkdir()
    _write(QuietFileHandler(ours / "mailcli.log", maxBytes=200, backupCount=3, encoding="utf-8"), 40)
    _write(logging.handlers.RotatingFileHandler(stdlib / "mailcli.log", maxBytes=200, backupCount=3,
                                                encoding="utf-8"), 40)
    got = _files(ours)
    assert set(got) == {"mailcli.log", "mailcli.log.1", "mailcli.log.2", "mailcli.log.3"}
    assert got == _files(stdlib)
    assert all(len(text) < 200 for text in got.values())
    assert "line 039" in got["mailcli.log"]
    for p in ours.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_no_rotation_below_the_limit_and_appends(tmp_path: Path) -> None:
    log = tmp_path / "mailcli.log"
    log.write_text("before\n")
    log.chmod(0o600)
    _write(QuietFileHandler(log, maxBytes=2_000_000, backupCount=3, encoding="utf-8"), 5)
    assert [p.name for p in tmp_path.iterdir()] == ["mailcli.log"]
    assert log.read_text().startswith("before\nline 000")

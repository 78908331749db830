"""The fetch progress display and the table layout, driven directly."""
from __future__ import annotations

import pytest

from mailcli.cli.progress import TtyProgress, WarningsOnly, make_reporter
from mailcli.cli.table import Column, render, text_width, truncate
from mailcli.model import AccountReport
from mailcli.sync import events as e


def test_make_reporter_choices() -> None:
    assert type(make_reporter(quiet=False, as_json=False, tty=True)) is TtyProgress
    for quiet, as_json, tty in [(True, False, True), (False, True, True), (False, False, False)]:
        assert type(make_reporter(quiet, as_json, tty=tty)) is WarningsOnly


def test_tty_progress_draws_counts_bytes_rate(capsys: pytest.CaptureFixture[str]) -> None:
    t = [0.0]
    p = TtyProgress(2, width=lambda: 80, clock=lambda: t[0], interval=0.0)
    p.event(e.AccountStarted("work", "imap"))
    p.event(e.FolderStarted("work", "INBOX", 2, 4096))
    t[0] = 2.0
    p.event(e.MessageFetched("work", "INBOX", 2048))
    p.event(e.MessageFetched("work", "INBOX", 2048))
    err = capsys.readouterr().err
    last = err.split("\r")[-1].rstrip()
    assert last == "[1/2] work INBOX 2/2 2 msgs 4K 2K/s"
    p.event(e.SyncWarning("message 7 failed", "work", "INBOX"))
    p.close()
    err = capsys.readouterr().err
    assert "mailcli: warning: work/INBOX: message 7 failed\n" in err
    assert err.endswith("\r")  # the status line is cleared at the end


def test_account_failure_warning_is_not_repeated(capsys: pytest.CaptureFixture[str]) -> None:
    r = WarningsOnly()
    r.event(e.SyncWarning("login refused", "bad"))
    r.event(e.AccountDone(AccountReport("bad", "imap", ok=False, error="login refused")))
    r.event(e.SyncWarning("outbox: 1 message not sent", "work"))
    r.event(e.AccountDone(AccountReport("work", "imap")))
    r.close()
    assert capsys.readouterr().err == "mailcli: warning: work: outbox: 1 message not sent\n"


def test_hostile_names_are_sanitized(capsys: pytest.CaptureFixture[str]) -> None:
    WarningsOnly().warn(e.SyncWarning("bad\x1b[2J", "a", "F\x1b]0;x\x07"))
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err


def test_table_fits_and_truncates_wide_text() -> None:
    assert text_width("日本") == 4 and truncate("日本語テキスト", 7) == "日本語…"
    rows = [["1", "a" * 50, "9K"], ["22", "日本語" * 10, "10K"]]
    cols = [Column("ID", right=True), Column("S", flex=True, min=5), Column("Z", right=True)]
    lines = render(cols, rows, 30)
    assert all(text_width(l) <= 30 for l in lines)
    assert lines[0].startswith(" 1  aaa") and lines[1].endswith("10K")

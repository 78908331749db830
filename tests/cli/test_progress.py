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
    assert last == "[1/2] work INBOX [" + "#" * 28 + "] 2/2 2 msgs 4K 2K/s ETA 0:00"
    p.event(e.SyncWarning("message 7 failed", "work", "INBOX"))
    p.close()
    err = capsys.readouterr().err
    assert "mailcli: warning: work/INBOX: message 7 failed\n" in err
    assert err.endswith("\r")  # the status line is cleared at the end


def test_progress_is_a_bar_with_rate_and_eta_per_account(capsys: pytest.CaptureFixture[str]) -> None:
    t = [0.0]
    p = TtyProgress(2, width=lambda: 80, clock=lambda: t[0], interval=0.0)
    p.event(e.AccountStarted("work", "imap"))
    p.event(e.FolderStarted("work", "INBOX", 4, 4 * 10240))
    t[0] = 1.0
    p.event(e.MessageFetched("work", "INBOX", 10240))
    last = capsys.readouterr().err.split("\r")[-1].rstrip()
    assert last == "[1/2] work INBOX [" + "#" * 7 + "-" * 21 + "] 1/4 1 msgs 10K 10K/s ETA 0:03"
    assert len(last) <= 79
    p.event(e.AccountDone(AccountReport("work", "imap")))
    t[0] = 5.0
    p.event(e.AccountStarted("home", "pop3"))     # counts start again for each account
    p.event(e.FolderStarted("home", "INBOX", 10, 0))
    t[0] = 7.0
    p.event(e.MessageFetched("home", "INBOX", 2048))
    p.event(e.MessageFetched("home", "INBOX", 2048))
    last = capsys.readouterr().err.split("\r")[-1].rstrip()
    assert last.startswith("[2/2] home INBOX [#####") and " 2/10 2 msgs 4K 2K/s ETA 0:08" in last
    p.close()


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

"""Sync Reporters for `mailcli fetch`: a live progress bar on a TTY (account n of m,
folder, a bar of the folder's download, messages, bytes, rate and ETA; the counts are
the current account's, not cumulative), drawn with click on stderr; and a plain
reporter for --quiet, --json and non-TTY runs that shows only warnings (which must be
seen even under --quiet: a failed message, a guardrail)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mailcli.model import AccountReport

if TYPE_CHECKING:
    from mailcli.service import SyncEvent, SyncWarning


def rate(nbytes: float, seconds: float) -> str:
    from mailcli.cli.envelopes import human_size

    if seconds <= 0:
        return "-"
    return human_size(int(nbytes / seconds)) + "/s"


class WarningsOnly:
    """Shows SyncWarning events on stderr, nothing else.

    An account-level warning (no folder) that merely repeats the error the account's
    report ends with is dropped: `fetch` prints each failed account once, from the result.
    """

    def __init__(self) -> None:
        self._held: list[SyncWarning] = []

    def event(self, ev: SyncEvent) -> None:
        from mailcli.service import AccountDone, SyncWarning

        match ev:
            case SyncWarning():
                self.on_warning(ev)
            case AccountDone(report=report):
                self.release(report)

    def on_warning(self, ev: SyncWarning) -> None:
        if ev.folder is None and ev.account:
            self._held.append(ev)
        else:
            self.warn(ev)

    def release(self, report: AccountReport) -> None:
        held, self._held = self._held, []
        for ev in held:
            same = ev.account == report.account and ev.message == report.error
            if not (same and not report.ok):
                self.warn(ev)

    def warn(self, ev: SyncWarning) -> None:
        # (imported here: a quiet fetch without warnings, the cron case, never needs it)
        from mailcli.message.sanitize import safe_line

        where = "/".join(safe_line(x) for x in (ev.account, ev.folder) if x)
        prefix = f"{where}: " if where else ""
        click.echo(f"mailcli: warning: {prefix}{safe_line(ev.message)}", err=True)

    def close(self) -> None:
        held, self._held = self._held, []
        for ev in held:
            self.warn(ev)


def eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0 or seconds > 99 * 3600:
        return "ETA -"
    s = int(seconds + 0.5)
    return f"ETA {s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 \
        else f"ETA {s // 60}:{s % 60:02d}"


def bar(done: int, total: int, cells: int) -> str:
    """`[######------]`: `cells` wide in all (plain ASCII: any terminal, any locale)."""
    inner = max(1, cells - 2)
    filled = min(inner, inner * done // total) if total else 0
    return "[" + "#" * filled + "-" * (inner - filled) + "]"


class TtyProgress(WarningsOnly):
    """A live progress bar per account:
    `[1/2] work INBOX [#######-------] 12/40 12 msgs 1.2M 340K/s ETA 0:05`."""

    def __init__(self, accounts_total: int = 0, width: Callable[[], int] | None = None,
                 clock: Callable[[], float] = time.monotonic, interval: float = 0.1) -> None:
        from mailcli.cli.output import width as term_width

        super().__init__()
        self.width = width or term_width
        self.clock = clock
        self.interval = interval
        self.accounts_total = accounts_total
        self.accounts_started = 0
        self.account = ""
        self.folder = ""
        self.folder_total = 0
        self.folder_done = 0
        self.folder_bytes_total = 0
        self.folder_bytes = 0
        self.messages = 0
        self.bytes = 0
        self.start = clock()
        self._last = 0.0
        self._drawn = False

    def event(self, ev: SyncEvent) -> None:
        from mailcli.service import AccountDone, AccountStarted, FolderStarted, MessageFetched, SyncWarning

        match ev:
            case AccountStarted(account=account):
                self.accounts_started += 1
                self.accounts_total = max(self.accounts_total, self.accounts_started)
                self.account, self.folder = account, ""
                self.messages, self.bytes, self.start = 0, 0, self.clock()  # per account
            case FolderStarted(folder=folder, to_download=to_download, bytes=nbytes):
                self.folder, self.folder_total, self.folder_done = folder, to_download, 0
                self.folder_bytes_total, self.folder_bytes = nbytes, 0
            case MessageFetched(size=size):
                self.messages += 1
                self.folder_done += 1
                self.folder_bytes += size
                self.bytes += size
                self.draw()
                return
            case SyncWarning():
                self.clear()
                self.on_warning(ev)
            case AccountDone(report=report):
                self.clear()
                self.release(report)
        self.draw(force=True)

    def line(self, cols: int = 80) -> str:
        from mailcli.cli.envelopes import human_size
        from mailcli.message.sanitize import safe_line

        elapsed = self.clock() - self.start
        head = [f"[{self.accounts_started}/{self.accounts_total or '?'}]",
                safe_line(self.account)]
        tail = []
        if self.folder:
            head.append(safe_line(self.folder))
            if self.folder_total:
                tail.append(f"{self.folder_done}/{self.folder_total}")
        tail.append(f"{self.messages} msgs")
        tail.append(human_size(self.bytes))
        tail.append(rate(self.bytes, elapsed))
        if self.folder_total:
            tail.append(eta(self._remaining(elapsed)))
            text = " ".join(p for p in head + tail if p)
            cells = min(30, cols - 1 - len(text))   # the bar takes what is left, 8..30
            if cells >= 8:
                head.append(bar(self.folder_done, self.folder_total, cells))
        return " ".join(p for p in head + tail if p)

    def _remaining(self, elapsed: float) -> float | None:
        """Seconds left in this folder at this account's rate so far (bytes when the
        folder's size is known, else messages)."""
        if elapsed <= 0 or not self.messages:
            return None
        if self.folder_bytes_total and self.bytes:
            return (self.folder_bytes_total - self.folder_bytes) / (self.bytes / elapsed)
        return (self.folder_total - self.folder_done) / (self.messages / elapsed)

    def draw(self, force: bool = False) -> None:
        from mailcli.cli.table import pad, truncate

        now = self.clock()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        cols = max(10, self.width() - 1)
        click.echo("\r" + pad(truncate(self.line(cols), cols), cols), nl=False, err=True)
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            cols = max(10, self.width() - 1)
            click.echo("\r" + " " * cols + "\r", nl=False, err=True)
            self._drawn = False

    def close(self) -> None:
        self.clear()
        super().close()


def make_reporter(quiet: bool, as_json: bool, accounts_total: int = 0,
                  tty: bool | None = None) -> WarningsOnly:
    """The live display only for a person at a terminal: not under --quiet or --json, and
    not when stdout (or stderr, where it is drawn) is not a TTY."""
    if tty is None:
        tty = sys.stdout.isatty() and sys.stderr.isatty()
    if quiet or as_json or not tty:
        return WarningsOnly()
    return TtyProgress(accounts_total)

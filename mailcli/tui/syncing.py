"""Background sync in the TUI: the `g` key, progress in the status bar, the outcome as
notifications, and the "busy" state while another fetch holds an account's lock.

The base class of MailActions (tui/actions.py): the fetch runs through the service in a
thread worker; its events reach the UI thread through SyncReporter.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.timer import Timer

from mailcli.errors import ExitCode, LockHeld, MailcliError
from mailcli.message.sanitize import safe_line, safe_text
from mailcli.tui.messages import MailChanged

if TYPE_CHECKING:
    from mailcli.service import FetchResult, Service, SyncEvent
    from mailcli.tui.screens.main import MainScreen

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 0.1  # seconds between progress updates from the sync thread
BUSY_CHECK = 2.0       # seconds between checks whether another fetch still holds its lock


class SyncReporter:
    """A sync Reporter (the service's events) that hands events to the UI thread."""

    def __init__(self, app: SyncActions) -> None:
        self.app = app
        self._last = 0.0
        self.fetched = 0

    def event(self, ev: SyncEvent) -> None:
        from mailcli.service import MessageFetched

        if isinstance(ev, MessageFetched):
            self.fetched += 1
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY:
                return
            self._last = now
        try:
            self.app.call_from_thread(self.app.on_sync_event, ev, self.fetched)
        except Exception:  # the app is closing: a Reporter must not raise
            logger.debug("sync event dropped", exc_info=True)


class SyncActions(App[None]):
    """`g` and what a sync shows; MailActions (tui/actions.py) builds on it."""

    service: Service
    main: MainScreen
    clock: Callable[[], datetime]

    sync_running: bool = False
    _busy_timer: Timer | None = None
    busy_check: float = BUSY_CHECK
    _folder_base = 0   # messages fetched before the folder being synced (progress line)
    _folder_total = 0  # messages that folder will download

    if TYPE_CHECKING:   # provided by MailActions
        def show_error(self, exc: BaseException) -> None: ...

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification of the app is plain text, never Textual markup: they quote
        folder names, server replies and attachment names, and `[@click=app.screenshot(...)]`
        in one would be a live action (`[a='x]` or `[/]` a crash). `markup` is accepted for
        Textual's signature and ignored. Control characters are neutralized too. (Here, in
        the base class, because the sync's own notifications carry server text.)"""
        super().notify(safe_text(str(message)), title=safe_line(str(title)),
                       severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ sync
    def action_sync(self) -> None:
        if self.sync_running:
            self.notify("A sync is already running", timeout=3)
            return
        self.sync_running = True
        self.main.status.set_progress("syncing…")
        self._sync(None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sync")
    def _sync(self, accounts: list[str] | None) -> None:
        reporter = SyncReporter(self)
        try:
            result = self.service.fetch(accounts, reporter=reporter)
        except Exception as exc:  # noqa: BLE001 - shown as a notification, logged
            self.call_from_thread(self.sync_finished, None, exc)
            return
        self.call_from_thread(self.sync_finished, result, None)

    def on_sync_event(self, ev: SyncEvent, fetched: int) -> None:
        from mailcli.service import AccountStarted, FolderDone, FolderStarted, MessageFetched, SyncWarning

        status = self.main.status
        match ev:
            case AccountStarted(account=account):
                status.set_progress(f"syncing {account}…")
            case FolderStarted(account=account, folder=folder, to_download=to_download):
                self._folder_total = to_download
                self._folder_base = fetched
                status.set_progress(f"syncing {account}/{folder}"
                                    + (f" 0/{to_download}" if to_download else ""))
            case MessageFetched(account=account, folder=folder):
                done = fetched - self._folder_base
                status.set_progress(f"syncing {account}/{folder} {done}/{self._folder_total}")
            case FolderDone(account=account, folder=folder, counts=counts, blocked=blocked):
                if counts.new or counts.deleted or counts.updated:
                    self.main.post_message(MailChanged())
                if blocked:
                    self.notify(f"{account}/{folder}: {blocked}", title="Sync stopped",
                                severity="warning", timeout=8)
            case SyncWarning(message=message, folder=str()):
                # account-level failures (no folder) are summed up once in sync_finished
                self.notify(message, title="Sync", severity="warning", timeout=6)

    def sync_finished(self, result: FetchResult | None, error: BaseException | None) -> None:
        self.sync_running = False
        now: datetime = self.clock()
        offline: list[str] = []
        problems: list[str] = []
        if error is not None:
            if isinstance(error, LockHeld):
                self.notify("Busy: another fetch is running; try again in a moment",
                            title="Sync", severity="warning")
                problems.append("busy")
            else:
                self.show_error(error)
                problems.append(error.title if isinstance(error, MailcliError) else "error")
        reports = result.accounts if result is not None else []
        errors = result.errors if result is not None else {}
        for report in reports:
            if report.ok:
                continue
            if isinstance(errors.get(report.account), LockHeld):  # the account was busy
                self.notify(f"{report.account}: busy, another fetch is running",
                            title="Sync", severity="warning")
                problems.append(f"{report.account} busy")
            elif report.exit_code == ExitCode.TEMPORARY:
                offline.append(f"{report.account}: {report.error}")
            else:
                problems.append(f"{report.account} failed")
                self.notify(f"{report.account}: {report.error}", title="Sync failed",
                            severity="error", timeout=8)
        if offline:
            self.notify("\n".join(offline) + "\nreading and changes work offline; they are "
                        "pushed at the next sync", title="Offline", severity="warning")
            offline = [line.partition(":")[0] for line in offline]
        if result is not None and not problems and not offline:
            new = sum(r.new for r in result.accounts)
            self.notify(f"Synced: {new} new" if new else "Synced: no new mail", timeout=3)
        self.main.status.sync_done(now, offline, ", ".join(problems))
        self.main.post_message(MailChanged())
        if any(p.endswith("busy") for p in problems):
            self._busy_timer = self.set_interval(self.busy_check, self._check_busy)

    @work(thread=True, exclusive=True, exit_on_error=False, group="busy")
    def _check_busy(self) -> None:
        """While "busy" shows: clear it once the other fetch has let go of its lock."""
        try:
            busy = self.service.busy_accounts()
        except MailcliError:
            return
        if not busy:
            self.call_from_thread(self._not_busy)

    def _not_busy(self) -> None:
        if self._busy_timer is not None:
            self._busy_timer.stop()
            self._busy_timer = None
        self.main.status.clear_busy()

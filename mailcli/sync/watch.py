"""The watcher behind `mailcli watch` and the TUI: per account, sync once, then wait for
changes and sync just what changed, reporting events (sync/watch_events.py).

One thread per account (`AccountWatcher`). An IMAP account's session:

1. connect a "sync" connection; full sync (`ImapSync.run`) under the account lock;
2. plan the waits (sync/watch_waiters.py): NOTIFY on one more connection for every
   watched folder where offered, else one IDLE connection per watched folder (capped),
   the other folders STATUS-polled on the sync connection every `poll_interval`;
3. loop: a folder named by a waiter, or one whose STATUS moved, gets
   `ImapSync.sync_folder` under the lock; then its new messages are announced. Every
   poll_interval, changes queued locally meanwhile (`mailcli flag`, the TUI) are pushed
   by a whole-account sync, and mail waiting in the Outbox is sent (`flush_outbox`, the
   same step `mailcli fetch` takes before each sync: composed offline, it goes out once
   the link is back).

A POP3 account (or an IMAP server without IDLE) is polled: POP3 through
`fetch_accounts` every poll_interval (which flushes the Outbox first, as fetch does).

Failures: a lost link ends the session; the account announces `Disconnected` once,
waits with backoff (sync/backoff.py: 1 s doubling to 5 min, jittered) and starts a new
session, announcing `Reconnected` once it is connected again (the new session's full
sync picks up what arrived meanwhile). A refused login (or a config error) ends that
account for good (`Stopped` with its exit code, 3 or 2); the others continue.

The lock (sync/lock.py) is held only while a sync runs; when another process (cron
`mailcli fetch`) holds it, the watcher waits and retries, it never fails for that.

New mail: after each sync, the watched folders' messages past their marks are announced
(`NewMail`, once each; sync/watch_marks.py).

Stopping: `stop` (a threading.Event) is looked at at least twice a second; a running
sync is given `stop_grace` seconds to finish, then its connection is shut down (the
store's batches are crash-safe: what is not committed is fetched again next time).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mailcli.accounts.base import Account, Capability
from mailcli.accounts.registry import traits_for
from mailcli.config.schema import AccountConfig
from mailcli.errors import (
    AuthError,
    ConfigError,
    LockHeld,
    MailcliError,
    NotFoundError,
    ProtocolError,
    UnsupportedError,
)
from mailcli.model import FolderStatus
from mailcli.store import ActionState, Store
from mailcli.sync.backoff import Backoff
from mailcli.sync.engine import ImapSync, folder_selected
from mailcli.sync.lock import account_lock
from mailcli.sync.outcome import SyncOutcome
from mailcli.sync.runner import combine_exit_codes, fetch_accounts
from mailcli.sync.watch_events import (
    Disconnected,
    Emit,
    NewMail,
    Reconnected,
    Started,
    State,
    Stopped,
    Synced,
)
from mailcli.sync.watch_marks import NewMailMarks
from mailcli.sync.watch_waiters import Item, Waiter, drain, plan_waits, status_changed

logger = logging.getLogger(__name__)

OpenAccount = Callable[[AccountConfig], Account]
"""A not-yet-connected Account for a config (the service's open_account)."""

_FATAL = (AuthError, ConfigError, UnsupportedError)


@dataclass(frozen=True)
class WatchSettings:
    """Timings (seconds). keepalive: longest IDLE before DONE + NOOP prove the link alive
    (well under RFC 2177's 29 minutes; a dead link is noticed within about a minute);
    lock_retry: how often a lock held by another process is tried again."""

    keepalive: float = 45.0
    idle_cap: int = 3
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    lock_retry: float = 0.5
    stop_grace: float = 3.0


class _Stop(Exception):
    """Raised inside an account thread when it was asked to stop."""


class AccountWatcher(threading.Thread):
    """Watches one account until `stop` is set (see the module doc)."""

    def __init__(self, cfg: AccountConfig, *, store: Store, data_dir: Path,
                 open_account: OpenAccount, emit: Emit, settings: WatchSettings,
                 stop: threading.Event,
                 flush_outbox: Callable[[str], object] | None = None) -> None:
        super().__init__(name=f"watch:{cfg.name}", daemon=True)
        self.cfg = cfg
        self.flush_outbox = flush_outbox
        self.store = store
        self.data_dir = data_dir
        self.open_account = open_account
        self.emit = emit
        self.settings = settings
        self.stop_event = stop
        self.exit_code = 0
        self.fatal: MailcliError | None = None
        self.syncing = threading.Event()
        self._live: list[Account] = []
        self._live_lock = threading.Lock()
        self._down = False
        self._marks: NewMailMarks | None = None    # made on the thread (store access)
        self._backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        self.pop3 = traits_for(cfg).maildrop
        self._announced_start = False
        self._notify_refused = False

    # ------------------------------------------------------------------ thread
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - a bug: this account ends, the others go on
            logger.exception("%s: watcher failed", self.cfg.name)
            self.exit_code = 1
            self._state("failed")
            self.emit(Stopped(self.cfg.name, error=f"internal error: {type(exc).__name__}: "
                                                   f"{exc}", exit_code=1))

    def _run(self) -> None:
        name = self.cfg.name
        self._marks = NewMailMarks(self.store, name, self.cfg.watch_folders, self.pop3)
        while not self.stop_event.is_set():
            try:
                if self.pop3:
                    self._pop3_session()
                else:
                    self._imap_session()
            except _Stop:
                break
            except _FATAL as exc:
                self.fatal, self.exit_code = exc, int(exc.exit_code)
                logger.error("%s: watching stopped: %s", name, exc.message)
                self._state("failed")
                self.emit(Stopped(name, error=exc.message, exit_code=self.exit_code))
                return
            except Exception as exc:  # noqa: BLE001 - every other failure: retry later
                if self.stop_event.is_set():
                    break
                text = exc.message if isinstance(exc, MailcliError) else \
                    f"internal error: {type(exc).__name__}: {exc}"
                if not isinstance(exc, MailcliError):
                    logger.exception("%s: watcher session failed", name)
                self._disconnected(text)
                if self._sleep(self._backoff.next()):
                    break
        self._state("stopped")
        self.emit(Stopped(name))

    def abort(self) -> None:
        """Shut every connection of this account down at once (stopping; never raises)."""
        with self._live_lock:
            live = list(self._live)
        for acc in live:
            acc.abort()

    # ------------------------------------------------------------------ state
    def _state(self, state: str) -> None:
        self.emit(State(self.cfg.name, state=state))

    def _disconnected(self, error: str) -> None:
        if not self._down:
            self._down = True
            logger.warning("%s: disconnected: %s", self.cfg.name, error)
            self.emit(Disconnected(self.cfg.name, error=error))
        self._state("reconnecting")

    def _connected(self) -> None:
        if self._down:
            self._down = False
            logger.info("%s: reconnected", self.cfg.name)
            self.emit(Reconnected(self.cfg.name))

    def _announce_start(self, mode: str) -> bool:
        """`Started` once per account (a reconnect says `Reconnected`); True the first time."""
        if self._announced_start:
            return False
        self._announced_start = True
        self.emit(Started(self.cfg.name, mode=mode))
        return True

    def _sleep(self, seconds: float) -> bool:
        """Wait; True when asked to stop meanwhile."""
        return self.stop_event.wait(seconds)

    # ------------------------------------------------------------------ connections
    def _connect(self) -> Account:
        self._check_stop()
        acc = self.open_account(self.cfg)
        with self._live_lock:
            self._live.append(acc)
        try:
            acc.connect()
        except BaseException:
            self._forget(acc)
            raise
        return acc

    def _forget(self, acc: Account, polite: bool = False) -> None:
        """Close (LOGOUT) or abort a connection; it stays reachable by abort() until done."""
        try:
            if polite:
                acc.close()
            else:
                acc.abort()
        finally:
            with self._live_lock:
                if acc in self._live:
                    self._live.remove(acc)

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            raise _Stop

    # ------------------------------------------------------------------ lock + sync
    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The account lock, waiting (not failing) while another process holds it."""
        while True:
            self._check_stop()
            stack = ExitStack()
            try:
                stack.enter_context(account_lock(self.data_dir, self.cfg.name))
            except LockHeld:
                stack.close()
                self._sleep(self.settings.lock_retry)
                continue
            break
        with stack:
            self.syncing.set()
            try:
                yield
            finally:
                self.syncing.clear()

    def _imap_sync(self, acc: Account, folder: str | None = None) -> None:
        """The whole account (folder None) or one folder, then the events."""
        self._state("syncing")
        with self._locked():
            engine = ImapSync(self.store, acc, self.cfg.name, folders=self.cfg.folders)
            try:
                outcome = engine.run() if folder is None else engine.sync_folder(folder)
            except NotFoundError as exc:   # the folder went away: the next full sync sees it
                logger.info("%s: %s", self.cfg.name, exc.message)
                return
        self._report(outcome, folder, always=folder is None)

    def _report(self, outcome: SyncOutcome, folder: str | None, always: bool) -> None:
        errors = tuple(outcome.errors) + tuple(outcome.blocked)
        if always or outcome.new or outcome.updated or outcome.deleted or errors:
            self.emit(Synced(self.cfg.name, new=outcome.new, updated=outcome.updated,
                             deleted=outcome.deleted, folder=folder, errors=errors))
        self._announce([folder] if folder is not None else None)

    # ------------------------------------------------------------------ new mail
    def _announce(self, folders: list[str] | None) -> None:
        """NewMail for each watched folder (None: all) with messages past its mark."""
        assert self._marks is not None
        for folder, new in self._marks.news(self._marks.folders() if folders is None
                                            else folders):
            logger.info("%s/%s: %d new message(s)", self.cfg.name, folder, len(new))
            self.emit(NewMail(self.cfg.name, folder=folder, messages=tuple(new)))

    # ------------------------------------------------------------------ IMAP
    def _imap_session(self) -> None:
        self._state("connecting")
        acc = self._connect()
        waiters: list[Waiter] = []
        session_stop = threading.Event()
        polite = False
        try:
            self._imap_sync(acc)
            self._connected()
            self._backoff.reset()
            folders = [f.name for f in acc.list_folders()
                       if f.selectable and folder_selected(f.name, self.cfg.folders)]
            plan = plan_waits(folders, self.cfg.watch_folders,
                              acc.supports(Capability.NOTIFY) and not self._notify_refused,
                              acc.supports(Capability.IDLE), self.settings.idle_cap)
            changes: queue.Queue[Item] = queue.Queue()
            if plan.mode == "notify":
                notify_conn = self._connect()
                try:
                    notify_conn.notify_set(plan.pushed)
                except ProtocolError as exc:   # offered but refused: IDLE from now on
                    logger.warning("%s: the server refused NOTIFY (%s); using IDLE",
                                   self.cfg.name, exc.message)
                    self._notify_refused = True
                    self._forget(notify_conn)
                    plan = plan_waits(folders, self.cfg.watch_folders, False,
                                      acc.supports(Capability.IDLE), self.settings.idle_cap)
                else:
                    waiters.append(Waiter(notify_conn, plan.pushed, changes, session_stop,
                                          self.settings.keepalive, f"watch:{self.cfg.name}",
                                          notify=True))
            if plan.mode == "idle":
                for folder in plan.pushed:
                    waiters.append(Waiter(self._connect(), (folder,), changes, session_stop,
                                          self.settings.keepalive,
                                          f"watch:{self.cfg.name}:{folder}", notify=False))
            logger.info("%s: watching %s by %s, polling %d folder(s) every %s s",
                        self.cfg.name, ", ".join(plan.pushed) or "nothing", plan.mode,
                        len(plan.polled), self.cfg.poll_interval)
            for waiter in waiters:
                waiter.start()
            for waiter in waiters:   # from here on, changes are pushed (or caught up)
                waiter.ready.wait(self.cfg.timeout)
            self._announce_start(plan.mode)
            acc = self._imap_loop(acc, changes, plan.polled or plan.pushed[:1], plan.pushed)
            polite = True
        finally:
            session_stop.set()
            for w in waiters:
                self._forget(w.account)
            for w in waiters:
                w.join(timeout=1.0)
            self._forget(acc, polite=polite)

    def _imap_loop(self, acc: Account, changes: queue.Queue[Item], polled: tuple[str, ...],
                   pushed: tuple[str, ...]) -> Account:
        """Wait and sync until stopped; returns the (maybe renewed) sync connection."""
        interval = self.cfg.poll_interval
        last: dict[str, FolderStatus] = {}
        next_poll = time.monotonic()     # the first poll takes the baseline at once
        self._state("idle")
        while not self.stop_event.is_set():
            wait = max(0.0, min(0.5, next_poll - time.monotonic()))
            changed: set[str] = set()
            for item in drain(changes, wait):
                if isinstance(item, BaseException):
                    raise item
                changed.add(item)
            if time.monotonic() >= next_poll:
                next_poll = time.monotonic() + interval
                self._flush_outbox()
                if self._local_work():   # `mailcli flag/move/delete` meanwhile: push it
                    acc = self._retrying(acc, self._imap_sync)
                acc = self._retrying(acc, partial(self._poll, folders=polled, last=last,
                                                  into=changed))
            for folder in sorted(changed, key=lambda f: (f != "INBOX", f)):
                self._check_stop()
                acc = self._retrying(acc, partial(self._imap_sync, folder=folder))
            if changed:
                self._state("idle")
        return acc

    def _flush_outbox(self) -> None:
        """Send what waits in this account's Outbox (outside the account lock: sending
        takes the Outbox's own). A failure is the Outbox's to record (`mailcli send
        --list` shows it); it never stops the watcher."""
        if self.flush_outbox is None or self.stop_event.is_set():
            return
        try:
            self.flush_outbox(self.cfg.name)
        except Exception:  # noqa: BLE001 - sending must never end the watch
            logger.exception("%s: sending the Outbox failed", self.cfg.name)

    def _local_work(self) -> bool:
        """Changes queued here (journal entries not yet failed, flags changed in the
        cache) that only a sync pushes: checked every poll_interval."""
        if any(a.state is not ActionState.FAILED for a in self.store.journal.pending(self.cfg.name)):
            return True
        return any(self.store.has_unsynced_flags(self.cfg.name, s.name)
                   for s in self.store.folder_states(self.cfg.name))

    def _poll(self, acc: Account, folders: tuple[str, ...], last: dict[str, FolderStatus],
              into: set[str]) -> None:
        """STATUS of each polled folder; those that moved since the last poll go `into`."""
        for folder in folders:
            self._check_stop()
            try:
                status = acc.folder_status(folder)
            except NotFoundError:
                continue
            if status_changed(last.get(folder), status):
                into.add(folder)
            last[folder] = status

    def _retrying(self, acc: Account, work: Callable[[Account], object]) -> Account:
        """Run `work` on the sync connection; if that connection was lost (a NAT dropped
        it while it sat unused), connect once more and retry before giving up."""
        try:
            work(acc)
            return acc
        except (_Stop, *_FATAL):
            raise
        except MailcliError as exc:
            if self.stop_event.is_set():
                raise _Stop from exc
            logger.info("%s: sync connection failed (%s); connecting again", self.cfg.name,
                        exc.message)
            self._forget(acc)
        acc = self._connect()
        work(acc)
        return acc

    # ------------------------------------------------------------------ POP3
    def _pop3_session(self) -> None:
        while True:
            self._check_stop()
            self._state("syncing")
            self.syncing.set()
            try:
                result = fetch_accounts([self.cfg], store=self.store, data_dir=self.data_dir,
                                        connect=self.open_account,
                                        before_sync=lambda _cfg: self._flush_outbox())
            finally:
                self.syncing.clear()
            error = result.errors.get(self.cfg.name)
            if isinstance(error, LockHeld):
                self._sleep(self.settings.lock_retry)
                continue
            if error is not None:
                raise error
            self._connected()
            self._backoff.reset()
            first = self._announce_start("poll")
            report = result.accounts[0]
            outcome = SyncOutcome(self.cfg.name, "pop3", new=report.new, updated=report.updated,
                                  deleted=report.deleted)
            if report.error:
                outcome.errors.append(report.error)
            self._report(outcome, None, always=first)
            self._state("idle")
            if self._sleep(self.cfg.poll_interval):
                raise _Stop


class Watcher:
    """Every account's watcher: `start()`, then `stop()` (from a signal handler too) and
    `wait()`, or `run()` for both (blocks until stopped, returns the exit code)."""

    def __init__(self, configs: list[AccountConfig], *, store: Store, data_dir: Path,
                 open_account: OpenAccount, emit: Emit,
                 settings: WatchSettings | None = None,
                 stop: threading.Event | None = None,
                 flush_outbox: Callable[[str], object] | None = None) -> None:
        self.settings = settings or WatchSettings()
        self.stop_event = stop or threading.Event()
        self.accounts = [AccountWatcher(c, store=store, data_dir=data_dir,
                                        open_account=open_account, emit=emit,
                                        settings=self.settings, stop=self.stop_event,
                                        flush_outbox=flush_outbox)
                         for c in configs]

    def start(self) -> None:
        for a in self.accounts:
            a.start()

    def stop(self) -> None:
        self.stop_event.set()

    def alive(self) -> bool:
        return any(a.is_alive() for a in self.accounts)

    def wait(self, poll: float = 0.2) -> int:
        """Block until every account ended (stopped, or failed for good). After stop():
        a running sync gets `stop_grace` seconds, then its connections are shut down."""
        stopping_since: float | None = None
        aborted = False
        while self.alive():
            if self.stop_event.is_set():
                now = time.monotonic()
                stopping_since = stopping_since or now
                if not aborted and now - stopping_since >= self.settings.stop_grace:
                    aborted = True
                    for a in self.accounts:
                        a.abort()
                if now - stopping_since >= self.settings.stop_grace + 1.0:
                    break   # daemon threads: whatever still hangs ends with the process
            for a in self.accounts:
                a.join(timeout=poll / max(1, len(self.accounts)))
        return self.exit_code()

    def exit_code(self) -> int:
        """0 when stopped on request; else (every account failed for good) their codes."""
        failed = [a.exit_code for a in self.accounts if a.exit_code]
        if len(failed) < len(self.accounts):
            return 0
        return combine_exit_codes(failed, len(self.accounts))

    def run(self) -> int:
        self.start()
        return self.wait()

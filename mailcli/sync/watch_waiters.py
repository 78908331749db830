"""How the watcher waits for one account's changes: the plan of who watches which
folder (pure), and the threads that wait on connections of their own.

- `plan_waits`: NOTIFY (one connection for every watched folder) where the server offers
  it; else IDLE, one connection per watched folder up to a cap; every other selected
  folder (and watched ones over the cap) polled with STATUS every poll_interval; a
  server without IDLE: all polled.
- `Waiter`: a thread that loops `notify_wait` (after the session's NOTIFY SET on that
  connection) or `idle_wait` on its own connection and
  puts the names of changed folders into the account's queue; a failure (the link died)
  goes into the queue too, and ends the thread. `abort()` shuts its connection down
  from another thread.
- `status_changed`: whether two STATUS answers of a folder differ (polling).
"""
from __future__ import annotations

import fnmatch
import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailcli.accounts.base import Account
from mailcli.model import FolderStatus

logger = logging.getLogger(__name__)

IDLE_CAP = 3   # IDLE connections per account (servers limit connections per user and IP)


@dataclass(frozen=True)
class WaitPlan:
    """mode: "notify", "idle" or "poll"; pushed: folders watched by NOTIFY/IDLE;
    polled: folders checked with STATUS every poll_interval."""

    mode: str
    pushed: tuple[str, ...]
    polled: tuple[str, ...]


def matches(name: str, patterns: Iterable[str]) -> bool:
    """`watch_folders` globs: "INBOX" matches any case, like the server's INBOX."""
    return any(fnmatch.fnmatchcase(name, p) or (p.upper() == "INBOX" and name.upper() == "INBOX")
               for p in patterns)


def plan_waits(folders: Sequence[str], watch: Sequence[str], notify: bool, idle: bool,
               cap: int = IDLE_CAP) -> WaitPlan:
    """Who watches what (see the module doc). `folders`: the account's synced folders."""
    watched = [f for f in folders if matches(f, watch)]
    watched.sort(key=lambda f: (f != "INBOX", f))
    if notify and watched:
        pushed = watched
    elif idle and watched:
        pushed = watched[:cap]
    else:
        return WaitPlan("poll", (), tuple(folders))
    rest = tuple(f for f in folders if f not in pushed)
    return WaitPlan("notify" if notify else "idle", tuple(pushed), rest)


def status_changed(before: FolderStatus | None, now: FolderStatus) -> bool:
    """Whether a folder's STATUS moved (new or expunged mail, and with CONDSTORE flag
    changes; without it the unseen count catches read/unread changes)."""
    if before is None:
        return False
    return ((before.uidvalidity, before.uidnext, before.messages, before.unseen,
             before.highestmodseq)
            != (now.uidvalidity, now.uidnext, now.messages, now.unseen, now.highestmodseq))


Item = str | BaseException
"""What a waiter puts into the account's queue: a changed folder, or what ended it."""


class Waiter(threading.Thread):
    """Waits on `account` (connected, its own) for changes of `folders` (NOTIFY: all of
    them; IDLE: exactly one) and puts changed folder names into `out`."""

    def __init__(self, account: Account, folders: Sequence[str], out: queue.Queue[Item],
                 stop: threading.Event, keepalive: float, name: str, notify: bool) -> None:
        super().__init__(name=name, daemon=True)
        self.account = account
        self.folders = tuple(folders)
        self.out = out
        self.stop_event = stop
        self.keepalive = keepalive
        self.notify = notify
        self.ready = threading.Event()

    def _on_started(self) -> None:
        """The first wait is on: catch up with what changed before it (one sync each)."""
        if not self.ready.is_set():
            self.ready.set()
            for folder in self.folders:
                self.out.put(folder)

    def run(self) -> None:
        """NOTIFY: the connection's NOTIFY SET is done (by the account's session)."""
        stop = self.stop_event.is_set
        try:
            if self.notify:
                while not stop():
                    for folder in sorted(self.account.notify_wait(self.keepalive, stop,
                                                                  self._on_started)):
                        if folder in self.folders:
                            self.out.put(folder)
            else:
                folder = self.folders[0]
                while not stop():
                    if self.account.idle_wait(folder, self.keepalive, stop, self._on_started):
                        self.out.put(folder)
        except BaseException as exc:  # noqa: BLE001 - handed to the account's loop
            if not stop():
                self.out.put(exc)
        finally:
            self.ready.set()

    def abort(self) -> None:
        self.account.abort()


def drain(changes: queue.Queue[Item], wait: float) -> list[Item]:
    """What the waiters reported: the first item waited for up to `wait` seconds, then
    whatever else is queued already."""
    items: list[Item] = []
    try:
        items.append(changes.get(timeout=wait) if wait > 0 else changes.get_nowait())
        while True:
            items.append(changes.get_nowait())
    except queue.Empty:
        pass
    return items

"""What the server pushes while a watcher waits: IDLE (RFC 2177) and NOTIFY (RFC 5465).

Owns ImapAccount's waits, the ImapPush mixin (idle and idle_wait on a selected folder;
notify_set and notify_wait, several folders on one connection), and their pure parts:
which untagged responses mean "this folder changed", the NOTIFY SET command line, the TCP
keepalive that makes a dead link fail while nothing is sent, and the slicing of a long
wait into short polls (a stop request is seen within half a second). A wait is ended
from another thread by ImapSession.abort (accounts/imap_session.py).
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from imapclient.imap_utf7 import decode as decode_utf7

from mailcli.accounts.base import Capability
from mailcli.errors import TemporaryError

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from mailcli.accounts.imap_guard import Guard
    from mailcli.config.schema import AccountConfig

SLICE = 0.5            # seconds between two looks at the stop flag while waiting
DONE_TIMEOUT = 15.0    # a live server answers DONE/NOOP within this; else the link is dead
FAST_EMPTY = 3         # this many immediate empty wake-ups in a row: the peer closed
_CHANGE = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}
NOTIFY_EVENTS = b"(MessageNew MessageExpunge FlagChange)"


def is_change(resp: Any) -> bool:
    """An untagged IDLE response telling that the selected folder changed."""
    if not isinstance(resp, tuple) or not resp:
        return False
    if resp[0] == b"VANISHED":
        return True
    return len(resp) >= 2 and resp[1] in _CHANGE


def status_folder(resp: Any) -> str | None:
    """The wire name of a NOTIFY `* STATUS name (...)` response, else None."""
    if not isinstance(resp, tuple) or len(resp) < 2 or resp[0] != b"STATUS":
        return None
    name = resp[1]
    if isinstance(name, bytes):
        return str(decode_utf7(name))
    return str(name)


def notify_line(quoted: Iterable[bytes]) -> bytes:
    """NOTIFY SET for the given (already quoted) mailbox names: new, expunged and
    flag-changed messages; a non-selected mailbox's changes come as STATUS responses."""
    names = b" ".join(quoted)
    return b"NOTIFY SET (mailboxes (" + names + b") " + NOTIFY_EVENTS + b")"


def keepalive(sock: socket.socket) -> None:
    """TCP keepalive after 20 s of silence, then every 10 s, 3 misses: a link that died
    without a FIN (NAT timeout, cable) fails a blocked wait within about a minute."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for opt, value in (("TCP_KEEPIDLE", 20), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, opt):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
    except OSError:
        pass


def wait_slices(check: Callable[[float], list[Any]], timeout: float, stop: Callable[[], bool],
                done: Callable[[list[Any]], bool], where: str) -> list[Any]:
    """Call `check(seconds)` (imapclient's idle_check) in slices of at most SLICE seconds
    until `timeout` passed, `stop()` is true or `done(responses)` says enough. A check
    that keeps returning nothing at once means the peer closed the connection."""
    out: list[Any] = []
    end = time.monotonic() + timeout
    fast = 0
    while not stop():
        left = end - time.monotonic()
        if left <= 0:
            break
        wait = min(left, SLICE)
        began = time.monotonic()
        got = check(wait)
        if got:
            fast = 0
            out.extend(got)
            if done(got):
                break
        elif time.monotonic() - began < wait / 4:
            fast += 1
            if fast >= FAST_EMPTY:
                raise TemporaryError(f"connection to {where} closed while waiting for changes",
                                     hint="the watcher reconnects by itself")
        else:
            fast = 0
    return out


class ImapPush:
    """Mixin: needs ImapAccount's config and guard, ImapSession's live client and
    ImapAccount's command helpers."""

    config: AccountConfig
    _guard: Guard | None

    if TYPE_CHECKING:   # provided by Account, ImapSession and ImapAccount
        @property
        def _c(self) -> IMAPClient: ...
        def _require(self, cap: Capability) -> None: ...
        def _ready(self) -> None: ...
        def _errors(self, what: str, folder: str | None = None) -> AbstractContextManager[None]: ...
        def _select(self, folder: str) -> None: ...
        def _quoted(self, folder: str) -> bytes: ...
        def _send(self, line: bytes) -> bytes: ...
        def _finish(self, tag: bytes, what: str) -> bytes: ...
        def _user(self, name: str) -> str: ...

    def idle(self, folder: str, timeout: float) -> bool:
        self._require(Capability.IDLE)
        self._ready()
        with self._errors("IDLE", folder=folder):
            c = self._c
            self._select(folder)
            deadline = time.monotonic() + timeout
            c.idle()
            changed = False
            try:
                with self._waiting():   # no command deadline while IDLE waits on purpose
                    while not changed:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        for resp in c.idle_check(timeout=min(left, 60.0)):
                            if len(resp) >= 2 and resp[1] in (b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"):
                                changed = True
                            elif resp and resp[0] == b"VANISHED":
                                changed = True
            finally:
                _text, more = c.idle_done()
            return changed or any(len(r) >= 2 and r[1] in (b"EXISTS", b"EXPUNGE", b"FETCH") for r in more)

    def _waiting(self) -> AbstractContextManager[None]:
        return self._guard.waiting() if self._guard is not None else nullcontext()

    # ---------- waiting for changes (mailcli watch) ----------
    def idle_wait(self, folder: str, timeout: float, stop: Callable[[], bool],
                  started: Callable[[], None] | None = None) -> bool:
        self._require(Capability.IDLE)
        self._ready()
        with self._errors("IDLE", folder=folder):
            self._select(folder)
            got = self._idle_collect(timeout, stop,
                                     lambda rs: any(is_change(r) for r in rs), started)
            return any(is_change(r) for r in got)

    def notify_set(self, folders: Sequence[str]) -> None:
        self._require(Capability.NOTIFY)
        self._ready()                  # the connection's own set-up: not NOTIFY's failure
        with self._errors("NOTIFY"):   # on a connection of its own: nothing selected
            tag = self._send(notify_line(self._quoted(f) for f in folders))
            self._finish(tag, "NOTIFY")

    def notify_wait(self, timeout: float, stop: Callable[[], bool],
                    started: Callable[[], None] | None = None) -> set[str]:
        self._require(Capability.NOTIFY)
        self._ready()
        with self._errors("IDLE"):
            got = self._idle_collect(timeout, stop,
                                     lambda rs: any(status_folder(r) for r in rs),
                                     started)
        names = {status_folder(r) for r in got}
        return {self._user(n) for n in names if n}

    def _idle_collect(self, timeout: float, stop: Callable[[], bool],
                      done: Callable[[list[Any]], bool],
                      started: Callable[[], None] | None = None) -> list[Any]:
        """IDLE until `timeout`, `stop()` or `done(responses)`; then DONE and NOOP, each
        answered within DONE_TIMEOUT or the link counts as dead. Stopped: returns at once
        without DONE (the caller aborts the connection)."""
        c = self._c
        keepalive(c.socket())
        c.idle()
        if started is not None:
            started()
        with self._waiting():   # no command deadline while IDLE waits on purpose
            got = wait_slices(c.idle_check, timeout, stop, done,
                              f"{self.config.host}:{self.config.port}")
        if stop():
            return got
        c.socket().settimeout(min(self.config.timeout, DONE_TIMEOUT))
        try:
            _text, more = c.idle_done()
            got.extend(more)
            _text, more = c.noop()
            got.extend(more)
        finally:
            c._set_read_timeout()
        return got

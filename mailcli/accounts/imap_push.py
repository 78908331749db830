"""What the server pushes while a watcher waits: IDLE (RFC 2177) and NOTIFY (RFC 5465).

Owns the pure parts of waiting on an IMAP connection, so that ImapAccount's wait
methods stay small: which untagged responses mean "this folder changed", the NOTIFY SET
command line, the TCP keepalive that makes a dead link fail while nothing is sent, and
the slicing of a long wait into short polls (a stop request is seen within half a second).
"""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from imapclient.imap_utf7 import decode as decode_utf7

from mailcli.errors import TemporaryError

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

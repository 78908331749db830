"""Bounded reading of an IMAP connection: what a hostile or broken server may cost.

imaplib reads a literal with one `read(size)` of whatever size the server announces
(`{3000000000}` filled 1.2 GB in a second), keeps every untagged response of a command in
memory (an endless LIST grew to 1.2 GB), and only the socket timeout bounds time (one
byte every 3 s never trips it). `guarded_imap_class` returns a subclass of imapclient's
IMAP4 class whose `readline`, `read` and `_append_untagged` enforce, per command:

- a literal larger than LITERAL_CAP is refused *before* it is read (LiteralTooLarge);
- a response line longer than MAX_LINE is refused while it is read (LineTooLong);
- more than MAX_ITEMS untagged responses of one kind (MAX_LIST for LIST/LSUB; for FETCH
  at least twice the folder's EXISTS), or more than MAX_HELD bytes of them, are refused
  (TooManyResponses);
- a wall-clock deadline: base seconds (max(BASE_TIMEOUTS x timeout, BASE_MIN)) plus one
  second per MIN_RATE bytes received, so a big download that makes progress is never cut
  and a trickling server ends with DeadlineExceeded (exit 75) in bounded time.

Every refusal leaves the connection in an unknown state: the caller drops it. The deadline
starts again with each new command tag (`_new_tag`, which every command path calls) and
with `restart()`; `waiting()` suspends the checks while IDLE waits on purpose.
"""
from __future__ import annotations

import contextlib
import imaplib
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

from imapclient import IMAPClient, imap4
from imapclient import tls as imapclient_tls

from mailcli.accounts.deadline import Deadline
from mailcli.errors import ProtocolError

# Outlook.com accepts messages of up to 150 MB, the largest limit of the big providers
# (Gmail ~50, Fastmail 70); anything announced above this is not a message we can keep.
LITERAL_CAP = 160 * 1024 * 1024
# Response lines without literals: the longest real ones are SEARCH results (8 bytes per
# UID): 16 MB holds two million UIDs (imaplib's own 1 MB broke at ~125,000 messages).
MAX_LINE = 16 * 1024 * 1024
MAX_LIST = 100_000              # folders in one LIST/LSUB
MAX_ITEMS = 1_000_000           # untagged responses of one kind in one command
MAX_HELD = 256 * 1024 * 1024    # bytes of untagged responses held for one command
BASE_TIMEOUTS = 4               # a command may take this many read timeouts...
BASE_MIN = 20.0                 # ...but at least this many seconds
MIN_RATE = 16 * 1024            # plus one second per this many bytes received
_CHUNK = 1 << 20
_UID = re.compile(rb"\bUID (\d+)", re.I)


class GuardError(ProtocolError):
    """The server's reply broke a bound; the connection must be dropped."""


class LiteralTooLarge(GuardError):
    def __init__(self, message: str, size: int, uid: int | None) -> None:
        super().__init__(message)
        self.size = size
        self.uid = uid


class LineTooLong(GuardError):
    pass


class TooManyResponses(GuardError):
    pass


class Guard:
    """The bounds of one connection (shared by the IMAP4 object and ImapAccount)."""

    def __init__(self, host: str, port: int, timeout: float | None,
                 literal_cap: int = LITERAL_CAP) -> None:
        self.where = f"{host}:{port}"
        self.base = max(BASE_TIMEOUTS * (timeout or 0), BASE_MIN)
        self.literal_cap = literal_cap
        self.deadline = Deadline(self.base, f"a command to {self.where}")
        self.suspended = False
        self.exists = 0              # the largest EXISTS seen: scales the FETCH bound
        self.last_line = b""
        self._counts: dict[str, int] = {}
        self._held = 0

    def restart(self, what: str = "a command") -> None:
        self.deadline = Deadline(self.base, f"{what} to {self.where}")
        self.reset_held()

    def renew(self, what: str = "a command") -> None:
        """For a long answer still coming: the deadline becomes a fresh one if that ends
        later (never earlier: the time allowed for the bytes received stands); the
        response counts stand."""
        fresh = Deadline(self.base, f"{what} to {self.where}")
        if fresh.end > self.deadline.end:
            self.deadline = fresh

    def reset_held(self) -> None:
        """The untagged responses so far were consumed (popped) by the caller."""
        self._counts = {}
        self._held = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self.suspended = True
        try:
            yield
        finally:
            self.suspended = False
            self.restart("IDLE")

    def received(self, nbytes: int) -> None:
        self.deadline.allow(nbytes / MIN_RATE)
        self.deadline.check()

    def count(self, typ: str, dat: Any) -> None:
        size = len(dat[0]) + len(dat[1]) if isinstance(dat, tuple) else len(dat or b"")
        n = self._counts.get(typ, 0) + 1
        self._counts[typ] = n
        self._held += size
        if typ == "EXISTS" and isinstance(dat, bytes) and dat.isdigit():
            self.exists = max(self.exists, int(dat))
        limit = MAX_LIST if typ in ("LIST", "LSUB") else MAX_ITEMS
        if typ == "FETCH":
            limit = max(limit, 2 * self.exists)
        if n > limit:
            raise TooManyResponses(f"{self.where} sent more than {limit} {typ} responses to one "
                                   "command; the connection was dropped")
        if self._held > MAX_HELD:
            raise TooManyResponses(f"{self.where} sent more than {MAX_HELD >> 20} MB of {typ} "
                                   "responses to one command; the connection was dropped")


def no_delay(sock: socket.socket) -> None:
    """TCP_NODELAY: a command written while an earlier one is unanswered goes out at once.
    With Nagle's algorithm the kernel holds it until the earlier segment is acknowledged,
    and the server delays that acknowledgement (it has nothing to send yet): every
    pipelined command behind another cost a round trip on a real link."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def guarded_imap_class(base: type[imaplib.IMAP4], guard: Guard) -> type[imaplib.IMAP4]:
    """`base` (imapclient's IMAP4_TLS or IMAP4WithTimeout) with the bounds of `guard`;
    the greeting read by the constructor is already bounded."""

    class Guarded(base):  # type: ignore[valid-type, misc]
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            sock: socket.socket = super()._create_socket(timeout)
            no_delay(sock)
            return sock

        def _new_tag(self) -> bytes:
            guard.restart()
            return super()._new_tag()  # type: ignore[no-any-return]

        def readline(self) -> bytes:
            if guard.suspended:
                return super().readline()  # type: ignore[no-any-return]
            f = self.file
            buf = bytearray()
            while True:
                guard.deadline.check()
                chunk = f.peek(1)[:_CHUNK]   # what is buffered, or one read of the socket
                if not chunk:
                    break                    # EOF: imaplib turns a short line into abort
                nl = chunk.find(b"\n")
                take = len(chunk) if nl < 0 else nl + 1
                buf += f.read(take)
                guard.received(take)
                if len(buf) > MAX_LINE:
                    raise LineTooLong(f"{guard.where} sent a response line longer than "
                                      f"{MAX_LINE >> 20} MB; the connection was dropped")
                if nl >= 0:
                    break
            line = bytes(buf)
            guard.last_line = line[:512]
            return line

        def read(self, size: int) -> bytes:
            if guard.suspended:
                return super().read(size)  # type: ignore[no-any-return]
            if size > guard.literal_cap:
                m = _UID.search(guard.last_line)
                raise LiteralTooLarge(
                    f"{guard.where} announced a {size:,}-byte literal, over the "
                    f"{guard.literal_cap >> 20} MB limit; refused without reading it",
                    size, int(m.group(1)) if m else None)
            f = self.file
            # BytesIO grows in place and getvalue() hands over its buffer: one copy of the
            # literal in memory (a list of chunks and a join held two)
            out = BytesIO()
            left = size
            while left > 0:
                guard.deadline.check()
                data = f.read1(min(left, _CHUNK))
                if not data:
                    break                    # EOF: imaplib fails on the short literal
                out.write(data)
                left -= len(data)
                guard.received(len(data))
            return out.getvalue()

        def _get_capabilities(self) -> None:
            """The capabilities the greeting names (``* OK [CAPABILITY ...]``: Dovecot,
            Cyrus, Courier) are the pre-login ones; imaplib asked again with a CAPABILITY
            command, one round trip of every connection. Only at the greeting: after
            STARTTLS they are asked for (RFC 3501 6.2.1: nothing said in plaintext is
            believed). The greeting's entry is taken out, so no later reader mistakes it
            for the post-login list."""
            greeted = self.untagged_responses.pop("CAPABILITY", None)
            if greeted and not self.__dict__.get("_greeting_read") and isinstance(greeted[-1], bytes):
                self._greeting_read = True
                self.capabilities = tuple(greeted[-1].decode("ascii", "replace").upper().split())
                return
            self._greeting_read = True
            super()._get_capabilities()

        def _append_untagged(self, typ: str, dat: Any) -> None:
            if not guard.suspended:
                guard.count(typ, dat)
            super()._append_untagged(typ, dat)

    Guarded.__name__ = Guarded.__qualname__ = "Guarded" + base.__name__
    return Guarded


class BoundedIMAPClient(IMAPClient):
    """IMAPClient whose imaplib object is guarded by `guard` from the greeting on."""

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any) -> None:
        self.guard = guard
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self) -> imaplib.IMAP4:  # noqa: N802 - imapclient's seam
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            tls_class: Any = guarded_imap_class(imapclient_tls.IMAP4_TLS, self.guard)
            return tls_class(self.host, self.port, self.ssl_context, connect_timeout)  # type: ignore[no-any-return]
        return guarded_imap_class(imap4.IMAP4WithTimeout, self.guard)(self.host, self.port,
                                                                       connect_timeout)

"""Wall-clock deadlines for protocol commands and replies (a socket timeout only bounds
each read: a server that sends one byte every few seconds never trips it and would hold the
account lock for ever).

Two forms, one per reader:
- `Deadline` (IMAP, mailcli.accounts.imap_guard): the reader calls `check()` between its
  reads; past the deadline it raises DeadlineExceeded, a TemporaryError (exit 75: retry
  later). `allow(seconds)` moves the deadline out for work that is making progress.
- `Watchdog` (POP3, whose poplib reads cannot be interleaved with checks): `arm(seconds)`
  before reading a reply, `disarm()` once it is read; if the deadline passes first, one
  watchdog thread shuts the socket down (the blocked read then returns end-of-file at once)
  and `expired` stays set, so the caller reports "timed out" rather than "connection
  closed". One thread per connection, started on first use.
"""
from __future__ import annotations

import socket
import threading
import time

from mailcli.errors import TemporaryError


class DeadlineExceeded(TemporaryError):
    """A command did not finish in its wall-clock budget."""


class Deadline:
    def __init__(self, seconds: float, what: str = "the command") -> None:
        self.seconds = seconds
        self.what = what
        self.end = time.monotonic() + seconds

    def allow(self, seconds: float) -> None:
        self.end += seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise DeadlineExceeded(f"{self.what} did not finish within {self.seconds:.0f} s",
                                   hint="the server is too slow or stalls; retry later")


class Watchdog:
    """Shuts `sock` down when an armed deadline passes (see the module doc)."""

    def __init__(self, name: str = "deadline") -> None:
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._due: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wakes: float | None = None  # when the thread wakes by itself (None: never)
        self._name = name
        self.expired = False
        self.budget = 0.0        # seconds of the deadline that expired (for the message)

    def watch(self, sock: socket.socket | None) -> None:
        """The socket to shut down (replace it after STARTTLS; None to stop watching)."""
        with self._cond:
            self._sock = sock

    def arm(self, seconds: float) -> None:
        """A deadline `seconds` from now (replaces any earlier one)."""
        with self._cond:
            self._due = time.monotonic() + seconds
            self.budget = seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            # wake the thread only if it would sleep past the new deadline: a later one is
            # seen when it wakes (a wake-up per reply cost a thread switch and a GIL
            # hand-over per POP3 message)
            if self._wakes is None or self._due < self._wakes:
                self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._due = None

    def stop(self) -> None:
        """End the watchdog thread (the connection is closed)."""
        with self._cond:
            self._closed = True
            self._due = None
            self._sock = None
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._due is None:
                    self._wakes = None
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._wakes = self._due
                    self._cond.wait(left)
                    continue
                self._due = self._wakes = None
                self.expired = True
                if self._sock is not None:
                    try:
                        # the plain socket's shutdown, also under an SSLSocket (whose own
                        # shutdown() would drop its TLS object under a blocked reader)
                        socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
                    except OSError:
                        pass

"""Wall-clock deadlines for protocol replies (a per-recv socket timeout is not enough).

A socket timeout bounds each recv(); a server that sends one byte every few seconds
never trips it and can hold a connection (and the account lock) for ever. A Watchdog
bounds a whole reply instead: `arm(seconds)` before reading it, `disarm()` once it is
read. If the deadline passes first, one watchdog thread shuts the socket down (the
blocked read then returns end-of-file at once) and `expired` stays set, so the caller
reports "timed out" rather than "connection closed". One thread per connection, started
on first use; arming is a lock and a notify (cheap enough per pipelined reply).
"""
from __future__ import annotations

import socket
import threading
import time


class Watchdog:
    """Shuts `sock` down when an armed deadline passes (see the module doc)."""

    def __init__(self, name: str = "deadline") -> None:
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._due: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
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
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._due = None
                self.expired = True
                if self._sock is not None:
                    try:
                        # the plain socket's shutdown, also under an SSLSocket (whose own
                        # shutdown() would drop its TLS object under a blocked reader)
                        socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
                    except OSError:
                        pass

"""A wall-clock deadline for one protocol command (monotonic clock).

A socket timeout only bounds each read: a server that sends one byte every few seconds
never trips it and holds the account lock for ever. Readers call `check()` between reads;
past the deadline it raises DeadlineExceeded, a TemporaryError (exit 75: retry later).
`allow(seconds)` moves the deadline out, for work that is making progress (bytes arriving).
"""
from __future__ import annotations

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

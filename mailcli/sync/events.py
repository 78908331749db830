"""Progress as events: what a sync reports while it runs, and who listens.

The engine calls ``reporter.event(ev)`` with the frozen dataclasses below; the CLI
draws a progress bar or stays quiet, the TUI posts Messages, tests record them.
No UI imports here: a Reporter is any object with an ``event`` method.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from mailcli.model import AccountReport


@dataclass(frozen=True)
class AccountStarted:
    """An account's sync began (after its lock was taken)."""

    account: str
    protocol: str


@dataclass(frozen=True)
class FolderStarted:
    """A folder was planned: how many messages and bytes it will download."""

    account: str
    folder: str
    to_download: int
    bytes: int = 0


@dataclass(frozen=True)
class MessageFetched:
    """One message was stored locally (drives the progress bar)."""

    account: str
    folder: str
    size: int


@dataclass(frozen=True)
class FolderCounts:
    """What one folder's sync did."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    uploaded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class FolderDone:
    """A folder finished (or was stopped: `blocked` holds the guardrail reason)."""

    account: str
    folder: str
    counts: FolderCounts = field(default_factory=FolderCounts)
    blocked: str | None = None


@dataclass(frozen=True)
class AccountDone:
    """An account finished; the report is what `fetch --json` prints for it."""

    report: AccountReport


@dataclass(frozen=True)
class SyncWarning:
    """Something the user should see even with --quiet (a failed message, a guardrail)."""

    message: str
    account: str | None = None
    folder: str | None = None


SyncEvent = AccountStarted | FolderStarted | MessageFetched | FolderDone | AccountDone | SyncWarning


class Reporter(Protocol):
    """Receives sync events. Must not raise; called from the syncing thread."""

    def event(self, ev: SyncEvent) -> None: ...


class NullReporter:
    """Ignores every event (library use, --quiet without failures)."""

    def event(self, ev: SyncEvent) -> None:
        return None


_E = TypeVar("_E")


class RecordingReporter:
    """Keeps every event in order (tests)."""

    def __init__(self) -> None:
        self.events: list[SyncEvent] = []

    def event(self, ev: SyncEvent) -> None:
        self.events.append(ev)

    def of_type(self, kind: type[_E]) -> list[_E]:
        """The recorded events of one class, in order."""
        return [e for e in self.events if isinstance(e, kind)]

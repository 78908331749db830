"""The TUI's own Textual Messages (dataclasses): what workers and widgets post upwards."""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from mailcli.model import Envelope


@dataclass
class MailChanged(Message):
    """The store changed (an action, a sync, a cron fetch): reload tree counts and list."""

    keep_cursor: bool = True


@dataclass
class EnvelopeHighlighted(Message):
    """The cursor of the message list is on `envelope` (None: empty list / not loaded).
    `by_user`: a key or click moved it there (not start-up, a reload or a new folder)."""

    envelope: Envelope | None
    by_user: bool = False


@dataclass
class EnvelopeOpened(Message):
    """Enter on a message: open the full-screen view."""

    envelope: Envelope


@dataclass
class FolderSelected(Message):
    """A folder (or a whole account with folder None) was chosen in the tree."""

    account: str | None
    folder: str | None


@dataclass
class WatchState(Message):
    """The watcher's state of one account changed (for the status bar)."""

    account: str
    state: str


@dataclass
class WatchNote(Message):
    """Something the watcher wants the user to see (new mail, an account that stopped)."""

    text: str
    severity: str = "information"

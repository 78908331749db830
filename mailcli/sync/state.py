"""What the sync remembers between runs, per folder: the records the store persists.

`FolderSyncState` is the server-side bookmark (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ);
`SyncedMessage` is one UID with the flags both sides agreed on at the last sync (the
merge base of sync/plan.py). The store reads and writes these; this module has no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailcli.model import Flags, FolderStatus


@dataclass(frozen=True)
class FolderSyncState:
    """The last-synced bookmark of one folder on the server.

    `highestmodseq` is None when the server has no CONDSTORE (then every sync is a
    full flag scan).
    """

    folder: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None = None

    def uidvalidity_changed(self, status: FolderStatus) -> bool:
        """True when the server renumbered the folder: every cached UID is void (rematch)."""
        return status.uidvalidity != self.uidvalidity

    def unchanged(self, status: FolderStatus) -> bool:
        """True when the server proves nothing changed since this state (CONDSTORE only):
        same UIDVALIDITY, same UIDNEXT and same HIGHESTMODSEQ. Without a modseq the
        answer is always False (flag changes cannot be ruled out)."""
        return (self.highestmodseq is not None
                and status.highestmodseq == self.highestmodseq
                and status.uidvalidity == self.uidvalidity
                and status.uidnext == self.uidnext)

    @classmethod
    def from_status(cls, status: FolderStatus) -> FolderSyncState:
        """The state to record once a folder has been synced up to `status`."""
        return cls(folder=status.name, uidvalidity=status.uidvalidity,
                   uidnext=status.uidnext, highestmodseq=status.highestmodseq)


@dataclass(frozen=True)
class SyncedMessage:
    """One UID known at the last sync and the flags both sides had then."""

    uid: int
    flags: Flags


def synced_flags(records: Iterable[SyncedMessage]) -> dict[int, Flags]:
    """uid -> last-synced flags: the `local_last` argument of sync.plan.plan()."""
    return {r.uid: r.flags for r in records}

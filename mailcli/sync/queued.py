"""The PURE planner for one folder's queued journal entries (local changes made through
mailcli, or found in the Maildir after another program changed it): which of them the
engine performs on the server, in which order, and which UIDs it must not download
again meanwhile. No I/O; sync/replay.py executes a QueuedPlan, `--dry-run` prints it.

Rules (engine docstring, step 2c):

- A delete or move pinned to a UIDVALIDITY other than the folder's current one is not
  applied: the UID now means another message. A stale delete is dropped (reported; the
  message may come back); a stale move becomes an upload of the local copy to the
  destination. Unknown UIDVALIDITY (never recorded) counts as current.
- Current deletes go in one command (\\Deleted + UID EXPUNGE). More than
  ``Limits.allowed`` of the folder blocks the folder (--force).
- Then moves and appends, in the order they were queued.
- Every UID with a current delete or move is held: not downloaded again this run (if
  the action succeeds the server copy is gone anyway; if it fails it is retried).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailcli.store import Action as Queued
from mailcli.store import Append, DeleteUid, MoveUid
from mailcli.sync.actions import format_uids
from mailcli.sync.limits import Limits


@dataclass(frozen=True)
class DeleteQueued:
    """Delete these UIDs on the server in one command; `ids` are their journal rows."""

    folder: str
    uids: tuple[int, ...]
    ids: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.folder}: queued delete of uid {format_uids(self.uids)} on the server"


@dataclass(frozen=True)
class DropStaleDelete:
    """A queued delete from before a UIDVALIDITY change: not applied, reported."""

    folder: str
    id: int
    uid: int

    def __str__(self) -> str:
        return (f"{self.folder}: queued delete of uid {self.uid} not applied: the folder's "
                f"UIDVALIDITY changed (it may come back)")


@dataclass(frozen=True)
class MoveQueued:
    """MOVE one server message (COPYUID gives the local copy its new UID)."""

    folder: str
    id: int
    entry: MoveUid

    def __str__(self) -> str:
        return f"{self.folder}: queued {self.entry}"


@dataclass(frozen=True)
class StaleMove:
    """A queued move from before a UIDVALIDITY change: the local copy (in the destination)
    is uploaded instead; the server copy stays."""

    folder: str
    id: int
    entry: MoveUid

    def __str__(self) -> str:
        return (f"{self.folder}: queued move of uid {self.entry.uid} could not be applied "
                f"(UIDVALIDITY changed); the local copy will be uploaded to "
                f"{self.entry.dest} instead")


@dataclass(frozen=True)
class UploadQueued:
    """APPEND a local-only message (the one upload rule, mailcli.store.upload)."""

    folder: str
    action: Queued

    def __str__(self) -> str:
        return f"{self.folder}: queued {self.action.entry}"


QueuedStep = DeleteQueued | DropStaleDelete | MoveQueued | StaleMove | UploadQueued


@dataclass(frozen=True)
class QueuedPlan:
    """What the engine does with a folder's queued entries, in order; `held` UIDs are not
    downloaded again this run; `blocked` stops the folder (the guardrail)."""

    folder: str
    steps: tuple[QueuedStep, ...] = ()
    held: frozenset[int] = frozenset()
    blocked: str | None = None

    def lines(self) -> list[str]:
        if self.blocked:
            return [f"{self.folder}: BLOCKED: {self.blocked}"]
        return [str(s) for s in self.steps]


def plan_queued(folder: str, queued: Sequence[Queued], uidvalidity: int,
                recorded: int | None, cached: int, *, limits: Limits,
                force: bool = False) -> QueuedPlan:
    """Plan `folder`'s queued entries (see the module docstring).

    Args:
        uidvalidity: the folder's UIDVALIDITY on the server now.
        recorded: the UIDVALIDITY the cache recorded (for entries that carry none).
        cached: how many cached messages the folder has (for the guardrail).
    """
    def current(validity: int | None) -> bool:
        validity = validity or recorded
        return validity is None or validity == uidvalidity

    steps: list[QueuedStep] = []
    deletes: list[Queued] = []
    later: list[QueuedStep] = []
    held: set[int] = set()
    for a in queued:
        e = a.entry
        if isinstance(e, DeleteUid):
            if current(e.uidvalidity):
                deletes.append(a)
                held.add(e.uid)
            else:
                steps.append(DropStaleDelete(folder, a.id, e.uid))
        elif isinstance(e, MoveUid):
            if current(e.uidvalidity):
                later.append(MoveQueued(folder, a.id, e))
                held.add(e.uid)
            else:
                later.append(StaleMove(folder, a.id, e))
        elif isinstance(e, Append):
            later.append(UploadQueued(folder, a))
    uids = tuple(sorted({a.entry.uid for a in deletes if isinstance(a.entry, DeleteUid)}))
    allowed = limits.allowed(cached + len(uids))
    if len(uids) > allowed and not force:
        blocked = (f"would delete {len(uids)} of {cached + len(uids)} messages on the server "
                   f"in {folder} (deleted locally; limit {allowed}); run again with --force "
                   f"if that is intended")
        return QueuedPlan(folder, tuple(steps), frozenset(uids), blocked)
    if uids:
        steps.append(DeleteQueued(folder, uids, tuple(a.id for a in deletes)))
    return QueuedPlan(folder, tuple(steps + later), frozenset(held), None)

"""The actions a sync plan is made of: what to do to which side for one folder.

Each action is a frozen dataclass that describes itself (`str(action)`) for progress
lines, `mailcli fetch --dry-run` and `--debug` logs. They carry no behaviour: the
engine (sync/engine.py) executes them, the planner (sync/plan.py) only builds them.

Direction words: *pull* = server -> local store, *push* = local store -> server.
`Conflict` is not executed; it is a note the planner attaches when it had to choose
(for the run report and the log).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailcli.model import Flag, Flags


def format_flags(flags: Flags) -> str:
    """Flags in a stable order, e.g. ``seen,flagged``; ``-`` when empty."""
    return ",".join(f.value for f in Flag if f in flags) or "-"


def format_uids(uids: Iterable[int]) -> str:
    """A compact IMAP-style UID set, e.g. ``1:3,7,9:10``."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(parts)


@dataclass(frozen=True)
class Download:
    """Fetch these server messages (new since the last sync) into the local store."""

    folder: str
    uids: tuple[int, ...]

    def __str__(self) -> str:
        n = len(self.uids)
        noun = "message" if n == 1 else "messages"
        return f"download {n} {noun} from {self.folder} (uid {format_uids(self.uids)})"


@dataclass(frozen=True)
class PushFlags:
    """Change flags on the server (a local change): STORE +FLAGS add, -FLAGS remove."""

    folder: str
    uid: int
    add: Flags = frozenset()
    remove: Flags = frozenset()

    def __str__(self) -> str:
        change = [f"+{f.value}" for f in Flag if f in self.add]
        change += [f"-{f.value}" for f in Flag if f in self.remove]
        return f"push flags {self.folder} uid {self.uid}: {' '.join(change) or 'no change'}"


@dataclass(frozen=True)
class PullFlags:
    """Set the local copy's flags to `flags` (a server change, possibly merged)."""

    folder: str
    uid: int
    flags: Flags

    def __str__(self) -> str:
        return f"pull flags {self.folder} uid {self.uid}: now {format_flags(self.flags)}"


@dataclass(frozen=True)
class DeleteLocal:
    """Remove the local copy: the message was expunged on the server."""

    folder: str
    uid: int

    def __str__(self) -> str:
        return f"delete local copy {self.folder} uid {self.uid} (expunged on server)"


@dataclass(frozen=True)
class DeleteRemote:
    """Delete (\\Deleted + UID EXPUNGE) on the server: the message was deleted locally."""

    folder: str
    uid: int

    def __str__(self) -> str:
        return f"delete on server {self.folder} uid {self.uid} (deleted locally)"


@dataclass(frozen=True)
class UploadLocal:
    """APPEND a local-only message (e.g. written while offline) to the server."""

    folder: str
    local_id: int

    def __str__(self) -> str:
        return f"upload local message {self.local_id} to {self.folder}"


@dataclass(frozen=True)
class Conflict:
    """A note: the planner had to choose between the two sides (never executed)."""

    folder: str
    uid: int | None
    note: str

    def __str__(self) -> str:
        where = f"{self.folder} uid {self.uid}" if self.uid is not None else self.folder
        return f"note {where}: {self.note}"


Action = Download | PushFlags | PullFlags | DeleteLocal | DeleteRemote | UploadLocal
"""Every executable action (Conflict is a note, not an action)."""


def batch_push_flags(actions: Sequence[Action]) -> list[tuple[Flags, Flags, tuple[int, ...]]]:
    """Group PushFlags by identical (add, remove) so the engine sends one STORE per group.

    Returns (add, remove, uids) triples in first-seen order, uids ascending.
    """
    groups: dict[tuple[Flags, Flags], list[int]] = {}
    for action in actions:
        if isinstance(action, PushFlags):
            groups.setdefault((action.add, action.remove), []).append(action.uid)
    return [(add, remove, tuple(sorted(uids))) for (add, remove), uids in groups.items()]

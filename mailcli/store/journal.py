"""The pending-actions journal: local changes waiting to be applied on a server.

Owns the ``journal`` table and the entry kinds it holds. Each kind is a frozen
dataclass with ``to_payload``/``from_payload`` (the JSON stored in the row):

- :class:`DeleteUid`   delete one IMAP message (folder, uid, the UIDVALIDITY it belongs to)
- :class:`DeleteUidl`  delete one POP3 message (``delete_when_deleted_locally``)
- :class:`MoveUid`     move one IMAP message to another folder (the local copy is `id`)
- :class:`Append`      upload a local-only message (offline write, Sent copy, draft)
- :class:`CreateFolder`, :class:`RenameFolder`, :class:`DeleteFolder`
                       `mailcli folder create/rename/delete`

Write-ahead order (STYLE practice 9, alot's write queue):

1. ``enqueue(account, entry)`` records the intended action (its own committed
   transaction, or part of the caller's) *before* anything is done;
2. the sync engine performs the ``pending`` actions on the server;
3. ``mark_done`` (or ``mark_failed(error)``, which keeps the action for retry).

A crash between 2 and 3 leaves the action open; ``pending`` returns it again on the next
run, so every kind is idempotent when replayed (a delete or move of a UID that is gone
does nothing, an append is checked by the local row's UID and by Message-ID). Actions
of one account are returned in the order they were enqueued. Done rows are purged by
``purge_done`` (called by every fetch).
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from mailcli.errors import NotFoundError
from mailcli.model import Flag, Flags

logger = logging.getLogger(__name__)


class ActionKind(str, Enum):
    MOVE = "move"
    DELETE = "delete"
    APPEND = "append"
    CREATE_FOLDER = "create_folder"
    DELETE_FOLDER = "delete_folder"
    RENAME_FOLDER = "rename_folder"


class ActionState(str, Enum):
    PENDING = "pending"
    CLAIMED = "claimed"   # written by older versions (their claim step); read as open
    FAILED = "failed"
    DONE = "done"


# ----------------------------------------------------------------------- entries
def _opt_int(value: object) -> int | None:
    return None if value is None or value == "" else int(value)  # type: ignore[call-overload]


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _need(payload: Mapping[str, Any], key: str) -> Any:
    value = payload.get(key)
    if value is None or value == "":
        raise ValueError(f"no {key!r}")
    return value


@dataclass(frozen=True)
class DeleteUid:
    """Delete message `uid` of `folder` on the IMAP server (deleted locally).

    `uidvalidity` pins the UID to the numbering it was read under (None: unknown, taken
    as current); `message_id` is for the report when a stale UID is not applied."""

    kind: ClassVar[ActionKind] = ActionKind.DELETE
    folder: str
    uid: int
    uidvalidity: int | None = None
    message_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        return {"folder": self.folder, "uid": self.uid, "uidvalidity": self.uidvalidity,
                "message_id": self.message_id}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> DeleteUid:
        return cls(str(_need(p, "folder")), int(_need(p, "uid")), _opt_int(p.get("uidvalidity")),
                   _opt_str(p.get("message_id")))

    def __str__(self) -> str:
        return f"delete of uid {self.uid}"


@dataclass(frozen=True)
class DeleteUidl:
    """Delete the POP3 message with this UIDL on the server (deleted locally). `message`
    is the local copy that was deleted (its ledger row tells a reused UIDL apart); rows
    queued before it existed have none."""

    kind: ClassVar[ActionKind] = ActionKind.DELETE
    uidl: str
    message: int | None = None

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uidl": self.uidl}
        if self.message is not None:
            out["message"] = self.message
        return out

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> DeleteUidl:
        mid = p.get("message")
        return cls(str(_need(p, "uidl")), mid if isinstance(mid, int) else None)

    def __str__(self) -> str:
        return f"delete of uidl {self.uidl}"


@dataclass(frozen=True)
class MoveUid:
    """Move message `uid` of `folder` to `dest` on the IMAP server; `id` is the local copy
    (already in `dest`), which gets the new UID (COPYUID)."""

    kind: ClassVar[ActionKind] = ActionKind.MOVE
    folder: str
    uid: int
    dest: str
    id: int | None = None
    uidvalidity: int | None = None
    message_id: str | None = None
    create_dest: bool = False     # `delete` to a Trash the server does not have yet

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"folder": self.folder, "uid": self.uid, "dest": self.dest,
                               "id": self.id, "uidvalidity": self.uidvalidity,
                               "message_id": self.message_id}
        if self.create_dest:
            out["create_dest"] = True
        return out

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> MoveUid:
        return cls(str(_need(p, "folder")), int(_need(p, "uid")), str(_need(p, "dest")),
                   _opt_int(p.get("id")), _opt_int(p.get("uidvalidity")),
                   _opt_str(p.get("message_id")), bool(p.get("create_dest")))

    def __str__(self) -> str:
        return f"move of uid {self.uid} to {self.dest}"


@dataclass(frozen=True)
class Append:
    """Upload local message `id` (no UID yet) to `folder` on the IMAP server.

    `sent_copy`/`draft` mark uploads the sending side queued (`mailcli send` replays
    those itself); `message_id` and `flags` describe the message for reports (the upload
    uses the local row's folder and flags at the time it runs)."""

    kind: ClassVar[ActionKind] = ActionKind.APPEND
    folder: str
    id: int
    message_id: str | None = None
    flags: Flags | None = None
    sent_copy: bool = False
    draft: bool = False

    def to_payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"folder": self.folder, "id": self.id}
        if self.message_id is not None:
            out["message_id"] = self.message_id
        if self.flags is not None:
            out["flags"] = sorted(f.value for f in self.flags)
        if self.sent_copy:
            out["sent_copy"] = True
        if self.draft:
            out["draft"] = True
        return out

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> Append:
        names = p.get("flags")
        flags = None if names is None else frozenset(
            f for f in Flag if f.value in {str(n) for n in names})
        return cls(str(_need(p, "folder")), int(_need(p, "id")), _opt_str(p.get("message_id")),
                   flags, bool(p.get("sent_copy")), bool(p.get("draft")))

    @property
    def queued_by_sending(self) -> bool:
        return self.sent_copy or self.draft

    def __str__(self) -> str:
        return f"upload of message {self.id}"


@dataclass(frozen=True)
class CreateFolder:
    """Create folder `name` on the IMAP server (`mailcli folder create`)."""

    kind: ClassVar[ActionKind] = ActionKind.CREATE_FOLDER
    name: str

    def to_payload(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> CreateFolder:
        return cls(str(_need(p, "name")))

    def __str__(self) -> str:
        return f"create folder {self.name}"


@dataclass(frozen=True)
class RenameFolder:
    """Rename folder `old` to `new` on the IMAP server (`mailcli folder rename`)."""

    kind: ClassVar[ActionKind] = ActionKind.RENAME_FOLDER
    old: str
    new: str

    def to_payload(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> RenameFolder:
        return cls(str(_need(p, "old")), str(_need(p, "new")))

    def __str__(self) -> str:
        return f"rename folder {self.old} to {self.new}"


@dataclass(frozen=True)
class DeleteFolder:
    """Delete folder `name` on the IMAP server (`mailcli folder delete`; `force`: even
    when it holds mail)."""

    kind: ClassVar[ActionKind] = ActionKind.DELETE_FOLDER
    name: str
    force: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {"name": self.name, "force": self.force}

    @classmethod
    def from_payload(cls, p: Mapping[str, Any]) -> DeleteFolder:
        return cls(str(_need(p, "name")), bool(p.get("force")))

    def __str__(self) -> str:
        return f"delete folder {self.name}"


Entry = DeleteUid | DeleteUidl | MoveUid | Append | CreateFolder | RenameFolder | DeleteFolder
"""Every journal entry kind."""


def entry_from_payload(kind: ActionKind | str, payload: Mapping[str, Any]) -> Entry:
    """The entry a stored row holds (rows written by older versions included: a delete
    is by UIDL when its payload has one). Raises ValueError for a row that says nothing
    performable (an unknown kind, no folder/uid/id)."""
    kind = ActionKind(kind)
    if kind is ActionKind.MOVE:
        return MoveUid.from_payload(payload)
    if kind is ActionKind.APPEND:
        return Append.from_payload(payload)
    if kind is ActionKind.CREATE_FOLDER:
        return CreateFolder.from_payload(payload)
    if kind is ActionKind.RENAME_FOLDER:
        return RenameFolder.from_payload(payload)
    if kind is ActionKind.DELETE_FOLDER:
        return DeleteFolder.from_payload(payload)
    if payload.get("uidl"):
        return DeleteUidl.from_payload(payload)
    return DeleteUid.from_payload(payload)


# ------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Action:
    """One journaled action: its row (id, state, attempts, last error) and its entry."""

    id: int
    account: str
    entry: Entry
    state: ActionState
    attempts: int
    last_error: str | None
    created_at: float
    updated_at: float

    @property
    def kind(self) -> ActionKind:
        return self.entry.kind

    @property
    def payload(self) -> dict[str, Any]:
        """The entry as stored (for reports and callers that read single keys)."""
        return self.entry.to_payload()


_COLS = "id, account, kind, payload, state, attempts, last_error, created_at, updated_at"
_OPEN = ("pending", "claimed", "failed")
_Row = tuple[int, str, str, str, str, int, "str | None", float, float]


def _action(r: _Row) -> Action | None:
    try:
        entry = entry_from_payload(r[2], json.loads(r[3]))
    except (ValueError, TypeError) as exc:
        logger.warning("journal action %d (%s) cannot be read and is skipped: %s", r[0], r[2], exc)
        return None
    return Action(r[0], r[1], entry, ActionState(r[4]), r[5], r[6], r[7], r[8])


class Journal:
    """The journal API. `write` gives a write transaction, `read` a connection."""

    def __init__(self, read: Callable[[], sqlite3.Connection],
                 write: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._read = read
        self._write = write

    def enqueue(self, account: str, entry: Entry) -> int:
        """Record an action to perform later; returns its id (durable when this returns,
        or when the caller's enclosing transaction commits)."""
        text = json.dumps(entry.to_payload(), sort_keys=True)
        now = time.time()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO journal (account, kind, payload, state, created_at, updated_at)"
                " VALUES (?, ?, ?, 'pending', ?, ?)", (account, entry.kind.value, text, now, now))
            return int(cur.lastrowid or 0)

    def pending(self, account: str | None = None) -> list[Action]:
        """Every action not done yet (pending, interrupted by a crash, or failed), oldest
        first. A row that cannot be read is logged and left out."""
        sql = f"SELECT {_COLS} FROM journal WHERE state IN (?, ?, ?)"
        params: list[object] = list(_OPEN)
        if account is not None:
            sql += " AND account = ?"
            params.append(account)
        rows = (_action(r) for r in self._read().execute(sql + " ORDER BY id", params))
        return [a for a in rows if a is not None]

    def _set(self, id: int, state: ActionState, error: str | None) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE journal SET state = ?, last_error = COALESCE(?, last_error),"
                " attempts = attempts + ?, updated_at = ? WHERE id = ?",
                (state.value, error, int(state is ActionState.FAILED), time.time(), id))
            if cur.rowcount == 0:
                raise NotFoundError(f"no journal action {id}")

    def mark_done(self, id: int) -> None:
        """The action was performed; it will not be replayed."""
        self._set(id, ActionState.DONE, None)

    def mark_failed(self, id: int, error: str) -> None:
        """The attempt failed; the action stays open for a later retry."""
        self._set(id, ActionState.FAILED, error)

    def cancel(self, id: int) -> None:
        """Drop an open action (e.g. a user undo before it was pushed)."""
        with self._write() as conn:
            conn.execute("DELETE FROM journal WHERE id = ? AND state != 'done'", (id,))

    def get(self, id: int) -> Action:
        r = self._read().execute(f"SELECT {_COLS} FROM journal WHERE id = ?", (id,)).fetchone()
        action = None if r is None else _action(r)
        if action is None:
            raise NotFoundError(f"no journal action {id}")
        return action

    def purge_done(self, older_than: float = 7 * 86400) -> int:
        """Delete done actions older than `older_than` seconds; returns how many."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM journal WHERE state = 'done' AND updated_at < ?",
                               (time.time() - older_than,))
            return cur.rowcount

"""The pending-actions journal: local changes waiting to be applied on a server.

Owns the ``journal`` table. Write-ahead order (STYLE practice 9, alot's write queue):

1. ``enqueue`` records the intended action (its own committed transaction) *before*
   anything is done;
2. the sync engine ``claim``\\ s actions (state ``claimed``, ``attempts`` + 1) and
   performs them on the server;
3. ``mark_done`` (or ``mark_failed(error)``, which keeps the action for retry).

A crash between 2 and 3 leaves the action ``claimed``; ``claim``/``pending`` return it again
on the next run, so every action kind must be idempotent when replayed (set flags = absolute
flags, move/delete by Message-ID or UID that may already be gone, append checked by
Message-ID). Actions of one account are returned in the order they were enqueued.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from mailcli.errors import NotFoundError, UsageError


class ActionKind(str, Enum):
    FLAG = "flag"
    MOVE = "move"
    DELETE = "delete"
    APPEND = "append"
    SEND = "send"
    CREATE_FOLDER = "create_folder"
    DELETE_FOLDER = "delete_folder"
    RENAME_FOLDER = "rename_folder"


class ActionState(str, Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    FAILED = "failed"
    DONE = "done"


@dataclass(frozen=True)
class Action:
    """One journaled action. `payload` is the JSON object given to enqueue."""

    id: int
    account: str
    kind: ActionKind
    payload: dict[str, Any]
    state: ActionState
    attempts: int
    last_error: str | None
    created_at: float
    updated_at: float


_COLS = "id, account, kind, payload, state, attempts, last_error, created_at, updated_at"
_OPEN = ("pending", "claimed", "failed")


def _action(r: tuple) -> Action:
    return Action(r[0], r[1], ActionKind(r[2]), json.loads(r[3]), ActionState(r[4]), r[5],
                  r[6], r[7], r[8])


class Journal:
    """The journal API. `write` gives a write transaction, `read` a connection."""

    def __init__(self, read: Callable[[], sqlite3.Connection],
                 write: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._read = read
        self._write = write

    def enqueue(self, account: str, kind: ActionKind | str, payload: dict[str, Any]) -> int:
        """Record an action to perform later; returns its id (durable when this returns)."""
        try:
            kind = ActionKind(kind)
        except ValueError:
            raise UsageError(f"unknown action kind {kind!r}") from None
        text = json.dumps(payload, sort_keys=True)
        now = time.time()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO journal (account, kind, payload, state, created_at, updated_at)"
                " VALUES (?, ?, ?, 'pending', ?, ?)", (account, kind.value, text, now, now))
            return int(cur.lastrowid or 0)

    def pending(self, account: str | None = None) -> list[Action]:
        """Every action not done yet (pending, claimed by a crashed run, or failed), oldest
        first."""
        sql = f"SELECT {_COLS} FROM journal WHERE state IN (?, ?, ?)"
        params: list[object] = list(_OPEN)
        if account is not None:
            sql += " AND account = ?"
            params.append(account)
        return [_action(r) for r in self._read().execute(sql + " ORDER BY id", params)]

    def claim(self, account: str, limit: int | None = None,
              max_attempts: int | None = None) -> list[Action]:
        """Take the open actions of an account (oldest first) for performing now.

        Claimed actions count one more attempt. Actions that already failed
        `max_attempts` times are left alone (still listed by :meth:`pending`).
        """
        with self._write() as conn:
            sql = f"SELECT {_COLS} FROM journal WHERE account = ? AND state IN (?, ?, ?)"
            params: list[object] = [account, *_OPEN]
            if max_attempts is not None:
                sql += " AND attempts < ?"
                params.append(max_attempts)
            sql += " ORDER BY id"
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            rows = [_action(r) for r in conn.execute(sql, params)]
            now = time.time()
            conn.executemany(
                "UPDATE journal SET state = 'claimed', attempts = attempts + 1, updated_at = ?"
                " WHERE id = ?", [(now, a.id) for a in rows])
        return [Action(a.id, a.account, a.kind, a.payload, ActionState.CLAIMED, a.attempts + 1,
                       a.last_error, a.created_at, now) for a in rows]

    def _set(self, id: int, state: ActionState, error: str | None) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE journal SET state = ?, last_error = COALESCE(?, last_error),"
                " updated_at = ? WHERE id = ?", (state.value, error, time.time(), id))
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
        if r is None:
            raise NotFoundError(f"no journal action {id}")
        return _action(r)

    def purge_done(self, older_than: float = 7 * 86400) -> int:
        """Delete done actions older than `older_than` seconds; returns how many."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM journal WHERE state = 'done' AND updated_at < ?",
                               (time.time() - older_than,))
            return cur.rowcount

    def replay(self, account: str, perform: Callable[[Action], None],
               max_attempts: int | None = None) -> Iterator[tuple[Action, Exception | None]]:
        """Claim and perform every open action of `account` in order, marking each done or
        failed; yields (action, error or None). `perform` must be idempotent."""
        for action in self.claim(account, max_attempts=max_attempts):
            try:
                perform(action)
            except Exception as exc:  # noqa: BLE001 - kept for retry, reported to caller
                self.mark_failed(action.id, str(exc) or type(exc).__name__)
                yield action, exc
            else:
                self.mark_done(action.id)
                yield action, None

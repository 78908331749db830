"""Sync state kept in the index: per-folder server state and the POP3 UIDL ledger.

Owns the ``folders`` and ``pop_ledger`` tables. These rows are *not* derivable from the
Maildirs, so :func:`mailcli.store.rebuild.rebuild_index` keeps them; per-message identity
(IMAP UID, POP3 UIDL) is also written into each Maildir file name (``,U=``/``,P=``) so it
survives even the loss of the index file.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from mailcli.model import FolderRole


@dataclass(frozen=True)
class FolderState:
    """What the sync engine remembers about one server folder."""

    account: str
    name: str
    role: FolderRole | None = None
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    synced_at: float | None = None


@dataclass(frozen=True)
class PopLedgerEntry:
    """One UIDL ever downloaded. `message` is the local id (None/absent once deleted
    locally: see `local_present`)."""

    account: str
    uidl: str
    message: int | None
    downloaded_at: float
    server_deleted: bool
    local_present: bool


def _folder(r: tuple[Any, ...]) -> FolderState:
    role = None
    if r[2]:
        try:
            role = FolderRole(r[2])
        except ValueError:
            role = None
    return FolderState(r[0], r[1], role, r[3], r[4], r[5], r[6])


_FOLDER_COLS = "account, name, role, uidvalidity, uidnext, highestmodseq, synced_at"


def get_folder(conn: sqlite3.Connection, account: str, name: str) -> FolderState | None:
    r = conn.execute(f"SELECT {_FOLDER_COLS} FROM folders WHERE account = ? AND name = ?",
                     (account, name)).fetchone()
    return None if r is None else _folder(r)


def list_folders(conn: sqlite3.Connection, account: str | None = None) -> list[FolderState]:
    if account is None:
        rows = conn.execute(f"SELECT {_FOLDER_COLS} FROM folders ORDER BY account, name")
    else:
        rows = conn.execute(f"SELECT {_FOLDER_COLS} FROM folders WHERE account = ?"
                            " ORDER BY name", (account,))
    return [_folder(r) for r in rows]


def put_folder(conn: sqlite3.Connection, state: FolderState) -> None:
    conn.execute(
        "INSERT INTO folders (account, name, role, uidvalidity, uidnext, highestmodseq,"
        " synced_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (account, name) DO UPDATE SET"
        " role=excluded.role, uidvalidity=excluded.uidvalidity, uidnext=excluded.uidnext,"
        " highestmodseq=excluded.highestmodseq, synced_at=excluded.synced_at",
        (state.account, state.name, state.role.value if state.role else None,
         state.uidvalidity, state.uidnext, state.highestmodseq, state.synced_at))


def maildir_stamp(conn: sqlite3.Connection, account: str, name: str) -> str | None:
    """The folder's recorded Maildir stamp (None if none or no such folder)."""
    r = conn.execute("SELECT maildir_stamp FROM folders WHERE account = ? AND name = ?",
                     (account, name)).fetchone()
    return None if r is None else r[0]


def set_maildir_stamp(conn: sqlite3.Connection, account: str, name: str,
                      stamp: str | None) -> None:
    """Record (or clear) the folder's Maildir stamp; a no-op for an unknown folder."""
    conn.execute("UPDATE folders SET maildir_stamp = ? WHERE account = ? AND name = ?",
                 (stamp, account, name))


def delete_folder(conn: sqlite3.Connection, account: str, name: str) -> None:
    conn.execute("DELETE FROM folders WHERE account = ? AND name = ?", (account, name))


# --------------------------------------------------------------------- POP3 ledger
def ledger_add(conn: sqlite3.Connection, account: str, uidl: str, message: int | None,
               downloaded_at: float | None = None) -> None:
    conn.execute(
        "INSERT INTO pop_ledger (account, uidl, message, downloaded_at) VALUES (?,?,?,?)"
        " ON CONFLICT (account, uidl) DO UPDATE SET message = excluded.message",
        (account, uidl, message, downloaded_at if downloaded_at is not None else time.time()))


def ledger_message(conn: sqlite3.Connection, account: str, uidl: str) -> tuple[bool, int | None]:
    """(known, message id) for a UIDL."""
    r = conn.execute("SELECT message FROM pop_ledger WHERE account = ? AND uidl = ?",
                     (account, uidl)).fetchone()
    return (False, None) if r is None else (True, r[0])


def ledger(conn: sqlite3.Connection, account: str) -> dict[str, PopLedgerEntry]:
    rows = conn.execute(
        "SELECT l.account, l.uidl, l.message, l.downloaded_at, l.server_deleted,"
        " m.id IS NOT NULL FROM pop_ledger l LEFT JOIN messages m ON m.id = l.message"
        " WHERE l.account = ?", (account,))
    return {r[1]: PopLedgerEntry(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows}


def ledger_mark_server_deleted(conn: sqlite3.Connection, account: str,
                               uidls: list[str]) -> None:
    conn.executemany("UPDATE pop_ledger SET server_deleted = 1 WHERE account = ? AND uidl = ?",
                     [(account, u) for u in uidls])


def ledger_forget(conn: sqlite3.Connection, account: str, uidls: list[str]) -> None:
    """Drop ledger rows for UIDLs no longer on the server (keeps the ledger small)."""
    conn.executemany("DELETE FROM pop_ledger WHERE account = ? AND uidl = ?",
                     [(account, u) for u in uidls])

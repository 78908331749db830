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
    """One server message ever downloaded (or skipped). `message` is the local id
    (None/absent once deleted locally: see `local_present`). Its identity is the UIDL plus
    `size`, the size the server announced in LIST (None for rows older than the
    migration m004: never trusted for a deletion), and `sha256` of the stored bytes; one
    UIDL may have several rows (listed twice by the server, or reused for a new message).
    `skipped` is why the message was reported once and is neither downloaded nor deleted."""

    account: str
    uidl: str
    message: int | None
    downloaded_at: float
    server_deleted: bool
    local_present: bool
    id: int = 0
    size: int | None = None
    sha256: str | None = None
    skipped: str | None = None


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
_LEDGER_SELECT = (
    "SELECT l.account, l.uidl, l.message, l.downloaded_at, l.server_deleted,"
    " m.id IS NOT NULL, l.id, l.size, l.sha256, l.skipped"
    " FROM pop_ledger l LEFT JOIN messages m ON m.id = l.message WHERE l.account = ?")


def _entry(r: tuple[Any, ...]) -> PopLedgerEntry:
    return PopLedgerEntry(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), r[6], r[7], r[8], r[9])


def ledger_add(conn: sqlite3.Connection, account: str, uidl: str, message: int | None,
               downloaded_at: float | None = None) -> None:
    """Point the UIDL's newest row at `message` (a file found in the Maildir, a rebuilt
    index), or add a row of unknown size if the UIDL has none."""
    r = conn.execute("SELECT id FROM pop_ledger WHERE account = ? AND uidl = ?"
                     " ORDER BY id DESC LIMIT 1", (account, uidl)).fetchone()
    if r is not None:
        conn.execute("UPDATE pop_ledger SET message = ? WHERE id = ?", (message, r[0]))
        return
    conn.execute(
        "INSERT INTO pop_ledger (account, uidl, message, downloaded_at) VALUES (?,?,?,?)",
        (account, uidl, message, downloaded_at if downloaded_at is not None else time.time()))


def ledger_record(conn: sqlite3.Connection, account: str, uidl: str, message: int | None, *,
                  size: int | None, sha256: str | None = None,
                  skipped: str | None = None) -> None:
    """A new row: one server message (UIDL + announced size) stored as `message`, or
    skipped for the reason `skipped`."""
    conn.execute(
        "INSERT INTO pop_ledger (account, uidl, message, downloaded_at, size, sha256, skipped)"
        " VALUES (?,?,?,?,?,?,?)", (account, uidl, message, time.time(), size, sha256, skipped))


def ledger_message(conn: sqlite3.Connection, account: str, uidl: str) -> tuple[bool, int | None]:
    """(known, message id of its newest row) for a UIDL."""
    r = conn.execute("SELECT message FROM pop_ledger WHERE account = ? AND uidl = ?"
                     " ORDER BY id DESC LIMIT 1", (account, uidl)).fetchone()
    return (False, None) if r is None else (True, r[0])


def ledger_same_bytes(conn: sqlite3.Connection, account: str, uidl: str,
                      sha256: str) -> int | None:
    """The local message already holding these exact bytes under this UIDL, if any."""
    r = conn.execute("SELECT l.message FROM pop_ledger l JOIN messages m ON m.id = l.message"
                     " WHERE l.account = ? AND l.uidl = ? AND l.sha256 = ? LIMIT 1",
                     (account, uidl, sha256)).fetchone()
    return None if r is None else int(r[0])


def ledger(conn: sqlite3.Connection, account: str) -> dict[str, PopLedgerEntry]:
    """The newest stored (not skipped) row of each UIDL."""
    out: dict[str, PopLedgerEntry] = {}
    for e in ledger_rows(conn, account):
        if e.skipped is None:
            out[e.uidl] = e
    return out


def ledger_rows(conn: sqlite3.Connection, account: str, *,
                settled_only: bool = False) -> list[PopLedgerEntry]:
    """Every row of the account's ledger, oldest first; `settled_only`: only the rows of
    messages deleted on the server or skipped."""
    where = " AND (l.server_deleted OR coalesce(l.skipped, '') != '')" if settled_only else ""
    return [_entry(r) for r in conn.execute(_LEDGER_SELECT + where + " ORDER BY l.id", (account,))]


def ledger_set_size(conn: sqlite3.Connection, row: int, size: int) -> None:
    """Record the announced size of a row from before m004, once it is confirmed."""
    conn.execute("UPDATE pop_ledger SET size = ? WHERE id = ?", (size, row))


def ledger_mark_server_deleted(conn: sqlite3.Connection, rows: list[int]) -> None:
    conn.executemany("UPDATE pop_ledger SET server_deleted = 1 WHERE id = ?",
                     [(r,) for r in rows])


def ledger_forget(conn: sqlite3.Connection, rows: list[int]) -> None:
    """Drop ledger rows of messages no longer on the server (keeps the ledger small)."""
    conn.executemany("DELETE FROM pop_ledger WHERE id = ?", [(r,) for r in rows])

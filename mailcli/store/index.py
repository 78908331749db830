"""The SQLite index of cached messages: rows, full-text rows, and the paged queries.

Owns every SQL statement on ``messages``: inserting a parsed message (and its words),
reading envelopes page by page, counts, folder summaries, lookups by id/UID/UIDL, flag and
file-name updates, deletion. Functions take a ``sqlite3.Connection`` (the caller owns the
transaction, see :mod:`mailcli.store.db`). The Maildir file is the truth for the bytes; the
``flags`` column (Maildir letters) is the local truth for flags and always matches the
file name's ``:2,`` suffix.

The full-text rows (``messages_words``, ``messages_fts``) are written through
:mod:`mailcli.store.fts`, which owns which table holds a message's words: functions that
remove or replace a message take its file's text now (``fts.values`` of a fresh parse, or
None when the file is gone) so that its words can be removed from the contentless table.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mailcli.errors import NotFoundError, UsageError
from mailcli.model import Envelope, Flag, Flags, FolderRole, FolderSummary
from mailcli.store import fts
from mailcli.store.maildir import flags_to_letters, letters_to_flags

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from mailcli.message.parse import ParsedMessage
    from mailcli.store.contacts import Addresses

ENVELOPE_COLUMNS = ("m.id, m.account, m.folder, m.uid, m.uidl, m.message_id, m.date, m.from_,"
                    " m.to_, m.cc, m.subject, m.flags, m.size, m.has_attachments,"
                    " m.in_reply_to, m.references_, m.partial")

# Whitelisted ORDER BY clauses (never built from user text).
ORDERS = {
    "date desc": "m.date DESC, m.id DESC",
    "date asc": "m.date ASC, m.id ASC",
    "id desc": "m.id DESC",
    "id asc": "m.id ASC",
    "from asc": "m.from_ COLLATE NOCASE ASC, m.date DESC, m.id DESC",
    "subject asc": "m.subject COLLATE NOCASE ASC, m.date DESC, m.id DESC",
    "size desc": "m.size DESC, m.id DESC",
}


@dataclass(frozen=True)
class MessageRow:
    """The storage side of one message: where it is and its sync identity."""

    id: int
    account: str
    folder: str
    uid: int | None
    uidl: str | None
    filename: str
    flags: Flags
    synced_flags: Flags | None
    partial: bool


def _ts(dt: datetime | None) -> int | None:
    if dt is None:
        return None
    try:
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def envelope_from_row(r: sqlite3.Row | tuple[Any, ...]) -> Envelope:
    date = None
    if r[6] is not None:
        try:
            date = datetime.fromtimestamp(r[6], UTC)
        except (OverflowError, OSError, ValueError):
            date = None
    return Envelope(
        id=r[0], account=r[1], folder=r[2], uid=r[3] if r[3] is not None else r[4],
        message_id=r[5], date=date, from_=r[7], to=r[8], cc=r[9], subject=r[10],
        flags=letters_to_flags(r[11]), size=r[12], has_attachments=bool(r[13]),
        in_reply_to=r[14], references=tuple(r[15].split()) if r[15] else (),
        partial=bool(r[16]),
    )


def _row(r: tuple[Any, ...]) -> MessageRow:
    return MessageRow(id=r[0], account=r[1], folder=r[2], uid=r[3], uidl=r[4], filename=r[5],
                      flags=letters_to_flags(r[6]),
                      synced_flags=None if r[7] is None else letters_to_flags(r[7]),
                      partial=bool(r[8]))


_ROW_COLUMNS = "id, account, folder, uid, uidl, filename, flags, synced_flags, partial"


# ------------------------------------------------------------------------- writes
def insert_message(conn: sqlite3.Connection, *, account: str, folder: str, filename: str,
                   parsed: ParsedMessage, flags: Flags, size: int, uid: int | None = None,
                   uidl: str | None = None, partial: bool = False,
                   synced_flags: Flags | None = None, id: int | None = None,
                   added_at: float | None = None, addresses: Addresses | None = None,
                   sent_folder: bool | None = None) -> int:
    """Insert one message row and its full-text row; returns the id. `addresses`: the
    From/To/Cc already parsed for the address book (contacts.address_pairs);
    `sent_folder`: contacts.is_sent_folder of the folder, if the caller knows it. `id`:
    one the caller keeps (index rebuild), under which the full-text index must hold no
    words (the rebuild has just emptied it): its words go to the contentless table."""
    vals = fts.values(parsed)
    fts_sum = fts.checksum(vals)
    cur = conn.execute(
        "INSERT INTO messages (id, account, folder, uid, uidl, filename, flags, synced_flags,"
        " message_id, date, from_, to_, cc, subject, in_reply_to, references_, size,"
        " has_attachments, partial, added_at, seen, fts_sum)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (id, account, folder, uid, uidl, filename, flags_to_letters(flags),
         None if synced_flags is None else flags_to_letters(synced_flags),
         parsed.message_id, _ts(parsed.date), parsed.from_ or "", parsed.to or "",
         parsed.cc or "", parsed.subject or "", parsed.in_reply_to,
         " ".join(parsed.references or ()), size, int(bool(parsed.has_attachments)),
         int(partial), added_at if added_at is not None else time.time(),
         int(Flag.SEEN in flags), fts_sum))
    new_id = int(cur.lastrowid or 0)
    fts.put(conn, new_id, vals, fresh=True)
    from mailcli.store import contacts

    contacts.note(conn, account, folder, parsed.message_id, _ts(parsed.date), parsed.from_ or "",
                  parsed.to or "", parsed.cc or "", addresses, sent_folder)
    return new_id


def replace_content(conn: sqlite3.Connection, id: int, filename: str, parsed: ParsedMessage,
                    size: int, partial: bool, old: fts.Values | None) -> None:
    """New bytes for an existing message (e.g. full body after headers-only). `old`: the
    text of the file being replaced (fts.values; None if it is gone)."""
    fts.drop(conn, id, _fts_sum(conn, id), old)
    fts_sum = fts.put(conn, id, fts.values(parsed))
    conn.execute(
        "UPDATE messages SET filename=?, message_id=?, date=?, from_=?, to_=?, cc=?, subject=?,"
        " in_reply_to=?, references_=?, size=?, has_attachments=?, partial=?, fts_sum=?"
        " WHERE id=?",
        (filename, parsed.message_id, _ts(parsed.date), parsed.from_ or "", parsed.to or "",
         parsed.cc or "", parsed.subject or "", parsed.in_reply_to,
         " ".join(parsed.references or ()), size, int(bool(parsed.has_attachments)),
         int(partial), fts_sum, id))


def add_body_text(conn: sqlite3.Connection, id: int, text: str,
                  now: Callable[[], fts.Values | None]) -> None:
    """Make `text` searchable as part of the message's body (decrypted text, only with
    index_decrypted = true); idempotent. `now`: the file's text (fts.values), asked for
    only when needed."""
    fts.add_text(conn, id, _fts_sum(conn, id), now, text)


def _fts_sum(conn: sqlite3.Connection, id: int) -> int | None:
    r = conn.execute("SELECT fts_sum FROM messages WHERE id = ?", (id,)).fetchone()
    return None if r is None or r[0] is None else int(r[0])


def update_file(conn: sqlite3.Connection, id: int, filename: str, flags: Flags) -> None:
    conn.execute("UPDATE messages SET filename = ?, flags = ? WHERE id = ?",
                 (filename, flags_to_letters(flags), id))


def update_fields(conn: sqlite3.Connection, id: int, **fields: object) -> None:
    """Update whitelisted storage columns (folder, uid, uidl, filename, synced_flags)."""
    allowed = {"folder", "uid", "uidl", "filename", "synced_flags", "flags"}
    cols = sorted(fields)
    if not cols or not set(cols) <= allowed:
        raise ValueError(f"cannot update {cols}")
    values = [flags_to_letters(v) if k in ("synced_flags", "flags") and v is not None  # type: ignore[arg-type]
              else v for k, v in ((c, fields[c]) for c in cols)]
    conn.execute(f"UPDATE messages SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?",
                 (*values, id))


def delete_message(conn: sqlite3.Connection, id: int, now: fts.Values | None) -> None:
    """Delete a message's row and its words. `now`: the text of its file, read before the
    file went (fts.values; None if another program deleted it: the words then stay,
    see mailcli.store.fts)."""
    fts.drop(conn, id, _fts_sum(conn, id), now)
    conn.execute("DELETE FROM messages WHERE id = ?", (id,))


# -------------------------------------------------------------------------- reads
def row(conn: sqlite3.Connection, id: int) -> MessageRow:
    r = conn.execute(f"SELECT {_ROW_COLUMNS} FROM messages WHERE id = ?", (id,)).fetchone()
    if r is None:
        raise NotFoundError(f"no message with id {id}", hint="ids are shown by `mailcli list`")
    return _row(r)


def folder_rows(conn: sqlite3.Connection, account: str, folder: str) -> list[MessageRow]:
    return [_row(r) for r in conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM messages WHERE account = ? AND folder = ? ORDER BY id",
        (account, folder))]


def folder_rows_for(conn: sqlite3.Connection, account: str, folder: str,
                    uids: Iterable[int]) -> tuple[list[MessageRow], int]:
    """The rows an incremental sync plans with: those with one of `uids` and those whose
    flags differ from the last sync's (or have none recorded); and the number of cached
    messages with a UID in the folder (the deletion guardrail's folder size)."""
    by_id: dict[int, MessageRow] = {}
    wanted = sorted(set(uids))
    cached = int(conn.execute("SELECT count(uid) FROM messages WHERE account = ? AND folder = ?",
                              (account, folder)).fetchone()[0])
    if len(wanted) > max(cached, _IN_CHUNK):
        # more UIDs than rows (VANISHED may name ranges never cached): one pass over the
        # folder costs less than many IN queries
        chosen = set(wanted)
        rows = [r for r in folder_rows(conn, account, folder) if r.uid is not None
                and (r.uid in chosen or r.synced_flags is None or r.flags != r.synced_flags)]
        return rows, cached
    changed = conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM messages WHERE account = ? AND folder = ? AND {_UNSYNCED}",
        (account, folder))
    for r in changed:
        by_id[r[0]] = _row(r)
    for i in range(0, len(wanted), _IN_CHUNK):
        part = wanted[i:i + _IN_CHUNK]
        for r in conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM messages WHERE account = ? AND folder = ?"
                f" AND uid IN ({','.join('?' * len(part))})", (account, folder, *part)):
            by_id[r[0]] = _row(r)
    return [by_id[k] for k in sorted(by_id)], cached


_IN_CHUNK = 500     # UIDs per "uid IN (...)" query
# a cached server message whose flags changed here since the last sync (or never synced)
_UNSYNCED = "uid IS NOT NULL AND (synced_flags IS NULL OR flags != synced_flags)"


def has_unsynced_flags(conn: sqlite3.Connection, account: str, folder: str) -> bool:
    """Whether a message of the folder with a UID has flags not yet synced (flags differ
    from synced_flags, or synced_flags unknown). Both columns hold canonical letters."""
    return conn.execute(
        f"SELECT 1 FROM messages WHERE account = ? AND folder = ? AND {_UNSYNCED} LIMIT 1",
        (account, folder)).fetchone() is not None


def get(conn: sqlite3.Connection, id: int) -> Envelope:
    r = conn.execute(f"SELECT {ENVELOPE_COLUMNS} FROM messages m WHERE m.id = ?",
                     (id,)).fetchone()
    if r is None:
        raise NotFoundError(f"no message with id {id}", hint="ids are shown by `mailcli list`")
    return envelope_from_row(r)


def envelopes_by_ids(conn: sqlite3.Connection, ids: list[int]) -> list[Envelope]:
    """Envelopes for `ids`, in the order given (missing ids are skipped)."""
    found: dict[int, Envelope] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(f"SELECT {ENVELOPE_COLUMNS} FROM messages m WHERE m.id IN ({marks})",
                              chunk):
            found[r[0]] = envelope_from_row(r)
    return [found[i] for i in ids if i in found]


def id_by_uid(conn: sqlite3.Connection, account: str, folder: str, uid: int) -> int | None:
    r = conn.execute("SELECT id FROM messages WHERE account = ? AND folder = ? AND uid = ?",
                     (account, folder, uid)).fetchone()
    return None if r is None else int(r[0])


def _filters(account: str | None, folder: str | None,
             unread_only: bool) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    if account is not None:
        where.append("m.account = ?")
        params.append(account)
    if folder is not None:
        where.append("m.folder = ?")
        params.append(folder)
    if unread_only:
        where.append("m.seen = 0")
    return where, params


def order_clause(order: str) -> str:
    try:
        return ORDERS[order.lower()]
    except KeyError:
        raise UsageError(f"unknown order {order!r}",
                         hint="one of: " + ", ".join(ORDERS)) from None


def list_envelopes(conn: sqlite3.Connection, account: str | None = None,
                   folder: str | None = None, unread_only: bool = False, limit: int = 50,
                   offset: int = 0, order: str = "date desc") -> list[Envelope]:
    where, params = _filters(account, folder, unread_only)
    sql = f"SELECT {ENVELOPE_COLUMNS} FROM messages m"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order_clause(order)} LIMIT ? OFFSET ?"
    return [envelope_from_row(r) for r in conn.execute(sql, (*params, limit, offset))]


def count(conn: sqlite3.Connection, account: str | None = None, folder: str | None = None,
          unread_only: bool = False) -> int:
    where, params = _filters(account, folder, unread_only)
    sql = "SELECT count(*) FROM messages m"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return int(conn.execute(sql, params).fetchone()[0])


def folder_summaries(conn: sqlite3.Connection, account: str | None = None) -> list[FolderSummary]:
    """Every folder known (from the folders table or holding messages) with counts."""

    where = "WHERE account = ?" if account is not None else ""
    params: tuple[object, ...] = (account,) if account is not None else ()
    counts = {(a, f): (t, u) for a, f, t, u in conn.execute(
        f"SELECT account, folder, count(*), count(*) - sum(seen) FROM messages {where}"
        " GROUP BY account, folder", params)}
    roles = {(a, n): r for a, n, r in conn.execute(
        f"SELECT account, name, role FROM folders {where}", params)}
    out = []
    for key in sorted(set(counts) | set(roles), key=lambda k: (k[0], k[1] != "INBOX", k[1])):
        total, unread = counts.get(key, (0, 0))
        role = roles.get(key)
        try:
            role_v = FolderRole(role) if role else None
        except ValueError:
            role_v = None
        out.append(FolderSummary(key[0], key[1], int(total), int(unread or 0), role_v))
    return out

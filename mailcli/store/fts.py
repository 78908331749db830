"""The full-text index of cached messages: which table holds a message's words, and how
they go again when the message goes.

Two FTS5 tables over the same five columns (from_, to_, cc, subject, body), one row per
message, rowid = ``messages.id``; a message is in exactly one of them, so a MATCH over
both (MATCH_SQL) is a MATCH over one index:

- ``messages_words`` (WORDS) is contentless (``content=''``): it keeps the index of the
  words, not a copy of the text. The copy was about 70 % of the index's pages and ~6 % of a first
  sync's time (benchmarks/README.md, session 11). ``messages.fts_sum`` holds a checksum
  (length and CRC-32) of the exact text indexed. SQLite before 3.43 deletes a contentless
  row only when handed that exact text again, so whoever removes or replaces a message
  parses its file once more (`values`) and the row is deleted when the checksum matches.
  When it cannot be (another program deleted the file; a later parser reads the file
  differently), the words stay in the index under an id no message has any more: no
  search ever returns them (results are rows of ``messages``, and ids are never reused),
  and the id is listed in ``fts_leftovers`` until `mailcli index rebuild` starts the
  index afresh.
- ``messages_fts`` (KEPT) is an ordinary FTS5 table with its own copy of the text, for
  what cannot be derived from the file again: decrypted text added with
  ``index_decrypted`` (`add_text`), and the messages indexed before this table split.
  ``messages.fts_sum`` is NULL for these; deleting them needs nothing.

KEPT keeps the name the one table had before the split (0.2.0 and older): a mailcli of
that age still running when a newer one migrates the index (a `watch` across an upgrade)
goes on writing a table that behaves as it expects. Its rows get ``fts_sum`` NULL, which
is what they are here (in KEPT); a message it deletes leaves its WORDS row under a dead
id, never returned. (The first form of the split, m006, gave the contentless table the
old name: the old process's deletes failed on it. m007 swaps the names.)
"""
from __future__ import annotations

import sqlite3
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mailcli.message.parse import ParsedMessage

BODY_CAP = 64 * 1024  # characters of body text put in the full-text index
COLUMNS = "from_, to_, cc, subject, body"
TOKENIZE = 'tokenize = "unicode61 remove_diacritics 2"'

WORDS = "messages_words"
KEPT = "messages_fts"

Values = tuple[str, str, str, str, str]
"""What one message puts in the index: from_, to_, cc, subject, body (capped)."""

MATCH_SQL = (f"m.id IN (SELECT rowid FROM {WORDS} WHERE {WORDS} MATCH ?"
             " AND rowid NOT IN (SELECT id FROM fts_leftovers)"
             f" UNION ALL SELECT rowid FROM {KEPT} WHERE {KEPT} MATCH ?)")
# (a leftover id's words in the contentless table are not its words any more: a live
# message with leftovers has its current text in the kept table)
"""A search condition on ``messages m``: takes the MATCH expression twice (`match_params`)."""


def match_params(expression: str) -> list[object]:
    return [expression, expression]


def values(parsed: ParsedMessage) -> Values:
    return (parsed.from_ or "", parsed.to or "", parsed.cc or "", parsed.subject or "",
            (parsed.body_text or "")[:BODY_CAP])


def checksum(vals: Values) -> int:
    """Length and CRC-32 of the text as one 64-bit integer (what ``fts_sum`` holds)."""
    data = "".join(f"{len(v)}:{v}" for v in vals).encode("utf-8", "surrogatepass")
    return (len(data) << 32) | zlib.crc32(data)


def put(conn: sqlite3.Connection, id: int, vals: Values, fresh: bool = False) -> int | None:
    """Index message `id`'s words; returns what its row's ``fts_sum`` becomes. Into the
    contentless table with their checksum, unless words of an older text of the same id
    stayed there (a leftover): FTS5 gets each rowid once, and the text goes to KEPT (None).
    `fresh`: no words are under `id` (an id just allocated, never a leftover's: ids are
    not reused; or any id right after `clear`)."""
    if fresh or not _in_words(conn, id):
        conn.execute(f"INSERT INTO {WORDS} (rowid, {COLUMNS}) VALUES (?,?,?,?,?,?)",
                     (id, *vals))
        return checksum(vals)
    conn.execute("INSERT OR IGNORE INTO fts_leftovers (id) VALUES (?)", (id,))
    conn.execute(f"INSERT INTO {KEPT} (rowid, {COLUMNS}) VALUES (?,?,?,?,?,?)",
                 (id, *vals))
    return None


def _in_words(conn: sqlite3.Connection, id: int) -> bool:
    """Whether WORDS has (or had: a leftover) a row under `id`. Besides the listed
    leftovers, a row this code did not write: a 0.2.0 that rebuilt the index after a
    downgrade re-inserted every message into KEPT with ``fts_sum`` NULL and left WORDS
    as it was (its rows are found by rowid: columnsize is kept)."""
    return (conn.execute("SELECT 1 FROM fts_leftovers WHERE id = ?", (id,)).fetchone() is not None
            or conn.execute(f"SELECT 1 FROM {WORDS} WHERE rowid = ?", (id,)).fetchone() is not None)


def drop(conn: sqlite3.Connection, id: int, fts_sum: int | None, vals: Values | None) -> bool:
    """Remove message `id`'s words before its row goes or its text changes. `fts_sum`:
    its row's checksum; `vals`: its file's text now (None: the file is gone). Returns
    False when the words had to stay (the id is then listed in fts_leftovers)."""
    if fts_sum is None:
        conn.execute(f"DELETE FROM {KEPT} WHERE rowid = ?", (id,))
        return True
    # (a KEPT row too, if any: an older mailcli writing this index (see above) may have
    # put one there for a message that had its words in WORDS already; one lookup)
    conn.execute(f"DELETE FROM {KEPT} WHERE rowid = ?", (id,))
    if vals is not None and checksum(vals) == fts_sum:
        conn.execute(f"INSERT INTO {WORDS} ({WORDS}, rowid, {COLUMNS})"
                     " VALUES ('delete',?,?,?,?,?,?)", (id, *vals))
        return True
    conn.execute("INSERT OR IGNORE INTO fts_leftovers (id) VALUES (?)", (id,))
    return False


def add_text(conn: sqlite3.Connection, id: int, fts_sum: int | None,
             file_values: Callable[[], Values | None], text: str) -> bool:
    """Make `text` searchable as part of message `id`'s body (idempotent): its words move
    to KEPT with the text appended (the file cannot give them again).
    `file_values`: the file's text now, as `drop` takes it (asked only when needed).
    Returns False if nothing changed."""
    if not text:
        return False
    if fts_sum is None:
        r = conn.execute(f"SELECT {COLUMNS} FROM {KEPT} WHERE rowid = ?",
                         (id,)).fetchone()
        if r is not None:
            if text in (r[4] or ""):
                return False
            conn.execute(f"UPDATE {KEPT} SET body = ? WHERE rowid = ?",
                         (((r[4] or "") + "\n" + text)[:BODY_CAP], id))
            return True
        base = file_values() or ("", "", "", "", "")
    else:
        vals = file_values()
        if vals is None:
            return False   # no file: no body to add to (its words stay where they are)
        drop(conn, id, fts_sum, vals)
        base = vals
    body = (base[4] + "\n" + text if base[4] else text)[:BODY_CAP]
    conn.execute(f"INSERT INTO {KEPT} (rowid, {COLUMNS}) VALUES (?,?,?,?,?,?)",
                 (id, *base[:4], body))
    conn.execute("UPDATE messages SET fts_sum = NULL WHERE id = ?", (id,))
    return True


def clear(conn: sqlite3.Connection) -> None:
    """Empty both tables and the leftovers (index rebuild, before re-adding every message)."""
    conn.execute(f"INSERT INTO {WORDS} ({WORDS}) VALUES ('delete-all')")
    conn.execute(f"DELETE FROM {KEPT}")
    conn.execute("DELETE FROM fts_leftovers")


def optimize(conn: sqlite3.Connection) -> None:
    for table in (WORDS, KEPT):
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


def leftovers(conn: sqlite3.Connection) -> int:
    """Ids of deleted messages whose words are still in the index."""
    return int(conn.execute("SELECT count(*) FROM fts_leftovers").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """m006 (first form): the existing table, with its copy of the text, became
    messages_fts_kept (every message indexed so far stays there, deleted as before: no
    re-indexing, no loss of decrypted text already added); new messages went to a new
    contentless table under the old name. Kept as it was (indexes of a development build
    recorded it); `swap_names` (m007) follows it."""
    conn.execute("ALTER TABLE messages_fts RENAME TO messages_fts_kept")
    # (columnsize kept: one small row per message, so that the table can be scanned,
    # e.g. `SELECT rowid FROM messages_words` in the sqlite3 shell; its columns read NULL)
    conn.execute(f"CREATE VIRTUAL TABLE messages_fts USING fts5 ({COLUMNS}, {TOKENIZE},"
                 " content='')")
    conn.execute("ALTER TABLE messages ADD COLUMN fts_sum INTEGER")
    conn.execute("CREATE TABLE fts_leftovers (id INTEGER PRIMARY KEY)")


def swap_names(conn: sqlite3.Connection) -> None:
    """m007: the table with the copy of the text takes back the name it had before m006
    (KEPT), the contentless one becomes WORDS (why: the module's docstring)."""
    conn.execute(f"ALTER TABLE messages_fts RENAME TO {WORDS}")
    conn.execute(f"ALTER TABLE messages_fts_kept RENAME TO {KEPT}")

"""The index schema as an ordered list of migrations, recorded in ``_migrations``.

Append new ``mNNN_name`` entries at the end; never edit one that has shipped. Each runs
inside one transaction together with its ``_migrations`` row.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from mailcli.errors import ConfigError

logger = logging.getLogger(__name__)

M001_INITIAL = [
    """CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT,
        uidvalidity INTEGER,
        uidnext INTEGER,
        highestmodseq INTEGER,
        synced_at REAL,
        UNIQUE (account, name)
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uid INTEGER,
        uidl TEXT,
        filename TEXT NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        synced_flags TEXT,
        message_id TEXT,
        date INTEGER,
        from_ TEXT NOT NULL DEFAULT '',
        to_ TEXT NOT NULL DEFAULT '',
        cc TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL DEFAULT '',
        in_reply_to TEXT,
        references_ TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        has_attachments INTEGER NOT NULL DEFAULT 0,
        partial INTEGER NOT NULL DEFAULT 0,
        added_at REAL NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0
    )""",
    # `seen` mirrors flags (a plain column so that unread counts use a covering index)
    """CREATE TRIGGER messages_seen_upd AFTER UPDATE OF flags ON messages BEGIN
        UPDATE messages SET seen = (instr(NEW.flags, 'S') > 0) WHERE id = NEW.id;
    END""",
    "CREATE INDEX ix_messages_folder_date ON messages (account, folder, date)",
    "CREATE INDEX ix_messages_folder_seen_date ON messages (account, folder, seen, date)",
    "CREATE UNIQUE INDEX ix_messages_folder_uid ON messages (account, folder, uid)"
    " WHERE uid IS NOT NULL",
    "CREATE INDEX ix_messages_account_date ON messages (account, date)",
    "CREATE INDEX ix_messages_date ON messages (date)",
    "CREATE INDEX ix_messages_message_id ON messages (message_id)",
    """CREATE VIRTUAL TABLE messages_fts USING fts5 (
        from_, to_, cc, subject, body,
        tokenize = "unicode61 remove_diacritics 2"
    )""",
    """CREATE TABLE pop_ledger (
        account TEXT NOT NULL,
        uidl TEXT NOT NULL,
        message INTEGER,
        downloaded_at REAL NOT NULL,
        server_deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account, uidl)
    )""",
    """CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX ix_journal_account_state ON journal (account, state, id)",
]


# The outbox (owned by mailcli.send.outbox): one row per outgoing message, keyed by
# (account, Message-ID), holding its envelope and its write-ahead send state.
M002_OUTBOX = [
    """CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        message_id TEXT NOT NULL,
        message INTEGER,
        mail_from TEXT NOT NULL,
        recipients TEXT NOT NULL,
        bcc TEXT NOT NULL DEFAULT '[]',
        replied INTEGER,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        refused TEXT NOT NULL DEFAULT '{}',
        sent_copy TEXT,
        sent_folder TEXT,
        sent_uid INTEGER,
        sent_message INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (account, message_id)
    )""",
    "CREATE INDEX ix_outbox_account_state ON outbox (account, state, id)",
]


# The Maildir stamp of a folder (see Store.scan_external_changes): the mtimes of its cur/
# and new/ directories when the index was last found in step with them, or NULL.
M003_MAILDIR_STAMP = [
    "ALTER TABLE folders ADD COLUMN maildir_stamp TEXT",
]


# POP3 identity is UIDL + size (+ content hash): a UIDL listed twice, or reused by the
# server for another message, is a second ledger row, not "already stored". The table is
# rebuilt with a row id (the old primary key was (account, uidl)); `size` is the size the
# server announced in LIST (NULL for rows from before this migration: never trusted for a
# deletion), `sha256` the hash of the bytes stored, `skipped` why a message was reported
# once and is never downloaded nor deleted (an unusable UIDL, a reply past every cap).
M004_POP_IDENTITY = [
    """CREATE TABLE pop_ledger_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        uidl TEXT NOT NULL,
        message INTEGER,
        downloaded_at REAL NOT NULL,
        server_deleted INTEGER NOT NULL DEFAULT 0,
        size INTEGER,
        sha256 TEXT,
        skipped TEXT
    )""",
    "INSERT INTO pop_ledger_v2 (account, uidl, message, downloaded_at, server_deleted)"
    " SELECT account, uidl, message, downloaded_at, server_deleted FROM pop_ledger",
    "DROP TABLE pop_ledger",
    "ALTER TABLE pop_ledger_v2 RENAME TO pop_ledger",
    "CREATE INDEX ix_pop_ledger_uidl ON pop_ledger (account, uidl)",
]

# The messages whose flags changed here and await the server (index._UNSYNCED, term for
# term: SQLite uses a partial index only for a query that repeats its WHERE terms). Every
# sync asks this of every folder, also when nothing changed; without the index that read
# every row of the folder (3.5 ms for 10,000 messages, each no-change fetch). Downloads
# insert rows already synced, so the index holds only the few changed ones. `uid` is a
# column so that the planner, weighing it against ix_messages_folder_uid (the same
# columns, every row), takes the partial one, with or without ANALYZE's statistics.
M008_UNSYNCED_FLAGS = [
    "CREATE INDEX IF NOT EXISTS ix_messages_unsynced ON messages (account, folder, uid)"
    " WHERE uid IS NOT NULL AND (synced_flags IS NULL OR flags != synced_flags)",
]


def _statements(stmts: list[str]) -> Callable[[sqlite3.Connection], None]:
    def run(conn: sqlite3.Connection) -> None:
        for stmt in stmts:
            conn.execute(stmt)
    return run


def _fts_contentless(conn: sqlite3.Connection) -> None:
    """The full-text index without its own copy of the text (mailcli.store.fts)."""
    from mailcli.store import fts

    fts.migrate(conn)


def _fts_names(conn: sqlite3.Connection) -> None:
    """The two full-text tables swap names so that an older mailcli still running keeps
    writing a table that behaves as it expects (mailcli.store.fts)."""
    from mailcli.store import fts

    fts.swap_names(conn)


def _contacts(conn: sqlite3.Connection) -> None:
    """The address book (mailcli.store.contacts), filled from the messages indexed so far."""
    from mailcli.store import contacts

    contacts.migrate(conn)


# The mark of a migration that only adds indexes that constrain nothing (no UNIQUE; no
# row, table or meaning changes): an older mailcli that does not know it may go on using
# the index (SQLite keeps such an index in step with every write, and no write it makes
# can fail on it), and a read-only cache that lacks it is read without it.
INDEX_ONLY = "+index"

MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("m001_initial", _statements(M001_INITIAL)),
    ("m002_outbox", _statements(M002_OUTBOX)),
    ("m003_maildir_stamp", _statements(M003_MAILDIR_STAMP)),
    ("m004_pop_identity", _statements(M004_POP_IDENTITY)),
    ("m005_contacts", _contacts),
    ("m006_fts_contentless", _fts_contentless),
    ("m007_fts_names", _fts_names),
    ("m008_unsynced_flags" + INDEX_ONLY, _statements(M008_UNSYNCED_FLAGS)),
]


def migrate(conn: sqlite3.Connection, read_only: bool = False) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied (in order).

    `conn` must be in autocommit mode (isolation_level=None). When every migration is
    recorded already (every open but the first) this only reads: it never waits for the
    write lock, which another process's sync may hold for a whole download batch.
    With `read_only` (a cache that cannot be written) missing INDEX_ONLY migrations are
    left for the next writable open; any other missing one still fails the open.
    """
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        done = set()
    newer = {name for name in done - {name for name, _fn in MIGRATIONS}
             if not name.endswith(INDEX_ONLY)}
    if newer:
        # a newer mailcli changed this index in ways this one does not know: writing it
        # could undo what that one keeps consistent (as a 0.2.0 would have, writing the
        # full-text tables of m006 before m007); reading it could misread it.
        raise ConfigError(f"the index was changed by a newer mailcli"
                          f" ({', '.join(sorted(newer))})",
                          hint="use that version of mailcli or a later one")
    missing = [name for name, _fn in MIGRATIONS if name not in done]
    if not missing or (read_only and all(name.endswith(INDEX_ONLY) for name in missing)):
        return []
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    applied: list[str] = []
    # all that are missing in one transaction: no other process ever sees an index
    # between two of them (a 0.2.0 writing between m006 and m007 met the contentless
    # table under the name it knew)
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        for name, fn in MIGRATIONS:
            if name not in done:
                fn(conn)
                conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                             (name, time.time()))
                applied.append(name)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for name in applied:
        logger.info("index migration applied: %s", name)
    return applied

"""The local store: Maildir cache + SQLite index + pending-actions journal.

Everything the CLI and TUI read comes from here, with no network. One object, :class:`Store`,
is the API for the sync engine and the service layer::

    from mailcli.store import Store

    with Store(data_dir) as store:
        with store.batch():                       # one transaction, dir fsync once
            mid = store.deliver("work", "INBOX", raw, flags={Flag.SEEN}, uid=42)
        page = store.list_envelopes("work", "INBOX", limit=50, offset=0)
        hits = store.search('from:alice -is:read after:2024-01-01')
        store.set_flags(mid, {Flag.SEEN, Flag.FLAGGED})
        aid = store.journal.enqueue("work", Append("INBOX", mid))   # upload it later

Layout (SPEC.md): ``<data>/mail/<account>/<folder>/{cur,new,tmp}`` plain Maildirs (IMAP
hierarchy as nested directories, unsafe names escaped reversibly, see
:mod:`mailcli.store.maildir`) and ``<data>/index.sqlite3`` (WAL, FTS5, migrations in
:mod:`mailcli.store.migrations`).

Writing (:class:`Store` methods)
    ``deliver(account, folder, raw, flags, uid, uidl, fsync, partial) -> id`` stores the bytes
    exactly as received (tmp/ -> fsync -> rename, ``,U=<uid>`` in the name) and then
    inserts the index row (parse_message never raises through it). Idempotent per UID and
    per POP3 UIDL (ledger row in the same transaction). ``set_flags`` renames the file and
    updates the row; ``remove``, ``move`` (same account, keeps the id), ``set_uid``,
    ``set_synced_flags``, ``replace_raw`` (headers-only -> full message).
    Inside a batch, ``stage(...) -> Staged | id`` writes a server message's file and
    ``commit_staged(staged, parsed)`` its row later in the same batch (the bulk download
    parses in between on other cores: :mod:`mailcli.store.parsepool`); ``discard``
    drops a staged file. Every Staged must be committed or discarded before the batch ends.

Durability
    Outside a batch every ``deliver`` fsyncs the file and its directory and commits (WAL,
    ``synchronous=FULL``): when it returns, message and row are on disk — use it where a
    server copy will then be deleted. ``with store.batch():`` runs the block as one
    transaction, fsyncs every file but each directory once at the end, then commits; if
    the block raises, the rows roll back and the files delivered in it are removed. Flag
    renames are not directory-fsynced (a power cut may undo one; the next sync repairs).
    A crash between file and row leaves a file without a row: ``scan_external_changes``
    adopts it (keeping its ``,U=`` UID when free), ``rebuild_index`` too. A batch names
    its files with a UID in a landing record (:mod:`mailcli.store.landing`) until the
    rows commit, so such a file is known to be a download, not another program's mail.

Reading
    ``get(id)``, ``by_uid(account, folder, uid)`` (NotFoundError), ``read_raw(id)``,
    ``path(id)``, ``list_envelopes(account, folder, unread_only, limit, offset, order)``
    (paged; the TUI asks only for the rows on screen), ``count(...)``,
    ``folder_summaries(account)``, ``search(query, limit, offset)`` (language in
    :mod:`mailcli.store.search`), ``message_rows(account, folder)`` (uid/flags/synced_flags
    for the sync planner).

Sync state
    ``folder_state``/``put_folder_state``/``folder_states``/``delete_folder``
    (:class:`FolderState`), the POP3 ledger ``store.ledger`` (:class:`PopLedger`:
    ``entries``, ``rows``, ``skip``, ``confirm_size``, ``mark_server_deleted``,
    ``forget``; a message's identity is UIDL + announced size),
    ``scan_external_changes(account, folder) -> ExternalChanges`` (flag
    renames, deletions and new files made by neomutt/notmuch, applied to the index and
    returned so the sync engine can push them), and ``store.journal`` (:class:`Journal`:
    enqueue / pending / mark_done / mark_failed / purge_done, write-ahead order) holding
    typed entries (:class:`DeleteUid`, :class:`DeleteUidl`, :class:`MoveUid`,
    :class:`Append`). ``clean_tmp(account)`` removes files of crashed deliveries.
    ``rebuild_index(store)`` re-derives the index from the Maildirs (what survives: see
    :mod:`mailcli.store.rebuild`).

Threads
    One SQLite connection per thread (WAL: a TUI worker reads while the sync thread
    writes). Writes are serialised by SQLite with a 10 s busy timeout; a ``batch`` holds
    the write lock, so keep batches short. ``close()`` closes every thread's connection.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mailcli.store.facade import ORPHANS, Store
from mailcli.store.index import MessageRow
from mailcli.store.journal import (
                                   Action,
                                   ActionKind,
                                   ActionState,
                                   Append,
                                   CreateFolder,
                                   DeleteFolder,
                                   DeleteUid,
                                   DeleteUidl,
                                   Entry,
                                   Journal,
                                   MoveUid,
                                   RenameFolder,
)
from mailcli.store.ledger import PopLedger
from mailcli.store.maildir import uidl_fits_name
from mailcli.store.reconcile import ExternalChanges, FlagChange, RemovedMessage
from mailcli.store.state import FolderState, PopLedgerEntry

if TYPE_CHECKING:
    from mailcli.store.rebuild import RebuildReport, rebuild_index

__all__ = [
    "ORPHANS",
    "Action", "ActionKind", "ActionState", "Append", "CreateFolder", "DeleteFolder", "DeleteUid",
    "DeleteUidl", "Entry", "RenameFolder",
    "ExternalChanges", "FlagChange", "FolderState", "Journal", "MoveUid", "MessageRow",
    "PopLedger", "PopLedgerEntry", "RebuildReport", "RemovedMessage", "Store",
    "rebuild_index", "uidl_fits_name",
]


def __getattr__(name: str) -> object:
    """`RebuildReport` and `rebuild_index` load mailcli.store.rebuild on first use (a
    fetch never rebuilds: start-up time, issue 15)."""
    if name in ("RebuildReport", "rebuild_index"):
        from mailcli.store import rebuild

        value = getattr(rebuild, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

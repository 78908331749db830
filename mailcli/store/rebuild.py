"""Rebuilding the index from the Maildirs (``mailcli index rebuild``).

Owns re-deriving the ``messages`` table and the full-text index from the files under
``<data>/mail``. Where sync state survives a rebuild:

* ``folders`` (UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ), ``pop_ledger`` and ``journal`` are not
  derivable from the files, so a rebuild keeps those tables (a POP3 file whose UIDL the
  ledger does not know gets a row of unknown size: never downloaded again, deleted on
  the server only once the local copy's size confirms it).
* The ``outbox`` table is kept untouched too. When the whole index was lost, its rows
  come back from the outbox's own files (:mod:`mailcli.send.restore`, run by the
  service layer after this rebuild and reported in ``RebuildReport.outbox``).
* Per message, the IMAP UID (``,U=<uid>``) and POP3 UIDL (``,P=<uidl>``) are in the file
  name, so they survive even when ``index.sqlite3`` is deleted; the file name wins over
  the old row.
* Message ids, ``synced_flags``, ``partial`` and ``added_at`` are carried over from the old
  rows (matched by account, folder and Maildir base name), so ids stay stable. A file with
  no old row gets a new id; with a UID its ``synced_flags`` are taken to be its current
  flags (after losing the whole index, a local flag change not yet pushed is therefore
  treated as agreed; the server's later changes still win normally).

The rebuild runs in one transaction: if it is interrupted the old index stays.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailcli.store import fts, index, state
from mailcli.store.maildir import (
    Maildir,
    MaildirName,
    decode_component,
    folder_to_relpath,
    iter_maildirs,
    letters_to_flags,
    relpath_to_folder,
)

if TYPE_CHECKING:
    from mailcli.store.facade import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RebuildReport:
    messages: int
    folders: int
    kept_ids: int
    new_ids: int
    outbox: int = 0  # outbox rows restored from their records (set by the service layer)
    leftovers: int = 0   # deleted messages whose words had stayed in the index (mailcli.store.fts)


def rebuild_index(store: Store) -> RebuildReport:
    """Re-index every Maildir under the store's mail root; see the module docstring."""
    from mailcli.store import contacts
    from mailcli.store.facade import safe_parse

    old: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    with store.db.write() as conn:
        for r in conn.execute("SELECT id, account, folder, filename, uid, uidl, synced_flags,"
                              " partial, added_at FROM messages"):
            base = MaildirName.parse(r[3].partition("/")[2]).base
            old[(r[1], r[2], base)] = r
        conn.execute("DELETE FROM messages")
        leftovers = fts.leftovers(conn)
        fts.clear(conn)
        contacts.clear(conn)   # refilled by insert_message, message by message
        messages = folders = kept = 0
        names: dict[tuple[str, str], str] = {}   # hashed paths: the index knows the name
        for acc, name in {(k[0], k[1]) for k in old} | {
                (f.account, f.name) for f in state.list_folders(conn)}:
            names[(acc, folder_to_relpath(name))] = name
        fresh: set[tuple[str, str]] = set()   # UIDLs the ledger learns from this rebuild
        for account_dir in sorted(p for p in store.mail_root.iterdir() if p.is_dir()):
            account = decode_component(account_dir.name)
            for rel, path in iter_maildirs(account_dir):
                folder = names.get((account, rel)) or relpath_to_folder(rel)
                folders += 1
                md = Maildir(path)
                for entry in sorted(md.entries(), key=lambda e: e.relname):
                    prev = old.pop((account, folder, entry.name.base), None)
                    uid = entry.name.uid
                    uidl = entry.name.uidl
                    if prev is not None:
                        uid = uid if uid is not None else prev[4]
                        uidl = uidl if uidl is not None else prev[5]
                        synced = None if prev[6] is None else letters_to_flags(prev[6])
                        kept += 1
                    else:
                        synced = entry.name.flags if uid is not None else None
                    raw = md.read(entry.relname)
                    new_id = index.insert_message(
                        conn, account=account, folder=folder, filename=entry.relname,
                        parsed=safe_parse(raw), flags=entry.name.flags, size=len(raw),
                        uid=uid, uidl=uidl, partial=bool(prev[7]) if prev else False,
                        synced_flags=synced, id=prev[0] if prev else None,
                        added_at=prev[8] if prev else os.path.getmtime(md.path / entry.relname))
                    if uidl is not None:
                        known, _ = state.ledger_message(conn, account, uidl)
                        if not known or (account, uidl) in fresh:
                            # one row per file (a UIDL the server lists twice has two);
                            # the size LIST announced is unknown: see state.PopLedgerEntry
                            fresh.add((account, uidl))
                            state.ledger_record(conn, account, uidl, new_id, size=None,
                                                sha256=hashlib.sha256(raw).hexdigest())
                    messages += 1
        fts.optimize(conn)
    logger.info("index rebuilt: %d messages in %d folders (%d ids kept); words of %d deleted"
                " messages dropped", messages, folders, kept, leftovers)
    return RebuildReport(messages, folders, kept, messages - kept, leftovers=leftovers)

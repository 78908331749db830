"""Rebuilding the outbox rows from their file records (:mod:`mailcli.send.records`) after
the index was lost: moved away and rebuilt (`mailcli index rebuild`, as the damaged-index
hint says), or deleted (the next `mailcli send`/`fetch` restores before flushing).

A record whose (account, Message-ID) has a row is left to the row (the index is intact;
a finished row only gets its leftover record removed). A record without a row becomes a
row again, its files found by stem (the Outbox copy is adopted into the index first if
the index does not know it yet), in the state the record holds. No state is ever moved
towards sending again: ``sending`` stays ``sending``, which the next flush turns into a
held ``uncertain`` (never re-sent), ``uncertain`` stays held, ``sent``/``appended`` only
get their Sent copy made, and a ``done`` record whose Sent copy upload was queued gets
that upload journaled again (its Outbox copy is gone, so nothing can be sent). An
unknown state is restored as ``uncertain``.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

from mailcli.model import Flag
from mailcli.send import records
from mailcli.send.outbox import OUTBOX_FOLDER, Outbox
from mailcli.send.outbox_state import CANCELLED, DONE, OPEN_STATES, UNCERTAIN
from mailcli.store import Append, Store

logger = logging.getLogger(__name__)


def restore(store: Store) -> int:
    """Recreate the outbox rows the index lost; returns how many were restored."""
    with records.lock(store):  # never while a message is being queued
        return _restore(store)


def _restore(store: Store) -> int:
    docs = records.load_all(store)
    if not docs:
        return 0
    outbox = Outbox(store)
    adopted: set[str] = set()
    restored = 0
    for doc in docs:
        account, message_id = str(doc["account"]), str(doc["message_id"])
        existing = outbox.find(account, message_id)
        if existing is not None:
            if existing.state in (DONE, CANCELLED):
                outbox.sync_record(existing)  # e.g. the sync engine uploaded the Sent copy
            continue
        if _restore_one(store, outbox, doc, adopted):
            restored += 1
    if restored:
        logger.warning("outbox: %d message(s) restored from their records", restored)
    return restored


def _outbox_copy(store: Store, account: str, stem: object, adopted: set[str]) -> int | None:
    if not isinstance(stem, str) or not stem:
        return None
    found = records.find_by_stem(store, account, OUTBOX_FOLDER, stem)
    if found is None and account not in adopted:
        adopted.add(account)  # the index was deleted, not rebuilt: index the Outbox files
        store.scan_external_changes(account, OUTBOX_FOLDER)
        found = records.find_by_stem(store, account, OUTBOX_FOLDER, stem)
    return found


def _file(store: Store, account: str, where: object) -> int | None:
    if not (isinstance(where, list) and len(where) == 2 and all(isinstance(x, str) for x in where)):
        return None
    return records.find_by_stem(store, account, where[0], where[1])


def _restore_one(store: Store, outbox: Outbox, doc: dict[str, Any], adopted: set[str]) -> bool:
    account, message_id = str(doc["account"]), str(doc["message_id"])
    state = str(doc["state"])
    if state not in (*OPEN_STATES, DONE, CANCELLED):
        state = UNCERTAIN
    message = _outbox_copy(store, account, doc.get("outbox_file"), adopted)
    sent_message = None
    if state == DONE and doc.get("sent_file"):
        sent_message = _file(store, account, doc.get("sent_file"))
        if sent_message is None:
            logger.info("outbox record of %s: its Sent copy is not indexed (yet); kept",
                        message_id)
            return False  # `mailcli index rebuild` indexes it; then this runs again
    elif state in (DONE, CANCELLED) and message is None:
        records.remove(store, account, message_id)
        return False
    now = time.time()
    with store.batch():
        with store.db.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (account, message_id, message, mail_from,"
                " recipients, bcc, replied, state, attempts, last_error, refused, sent_copy,"
                " sent_folder, sent_uid, sent_message, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, message_id, message, str(doc.get("mail_from") or ""),
                 json.dumps([str(a) for a in doc.get("recipients") or []]),
                 json.dumps([str(a) for a in doc.get("bcc") or []]),
                 _file(store, account, doc.get("replied")), state,
                 int(doc.get("attempts") or 0), doc.get("last_error"),
                 json.dumps(doc.get("refused") or {}), doc.get("sent_copy"),
                 doc.get("sent_folder"), doc.get("sent_uid"), sent_message,
                 float(doc.get("created_at") or now), now))
            if cur.rowcount == 0:
                return False  # another process restored it meanwhile
            if sent_message is not None and store.message_row(sent_message).uid is None:
                folder = store.message_row(sent_message).folder
                store.journal.enqueue(account, Append(
                    folder, sent_message, message_id, frozenset({Flag.SEEN}), sent_copy=True))
    logger.info("outbox: restored %s (%s) from its record", message_id, state)
    return True

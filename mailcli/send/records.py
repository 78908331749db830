"""The outbox's file record: one small JSON file per outgoing message, so that the queue
survives losing ``index.sqlite3`` (the Maildirs and these files are what the index is
rebuilt from).

Owns ``<data>/outbox/records/`` (0700; files 0600: they name Bcc recipients). A record
holds what the Outbox Maildir file cannot: the SMTP envelope (MAIL FROM, every RCPT TO
including Bcc), the send state, and where the related files are. Files are named by
Maildir *stem* (the unique part of a Maildir base name, without ``,U=``/``,P=`` and
flags, so renames by flag changes or a later UID do not lose them): the Outbox copy, the
replied message, the local Sent copy.

A record is written atomically (temporary file, fsync, rename, directory fsync) inside
the transaction of each change of its outbox row, just before the commit, and removed
(also before the commit) when the row is finished: ``done`` with nothing owed (a
``done`` row whose Sent copy upload is still queued keeps its record until the copy has
a UID). Two changes are committed first and recorded just after: ``sent`` and
``appended``, which record what the network just did; nothing may lengthen the moment
between the server's reply and its commit (a kill there means "uncertain" or a second
Sent copy). The record that queues a message is written under the records lock
(:func:`lock`), which a restore also holds: so a restore never sees a message being
queued, and a record without a row means the index was lost (see
:mod:`mailcli.send.restore`) or the queuing process died just before its commit (the
message is then sent, as the user asked; if its Outbox file is gone too, it is dropped).

A crash between record and commit leaves the record one state off; every such pair is
safe when only the record survives: ``sending`` ahead of ``queued`` (nothing sent yet:
held as uncertain, never sent twice), ``sending`` behind ``sent`` (held as uncertain),
``queued`` ahead of ``sending`` after a temporary failure (it was not accepted: sent
again), ``sent`` behind ``appended`` (the copy already in Sent is found by its
Message-ID and adopted, else appended again: at worst a second *copy*, never a second
send), ``done``/removed ahead (nothing left to send). A failed commit
rewrites the record from the row.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mailcli.errors import NotFoundError
from mailcli.store import Store
from mailcli.store.maildir import MaildirName, fsync_dir, strip_sync_ids

logger = logging.getLogger(__name__)

VERSION = 1


def records_dir(store: Store) -> Path:
    return store.data_dir / "outbox" / "records"


def record_path(store: Store, account: str, message_id: str) -> Path:
    key = hashlib.sha256(f"{account}\0{message_id}".encode("utf-8", "surrogatepass")).hexdigest()
    return records_dir(store) / f"{key[:40]}.json"


@contextlib.contextmanager
def lock(store: Store) -> Iterator[None]:
    """Exclusive between processes: queuing a message (record + row) and restoring."""
    directory = records_dir(store)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write(store: Store, doc: dict[str, Any]) -> None:
    """Replace the record of (doc["account"], doc["message_id"]) durably."""
    directory = records_dir(store)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = record_path(store, doc["account"], doc["message_id"])
    tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
    data = json.dumps({"version": VERSION, **doc}, sort_keys=True).encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(directory)


def remove(store: Store, account: str, message_id: str) -> None:
    path = record_path(store, account, message_id)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        fsync_dir(path.parent)


def load_all(store: Store) -> list[dict[str, Any]]:
    """Every readable record (an unreadable one is logged and skipped, never deleted)."""
    directory = records_dir(store)
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        try:
            doc = json.loads((directory / name).read_bytes())
            if not isinstance(doc, dict) or not {"account", "message_id", "state"} <= set(doc):
                raise ValueError("not an outbox record")
        except (OSError, ValueError) as exc:
            logger.warning("outbox record %s is unreadable (%s); left alone", name, exc)
            continue
        out.append(doc)
    return out


def any_records(store: Store) -> bool:
    """Cheap: is there any record at all (a stat; a directory listing only when the
    records directory exists)?"""
    if not records_dir(store).is_dir():
        return False
    try:
        with os.scandir(records_dir(store)) as it:
            return any(e.name.endswith(".json") for e in it)
    except FileNotFoundError:
        return False


# ------------------------------------------------------------- file identity by stem
def stem_of(store: Store, id: int | None) -> tuple[str, str] | None:
    """(folder, stem) of a stored message, or None if there is none."""
    if id is None:
        return None
    try:
        row = store.message_row(id)
    except NotFoundError:
        return None
    name = MaildirName.parse(row.filename.rpartition("/")[2])
    return row.folder, strip_sync_ids(name.base)


def find_by_stem(store: Store, account: str, folder: str, stem: str) -> int | None:
    """The id of the message of account/folder whose file has this stem, if indexed."""
    n = len(stem)
    r = store.db.conn().execute(
        "SELECT id FROM messages WHERE account = ? AND folder = ? AND substr(filename, 5, ?) = ?"
        " AND substr(filename, ?, 1) IN ('', ',', ':') LIMIT 1",
        (account, folder, n, stem, 5 + n)).fetchone()
    return None if r is None else int(r[0])

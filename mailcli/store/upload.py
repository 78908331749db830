"""The one rule for uploading a local-only message (a queued journal ``append``): used by
the sync engine (offline writes, messages another program saved in the Maildir) and by
`mailcli send` (Sent copies and drafts whose APPEND failed).

A message with LF line ends is rewritten with CRLF in the cache before the APPEND, so
the cached copy is the bytes the server keeps (servers store CRLF).

Idempotent by the local row: a row that has a UID is already uploaded, a row that is
gone was deleted locally first. The message goes to the row's *current* folder with its
current flags (it may have been moved or flagged since it was queued). With APPENDUID the
row gets the UID and its flags become the merge base; without it the UID-less copy is
removed, so the folder's next sync downloads the server copy instead of a duplicate.

A queued Sent copy is never appended when the folder already holds its Message-ID (a
server that files sent mail into Sent itself, see mailcli.send.sentcheck): the UID-less
local copy is dropped and the folder's sync caches the server's.

An APPEND the server stored but whose reply was lost (a kill, a cut link) must not be
made twice: ``perform_append`` writes the note APPEND_STARTED on the action before the
APPEND, and an action that carries a note from an earlier attempt first looks for a
server copy with the same Message-ID and size that no cached message holds; it adopts
that copy's UID instead of appending again.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailcli.errors import NotFoundError
from mailcli.model import Flags
from mailcli.store.facade import Store
from mailcli.store.journal import Action, Append

logger = logging.getLogger(__name__)

APPEND_STARTED = "upload started"   # journal note written before each APPEND


class Server(Protocol):
    """What an upload needs of a connected account (mailcli.accounts.base.Account)."""

    def append(self, folder: str, raw: bytes, flags: Flags = frozenset(),
               when: datetime | None = None) -> int | None: ...

    def create_folder(self, name: str) -> None: ...

    def find_message_id(self, folder: str, message_id: str) -> dict[int, int]: ...


@dataclass(frozen=True)
class Uploaded:
    """What an upload did: `uid` is the server UID when known; `appended` is False when
    nothing was sent (already uploaded, or an interrupted APPEND's copy adopted)."""

    folder: str
    uid: int | None
    appended: bool
    note: str | None = None


def upload(store: Store, account: str, server: Server, entry: Append, *, again: bool = False,
           hit: Callable[[str], None] | None = None) -> Uploaded | None:
    """Upload local message ``entry.id`` (see the module docstring). `again`: an earlier
    APPEND of it may have reached the server. Returns None when the local message is
    gone (nothing to do)."""
    try:
        row = store.message_row(entry.id)
    except NotFoundError:
        logger.info("queued upload of message %d: it was deleted locally; nothing to do",
                    entry.id)
        return None
    if row.uid is not None:
        return Uploaded(row.folder, row.uid, False)   # a replay after a crash
    raw = store.read_raw(row.id)
    crlf = re.sub(rb"\r?\n", b"\r\n", raw)
    if crlf != raw:
        # LF line ends (Python mailbox, some MUAs): the server keeps CRLF, so the cached
        # copy becomes those bytes first; same id, flags and (later) UID
        store.replace_raw(row.id, crlf)
        raw = crlf
    message_id = store.get(row.id).message_id if again or entry.sent_copy else None
    if message_id:
        try:
            copies = server.find_message_id(row.folder, message_id)
        except NotFoundError:
            copies = {}
        for uid, size in sorted(copies.items()):
            if size == len(raw) and store.id_by_uid(account, row.folder, uid) is None:
                store.set_uid(row.id, uid)
                return Uploaded(row.folder, uid, False,
                                f"{row.folder}: message {row.id} was already uploaded "
                                f"(uid {uid}); not appended again")
        if entry.sent_copy and copies:
            # the server keeps a copy of this sent message already (it files sent mail
            # into Sent itself): no second one; the folder's sync caches the server's
            store.remove(row.id)
            return Uploaded(row.folder, None, False,
                            f"{row.folder}: the server already keeps a copy of sent message "
                            f"{message_id}; not appended")
    try:
        new = server.append(row.folder, raw, row.flags)
    except NotFoundError:
        server.create_folder(row.folder)
        new = server.append(row.folder, raw, row.flags)
    if hit is not None:
        hit("push")
    if new is not None:
        store.set_uid(row.id, new)
        store.set_synced_flags(row.id, row.flags)
    else:
        store.remove(row.id)   # no APPENDUID: the folder's sync downloads it
    return Uploaded(row.folder, new, True)


def perform_append(store: Store, server: Server, action: Action,
                   hit: Callable[[str], None] | None = None) -> Uploaded | None:
    """Perform one queued append in write-ahead order: note the attempt, upload, mark
    done. Errors propagate (the caller marks the action failed, or leaves it open)."""
    entry = action.entry
    assert isinstance(entry, Append)
    again = action.last_error is not None
    store.journal.mark_failed(action.id, APPEND_STARTED)
    result = upload(store, action.account, server, entry, again=again, hit=hit)
    store.journal.mark_done(action.id)
    return result

"""Sent copies and other uploads the sending side queues: where a Sent copy goes, the
APPEND, the local cache copy, and the replay of queued uploads.

IMAP: the copy is APPENDed to the server's Sent folder, marked \\Seen. The folder is
``sent_folder`` from the config when set (SPEC.md: an explicit setting wins), else the
folder the server marks SPECIAL-USE \\Sent, else an existing folder with a well-known
name (Sent, Sent Items, Gesendet, ...) in the personal namespace, else "Sent" there
("INBOX/Sent" on a server whose personal namespace is "INBOX."); created when missing.
The same bytes are delivered into the local cache folder of the same name with the
APPENDUID, so `list -f Sent` shows them at once and the next sync recognises them. A
server without UIDPLUS gives no UID: no local copy is made then (a UID-less copy would
be downloaded a second time); the next `mailcli fetch` brings it down.

POP3: the copy is delivered into the local Maildir folder "Sent" (``sent_folder`` if set).

When the APPEND fails (server unreachable, quota exceeded, folder refused) the copy is
kept locally without a UID and a journal ``append`` action (payload ``folder``, ``id``,
``message_id``, ``flags``, ``sent_copy``) records the upload still owed; the sync engine
replays it at the next fetch, and :func:`replay_uploads` lets `mailcli send` do it too.
Replaying is idempotent by the local row: a row that has a UID is already uploaded.
(A crash between the server's APPEND reply and recording the UID can leave a second
copy in the server's Sent folder: a duplicate *copy*, never a duplicate *send*.)
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from mailcli.accounts.base import Account
from mailcli.config.schema import AccountConfig
from mailcli.errors import MailcliError, NotFoundError
from mailcli.model import Flag, FolderRole
from mailcli.send.outbox import OutboxItem
from mailcli.store import Action, ActionKind, Store

logger = logging.getLogger(__name__)

DEFAULT_SENT = "Sent"
# what servers without SPECIAL-USE call it (used when such a folder already exists)
WELL_KNOWN_SENT = ("Sent", "Sent Items", "Sent Messages", "Gesendet", "Gesendete Objekte",
                   "Gesendete Elemente")


def local_role_folder(store: Store, account: str, role: FolderRole) -> str | None:
    """The cached folder of `account` recorded with a SPECIAL-USE role, if any."""
    for summary in store.folder_summaries(account):
        if summary.role == role:
            return summary.folder
    return None


def server_sent_folder(cfg: AccountConfig, account: Account) -> str:
    """The Sent folder on the server (created if missing): config > \\Sent > an existing
    well-known name in the personal namespace > "Sent" in the personal namespace
    ("INBOX/Sent" where the server keeps the user's folders under "INBOX.")."""
    folders = account.list_folders()
    names = {f.name for f in folders}
    name = cfg.sent_folder or next((f.name for f in folders if f.role == FolderRole.SENT), None)
    if name is None:
        prefix = account.personal_prefix()
        candidates = [prefix + n for n in WELL_KNOWN_SENT] + (list(WELL_KNOWN_SENT) if prefix else [])
        name = next((c for c in candidates if c in names), prefix + DEFAULT_SENT)
    if name not in names:
        logger.info("creating the Sent folder %r on %s", name, cfg.host)
        account.create_folder(name)
    return name


class SentCopies:
    """A SentCopier (mailcli.send.outbox) for one account.

    `connect` returns a connected Account (the caller opens it lazily and closes it
    after the flush); it is only called for IMAP accounts, on the first APPEND.
    """

    def __init__(self, store: Store, cfg: AccountConfig,
                 connect: Callable[[], Account] | None = None) -> None:
        self.store = store
        self.cfg = cfg
        self.remote = cfg.is_imap and connect is not None
        self._connect = connect
        self._folder: str | None = None

    def append(self, item: OutboxItem, raw: bytes) -> tuple[str, int | None]:
        assert self._connect is not None
        account = self._connect()
        if self._folder is None:
            self._folder = server_sent_folder(self.cfg, account)
        uid = account.append(self._folder, raw, frozenset({Flag.SEEN}))
        logger.info("Sent copy of %s appended to %s (uid %s)", item.message_id, self._folder, uid)
        return self._folder, uid

    def local_folder(self) -> str:
        if self._folder is not None:
            return self._folder
        if self.cfg.sent_folder:
            return self.cfg.sent_folder
        if self.cfg.is_imap:
            return local_role_folder(self.store, self.cfg.name, FolderRole.SENT) or DEFAULT_SENT
        return DEFAULT_SENT

    def keep_local(self, item: OutboxItem, raw: bytes, folder: str | None = None,
                   uid: int | None = None, queue: bool = False) -> tuple[str, int]:
        folder = folder or self.local_folder()
        with self.store.batch():
            local = self.store.deliver(self.cfg.name, folder, raw, flags={Flag.SEEN}, uid=uid)
            if queue:
                self.store.journal.enqueue(self.cfg.name, ActionKind.APPEND, {
                    "folder": folder, "id": local, "message_id": item.message_id,
                    "flags": ["seen"], "sent_copy": True})
        return folder, local


def is_ours(action: Action) -> bool:
    """A journal action queued by the sending side (Sent copy or draft upload)."""
    return action.kind == ActionKind.APPEND and bool(
        action.payload.get("sent_copy") or action.payload.get("draft"))


def perform_upload(store: Store, account: Account, action: Action) -> int | None:
    """Replay one queued upload (idempotent); returns the new server UID if known.

    The local message gets the UID (set_uid). Without APPENDUID the UID-less local copy
    is removed, so that the next sync downloads the server copy instead of a duplicate.
    """
    payload = action.payload
    try:
        row = store.message_row(int(payload["id"]))
    except NotFoundError:
        logger.info("queued upload %d: the local message is gone; nothing to do", action.id)
        return None
    if row.uid is not None:
        return row.uid
    folder = str(payload.get("folder") or row.folder)
    flags = frozenset(f for f in map(_flag, payload.get("flags", [])) if f) or row.flags
    raw = store.read_raw(row.id)
    try:
        uid = account.append(folder, raw, flags)
    except NotFoundError:
        account.create_folder(folder)
        uid = account.append(folder, raw, flags)
    if uid is not None:
        store.set_uid(row.id, uid)
        store.set_synced_flags(row.id, flags)
    else:
        store.remove(row.id)
    return uid


def _flag(name: str) -> Flag | None:
    try:
        return Flag(name)
    except ValueError:
        return None


def replay_uploads(store: Store, account_name: str,
                   connect: Callable[[], Account]) -> list[tuple[Action, MailcliError | None]]:
    """Perform the uploads the sending side queued for an account (Sent copies, drafts).

    The caller holds the account's sync lock (so a concurrent `mailcli fetch` cannot
    replay the same action). Other journal actions are left to the sync engine.
    """
    results: list[tuple[Action, MailcliError | None]] = []
    for action in store.journal.pending(account_name):
        if not is_ours(action):
            continue
        try:
            perform_upload(store, connect(), action)
        except MailcliError as exc:
            store.journal.mark_failed(action.id, exc.message)
            results.append((action, exc))
            if exc.exit_code == 75:
                break  # the server is unreachable: the rest would fail the same way
        else:
            store.journal.mark_done(action.id)
            results.append((action, None))
    return results

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

A server that files submitted mail into Sent itself (Gmail, Microsoft 365: the config key
``server_saves_sent``, or found out at the first send, see :mod:`mailcli.send.sentcheck`)
gets no APPEND: :meth:`SentCopies.server_copy` finds the server's own copy by Message-ID
and the local cache copy is made from the server's bytes (``fetch_copy``), with its UID.

When the APPEND fails (server unreachable, quota exceeded, folder refused) the copy is
kept locally without a UID and a journal :class:`~mailcli.store.Append` entry
(``sent_copy=True``) records the upload still owed; the sync engine replays it at the
next fetch, and :func:`replay_uploads` lets `mailcli send` do it too, both by the one
upload rule of :mod:`mailcli.store.upload` (idempotent by the local row; a replay after
an interrupted APPEND adopts the server copy with the same Message-ID instead of
appending a second one).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mailcli.accounts.base import Account
from mailcli.accounts.registry import traits_for
from mailcli.config.schema import AccountConfig
from mailcli.errors import MailcliError
from mailcli.model import WELL_KNOWN_SENT, Flag, FolderRole
from mailcli.send import sentcheck
from mailcli.send.outbox import Outbox, OutboxItem, ServerCopy
from mailcli.store import Action, Append, Store
from mailcli.store.upload import perform_append

logger = logging.getLogger(__name__)

DEFAULT_SENT = "Sent"
# WELL_KNOWN_SENT (mailcli.model): what servers without SPECIAL-USE call it (used when
# such a folder already exists)


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
        self.remote = traits_for(cfg).can_append and connect is not None
        self._connect = connect
        self._folder: str | None = None
        self.memory = sentcheck.Memory(store.data_dir)

    def _sent_folder(self, account: Account) -> str:
        if self._folder is None:
            self._folder = server_sent_folder(self.cfg, account)
        return self._folder

    def server_copy(self, item: OutboxItem, detect: bool) -> ServerCopy | None:
        """The copy the server filed into Sent itself, when it does that (config, or the
        remembered answer); None when mailcli must APPEND one. `detect`: the message was
        just submitted by this process, so an account whose answer is not known yet waits
        a few seconds for the server's copy (a message resumed after a crash may find its
        own earlier APPEND instead, so it proves nothing, and looks whatever the server's
        habit). Raises MailcliError where it must look at the server and cannot (the
        caller then queues an APPEND, as before)."""
        cfg, key = self.cfg, sentcheck.server_key(self.cfg)
        known: bool | None = cfg.server_saves_sent
        answer = self.memory.get(cfg.name, key) if known is None else None
        if answer is not None:
            known = answer.saves
        if known is True:
            return self._trusted_copy(item)
        if known is False and answer is not None and answer.probe is not None:
            late = self._late_check(item, answer)
            if late is not None:
                return late
        if not detect:      # whatever the server's habit: its own earlier APPEND may be there
            return self._resumed_copy(item)
        if known is False:
            return None
        account = self._connect_checked()
        folder = self._sent_folder(account)
        found = sentcheck.poll(lambda: account.find_message_id(folder, item.message_id),
                               sentcheck.wait_seconds())
        saves = bool(found)
        self.memory.put(cfg.name, key, sentcheck.Answer(saves, time.time(),
                                                        None if saves else item.message_id))
        logger.info("%s: %s %s sent mail into %s itself", cfg.name, key,
                    "files" if saves else "does not file", folder)
        if not saves:
            return None
        return ServerCopy(folder, min(found), sentcheck.notice(cfg.name, key))

    def _resumed_copy(self, item: OutboxItem) -> ServerCopy | None:
        """A copy step resumed after a crash (unless the server is known to file sent mail:
        then _trusted_copy): a copy of the message already in Sent (the interrupted
        APPEND's, or the server's own) is adopted instead of appending another; it proves
        nothing about the server, so nothing is remembered."""
        account = self._connect_checked()
        folder = self._sent_folder(account)
        found = account.find_message_id(folder, item.message_id)
        if not found:
            return None
        uid = min(found)
        logger.info("%s: a copy of %s is already in %s (uid %d); not appended again",
                    self.cfg.name, item.message_id, folder, uid)
        return ServerCopy(folder, uid, size=found[uid])

    def _connect_checked(self) -> Account:
        assert self._connect is not None
        return self._connect()

    def _trusted_copy(self, item: OutboxItem) -> ServerCopy:
        """The server saves sent mail: look once (no wait) for its copy, so the cache gets
        it now; when it is not there yet, or the server cannot be reached, the next fetch
        brings it. Never raises: nothing is appended either way."""
        folder = self.cfg.sent_folder or self.local_folder()
        try:
            account = self._connect_checked()
            folder = self._sent_folder(account)
            found = account.find_message_id(folder, item.message_id)
        except MailcliError as exc:
            logger.info("%s: the server's own Sent copy of %s not looked up (%s); the next "
                        "fetch brings it", self.cfg.name, item.message_id, exc.message)
            found = {}
        return ServerCopy(folder, min(found) if found else None)

    def _late_check(self, item: OutboxItem, answer: sentcheck.Answer) -> ServerCopy | None:
        """The one owed look at the message an account's "no" was found with: two copies
        of it in Sent now mean the server filed it after the wait (then this message is
        not appended either)."""
        cfg, key = self.cfg, sentcheck.server_key(self.cfg)
        assert answer.probe is not None
        account = self._connect_checked()
        folder = self._sent_folder(account)
        copies = account.find_message_id(folder, answer.probe)
        saves = len(copies) >= 2
        self.memory.put(cfg.name, key, sentcheck.Answer(saves, time.time()))
        if not saves:
            return None
        logger.info("%s: %s filed %s into %s itself after the wait", cfg.name, key,
                    answer.probe, folder)
        found = account.find_message_id(folder, item.message_id)
        return ServerCopy(folder, min(found) if found else None,
                          sentcheck.notice(cfg.name, key, late=True))

    def fetch_copy(self, folder: str, uid: int) -> bytes | None:
        """The server's bytes of its own Sent copy (None if it cannot be read now: the next
        fetch brings it)."""
        got: list[bytes] = []
        try:
            self._connect_checked().fetch_messages(folder, [uid],
                                                   lambda _uid, raw, _flags: got.append(raw))
        except MailcliError as exc:
            logger.info("the server's Sent copy %s/%s not fetched now (%s)", folder, uid,
                        exc.message)
            return None
        return got[0] if got else None

    def append(self, item: OutboxItem, raw: bytes) -> tuple[str, int | None]:
        assert self._connect is not None
        account = self._connect()
        folder = self._sent_folder(account)
        uid = account.append(folder, raw, frozenset({Flag.SEEN}))
        logger.info("Sent copy of %s appended to %s (uid %s)", item.message_id, folder, uid)
        return folder, uid

    def local_folder(self) -> str:
        if self._folder is not None:
            return self._folder
        if self.cfg.sent_folder:
            return self.cfg.sent_folder
        if traits_for(self.cfg).server_folders:
            return local_role_folder(self.store, self.cfg.name, FolderRole.SENT) or DEFAULT_SENT
        return DEFAULT_SENT

    def keep_local(self, item: OutboxItem, raw: bytes, folder: str | None = None,
                   uid: int | None = None, queue: bool = False) -> tuple[str, int]:
        folder = folder or self.local_folder()
        with self.store.batch():
            local = self.store.deliver(self.cfg.name, folder, raw, flags={Flag.SEEN}, uid=uid)
            if queue:
                self.store.journal.enqueue(self.cfg.name, Append(
                    folder, local, item.message_id, frozenset({Flag.SEEN}), sent_copy=True))
        return folder, local


def is_ours(action: Action) -> bool:
    """A journal action queued by the sending side (Sent copy or draft upload)."""
    return isinstance(action.entry, Append) and action.entry.queued_by_sending


def replay_uploads(store: Store, account_name: str,
                   connect: Callable[[], Account]) -> list[tuple[Action, MailcliError | None]]:
    """Perform the uploads the sending side queued for an account (Sent copies, drafts),
    by the one upload rule (mailcli.store.upload).

    The caller holds the account's sync lock (so a concurrent `mailcli fetch` cannot
    replay the same action). Other journal actions are left to the sync engine.
    """
    results: list[tuple[Action, MailcliError | None]] = []
    for action in store.journal.pending(account_name):
        if not is_ours(action):
            continue
        try:
            perform_append(store, connect(), action)
        except MailcliError as exc:
            store.journal.mark_failed(action.id, exc.message)
            results.append((action, exc))
            if exc.exit_code == 75:
                break  # the server is unreachable: the rest would fail the same way
        else:
            results.append((action, None))
            entry = action.entry
            if isinstance(entry, Append) and entry.sent_copy:  # its record is owed nothing now
                item = Outbox(store).find(account_name, str(entry.message_id))
                if item is not None:
                    Outbox(store).sync_record(item)
    return results

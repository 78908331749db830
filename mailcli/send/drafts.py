"""Drafts kept when a compose does not end in a send (editor aborted or interrupted,
empty or unchanged draft, a permanent send error).

A draft is delivered into the account's local Drafts folder with \\Draft and \\Seen:
``drafts_folder`` from the config, else the cached folder with the SPECIAL-USE \\Drafts
role, else "Drafts". For IMAP accounts a journal ``append`` action (payload ``folder``,
``id``, ``message_id``, ``flags``, ``draft``) queues the upload to the server's Drafts
folder; it happens at the next fetch (or `mailcli send`), so saving never needs the
network. POP3 drafts stay local.
"""
from __future__ import annotations

import logging

from mailcli.accounts.registry import traits_for
from mailcli.config.schema import AccountConfig
from mailcli.model import Flag, FolderRole
from mailcli.send.sent import local_role_folder
from mailcli.store import Append, DeleteUid, Store

logger = logging.getLogger(__name__)

DEFAULT_DRAFTS = "Drafts"
DRAFT_FLAGS = frozenset({Flag.DRAFT, Flag.SEEN})


def drafts_folder(store: Store, cfg: AccountConfig) -> str:
    if cfg.drafts_folder:
        return cfg.drafts_folder
    if traits_for(cfg).server_folders:
        return local_role_folder(store, cfg.name, FolderRole.DRAFTS) or DEFAULT_DRAFTS
    return DEFAULT_DRAFTS


def keep_draft(store: Store, cfg: AccountConfig, raw: bytes, message_id: str | None) -> int:
    """Store a draft locally (and queue its upload for IMAP); returns its store id."""
    folder = drafts_folder(store, cfg)
    with store.batch():
        local = store.deliver(cfg.name, folder, raw, flags=DRAFT_FLAGS)
        if traits_for(cfg).can_append:
            store.journal.enqueue(cfg.name, Append(folder, local, message_id, DRAFT_FLAGS,
                                                   draft=True))
    logger.info("draft %s kept in %s/%s (id %d)", message_id, cfg.name, folder, local)
    return local


def discard_draft(store: Store, cfg: AccountConfig, id: int) -> None:
    """Remove a saved draft that was sent or saved again (mutt's postponed message,
    recalled): locally at once; on the IMAP server by a queued delete, or, when its
    upload has not happened yet, by cancelling that upload."""
    row = store.message_row(id)
    env = store.get(id)
    with store.db.write():
        if traits_for(cfg).server_uids and row.uid is not None:
            state = store.folder_state(env.account, env.folder)
            store.journal.enqueue(cfg.name, DeleteUid(env.folder, row.uid,
                                                      state.uidvalidity if state else None,
                                                      env.message_id))
        elif traits_for(cfg).can_append:
            for action in store.journal.pending(cfg.name):
                if isinstance(action.entry, Append) and action.entry.id == id:
                    store.journal.cancel(action.id)
        store.remove(id)
    logger.info("draft %s removed from %s/%s (id %d)", env.message_id, cfg.name, env.folder, id)

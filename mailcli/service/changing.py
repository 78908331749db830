"""Local changes queued for the server: flag, move, delete (and `now=True` to push at
once).

These methods only *record* changes, following phase 3's rules; the sync engine replays
them at the next fetch:

- flags: ``store.set_flags`` only; the planner sees local flags != synced flags.
- IMAP delete: a ``move`` to the account's Trash (as below; ``create_dest`` when the
  Trash does not exist yet); in the Trash, or with ``expunge``: journal ``DeleteUid``
  then ``store.remove`` in one transaction; a message never uploaded (uid None) is
  just removed (and its pending append dropped).
- IMAP move: journal ``MoveUid`` then ``store.move`` (keeps the id).
- POP3 delete: removed locally; with ``delete_when_deleted_locally`` a ``DeleteUidl``
  is journaled for the POP3 engine. POP3 move files the message in a local folder.

Every reference is resolved before anything changes, so an unknown id changes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from mailcli.accounts.registry import traits_for
from mailcli.errors import MailcliError, NotFoundError, UsageError
from mailcli.model import Envelope, Flags
from mailcli.service.trash import find_trash

if TYPE_CHECKING:
    from mailcli.service.core import ServiceCore
    from mailcli.service.reading import Reading

logger = logging.getLogger(__name__)


class Changing:
    """Flag, move and delete over the store + journal. `push_now(account)` pushes one
    account's queued changes at once (the sync's, for `now=True`)."""

    def __init__(self, core: ServiceCore, reading: Reading,
                 push_now: Callable[[str], None]) -> None:
        self.core = core
        self.reading = reading
        self.push_now = push_now

    # ----------------------------------------------------------------------- flags
    def flag(self, refs: list[str], add: Flags = frozenset(), remove: Flags = frozenset(),
             now: bool = False) -> list[Envelope]:
        """Add and remove flags on messages; returns the changed envelopes.

        Raises:
            UsageError: nothing to change, or a flag both added and removed.
            NotFoundError: an unknown reference (nothing is changed then).
        """
        add, remove = frozenset(add), frozenset(remove)
        if not add and not remove:
            raise UsageError("no flag change given",
                             hint="use --seen, --unseen, --flagged, --unflagged or --answered")
        both = add & remove
        if both:
            names = ", ".join(sorted(f.value for f in both))
            raise UsageError(f"cannot both set and clear {names}")
        envs = self.reading.resolve_many(refs)
        for env in envs:
            new = (env.flags | add) - remove
            if new != env.flags:
                self.core.store.set_flags(env.id, new)
        self._push(envs, now)
        return [self.core.store.get(e.id) for e in envs]

    # ------------------------------------------------------------------------ move
    def move(self, refs: list[str], folder: str, now: bool = False) -> list[Envelope]:
        """Move messages to `folder` of their own account (ids stay); returns them.

        Raises:
            NotFoundError: unknown reference, or (IMAP) a folder the cache does not know.
        """
        folder = folder.strip()
        if not folder:
            raise UsageError("no destination folder given")
        envs = self.reading.resolve_many(refs)
        for account in sorted({e.account for e in envs}):
            cfg = self.core.account_config(account)
            if traits_for(cfg).server_folders and not any(s.folder == folder
                                       for s in self.core.store.folder_summaries(account)):
                raise NotFoundError(f"no folder {folder!r} in account {account!r}",
                                    hint="see `mailcli folders`; run `mailcli fetch` to learn "
                                         "new server folders")
        from mailcli.store.journal import MoveUid
        for env in envs:
            if env.folder == folder:
                continue
            cfg = self.core.account_config(env.account)
            row = self.core.store.message_row(env.id)
            with self.core.store.db.write():
                if traits_for(cfg).server_uids and row.uid is not None:
                    self.core.store.journal.enqueue(env.account, MoveUid(
                        env.folder, row.uid, folder, env.id, *self._identity(env)))
                self.core.store.move(env.id, folder)
        self._push(envs, now)
        return [self.core.store.get(e.id) for e in envs]

    # ---------------------------------------------------------------------- delete
    def delete(self, refs: list[str], now: bool = False,
               expunge: bool = False) -> list[Envelope]:
        """Delete messages: IMAP moves them to the account's Trash (service/trash.py; the
        Trash is created on the server with the first move when it does not exist yet),
        and deletes permanently (queued \\Deleted + EXPUNGE) only what is already in the
        Trash, or everything with `expunge`. POP3 keeps its policy: removed locally, and
        on the server only with ``delete_when_deleted_locally``.

        Returns the envelopes as they are now: in the Trash for the moved ones, as they
        were for the ones deleted for good."""
        from mailcli.store.journal import DeleteUid, DeleteUidl, MoveUid

        envs = self.reading.resolve_many(refs)
        trash = {}
        for account in sorted({e.account for e in envs}):
            cfg = self.core.account_config(account)
            if traits_for(cfg).server_folders and not expunge:
                trash[account] = find_trash(self.core.store.folder_summaries(account),
                                            cfg.trash_folder)
        moved: set[int] = set()
        for env in envs:
            cfg = self.core.account_config(env.account)
            row = self.core.store.message_row(env.id)
            where = trash.get(env.account)
            with self.core.store.db.write():
                if where is not None and env.folder != where.name:
                    if row.uid is not None:
                        self.core.store.journal.enqueue(env.account, MoveUid(
                            env.folder, row.uid, where.name, env.id, *self._identity(env),
                            create_dest=not where.exists))
                    else:
                        self._retarget_pending_appends(env, where.name)
                    self.core.store.move(env.id, where.name)
                    moved.add(env.id)
                    continue
                if traits_for(cfg).server_uids and row.uid is not None:
                    self.core.store.journal.enqueue(env.account, DeleteUid(
                        env.folder, row.uid, *self._identity(env)))
                elif traits_for(cfg).can_append:     # delivered here, its APPEND still queued
                    self._drop_pending_appends(env)
                elif row.uidl is not None and cfg.delete_when_deleted_locally:
                    self.core.store.journal.enqueue(env.account, DeleteUidl(row.uidl, env.id))
                self.core.store.remove(env.id)
        self._push(envs, now)
        return [self.core.store.get(e.id) if e.id in moved else e for e in envs]

    def trash_folder(self, account: str) -> str | None:
        """Where `delete` moves this account's mail (None: POP3, deletes locally)."""
        cfg = self.core.account_config(account)
        if not traits_for(cfg).server_folders:
            return None
        return find_trash(self.core.store.folder_summaries(account), cfg.trash_folder).name

    # ------------------------------------------------------------------------ undo
    def undo_move(self, moves: dict[int, str]) -> list[Envelope]:
        """Put moved messages back (`moves`: id -> the folder each came from) while the
        move has not reached the server: the queued move is dropped and the message
        returns to its folder with its UID, so the next sync has nothing to do. A POP3
        move is local only and always goes back. Returns the envelopes put back.

        Raises:
            NotFoundError: nothing could be put back (the moves are on the server
                already, or a sync is pushing them right now).
        """
        from mailcli.store.undo import take_open_move

        store = self.core.store
        back: list[Envelope] = []
        for id, origin in moves.items():
            try:
                env = store.get(id)
            except NotFoundError:
                continue
            if env.folder == origin:
                continue
            cfg = self.core.account_config(env.account)
            with store.db.write() as conn:
                payload = take_open_move(conn, id) if traits_for(cfg).server_uids else {"folder": origin}
                if payload is None:
                    continue
                store.move(id, str(payload["folder"]))
                if payload.get("uid") is not None:
                    store.set_uid(id, int(payload["uid"]))
            back.append(store.get(id))
        if not back:
            raise NotFoundError("nothing to undo: the change has reached the server already",
                                hint="move the message back with `m`")
        return back

    # --------------------------------------------------------------------- helpers
    def _identity(self, env: Envelope) -> tuple[int | None, str | None]:
        """What pins a queued action to one server message: the UIDVALIDITY its UID
        belongs to (the engine refuses a stale UID after a UIDVALIDITY change) and the
        Message-ID (for the report when it does)."""
        state = self.core.store.folder_state(env.account, env.folder)
        return state.uidvalidity if state else None, env.message_id

    def _retarget_pending_appends(self, env: Envelope, folder: str) -> None:
        """A message never uploaded goes to the Trash locally; its queued upload follows
        it there (cancelled and queued again with the new folder, in one transaction)."""
        import dataclasses

        from mailcli.store.journal import Append

        for action in self.core.store.journal.pending(env.account):
            if isinstance(action.entry, Append) and action.entry.id == env.id:
                self.core.store.journal.cancel(action.id)
                self.core.store.journal.enqueue(env.account,
                                                dataclasses.replace(action.entry, folder=folder))

    def _drop_pending_appends(self, env: Envelope) -> None:
        from mailcli.store.journal import Append

        for action in self.core.store.journal.pending(env.account):
            if isinstance(action.entry, Append) and action.entry.id == env.id:
                self.core.store.journal.cancel(action.id)

    def _push(self, envs: list[Envelope], now: bool) -> None:
        if not now:
            return
        for account in sorted({e.account for e in envs}):
            try:
                self.push_now(account)
            except MailcliError as exc:
                hint = "the change is saved locally and will be pushed by the next `mailcli fetch`"
                try:
                    again = type(exc)(exc.message, hint=hint)
                except TypeError:
                    raise exc from None
                raise again from exc


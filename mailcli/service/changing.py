"""Local changes queued for the server: flag, move, delete (and `now=True` to push at
once). (Owned by the CLI issue.)

These methods only *record* changes, following phase 3's rules; the sync engine replays
them at the next fetch:

- flags: ``store.set_flags`` only; the planner sees local flags != synced flags.
- IMAP delete: journal ``delete {folder, uid}`` then ``store.remove`` in one transaction;
  a message never uploaded (uid None) is just removed (and its pending append dropped).
- IMAP move: journal ``move {folder, uid, dest, id}`` then ``store.move`` (keeps the id).
- POP3 delete: removed locally; with ``delete_when_deleted_locally`` a ``delete {uidl}``
  is journaled for the POP3 engine. POP3 move files the message in a local folder.

Every reference is resolved before anything changes, so an unknown id changes nothing.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mailcli.errors import MailcliError, NotFoundError, UnsupportedError, UsageError
from mailcli.model import Envelope, Flags

if TYPE_CHECKING:
    from mailcli.config.schema import AccountConfig
    from mailcli.store import Store

logger = logging.getLogger(__name__)


class ChangingMixin:
    """Flag, move and delete over the store + journal. Needs ServiceCore and ReadingMixin."""

    store: "Store"

    if TYPE_CHECKING:
        def account_config(self, name: str) -> AccountConfig: ...
        def resolve_many(self, refs: list[str]) -> list[Envelope]: ...

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
        envs = self.resolve_many(refs)
        self._check_push(now)
        for env in envs:
            new = (env.flags | add) - remove
            if new != env.flags:
                self.store.set_flags(env.id, new)
        self._push(envs, now)
        return [self.store.get(e.id) for e in envs]

    # ------------------------------------------------------------------------ move
    def move(self, refs: list[str], folder: str, now: bool = False) -> list[Envelope]:
        """Move messages to `folder` of their own account (ids stay); returns them.

        Raises:
            NotFoundError: unknown reference, or (IMAP) a folder the cache does not know.
        """
        folder = folder.strip()
        if not folder:
            raise UsageError("no destination folder given")
        envs = self.resolve_many(refs)
        self._check_push(now)
        for account in sorted({e.account for e in envs}):
            cfg = self.account_config(account)
            if cfg.is_imap and not any(s.folder == folder
                                       for s in self.store.folder_summaries(account)):
                raise NotFoundError(f"no folder {folder!r} in account {account!r}",
                                    hint="see `mailcli folders`; run `mailcli fetch` to learn "
                                         "new server folders")
        for env in envs:
            if env.folder == folder:
                continue
            cfg = self.account_config(env.account)
            row = self.store.message_row(env.id)
            with self.store.db.write():
                if cfg.is_imap and row.uid is not None:
                    self.store.journal.enqueue(env.account, "move", {
                        "folder": env.folder, "uid": row.uid, "dest": folder, "id": env.id,
                        **self._identity(env)})
                self.store.move(env.id, folder)
        self._push(envs, now)
        return [self.store.get(e.id) for e in envs]

    # ---------------------------------------------------------------------- delete
    def delete(self, refs: list[str], now: bool = False) -> list[Envelope]:
        """Delete messages locally and queue the server deletion; returns what was deleted
        (the envelopes as they were)."""
        envs = self.resolve_many(refs)
        self._check_push(now)
        for env in envs:
            cfg = self.account_config(env.account)
            row = self.store.message_row(env.id)
            with self.store.db.write():
                if cfg.is_imap and row.uid is not None:
                    self.store.journal.enqueue(env.account, "delete",
                                               {"folder": env.folder, "uid": row.uid,
                                                **self._identity(env)})
                elif cfg.is_imap:
                    self._drop_pending_appends(env)
                elif row.uidl is not None and cfg.delete_when_deleted_locally:
                    self.store.journal.enqueue(env.account, "delete",
                                               {"uidl": row.uidl, "message": env.id})
                self.store.remove(env.id)
        self._push(envs, now)
        return envs

    # --------------------------------------------------------------------- helpers
    def _identity(self, env: Envelope) -> dict[str, object]:
        """What pins a queued action to one server message: the UIDVALIDITY its UID
        belongs to (the engine refuses a stale UID after a UIDVALIDITY change) and the
        Message-ID (for the report when it does)."""
        state = self.store.folder_state(env.account, env.folder)
        return {"uidvalidity": state.uidvalidity if state else None,
                "message_id": env.message_id}

    def _drop_pending_appends(self, env: Envelope) -> None:
        for action in self.store.journal.pending(env.account):
            if action.kind.value == "append" and action.payload.get("id") == env.id:
                self.store.journal.cancel(action.id)

    def _check_push(self, now: bool) -> None:
        if now and not hasattr(self, "push_now"):
            raise UnsupportedError("--now needs the sync engine, which this build lacks",
                                   hint="leave out --now; the change is pushed by `mailcli fetch`")

    def _push(self, envs: list[Envelope], now: bool) -> None:
        if not now:
            return
        for account in sorted({e.account for e in envs}):
            try:
                self.push_now(account)  # type: ignore[attr-defined]
            except MailcliError as exc:
                hint = "the change is saved locally and will be pushed by the next `mailcli fetch`"
                try:
                    again = type(exc)(exc.message, hint=hint)
                except TypeError:
                    raise exc from None
                raise again from exc


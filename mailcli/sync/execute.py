"""Executing one folder's plan (a mixin of sync/engine.ImapSync; step 2f of the engine's
module docstring): local deletes, flag pulls, flag pushes (one STORE per identical
change), server deletes, uploads, then the downloads (sync/download.py). A read-only
folder on the server keeps its local changes (reported once by the engine). Returns
whether everything the folder's server state depends on succeeded: if not, the engine
records no HIGHESTMODSEQ and the next run retries exactly what is missing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mailcli.accounts.base import Account
from mailcli.errors import MailcliError, TemporaryError
from mailcli.store import Append, MessageRow, Store
from mailcli.sync.outcome import Tally

if TYPE_CHECKING:
    from mailcli.sync.plan import Plan

# the log lines keep the name they always had (sync/engine.py wrote them before the split)
logger = logging.getLogger("mailcli.sync.engine")


class PlanExecution:
    """Mixin: needs the engine's store, account, name, _kill and _not_pushed attributes,
    the LocalChanges helpers _folder_error and _hit, and Downloads._download."""

    store: Store
    account: Account
    name: str
    _kill: Callable[[str], None] | None
    _not_pushed: dict[str, int]

    if TYPE_CHECKING:   # provided by LocalChanges and Downloads (the engine mixes them in)
        def _folder_error(self, folder: str, message: str) -> None: ...
        def _hit(self, event: str) -> None: ...
        def _download(self, folder: str, uids: Sequence[int], tally: Tally) -> bool: ...

    def _execute(self, folder: str, p: Plan, rows: list[MessageRow], tally: Tally) -> bool:
        """Run a plan; returns False if something the server state depends on failed."""
        from mailcli.sync.actions import (
            DeleteLocal,
            DeleteRemote,
            Download,
            PullFlags,
            UploadLocal,
            batch_push_flags,
            format_uids,
        )

        by_uid = {r.uid: r for r in rows if r.uid is not None}
        complete = True
        recorded: set[int] = set()

        dels = p.of_type(DeleteLocal)
        if dels:
            doomed = [by_uid[a.uid] for a in dels if a.uid in by_uid]
            failed = self.store.remove_many(doomed)
            tally.deleted += len(doomed) - len(failed)
            uid_of = {r.id: r.uid for r in doomed}
            problems = [(uid_of[i] or 0, str(exc)) for i, exc in failed.items()]
            problems += [(a.uid, "not in the index") for a in dels if a.uid not in by_uid]
            for uid, why in problems:
                complete = False
                tally.failed += 1
                logger.warning("%s/%s uid %d: local delete failed: %s", self.name, folder,
                               uid, why)
        pulls = p.of_type(PullFlags)
        if pulls:
            with self.store.batch():
                for pull in pulls:
                    try:
                        r = by_uid[pull.uid]
                        self.store.set_flags(r.id, pull.flags)
                        self.store.set_synced_flags(r.id, p.synced.get(pull.uid, pull.flags))
                        recorded.add(pull.uid)
                        tally.updated += 1
                    except (MailcliError, OSError, KeyError) as exc:
                        complete = False
                        tally.failed += 1
                        logger.warning("%s/%s uid %d: flag update failed: %s", self.name, folder,
                                       pull.uid, exc)
        pushes = batch_push_flags(p.actions)
        remote_dels = [a.uid for a in p.of_type(DeleteRemote)]
        uploads = p.of_type(UploadLocal)
        if (pushes or remote_dels or uploads) and self.account.read_only(folder):
            # pull only: the local changes stay (flags unsynced, uploads unsent), reported once
            kept = {u for _add, _remove, uids in pushes for u in uids}
            recorded.update(kept)
            self._not_pushed[folder] = (self._not_pushed.get(folder, 0) + len(kept)
                                        + len(remote_dels) + len(uploads))
            pushes, remote_dels, uploads = [], [], []
        for add, remove, uids in pushes:
            try:
                self.account.set_flags(folder, uids, add, remove)
            except TemporaryError:
                raise
            except MailcliError as exc:
                tally.failed += len(uids)
                self._folder_error(folder, f"flag change on uid {format_uids(uids)} failed: "
                                           f"{exc.message}")
                recorded.update(uids)   # record nothing: retried next run
                continue
            self._hit("push")
            with self.store.batch():
                for uid in uids:
                    if uid not in recorded and uid in by_uid:
                        self.store.set_synced_flags(by_uid[uid].id, p.synced.get(uid))
                        recorded.add(uid)
                        tally.updated += 1
        rest = [u for u in p.synced if u not in recorded and u in by_uid]
        if rest:
            with self.store.batch():
                for uid in rest:
                    self.store.set_synced_flags(by_uid[uid].id, p.synced[uid])
        if remote_dels:
            self.account.delete(folder, remote_dels)
            self._hit("delete")
            tally.deleted += len(remote_dels)
        for up in uploads:
            try:
                from mailcli.store.upload import upload

                done = upload(self.store, self.name, self.account, Append(folder, up.local_id),
                              hit=self._kill)
                if done is not None and done.appended:
                    tally.uploaded += 1
            except TemporaryError:
                raise
            except MailcliError as exc:
                tally.failed += 1
                self._folder_error(folder, f"upload of message {up.local_id} failed: {exc.message}")
        for d in p.of_type(Download):
            if not self._download(folder, d.uids, tally):
                complete = False
        return complete

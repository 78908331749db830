"""How local changes reach an IMAP server: the journal replay, changes another client
made in the Maildir, and folders the server removed (a mixin of sync/engine.ImapSync;
the rules are in the engine's module docstring, steps 1, 2a and 2c).

Every queued action is idempotent when replayed after a crash: a delete of a UID that
is gone is a no-op, a move whose UID is gone yields no COPYUID (the local copy is then
dropped and the destination's sync downloads the server copy), an append of a message
that already has a UID is skipped.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from mailcli.accounts.base import Account
from mailcli.errors import MailcliError, NotFoundError, TemporaryError
from mailcli.store import ORPHANS, Append, DeleteUid, ExternalChanges, FolderState, MoveUid, Store
from mailcli.store import Action as JournalAction
from mailcli.sync.events import Reporter, SyncWarning
from mailcli.sync.limits import Limits
from mailcli.sync.outcome import SyncOutcome, Tally

if TYPE_CHECKING:
    from mailcli.sync.queued import MoveQueued, QueuedPlan, StaleMove, UploadQueued

logger = logging.getLogger(__name__)


class LocalChanges:
    """Mixin: needs the engine's store, account, name, reporter, outcome, limits, force,
    _kill attributes and its _dry method."""

    store: Store
    account: Account
    name: str
    reporter: Reporter
    outcome: SyncOutcome
    limits: Limits
    force: bool
    _kill: Callable[[str], None] | None

    def _dry(self, *plans: object) -> bool:
        raise NotImplementedError

    def _folder_error(self, folder: str, message: str) -> None:
        logger.warning("%s: %s: %s", self.name, folder, message)
        self.outcome.errors.append(f"{folder}: {message}")
        self.reporter.event(SyncWarning(message, self.name, folder))

    def _note(self, folder: str | None, text: str, warn: bool = False) -> None:
        logger.info("%s: %s", self.name, text)
        self.outcome.notes.append(text)
        if warn:
            self.reporter.event(SyncWarning(text, self.name, folder))

    def _queued(self, folder: str | None = None) -> list[JournalAction]:
        """The account's open IMAP entries (of one folder: moves and deletes *from* it,
        uploads *to* it), oldest first."""
        return [a for a in self.store.journal.pending(self.name)
                if isinstance(a.entry, (DeleteUid, MoveUid, Append))
                and (folder is None or a.entry.folder == folder)]

    def _hit(self, event: str) -> None:
        if self._kill is not None:
            self._kill(event)

    # ------------------------------------------------------- folders come and go
    def _folder_removed(self, folder: str, tally: Tally) -> None:
        """The server no longer lists `folder` (engine docstring, step 1). Files another
        client saved there that the index never saw go to the local "orphans" folder."""
        rows = self.store.message_rows(self.name, folder)
        keep = [r for r in rows if r.uid is None]
        if self._dry(f"{folder}: removed on the server; {len(rows) - len(keep)} cached copies "
                     f"would be removed" + (f", {len(keep)} local-only kept" if keep else "")):
            return
        # The server copy of a queued delete, or of a move's source, went with the folder.
        for a in self._queued(folder):
            e = a.entry
            if isinstance(e, MoveUid) and e.id is not None:
                self.store.journal.enqueue(self.name, Append(e.dest, e.id))
                self._note(folder, f"queued move of uid {e.uid} out of {folder} "
                                   f"(removed on the server) becomes an upload to "
                                   f"{e.dest}", warn=True)
            if isinstance(e, (DeleteUid, MoveUid)):
                self.store.journal.mark_done(a.id)
        self._orphans(folder, self.store.keep_unknown(self.name, folder))
        cached = [r for r in rows if r.uid is not None]
        if keep:
            with self.store.batch():
                for r in cached:
                    self.store.remove(r.id)
            tally.deleted += len(cached)
            self._folder_error(folder, f"removed on the server, but {len(keep)} message(s) here "
                                       f"never reached the server (queued moves or uploads); "
                                       f"kept locally: recreate the folder on the server or move "
                                       f"them, then fetch again")
            return
        self._orphans(folder, self.store.delete_folder(self.name, folder))
        tally.deleted += len(cached)
        self._note(folder, f"folder {folder} was removed on the server; removed locally "
                           f"({len(cached)} cached message(s))")

    def _orphans(self, folder: str, kept: list[int]) -> None:
        if kept:
            self._note(folder, f"{folder} was removed on the server; {len(kept)} message(s) "
                               f"saved there by another program were never on the server: "
                               f"kept in the local folder {ORPHANS}", warn=True)

    # ------------------------------------------------------- external changes
    def _external(self, folder: str, ext: ExternalChanges, state: FolderState) -> FolderState:
        """Turn what another client did in the Maildir into journal entries (step 2a);
        returns the folder state to sync from."""
        if ext.removed and self.store.count(self.name, folder) == 0 and not ext.added:
            gone = [r.uid for r in ext.removed if r.uid is not None]
            if gone:
                self._note(folder, f"{folder}: the local copy is empty or missing ({len(gone)} "
                                   f"cached messages gone); downloading them again, deleting "
                                   f"nothing on the server", warn=True)
                # forget the bookmark: the next listing must be full
                state = replace(state, uidnext=None, highestmodseq=None)
                self.store.put_folder_state(state)
        else:
            for r in ext.removed:
                if r.uid is None:
                    continue
                self.store.journal.enqueue(self.name, DeleteUid(
                    folder, r.uid, state.uidvalidity, r.message_id))
            if ext.removed:
                logger.info("%s/%s: %d message(s) deleted by another client; queued",
                            self.name, folder, len(ext.removed))
        if not ext.added:
            return state
        # a download whose row a crash lost (a landing record names it) keeps its UID
        # unchecked: the plan deletes it here if the server has expunged it since
        added = [self.store.message_row(i) for i in ext.added if i not in ext.landed]
        with_uid = [m.uid for m in added if m.uid is not None]
        server: dict[int, int] = {}
        if with_uid:
            server = {rf.uid: rf.size or -1 for rf in self.account.fetch_flags(folder, with_uid)}
        for m in added:
            if m.uid is not None and server.get(m.uid) == self.store.get(m.id).size:
                continue   # a download whose row was lost in a crash: the same server message
            if m.uid is not None:
                self.store.set_uid(m.id, None)
            self.store.journal.enqueue(self.name, Append(folder, m.id))
            logger.info("%s/%s: new local message %d queued for upload", self.name, folder, m.id)
        return state

    # ---------------------------------------------------------------- journal
    def _replay(self, qp: QueuedPlan, tally: Tally) -> None:
        """Execute a folder's QueuedPlan (step 2c); failures keep the entry for a retry."""
        # sync/queued and store/upload load only when something is queued (start-up, issue 15)
        from mailcli.sync.queued import DeleteQueued, DropStaleDelete

        journal = self.store.journal
        for step in qp.steps:
            if isinstance(step, DropStaleDelete):
                journal.mark_done(step.id)
                self._note(step.folder, str(step), warn=True)
            elif isinstance(step, DeleteQueued):
                try:
                    self.account.delete(step.folder, list(step.uids))
                except TemporaryError:
                    raise
                except MailcliError as exc:
                    for aid in step.ids:
                        journal.mark_failed(aid, exc.message)
                    self._folder_error(step.folder, f"queued delete of {len(step.uids)} "
                                                    f"message(s) failed: {exc.message}")
                    continue
                self._hit("delete")
                for aid in step.ids:
                    journal.mark_done(aid)
                tally.deleted += len(step.uids)
            else:
                self._replay_one(step, tally)

    def _replay_one(self, step: MoveQueued | StaleMove | UploadQueued, tally: Tally) -> None:
        from mailcli.store.upload import perform_append
        from mailcli.sync.queued import MoveQueued, StaleMove, UploadQueued

        aid = step.action.id if isinstance(step, UploadQueued) else step.id
        try:
            if isinstance(step, MoveQueued):
                self._move(step.folder, step.entry)
                tally.updated += 1
            elif isinstance(step, StaleMove):
                self._stale_move(step)
            else:
                done = perform_append(self.store, self.account, step.action, self._kill)
                if done is not None and done.note:
                    self._note(done.folder, done.note)
                if done is not None and done.appended:
                    tally.uploaded += 1
                return   # perform_append marked it done
            self.store.journal.mark_done(aid)
        except TemporaryError:
            raise
        except MailcliError as exc:
            self.store.journal.mark_failed(aid, exc.message)
            tally.failed += 1
            what = step.action.entry if isinstance(step, UploadQueued) else step.entry
            self._folder_error(step.folder, f"queued {what} failed: {exc.message}")

    def _move(self, folder: str, e: MoveUid) -> None:
        if e.create_dest and e.dest not in {f.name for f in self.account.list_folders()}:
            self.account.create_folder(e.dest)   # `delete` to a Trash the server lacks yet
            self._note(folder, f"created the folder {e.dest} on the server")
        mapping = self.account.move(folder, [e.uid], e.dest)
        self._hit("push")
        new = mapping.get(e.uid)
        if e.id is None:
            return
        if new is not None:
            try:
                self.store.set_uid(e.id, new)
            except NotFoundError:
                # deleted locally after the move: delete the moved server copy too
                self.account.delete(e.dest, [new])
            return
        try:
            self.store.remove(e.id)   # no COPYUID: the destination's sync downloads it
        except NotFoundError:
            pass

    def _stale_move(self, step: StaleMove) -> None:
        if step.entry.id is not None:
            self.store.journal.enqueue(self.name, Append(step.entry.dest, step.entry.id))
        self._note(step.folder, str(step), warn=True)

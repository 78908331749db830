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

from mailcli.accounts.base import Account
from mailcli.errors import MailcliError, NotFoundError, TemporaryError
from mailcli.model import FolderStatus
from mailcli.store import Action as JournalAction
from mailcli.store import ORPHANS, ActionKind, ExternalChanges, FolderState, MessageRow, Store
from mailcli.sync.events import Reporter, SyncWarning
from mailcli.sync.outcome import SyncOutcome, Tally
from mailcli.sync.plan import Limits

logger = logging.getLogger(__name__)

APPEND_STARTED = "upload started"   # journal note written before each APPEND


class LocalChanges:
    """Mixin: needs the engine's store, account, name, reporter, outcome, limits, force,
    dry_run and _kill attributes."""

    store: Store
    account: Account
    name: str
    reporter: Reporter
    outcome: SyncOutcome
    limits: Limits
    force: bool
    dry_run: bool
    _kill: Callable[[str], None] | None

    def _folder_error(self, folder: str, message: str) -> None:
        logger.warning("%s: %s: %s", self.name, folder, message)
        self.outcome.errors.append(f"{folder}: {message}")
        self.reporter.event(SyncWarning(message, self.name, folder))

    def _note(self, folder: str | None, text: str, warn: bool = False) -> None:
        logger.info("%s: %s", self.name, text)
        self.outcome.notes.append(text)
        if warn:
            self.reporter.event(SyncWarning(text, self.name, folder))

    def _journal(self) -> list[JournalAction]:
        return [a for a in self.store.journal.pending(self.name)
                if a.kind in (ActionKind.DELETE, ActionKind.MOVE, ActionKind.APPEND, ActionKind.FLAG)
                and "folder" in a.payload]

    def _hit(self, event: str) -> None:
        if self._kill is not None:
            self._kill(event)

    # ------------------------------------------------------- folders come and go
    def _folder_removed(self, folder: str, tally: Tally) -> None:
        """The server no longer lists `folder` (engine docstring, step 1). Files another
        client saved there that the index never saw go to the local "orphans" folder."""
        rows = self.store.message_rows(self.name, folder)
        keep = [r for r in rows if r.uid is None]
        if self.dry_run:
            self.outcome.plans.append(f"{folder}: removed on the server; "
                                      f"{len(rows) - len(keep)} cached copies would be removed"
                                      + (f", {len(keep)} local-only kept" if keep else ""))
            return
        # The server copy of a queued delete, or of a move's source, went with the folder.
        for a in self._journal():
            if a.payload.get("folder") != folder:
                continue
            if a.kind is ActionKind.MOVE and a.payload.get("id") is not None:
                self.store.journal.enqueue(self.name, ActionKind.APPEND,
                                           {"folder": a.payload.get("dest"), "id": a.payload["id"]})
                self._note(folder, f"queued move of uid {a.payload.get('uid')} out of {folder} "
                                   f"(removed on the server) becomes an upload to "
                                   f"{a.payload.get('dest')}", warn=True)
            if a.kind in (ActionKind.DELETE, ActionKind.MOVE, ActionKind.FLAG):
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
    def _external(self, folder: str, ext: ExternalChanges,
                  state: FolderState | None) -> FolderState | None:
        """Turn what another client did in the Maildir into journal entries (step 2a);
        returns the folder state to sync from."""
        if ext.removed and self.store.count(self.name, folder) == 0 and not ext.added:
            gone = [r.uid for r in ext.removed if r.uid is not None]
            if gone:
                self._note(folder, f"{folder}: the local copy is empty or missing ({len(gone)} "
                                   f"cached messages gone); downloading them again, deleting "
                                   f"nothing on the server", warn=True)
                if state is not None:   # forget the bookmark: the next listing must be full
                    state = replace(state, uidnext=None, highestmodseq=None)
                    self.store.put_folder_state(state)
        else:
            for r in ext.removed:
                if r.uid is None:
                    continue
                self.store.journal.enqueue(self.name, ActionKind.DELETE, {
                    "folder": folder, "uid": r.uid, "message_id": r.message_id,
                    "uidvalidity": state.uidvalidity if state else None})
            if ext.removed:
                logger.info("%s/%s: %d message(s) deleted by another client; queued",
                            self.name, folder, len(ext.removed))
        if not ext.added:
            return state
        added = [self.store.message_row(i) for i in ext.added]
        with_uid = [m.uid for m in added if m.uid is not None]
        server: dict[int, int] = {}
        if with_uid:
            server = {rf.uid: rf.size or -1 for rf in self.account.fetch_flags(folder, with_uid)}
        for m in added:
            if m.uid is not None and server.get(m.uid) == self.store.get(m.id).size:
                continue   # a download whose row was lost in a crash: the same server message
            if m.uid is not None:
                self.store.set_uid(m.id, None)
            self.store.journal.enqueue(self.name, ActionKind.APPEND, {"folder": folder, "id": m.id})
            logger.info("%s/%s: new local message %d queued for upload", self.name, folder, m.id)
        return state

    # ---------------------------------------------------------------- journal
    def _replay(self, folder: str, actions: list[JournalAction], status: FolderStatus,
                state: FolderState | None, rows: list[MessageRow],
                tally: Tally) -> tuple[str | None, set[int]]:
        """Apply the folder's queued actions (step 2c). Returns (guardrail reason or None,
        UIDs that must not be downloaded again because their queued action is still open)."""
        journal = self.store.journal
        held: set[int] = set()

        def current(a: JournalAction) -> bool:
            # Unknown (never recorded) counts as current: UIDVALIDITY is written ahead of
            # every download, so a cached UID always has a recorded UIDVALIDITY.
            validity = a.payload.get("uidvalidity") or (state.uidvalidity if state else None)
            return validity is None or validity == status.uidvalidity

        deletes = [a for a in actions if a.kind is ActionKind.DELETE and a.payload.get("uid")]
        stale = [a for a in deletes if not current(a)]
        for a in stale:
            journal.mark_done(a.id)
            self._note(folder, f"{folder}: queued delete of uid {a.payload['uid']} not applied: "
                               f"the folder's UIDVALIDITY changed (it may come back)", warn=True)
        deletes = [a for a in deletes if current(a)]
        uids = sorted({int(a.payload["uid"]) for a in deletes})
        allowed = self.limits.allowed(len(rows) + len(uids))
        if len(uids) > allowed and not self.force:
            reason = (f"would delete {len(uids)} of {len(rows) + len(uids)} messages on the server "
                      f"in {folder} (deleted locally; limit {allowed}); run again with --force if "
                      f"that is intended")
            self.outcome.blocked.append(reason)
            self.reporter.event(SyncWarning(reason, self.name, folder))
            return reason, set(uids)
        if uids:
            try:
                self.account.delete(folder, uids)
            except TemporaryError:
                raise
            except MailcliError as exc:
                for a in deletes:
                    journal.mark_failed(a.id, exc.message)
                held |= set(uids)
                self._folder_error(folder, f"queued delete of {len(uids)} message(s) failed: {exc.message}")
            else:
                self._hit("delete")
                for a in deletes:
                    journal.mark_done(a.id)
                tally.deleted += len(uids)
        for a in actions:
            if a.kind is ActionKind.DELETE:
                if not a.payload.get("uid"):
                    journal.mark_done(a.id)   # never on the server: nothing to do
                continue
            try:
                if a.kind is ActionKind.MOVE:
                    if not current(a):
                        self._stale_move(folder, a)
                    else:
                        self._move(folder, a)
                        tally.updated += 1
                elif a.kind is ActionKind.APPEND:
                    # last_error set: an earlier attempt may have reached the server
                    again = a.last_error is not None
                    journal.mark_failed(a.id, APPEND_STARTED)
                    if self._append(a.payload.get("id"), again):
                        tally.uploaded += 1
                journal.mark_done(a.id)
            except TemporaryError:
                raise
            except MailcliError as exc:
                journal.mark_failed(a.id, exc.message)
                if a.kind is ActionKind.MOVE and a.payload.get("uid"):
                    held.add(int(a.payload["uid"]))
                tally.failed += 1
                self._folder_error(folder, f"queued {describe(a)} failed: {exc.message}")
        return None, held

    def _move(self, folder: str, a: JournalAction) -> None:
        uid, dest, mid = a.payload.get("uid"), str(a.payload.get("dest")), a.payload.get("id")
        if not uid:
            return   # a local-only message moved locally: its upload is queued separately
        if a.payload.get("create_dest") and dest not in {f.name for f in self.account.list_folders()}:
            self.account.create_folder(dest)   # `delete` to a Trash the server lacks yet
            self._note(folder, f"created the folder {dest} on the server")
        mapping = self.account.move(folder, [int(uid)], dest)
        self._hit("push")
        new = mapping.get(int(uid))
        if mid is None:
            return
        if new is not None:
            try:
                self.store.set_uid(int(mid), new)
            except NotFoundError:
                # deleted locally after the move: delete the moved server copy too
                self.account.delete(dest, [new])
            return
        try:
            self.store.remove(int(mid))   # no COPYUID: the destination's sync downloads it
        except NotFoundError:
            pass

    def _stale_move(self, folder: str, a: JournalAction) -> None:
        """A queued move from before a UIDVALIDITY change: the UID means nothing now. The
        local copy (in the destination) is uploaded instead; the server copy stays."""
        mid = a.payload.get("id")
        if mid is not None:
            self.store.journal.enqueue(self.name, ActionKind.APPEND,
                                       {"folder": a.payload.get("dest"), "id": mid})
        self._note(folder, f"{folder}: queued move of uid {a.payload.get('uid')} could not be "
                           f"applied (UIDVALIDITY changed); the local copy will be uploaded to "
                           f"{a.payload.get('dest')} instead", warn=True)

    def _append(self, mid: object, again: bool = False) -> bool:
        """Upload a local-only message; True if something was uploaded. `again`: an
        earlier APPEND may have been stored before the process died; a server copy with
        the same Message-ID and size that no cached message holds is adopted instead."""
        if mid is None:
            return False
        try:
            row = self.store.message_row(int(mid))  # type: ignore[call-overload]
        except NotFoundError:
            return False   # deleted locally before it was uploaded
        if row.uid is not None:
            return False   # already uploaded (a replay after a crash)
        raw = self.store.read_raw(row.id)
        message_id = self.store.get(row.id).message_id if again else None
        if message_id:
            try:
                copies = self.account.find_message_id(row.folder, message_id)
            except NotFoundError:
                copies = {}
            for uid, size in sorted(copies.items()):
                if size == len(raw) and self.store.id_by_uid(self.name, row.folder, uid) is None:
                    self.store.set_uid(row.id, uid)
                    self._note(row.folder, f"{row.folder}: message {row.id} was already "
                                           f"uploaded (uid {uid}); not appended again")
                    return False
        try:
            uid = self.account.append(row.folder, raw, row.flags)
        except NotFoundError:
            self.account.create_folder(row.folder)
            uid = self.account.append(row.folder, raw, row.flags)
        self._hit("push")
        if uid is not None:
            self.store.set_uid(row.id, uid)
            self.store.set_synced_flags(row.id, row.flags)
        else:
            self.store.remove(row.id)   # no APPENDUID: the folder's sync downloads it
        return True



def describe(a: JournalAction) -> str:
    p = a.payload
    if a.kind is ActionKind.MOVE:
        return f"move of uid {p.get('uid')} to {p.get('dest')}"
    if a.kind is ActionKind.DELETE:
        return f"delete of uid {p.get('uid')}"
    if a.kind is ActionKind.APPEND:
        return f"upload of message {p.get('id')}"
    return f"{a.kind.value} {p}"

"""The IMAP sync engine: two-way sync of one connected account with the local store.

Owns the order of work and every side effect of an IMAP sync; the decisions per message
are the pure planner's (sync/plan.py). For one account (`ImapSync.run`):

1. LIST; keep the selectable folders matching the account's ``folders`` globs. A server
   folder without local state gets one (it appears locally). A folder with local state
   that the server no longer lists, or lists as \\Noselect, disappears locally (its cached messages count as
   deleted), except messages that never reached the server: files another program saved
   there that the index never saw move to the local folder "orphans" (reported); queued
   moves or uploads into it stay, and the folder is reported as an error every run until
   the user acts. Queued deletes for it are done (the server copy went with the folder);
   queued moves out of it become uploads. Guardrail: a listing without INBOX, or one
   that drops more than FOLDER_LIMITS folders or more than LIMITS cached messages,
   removes nothing (``outcome.blocked``, --force). Creating a new folder's Maildir fails
   per folder (a path the file system cannot hold is hashed by the store anyway).
2. Per folder, in this order (a failing folder is reported and the others continue; a
   lost connection ends the account):
   a. ``store.scan_external_changes``: flag renames by neomutt & co. land in the index
      (and are pushed by the planner); deleted files become journal "delete" entries
      (cheap when nothing changed: the store skips a folder whose cur/ and new/ times
      are unchanged since the index last matched them);
      new files become "append" entries, except a download that crashed before its row
      committed: named in a landing record (store/landing.py), it keeps its ``,U=`` UID
      and the plan deletes it here if the server has expunged it since; a file carrying a
      ``,U=`` without a record keeps it only if the server has the same UID with the
      same size. If every cached message of the folder vanished, the
      Maildir was wiped, not emptied by the user: nothing is deleted on the server and
      the messages are downloaded again.
   b. No-change fast path (CONDSTORE): one STATUS; same UIDVALIDITY, UIDNEXT and
      HIGHESTMODSEQ, no queued action and no local flag change -> done, no SELECT.
      A folder never synced that the listing's STATUS (LIST-STATUS) shows empty, with
      nothing here or queued: that STATUS becomes its bookmark, no SELECT either.
   c. Replay the folder's journal (planned by sync/queued.py): deletes (one \\Deleted +
      UID EXPUNGE for all), moves
      (COPYUID -> ``store.set_uid``; without it the local copy is dropped and the
      destination's sync downloads the server copy), appends (the one upload rule,
      store/upload.py: APPENDUID -> set_uid; a retried APPEND adopts the server copy
      with the same Message-ID and size instead of appending twice).
      A delete whose UIDVALIDITY is stale is not applied (reported). Queued deletes are
      guarded like planned ones (more than the planner's Limits -> blocked, --force).
      UIDs with a queued delete or move that is still open are never downloaded again.
   d. ``changes_since(uidvalidity, highestmodseq)``: QRESYNC = one SELECT; CONDSTORE
      only = one SELECT when nothing changed, else one flag scan; neither = one SELECT +
      one ``UID FETCH 1:* (FLAGS)``. Never one command per message. A folder's first
      sync: SELECT + scan pipelined, sent ahead behind the listing (INBOX) or behind the
      previous folder's last body FETCH (sync/unchanged.py `_read_next`,
      accounts/imap_ahead.py); used only if nothing else was sent in between.
   e. UIDVALIDITY changed: the cached messages are re-matched by Message-ID + size
      (planner's `rematch`, one headers-only FETCH; messages without a Message-ID by
      size + digest of the bytes, one FETCH of those), their UIDs rewritten, their merge
      base dropped (flags are unioned, so no local flag is lost); the rest is downloaded,
      nothing is deleted. After the download, an unmatched local copy whose bytes
      (CRLF-normalised) equal a fresh server copy is dropped (its flags go to that copy);
      the others stay (without a UID) and are reported.
   f. plan() -> execute (sync/execute.py): DeleteLocal, PullFlags, PushFlags (one STORE per identical
      change), DeleteRemote, uploads, then downloads newest first (sync/download.py):
      one pipelined fetch of the folder's UIDs in descending order (INBOX is the first
      folder), committed in chunks from inside the stream (sync/staging.py RollingBatch:
      the first chunk only FIRST_CHUNK messages, so the newest mail of a first sync is
      listable at once; FETCH batches stay in flight while a chunk is made durable), each
      chunk one ``store.batch()`` (files fsynced, then the rows committed; from POOL_MIN
      messages the index parse runs in worker processes meanwhile). The folder's state
      (UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ) is written only after everything committed; if
      any download, pull or local delete failed, HIGHESTMODSEQ is not recorded, so the
      next run does a full flag scan and retries exactly what is missing.
   ``plan.blocked`` (the guardrail) stops the folder and asks for --force.

Each step reads, plans (pure: sync/plan.py, sync/queued.py, rematch), then executes.
``dry_run=True`` records the plans as text and stops before every execute (one check,
``_dry``); the Maildir scan (2a) is skipped because it updates the index. Nothing is
written to the store or the server.
"""
from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from mailcli import killpoint
from mailcli.accounts.base import Account
from mailcli.errors import FolderError, MailcliError, NotFoundError, TemporaryError
from mailcli.model import FolderChanges, FolderInfo, FolderStatus
from mailcli.store import Append, DeleteUid, ExternalChanges, FolderState, MessageRow, MoveUid, Store
from mailcli.sync.download import CHUNK, FETCH_BATCH, Downloads, _digest
from mailcli.sync.events import FolderDone, FolderStarted, NullReporter, Reporter, SyncWarning
from mailcli.sync.execute import PlanExecution
from mailcli.sync.folder_actions import FolderActions
from mailcli.sync.limits import LIMITS, Limits
from mailcli.sync.outcome import SyncOutcome, Tally
from mailcli.sync.replay import LocalChanges
from mailcli.sync.unchanged import UnchangedFolders, folder_unchanged

if TYPE_CHECKING:
    from mailcli.sync.plan import CachedCopy, Plan, ServerCopy

# The planner (sync/plan.py, sync/actions.py), sync/queued.py and store/upload.py are
# imported where a folder has something to plan, queued or to upload: a sync with nothing
# to do never loads them (start-up time, issue 15).

logger = logging.getLogger(__name__)

MAX_UID = (1 << 63) - 1   # the index stores UIDs as SQLite INTEGER (signed 64-bit)
FOLDER_LIMITS = Limits(fraction=0.25, floor=3, ceiling=20)   # folders one listing may drop

_T = TypeVar("_T")


def folder_selected(name: str, patterns: Iterable[str]) -> bool:
    """Whether a server folder matches one of the account's ``folders`` globs."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class ImapSync(LocalChanges, UnchangedFolders, FolderActions, PlanExecution, Downloads):
    """One IMAP account's sync run (see the module docstring for the order of work).

    Args:
        store: the local store.
        account: a connected Account (IMAP or FakeAccount).
        name: the account name (the store's key).
        folders: the account's folder globs.
        reporter: receives FolderStarted/MessageFetched/FolderDone/SyncWarning.
        force: bypass the deletion guardrail.
        dry_run: plan only; `outcome.plans` holds the printable plans.
        chunk, fetch_batch: messages per store transaction / per pipelined UID FETCH.
        parse_workers: index-parse worker processes for large downloads (None: one per
            core; 0: parse inline), see sync/staging.py.
    """

    def __init__(self, store: Store, account: Account, name: str, *,
                 folders: Sequence[str] = ("*",), reporter: Reporter | None = None,
                 force: bool = False, dry_run: bool = False, limits: Limits = LIMITS,
                 chunk: int = CHUNK, fetch_batch: int = FETCH_BATCH,
                 parse_workers: int | None = None) -> None:
        self.store = store
        self.account = account
        self.name = name
        self.patterns = tuple(folders) or ("*",)
        self.reporter = reporter or NullReporter()
        self.force = force
        self.dry_run = dry_run
        self.limits = limits
        self.chunk = chunk
        self.fetch_batch = fetch_batch
        self.parse_workers = parse_workers    # None: one per core (0 = parse inline)
        self.outcome = SyncOutcome(name, "imap")
        self._first_sync = False
        self._kill = killpoint.hook()
        self._not_pushed: dict[str, int] = {}        # read-only folder -> local changes kept
        self._leftovers: dict[str, tuple[int, ...]] = {}   # UIDVALIDITY rematch misses
        self._fresh: dict[str, list[int]] = {}   # digest -> ids downloaded meanwhile
        self._statuses: dict[str, FolderStatus] = {}   # asked at once by run(); used once
        self._after: dict[str, str] = {}   # folder -> the one read next (_read_next)

    # ------------------------------------------------------------------ account
    def run(self) -> SyncOutcome:
        """Sync every selected folder. Raises only what ends the account (connection lost,
        LIST failed); folder failures are collected in `outcome.errors`."""
        if not self.dry_run:
            self.folder_actions_first()
        known = {s.name: s for s in self.store.folder_states(self.name)}
        if not known and folder_selected("INBOX", self.patterns):
            self.account.open_ahead("INBOX")   # a first sync: with the listing (unchanged.py)
        server = self._list_folders(known)
        doomed = self.pending_folder_deletes()
        server = [f for f in server if f.name not in doomed]
        # a \\Noselect folder (Courier: a deleted parent that still has children) holds no
        # mail on the server: removed, with the removal's protections (step 1)
        on_server = {f.name: f for f in server if f.selectable}
        self._first_sync = not known
        wanted = [f for f in server if f.selectable and folder_selected(f.name, self.patterns)]
        wanted.sort(key=lambda f: (f.name != "INBOX", f.name))
        gone = sorted(set(known) - set(on_server))
        refused = self._removal_refused(gone, on_server, len(known))
        if refused:
            self.outcome.blocked.append(refused)
            self.reporter.event(SyncWarning(refused, self.name, None))
        else:
            tally = Tally()
            for fname in gone:
                self._guard(fname, partial(self._folder_removed, fname, tally))
            self.outcome.add(tally.frozen())
        for info in wanted:   # new server folders appear locally at once
            if info.name not in known:
                self._guard(info.name, partial(self._new_folder, info, known))
        self._prefetch_statuses(wanted, known)
        self._after = self._read_next(wanted, known)
        for info in wanted:
            if info.name in known:
                self._guard(info.name, partial(self._sync_folder, info, known[info.name]))
        self._statuses = {}
        self._leftover_journal(on_server, {f.name for f in wanted}, doomed)
        for folder, n in sorted(self._not_pushed.items()):
            self._note(folder, f"{folder} is read-only on the server: {n} local change(s) not "
                               f"pushed (kept here and queued; pushed if the server allows "
                               f"changes later)", warn=True)
        if not self.dry_run:
            self.folder_actions_last()
        return self.outcome

    def sync_folder(self, name: str) -> SyncOutcome:
        """Sync one folder the server lists, with its queued entries: the entry for a
        watcher that was told (IDLE, NOTIFY, a changed STATUS) that this folder changed.
        A folder new to the cache is created locally first. Folder removal is left to the
        full run: its guardrail needs the whole listing. Raises NotFoundError when the
        server does not list `name` (or lists it \\Noselect)."""
        info = next((f for f in self.account.list_folders()
                     if f.name == name and f.selectable), None)
        if info is None:
            raise NotFoundError(f"no folder {name!r} on the server")
        known = {s.name: s for s in self.store.folder_states(self.name)}
        self._first_sync = not known
        if name not in known:
            self._guard(name, partial(self._new_folder, info, known))
            known = {s.name: s for s in self.store.folder_states(self.name)}
        if name in known:
            self._guard(name, partial(self._sync_folder, info, known[name]))
        return self.outcome

    def _dry(self, *plans: object) -> bool:
        """--dry-run: record what would be done and tell the caller to stop before doing
        it. Every write of a sync run sits behind this one check."""
        if self.dry_run:
            self.outcome.plans.extend(str(p) for p in plans)
        return self.dry_run

    def _new_folder(self, info: FolderInfo, known: dict[str, FolderState]) -> None:
        state = FolderState(self.name, info.name, info.role)
        if not self._dry(f"{info.name}: new folder on the server; created locally"):
            try:
                self.store.put_folder_state(state)
            except OSError as exc:   # e.g. a path the file system cannot hold
                raise FolderError(f"cannot create the local folder: {exc.strerror or exc}") from exc
            if not self._first_sync:
                self._note(info.name, f"new folder {info.name} on the server")
        known[info.name] = state

    def _removal_refused(self, gone: Sequence[str], on_server: dict[str, FolderInfo],
                         n_known: int) -> str | None:
        """The guardrail for folders the listing no longer has: a listing without INBOX,
        or one that drops more than FOLDER_LIMITS folders or LIMITS cached messages, is
        not believed without --force (a server glitch must not wipe the cache)."""
        if not gone or self.force:
            return None
        cached = sum(1 for f in gone for r in self.store.message_rows(self.name, f)
                     if r.uid is not None)
        total = self.store.count(self.name)
        if "INBOX" not in on_server:
            why = "the server's folder list has no INBOX"
        elif len(gone) > FOLDER_LIMITS.allowed(n_known):
            why = f"the server no longer lists {len(gone)} of {n_known} folders"
        elif cached > self.limits.allowed(total):
            why = (f"the {len(gone)} folder(s) the server no longer lists hold {cached} of "
                   f"{total} cached messages")
        else:
            return None
        return (f"{why}; not removing {len(gone)} local folder(s) ({cached} messages); "
                f"run again with --force if that is intended")

    def _guard(self, folder: str, work: Callable[[], None]) -> None:
        """Failure isolation per folder; a lost connection ends the account."""
        try:
            work()
        except TemporaryError as exc:
            self.outcome.errors.append(f"{folder}: {exc.message}")
            raise
        except MailcliError as exc:
            self._folder_error(folder, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug in one folder must not stop the others
            logger.exception("sync of %s/%s failed", self.name, folder)
            self._folder_error(folder, f"internal error: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------- folders come and go
    def _leftover_journal(self, on_server: dict[str, FolderInfo], synced: set[str],
                          doomed: set[str]) -> None:
        """Queued actions for server folders this run did not sync (excluded by the globs,
        or about to be deleted: a move out of it goes first)."""
        folders = {a.entry.folder for a in self._queued()
                   if isinstance(a.entry, (DeleteUid, MoveUid, Append))} & (set(on_server) | doomed)
        for folder in sorted(folders - synced):
            def work(folder: str = folder) -> None:
                tally = Tally()
                state = self.store.folder_state(self.name, folder)
                self._queued_step(folder, self.account.folder_status(folder), state, tally)
                self.outcome.add(tally.frozen())
            self._guard(folder, work)

    # ------------------------------------------------------------------ folder
    def _sync_folder(self, info: FolderInfo, state: FolderState) -> None:
        """One folder: read (local changes, queued entries, STATUS), plan, execute; the
        queued entries first, then the server's changes (module docstring, step 2)."""
        folder = info.name
        tally = Tally()
        state, ext = self._scan(folder, state)
        queued = bool(self._queued(folder))
        empty = None if (queued or ext) else self._empty_new(folder, state)
        if empty is not None:
            if not self._dry(f"{folder}: empty on the server; nothing to download"):
                self.store.put_folder_state(FolderState(
                    self.name, folder, info.role, empty.uidvalidity,
                    empty.uidnext if empty.uidnext <= MAX_UID else None,
                    empty.highestmodseq, time.time()))
            self.reporter.event(FolderDone(self.name, folder, tally.frozen()))
            return
        status = self._server_status(folder, state, queued)
        if status is not None and not (queued or ext) and folder_unchanged(state, status) \
                and not self.store.has_unsynced_flags(self.name, folder):
            logger.debug("%s/%s: unchanged (STATUS)", self.name, folder)
            self._dry(f"{folder}: nothing to do")
            self.reporter.event(FolderDone(self.name, folder, tally.frozen()))
            return
        held: frozenset[int] = frozenset()
        if status is not None and queued and self.account.read_only(folder):
            held = self._read_only_queued(folder, status, state)
        elif status is not None and queued:
            held, blocked = self._queued_step(folder, status, state, tally)
            if blocked:
                self.outcome.add(tally.frozen())
                self.reporter.event(FolderDone(self.name, folder, tally.frozen(), blocked))
                return
        changes = self.account.changes_since(folder, state.uidvalidity, state.highestmodseq)
        if state.uidvalidity and changes.status.uidvalidity != state.uidvalidity:
            if not changes.full:   # cannot happen with a conforming account; be safe
                changes = self.account.changes_since(folder, None, None)
            if not self._uidvalidity_changed(info, changes):
                return
        the_plan, rows = self._plan(folder, changes, held)
        if self._dry(the_plan):
            return
        if the_plan.blocked:
            self.outcome.blocked.append(the_plan.blocked)
            self.reporter.event(SyncWarning(the_plan.blocked, self.name, folder))
            self.outcome.add(tally.frozen())
            self.reporter.event(FolderDone(self.name, folder, tally.frozen(), the_plan.blocked))
            return
        self._execute_folder(info, the_plan, rows, changes, state, tally)

    def _scan(self, folder: str, state: FolderState) -> tuple[FolderState, ExternalChanges]:
        """Step 2a: what other programs changed in the Maildir becomes journal entries
        (read with the queued ones). Not under --dry-run: the scan updates the index."""
        if self.dry_run:
            return state, ExternalChanges()
        ext = self.store.scan_external_changes(self.name, folder)
        return (self._external(folder, ext, state) if ext else state), ext

    def _queued_step(self, folder: str, status: FolderStatus, state: FolderState | None,
                     tally: Tally) -> tuple[frozenset[int], str | None]:
        """Step 2c: plan the folder's queued entries, then execute them (or print them).
        Returns (UIDs not to download again, guardrail reason or None)."""
        from mailcli.sync.queued import plan_queued

        qp = plan_queued(folder, self._queued(folder), status.uidvalidity,
                         state.uidvalidity if state else None,
                         len(self.store.message_rows(self.name, folder)),
                         limits=self.limits, force=self.force)
        if not self._dry(*qp.lines()):
            self._replay(qp, tally)
        if qp.blocked:
            self.outcome.blocked.append(qp.blocked)
            self.reporter.event(SyncWarning(qp.blocked, self.name, folder))
        return qp.held, qp.blocked

    def _read_only_queued(self, folder: str, status: FolderStatus,
                          state: FolderState) -> frozenset[int]:
        """A read-only folder's queued entries stay queued (the server would refuse them);
        their UIDs are not downloaded again. Counted for the run's one warning."""
        from mailcli.sync.queued import plan_queued

        qp = plan_queued(folder, self._queued(folder), status.uidvalidity, state.uidvalidity,
                         len(self.store.message_rows(self.name, folder)),
                         limits=self.limits, force=True)
        self._dry(f"{folder}: read-only on the server; {len(qp.steps)} queued change(s) kept")
        self._not_pushed[folder] = self._not_pushed.get(folder, 0) + len(self._queued(folder))
        return qp.held

    def _plan(self, folder: str, changes: FolderChanges,
              held: frozenset[int]) -> tuple[Plan, list[MessageRow]]:
        """Step 2f, planning: the cache against the server's changes (pure planner)."""
        from mailcli.sync.actions import format_uids
        from mailcli.sync.plan import plan

        cached: int | None = None
        if changes.full:
            rows = self.store.message_rows(self.name, folder)
        else:   # only the rows the plan looks at: an incremental sync costs what changed
            named = [*(r.uid for r in changes.changed), *changes.vanished]
            rows, cached = self.store.message_rows_for(
                self.name, folder, [u for u in named if 0 < u <= MAX_UID])  # no row has more
        local_now = {r.uid: r.flags for r in rows if r.uid is not None}
        local_last = {r.uid: r.synced_flags for r in rows
                      if r.uid is not None and r.synced_flags is not None}
        huge = sorted(r.uid for r in changes.changed if r.uid > MAX_UID)
        if huge:
            self._note(folder, f"{folder}: {len(huge)} message(s) with a UID the cache cannot "
                               f"hold (uid {format_uids(huge)}, above {MAX_UID}) skipped",
                       warn=True)
        remote = {r.uid: r.flags for r in changes.changed
                  if r.uid not in held and r.uid <= MAX_UID}
        the_plan = plan(folder, local_now, local_last, remote, remote_full=changes.full,
                        vanished=changes.vanished, force=self.force, limits=self.limits,
                        cached=cached)
        for note in the_plan.notes:
            self._note(folder, str(note))
        return the_plan, rows

    def _execute_folder(self, info: FolderInfo, the_plan: Plan, rows: list[MessageRow],
                        changes: FolderChanges, state: FolderState, tally: Tally) -> None:
        """Step 2f, executing: write-ahead UIDVALIDITY, the plan, then the folder's state."""
        folder, st = info.name, changes.status
        if state.uidvalidity is None:
            # write-ahead: the UIDVALIDITY the UIDs we are about to cache belong to
            state = FolderState(self.name, folder, info.role, st.uidvalidity)
            self.store.put_folder_state(state)
        sizes = {r.uid: r.size for r in changes.changed if r.size is not None}
        downloads = the_plan.downloads
        self.reporter.event(FolderStarted(self.name, folder, len(downloads),
                                          sum(sizes.get(u, 0) for u in downloads)))
        complete = self._execute(folder, the_plan, rows, tally)
        if folder in self._leftovers:
            self._drop_leftovers(folder)
        self.store.put_folder_state(FolderState(
            self.name, folder, info.role, st.uidvalidity,
            st.uidnext if complete and st.uidnext <= MAX_UID else None,
            st.highestmodseq if complete else None, time.time()))
        self.outcome.add(tally.frozen())
        self.reporter.event(FolderDone(self.name, folder, tally.frozen()))

    # ------------------------------------------------------------- UIDVALIDITY
    def _uidvalidity_changed(self, info: FolderInfo, changes: FolderChanges) -> bool:
        """Step 2e: re-match the cache to the new UIDs (read the server's Message-IDs and,
        for messages without one, digests; rematch() plans; then rewrite the UIDs).
        False under --dry-run (the folder's plan would need the new UIDs)."""
        from mailcli.sync.plan import rematch

        folder = info.name
        busy = {a.entry.id for a in self.store.journal.pending(self.name)
                if isinstance(a.entry, (Append, MoveUid))}
        rows = [r for r in self.store.message_rows(self.name, folder) if r.id not in busy]
        result = rematch(folder, *self._copies(folder, rows))
        if self._dry(result):
            return False
        # Two passes: new UIDs may collide with old ones still on other rows.
        for part in _chunks([r for r in rows if r.uid is not None], 200):
            with self.store.batch():
                for r in part:
                    self.store.set_uid(r.id, None)
                    self.store.set_synced_flags(r.id, None)
        for pairs in _chunks(sorted(result.matched.items()), 200):
            with self.store.batch():
                for local_id, uid in pairs:
                    self.store.set_uid(local_id, uid)
        st = changes.status
        self.store.put_folder_state(FolderState(self.name, folder, info.role, st.uidvalidity,
                                                None, None, time.time()))
        self._note(folder, str(result), warn=True)
        if result.orphans:
            self._leftovers[folder] = result.orphans
        return True

    def _copies(self, folder: str,
                rows: list[MessageRow]) -> tuple[list[CachedCopy], list[ServerCopy]]:
        """rematch()'s inputs: one headers-only listing, and for messages without a
        Message-ID the digests of the bytes (one FETCH of the server messages of equal size)."""
        from mailcli.sync.plan import CachedCopy, ServerCopy

        listing = {u: v for u, v in self.account.fetch_message_ids(folder).items()
                   if u <= MAX_UID}
        sizes = {size for mid, size in listing.values() if not mid}
        cached = []
        for r in rows:
            env = self.store.get(r.id)
            digest = (_digest(self.store.read_raw(r.id))
                      if not env.message_id and env.size in sizes else None)
            cached.append(CachedCopy(r.id, env.message_id, env.size, r.uid, digest))
        wanted = {c.size for c in cached if c.digest is not None}
        digests: dict[int, str] = {}
        if wanted:
            def sink(uid: int, raw: bytes, flags: object) -> None:
                digests[uid] = _digest(raw)
            self.account.fetch_messages(folder, sorted(
                u for u, (mid, size) in listing.items() if not mid and size in wanted), sink,
                batch_size=self.fetch_batch)
        return cached, [ServerCopy(uid, mid, size, digests.get(uid))
                        for uid, (mid, size) in listing.items()]

# ---------------------------------------------------------------------- helpers
def _chunks(items: Sequence[_T], size: int) -> list[Sequence[_T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]

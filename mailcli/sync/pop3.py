"""The POP3 engine: exactly-once download into the local INBOX, then the deletion policy.

Owns the UIDL ledger rules and the order that makes POP3 safe to kill at any moment:

1. ``scan_external_changes(INBOX)``: files deleted by another client count as local
   deletions (journal ``{"uidl"}`` entries when ``delete_when_deleted_locally``), unless
   the whole INBOX vanished (a wiped cache is never read as "delete everything").
2. UIDL + LIST. A UIDL already in the ledger is never downloaded again. The ledger row is
   written in the same transaction as the message row (``store.deliver(uidl=...)``), and
   each chunk of messages is one ``store.batch()``: files fsynced, renamed, directories
   fsynced, then the rows and ledger rows committed. So a message is either fully stored
   and recorded, or not at all (re-downloaded next run).
3. Messages larger than ``max_message_size``: headers only (``TOP n 0``), stored with
   ``partial=True``; ``fetch_full`` replaces them with the full message later. A
   headers-only message is never deleted from the server while it is partial.
4. Deletion policy, for messages whose ledger row is committed (so the local copy is on
   disk): ``leave_on_server = false`` (default): delete them all; ``leave_on_server`` with
   ``keep_days``: delete those downloaded at least N days ago; with
   ``delete_when_deleted_locally``: delete those with a queued local delete. DELE is sent
   only after step 2 committed, and POP3 applies it only at QUIT: a connection that dies
   before QUIT deletes nothing, and the next run skips the messages (ledger) and deletes
   them then. After QUIT the ledger marks them ``server_deleted``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mailcli.accounts.base import Account, Capability
from mailcli.config.schema import AccountConfig
from mailcli.errors import MailcliError, NotFoundError, ProtocolError, TemporaryError
from mailcli.model import PopEntry
from mailcli.store import DeleteUidl, Store
from mailcli.sync import killpoint
from mailcli.sync.events import (FolderDone, FolderStarted, MessageFetched, NullReporter, Reporter,
                                 SyncWarning)
from mailcli.sync.outcome import SyncOutcome, Tally

logger = logging.getLogger(__name__)

INBOX = "INBOX"
CHUNK = 200          # messages per store transaction
DAY = 86400


class Pop3Sync:
    """One POP3 account's run (see the module docstring for the order of work).

    Args:
        store: the local store.
        account: a connected POP3 Account.
        config: the account's config (deletion policy, max_message_size).
        reporter: receives FolderStarted/MessageFetched/FolderDone/SyncWarning.
        dry_run: list what would happen (outcome.plans); change nothing.
        now: the clock (for keep_days).
    """

    def __init__(self, store: Store, account: Account, config: AccountConfig, *,
                 reporter: Reporter | None = None, dry_run: bool = False,
                 now: Callable[[], float] = time.time, chunk: int = CHUNK) -> None:
        self.store = store
        self.account = account
        self.config = config
        self.name = config.name
        self.reporter = reporter or NullReporter()
        self.dry_run = dry_run
        self.now = now
        self.chunk = chunk
        self.outcome = SyncOutcome(config.name, "pop3")
        self._kill = killpoint.hook()

    def run(self) -> SyncOutcome:
        tally = Tally()
        if not self.dry_run:
            self._external()
        entries = self.account.pop_list()
        ledger = self.store.pop_ledger(self.name)
        new = [e for e in entries if e.uidl not in ledger]
        limit = self.config.max_message_size
        big = [e for e in new if limit is not None and e.size > limit]
        small = [e for e in new if not (limit is not None and e.size > limit)]
        if self.dry_run:
            doomed = self._to_delete(entries, simulate={e.uidl for e in new} - {e.uidl for e in big})
            self.outcome.plans.append(
                f"{INBOX}: download {len(small)} message(s)"
                + (f", headers only for {len(big)} larger than {limit} bytes" if big else "")
                + f"; delete {len(doomed)} on the server")
            return self.outcome
        self.reporter.event(FolderStarted(self.name, INBOX, len(new), sum(e.size for e in small)))
        self._download(small, big, tally)
        self._delete(entries, tally)
        self.outcome.add(tally.frozen())
        self.reporter.event(FolderDone(self.name, INBOX, tally.frozen()))
        return self.outcome

    # ---------------------------------------------------------------- steps
    def _external(self) -> None:
        ext = self.store.scan_external_changes(self.name, INBOX)
        gone = [r.uidl for r in ext.removed if r.uidl]
        if not gone:
            return
        if self.store.count(self.name, INBOX) == 0 and not ext.added:
            self._note(f"{INBOX}: the local copy is empty or missing ({len(gone)} messages gone); "
                       f"nothing is deleted on the server because of it")
            return
        if self.config.leave_on_server and self.config.delete_when_deleted_locally:
            for uidl in gone:
                self.store.journal.enqueue(self.name, DeleteUidl(uidl))

    def _download(self, small: list[PopEntry], big: list[PopEntry], tally: Tally) -> None:
        store, name, kill = self.store, self.name, self._kill
        failed: list[str] = []

        def sink(entry: PopEntry, raw: bytes) -> None:
            try:
                store.deliver(name, INBOX, raw, uidl=entry.uidl)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest
                failed.append(entry.uidl)
                logger.warning("%s: message %s could not be stored: %s", name, entry.uidl, exc)
                return
            tally.new += 1
            self.reporter.event(MessageFetched(name, INBOX, len(raw)))
            if kill is not None:
                kill("deliver")

        for i in range(0, len(small), self.chunk):
            error: MailcliError | None = None
            with store.batch():
                try:
                    self.account.pop_retrieve(small[i:i + self.chunk], sink)
                except MailcliError as exc:
                    error = exc      # commit what arrived first
            if kill is not None:
                kill("commit")
            if isinstance(error, TemporaryError):
                raise error
            if error is not None:
                self._error(error.message)
        if big and Capability.TOP not in self.account.capabilities:
            self._error(f"{len(big)} message(s) exceed max_message_size but the server has no "
                        f"TOP; downloading them whole")
            for i in range(0, len(big), self.chunk):
                with store.batch():
                    self.account.pop_retrieve(big[i:i + self.chunk], sink)
            big = []
        if big:
            with store.batch():
                for entry in big:
                    head = self.account.pop_headers(entry)
                    store.deliver(name, INBOX, head, uidl=entry.uidl, partial=True)
                    tally.new += 1
                    self.reporter.event(MessageFetched(name, INBOX, len(head)))
                    if kill is not None:
                        kill("deliver")
            self._note(f"{len(big)} message(s) larger than {self.config.max_message_size} bytes: "
                       f"headers only (`mailcli fetch --full REF` downloads the rest)")
        if failed:
            tally.failed += len(failed)
            self._error(f"{len(failed)} message(s) could not be stored; retried next run")

    def _to_delete(self, entries: list[PopEntry], simulate: set[str] = frozenset()) -> list[PopEntry]:  # type: ignore[assignment]
        """The server messages the policy deletes now; only messages whose ledger row is
        committed (or, for --dry-run, would be: `simulate`) and that are not partial."""
        cfg = self.config
        ledger = self.store.pop_ledger(self.name)
        queued = self._queued_deletes()
        now = self.now()
        out = []
        for e in entries:
            entry = ledger.get(e.uidl)
            if entry is None:
                if e.uidl in simulate and not cfg.leave_on_server:
                    out.append(e)
                continue
            if entry.local_present and entry.message is not None:
                try:
                    if self.store.message_row(entry.message).partial:
                        continue    # only the headers are here: keep the server copy
                except NotFoundError:
                    pass
            if not cfg.leave_on_server:
                out.append(e)
            elif cfg.keep_days is not None and now - entry.downloaded_at >= cfg.keep_days * DAY:
                out.append(e)
            elif cfg.delete_when_deleted_locally and e.uidl in queued:
                out.append(e)
        return out

    def _queued_deletes(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for a in self.store.journal.pending(self.name):
            if isinstance(a.entry, DeleteUidl):
                out.setdefault(a.entry.uidl, []).append(a.id)
        return out

    def _delete(self, entries: list[PopEntry], tally: Tally) -> None:
        doomed = self._to_delete(entries)
        queued = self._queued_deletes()
        if doomed:
            self.account.pop_delete(doomed)
            if self._kill is not None:
                self._kill("delete")
            self.account.pop_commit()        # QUIT: only now does the server delete
            if self._kill is not None:
                self._kill("quit")
            uidls = [e.uidl for e in doomed]
            self.store.pop_mark_server_deleted(self.name, uidls)
            tally.deleted += len(uidls)
        # Queued local deletes are settled: done on the server now, gone already, or the
        # policy keeps server copies (delete_when_deleted_locally off).
        live = {e.uidl for e in entries} - {e.uidl for e in doomed}
        keep_queued = self.config.leave_on_server and self.config.delete_when_deleted_locally
        for uidl, ids in queued.items():
            if uidl in live and keep_queued:
                continue
            for aid in ids:
                self.store.journal.mark_done(aid)
        ledger = self.store.pop_ledger(self.name)
        stale = [u for u, entry in ledger.items()
                 if entry.server_deleted and u not in {e.uidl for e in entries}]
        if stale:
            self.store.pop_forget(self.name, stale)

    def _note(self, text: str) -> None:
        logger.info("%s: %s", self.name, text)
        self.outcome.notes.append(text)

    def _error(self, text: str) -> None:
        logger.warning("%s: %s", self.name, text)
        self.outcome.errors.append(text)
        self.reporter.event(SyncWarning(text, self.name, INBOX))


def fetch_full(store: Store, account: Account, message_id: int) -> None:
    """Replace a headers-only POP3 message (partial) with the full message from the server.

    Raises:
        NotFoundError: the message is no longer on the server.
    """
    row = store.message_row(message_id)
    if not row.partial:
        return
    if not row.uidl:
        raise ProtocolError(f"message {message_id} has no POP3 UIDL; cannot fetch its body")
    entry = next((e for e in account.pop_list() if e.uidl == row.uidl), None)
    if entry is None:
        raise NotFoundError(f"message {message_id} is no longer on the server",
                            hint="it was deleted there; only its headers are cached")
    got: list[bytes] = []
    account.pop_retrieve([entry], lambda _e, raw: got.append(raw))
    if not got:
        raise ProtocolError(f"the server sent nothing for message {message_id}")
    store.replace_raw(message_id, got[0], partial=False)

"""The POP3 engine: exactly-once download into the local INBOX, then the deletion policy.

Owns the UIDL ledger rules and the order that makes POP3 safe to kill at any moment:

1. ``scan_external_changes(INBOX)``: files deleted by another client count as local
   deletions (journal ``{"uidl", "message"}`` entries when ``delete_when_deleted_locally``),
   unless the whole INBOX vanished (a wiped cache is never read as "delete everything").
2. UIDL + LIST. A server message is identified by its whole UIDL plus the size LIST
   announces: a listed message matching a ledger row (same UIDL, same size; one row per
   message) is never downloaded again; a reused UIDL with another size is a new message.
   A UIDL listed twice: each copy downloaded, neither ever deleted, reported. An unusable
   UIDL (control characters, too long for a file name) or a reply past its size cap:
   reported once, recorded as ``skipped``, never downloaded nor deleted. The ledger row is
   written in the same transaction as the message row (``store.deliver(uidl=, size=)``), and
   each chunk of messages is one ``store.batch()``: files fsynced, renamed, directories
   fsynced, then the rows and ledger rows committed. So a message is either fully stored
   and recorded, or not at all (re-downloaded next run).
3. Messages larger than ``max_message_size``: headers only (``TOP n 0``), stored with
   ``partial=True``; ``fetch_full`` replaces them with the full message later. A
   headers-only message is never deleted from the server while it is partial.
4. Deletion policy, for messages whose ledger row is committed (so the local copy is on
   disk) under the same UIDL and size, listed once: ``leave_on_server = false``
   (default): delete them all; ``leave_on_server`` with ``keep_days``: delete those downloaded at least N days ago; with
   ``delete_when_deleted_locally``: delete those with a queued local delete. DELE is sent
   only after step 2 committed, and POP3 applies it only at QUIT: a connection that dies
   before QUIT deletes nothing, and the next run skips the messages (ledger) and deletes
   them then. After QUIT the ledger marks them ``server_deleted``.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailcli import killpoint
from mailcli.accounts.base import Capability, Maildrop
from mailcli.config.schema import AccountConfig
from mailcli.errors import MailcliError, NotFoundError, ProtocolError, ReplyTooLarge, TemporaryError
from mailcli.model import PopEntry
from mailcli.store import DeleteUidl, PopLedgerEntry, Store, uidl_fits_name
from mailcli.sync.events import FolderDone, FolderStarted, MessageFetched, NullReporter, Reporter, SyncWarning
from mailcli.sync.outcome import SyncOutcome, Tally
from mailcli.sync.staging import Deliveries, RollingBatch, open_pool

if TYPE_CHECKING:
    from mailcli.store.parsepool import ParsePool

logger = logging.getLogger(__name__)

INBOX = "INBOX"
CHUNK = 200          # messages per store transaction
DAY = 86400


def unusable_uidl(uidl: str) -> str | None:
    """Why a UIDL cannot identify a message (None if it can). RFC 1939 allows 1 to 70
    printable characters (0x21-0x7E); mailcli also takes longer ones, spaces inside and
    non-ASCII, but no control characters and nothing that does not fit in a Maildir file
    name (where it is kept so that a rebuilt index still knows it)."""
    if 0 < len(uidl) <= 70 and uidl.isascii() and uidl.isprintable() and " " not in uidl:
        return None          # what RFC 1939 allows (the common case, checked cheaply)
    if not uidl.strip():
        return "empty"
    if not uidl.isprintable():
        return "control characters"
    if not uidl_fits_name(uidl):
        return f"{len(uidl)} characters, too long"
    return None


@dataclass
class _Plan:
    """One listing matched against the ledger (see Pop3Sync._match)."""

    new: list[PopEntry] = field(default_factory=list)
    stored: list[tuple[PopEntry, PopLedgerEntry]] = field(default_factory=list)
    skipped: list[PopEntry] = field(default_factory=list)
    unusable: list[tuple[PopEntry, str]] = field(default_factory=list)
    ambiguous: set[str] = field(default_factory=set)


class Pop3Sync:
    """One POP3 account's run (see the module docstring for the order of work).

    Args:
        store: the local store.
        account: a connected POP3 Maildrop.
        config: the account's config (deletion policy, max_message_size).
        reporter: receives FolderStarted/MessageFetched/FolderDone/SyncWarning.
        dry_run: list what would happen (outcome.plans); change nothing.
        now: the clock (for keep_days).
        chunk: messages per store transaction.
        parse_workers: index-parse worker processes for large downloads (None: one per
            core; 0: parse inline), see sync/staging.py.
    """

    def __init__(self, store: Store, account: Maildrop, config: AccountConfig, *,
                 reporter: Reporter | None = None, dry_run: bool = False,
                 now: Callable[[], float] = time.time, chunk: int = CHUNK,
                 parse_workers: int | None = None) -> None:
        self.store = store
        self.account = account
        self.config = config
        self.name = config.name
        self.reporter = reporter or NullReporter()
        self.dry_run = dry_run
        self.now = now
        self.chunk = chunk
        self.parse_workers = parse_workers    # None: one per core (0 = parse inline)
        self.outcome = SyncOutcome(config.name, "pop3")
        self._kill = killpoint.hook()

    def run(self) -> SyncOutcome:
        tally = Tally()
        if not self.dry_run:
            self._external()
        entries = self.account.pop_list()
        plan = self._match(entries)
        new = plan.new
        limit = self.config.max_message_size
        big = [e for e in new if limit is not None and e.size > limit]
        small = [e for e in new if not (limit is not None and e.size > limit)]
        if self.dry_run:
            doomed = self._to_delete(plan, simulate=small)
            self.outcome.plans.append(
                f"{INBOX}: download {len(small)} message(s)"
                + (f", headers only for {len(big)} larger than {limit} bytes" if big else "")
                + f"; delete {len(doomed)} on the server")
            return self.outcome
        self._report_unusable(plan)
        self.reporter.event(FolderStarted(self.name, INBOX, len(new), sum(e.size for e in small)))
        self._download(small, big, tally)
        self._report_ambiguous(plan)
        if new or plan.unusable:     # the ledger changed: match again
            plan = self._match(entries)
        self._delete(entries, plan, tally)
        self.outcome.add(tally.frozen())
        self.reporter.event(FolderDone(self.name, INBOX, tally.frozen()))
        return self.outcome

    # ---------------------------------------------------------------- identity
    def _match(self, entries: list[PopEntry]) -> _Plan:
        """Pair each listed message with the ledger row that records its stored copy.

        A row matches a listed message when the UIDL and the announced size are equal (a
        reused UIDL with another size is a new message); each row pairs with one listed
        message at most, so a UIDL listed twice needs two rows. Rows from before the
        ledger knew sizes match by UIDL alone (never downloaded twice) but allow no
        deletion until the local copy's size confirms them."""
        plan = _Plan()
        skipped: set[tuple[str, int | None]] = set()
        free: dict[str, list[PopLedgerEntry]] = {}
        for r in self.store.ledger.rows(self.name):
            if r.skipped is None:
                free.setdefault(r.uidl, []).append(r)
            else:
                skipped.add((r.uidl, r.size))
        listed = Counter(e.uidl for e in entries)
        plan.ambiguous = {u for u, n in listed.items() if n > 1}
        for e in entries:
            if (e.uidl, e.size) in skipped:
                plan.skipped.append(e)
                continue
            rows = free.get(e.uidl, [])
            row = next((r for r in rows if r.size == e.size), None) \
                or next((r for r in rows if r.size is None), None)
            if row is None:
                reason = unusable_uidl(e.uidl)
                if reason is not None:
                    plan.unusable.append((e, reason))
                else:
                    plan.new.append(e)
                continue
            rows.remove(row)
            if row.size is None and self._confirms(row, e.size):
                self.store.ledger.confirm_size(row.id, e.size)
                row = dataclasses.replace(row, size=e.size)
            plan.stored.append((e, row))
        return plan

    def _confirms(self, row: PopLedgerEntry, size: int) -> bool:
        """Whether a pre-size ledger row's local copy has the announced size."""
        if self.dry_run or not row.local_present or row.message is None:
            return False
        try:
            env = self.store.get(row.message)
        except NotFoundError:
            return False
        return not env.partial and env.size == size

    def _report_unusable(self, plan: _Plan) -> None:
        for entry, reason in plan.unusable:
            self.store.ledger.skip(self.name, entry.uidl, entry.size, reason)
            self._error(f"message {entry.number} ({entry.size} bytes) has an unusable UIDL "
                        f"({reason}): skipped and left on the server; reported once")

    def _report_ambiguous(self, plan: _Plan) -> None:
        if not plan.ambiguous:
            return
        shown = ", ".join(repr(u[:40]) for u in sorted(plan.ambiguous)[:3])
        text = (f"the server lists {len(plan.ambiguous)} UIDL(s) for more than one message "
                f"({shown}): those messages are downloaded but never deleted on the server")
        if any(e.uidl in plan.ambiguous for e in plan.new):
            self._error(text)
        else:
            self._note(text)

    # ---------------------------------------------------------------- steps
    def _external(self) -> None:
        ext = self.store.scan_external_changes(self.name, INBOX)
        gone = [r for r in ext.removed if r.uidl]
        if not gone:
            return
        if self.store.count(self.name, INBOX) == 0 and not ext.added:
            self._note(f"{INBOX}: the local copy is empty or missing ({len(gone)} messages gone); "
                       f"nothing is deleted on the server because of it")
            return
        if self.config.leave_on_server and self.config.delete_when_deleted_locally:
            for r in gone:
                if r.uidl:
                    self.store.journal.enqueue(self.name, DeleteUidl(r.uidl, r.id))

    def _download(self, small: list[PopEntry], big: list[PopEntry], tally: Tally) -> None:
        pool = open_pool(len(small), self.parse_workers)
        try:
            self._download_with(small, big, tally, pool)
        finally:
            if pool is not None:
                pool.close()

    def _download_with(self, small: list[PopEntry], big: list[PopEntry], tally: Tally,
                       pool: ParsePool | None) -> None:
        store, name, kill = self.store, self.name, self._kill
        failed: list[str] = []

        def stored(entry: PopEntry, _id: int, size: int) -> None:
            tally.new += 1
            self.reporter.event(MessageFetched(name, INBOX, size))
            if kill is not None:
                kill("deliver")

        def lost(entry: PopEntry, exc: Exception) -> None:
            failed.append(entry.uidl)
            logger.warning("%s: message %s could not be stored: %s", name, entry.uidl, exc)

        out: Deliveries[PopEntry] = Deliveries(store, name, INBOX, pool, stored, lost)
        error = self._retrieve(small, out)
        if isinstance(error, ReplyTooLarge):
            self._skip_oversized(small, error)
            raise error
        if isinstance(error, TemporaryError):
            raise error
        if error is not None:
            self._error(error.message)
        if big and Capability.TOP not in self.account.capabilities:
            self._error(f"{len(big)} message(s) exceed max_message_size but the server has no "
                        f"TOP; downloading them whole")
            error = self._retrieve(big, out)
            if isinstance(error, ReplyTooLarge):
                self._skip_oversized(big, error)
                raise error
            if error is not None:
                raise error
            big = []
        if big:
            too_large: ReplyTooLarge | None = None
            with store.batch():
                for entry in big:
                    try:
                        head = self.account.pop_headers(entry)
                    except ReplyTooLarge as exc:
                        too_large = exc      # commit the headers that arrived first
                        break
                    store.deliver(name, INBOX, head, uidl=entry.uidl, partial=True, size=entry.size)
                    tally.new += 1
                    self.reporter.event(MessageFetched(name, INBOX, len(head)))
                    if kill is not None:
                        kill("deliver")
            if too_large is not None:
                self._skip_oversized(big, too_large)
                raise too_large
            self._note(f"{len(big)} message(s) larger than {self.config.max_message_size} bytes: "
                       f"headers only (`mailcli fetch --full REF` downloads the rest)")
        if failed:
            tally.failed += len(failed)
            self._error(f"{len(failed)} message(s) could not be stored; retried next run")

    def _retrieve(self, entries: list[PopEntry], out: Deliveries[PopEntry]) -> MailcliError | None:
        """RETR `entries` into the store in one pipelined stream, committed every `chunk`
        messages from inside it (sync/staging.py RollingBatch: the server keeps sending
        while a chunk is made durable; a commit per RETR window cost a round trip and an
        idle pipeline each). Each chunk: files durable, then rows and ledger rows. Returns
        the account's error after committing what arrived before it."""
        kill = self._kill

        def committed() -> None:
            if kill is not None:
                kill("commit")

        sizes = [self.chunk] if entries else []
        txn = RollingBatch(self.store, sizes, out.drain, committed)

        def sink(entry: PopEntry, raw: bytes) -> None:
            txn.begin()
            out.put(entry, raw, uidl=entry.uidl, size=entry.size)
            txn.count()

        return txn.stream(lambda: self.account.pop_retrieve(entries, sink))

    def _skip_oversized(self, entries: list[PopEntry], error: ReplyTooLarge) -> None:
        """A reply past its cap: the connection is gone; the message is recorded as
        skipped (never downloaded again, never deleted) so the next run gets the others."""
        entry = next((e for e in entries if e.number == error.number), None)
        if entry is not None:
            self.store.ledger.skip(self.name, entry.uidl, entry.size, "reply too large")

    def _to_delete(self, plan: _Plan, simulate: list[PopEntry] = [],  # noqa: B006
                   queued: dict[str, dict[int, int | None]] | None = None) -> list[tuple[PopEntry, int]]:
        """The server messages the policy deletes now, with their ledger rows: only
        messages whose stored copy is recorded under the same UIDL and size, not partial,
        and whose UIDL the server lists once (for --dry-run also `simulate`: those a run
        would download first; `queued`: _queued_deletes(), if the caller has it)."""
        cfg = self.config
        queued = self._queued_deletes() if queued is None else queued
        now = self.now()
        out = []
        if not cfg.leave_on_server:
            out += [(e, 0) for e in simulate if e.uidl not in plan.ambiguous]
        for e, entry in plan.stored:
            if e.uidl in plan.ambiguous or entry.size != e.size:
                continue
            if not self._due(e, entry, queued, now):
                continue    # (before the row look-up below: one query per kept message)
            if entry.local_present and entry.message is not None:
                try:
                    if self.store.message_row(entry.message).partial:
                        continue    # only the headers are here: keep the server copy
                except NotFoundError:
                    pass
            out.append((e, entry.id))
        return out

    def _due(self, e: PopEntry, entry: PopLedgerEntry, queued: dict[str, dict[int, int | None]],
             now: float) -> bool:
        """Whether the deletion policy removes this stored message from the server now."""
        cfg = self.config
        if not cfg.leave_on_server:
            return True
        if cfg.keep_days is not None and now - entry.downloaded_at >= cfg.keep_days * DAY:
            return True
        # deleted here: the deleted local copy must be this one (a reused UIDL's older
        # message is not)
        return cfg.delete_when_deleted_locally and any(
            m is None or m == entry.message for m in queued.get(e.uidl, {}).values())

    def _queued_deletes(self) -> dict[str, dict[int, int | None]]:
        """UIDL -> {journal action id: the local message deleted (None if not recorded)}."""
        out: dict[str, dict[int, int | None]] = {}
        for a in self.store.journal.pending(self.name):
            if isinstance(a.entry, DeleteUidl):
                out.setdefault(a.entry.uidl, {})[a.id] = a.entry.message
        return out

    def _delete(self, entries: list[PopEntry], plan: _Plan, tally: Tally) -> None:
        queued = self._queued_deletes()
        doomed = self._to_delete(plan, queued=queued)
        if doomed:
            self.account.pop_delete([e for e, _row in doomed])
            if self._kill is not None:
                self._kill("delete")
            self.account.pop_commit()        # QUIT: only now does the server delete
            if self._kill is not None:
                self._kill("quit")
            self.store.ledger.mark_server_deleted([row for _e, row in doomed])
            tally.deleted += len(doomed)
        # Queued local deletes are settled: done on the server now, gone already (or the
        # UIDL now names another message), or the policy keeps server copies
        # (delete_when_deleted_locally off).
        gone = {row for _e, row in doomed}
        live: dict[str, set[int | None]] = {}
        for e, row in plan.stored:
            if row.id not in gone:
                live.setdefault(e.uidl, set()).add(row.message)
        keep_queued = self.config.leave_on_server and self.config.delete_when_deleted_locally
        for uidl, actions in queued.items():
            for aid, mid in actions.items():
                if keep_queued and uidl in live and (mid is None or mid in live[uidl]):
                    continue
                self.store.journal.mark_done(aid)
        # Rows of messages no longer listed: deleted ones, and skipped ones, are forgotten.
        listed = {(e.uidl, e.size) for e in entries}
        stale = [r.id for r in self.store.ledger.rows(self.name, settled_only=True)
                 if (r.uidl, r.size) not in listed]
        if stale:
            self.store.ledger.forget(stale)

    def _note(self, text: str) -> None:
        logger.info("%s: %s", self.name, text)
        self.outcome.notes.append(text)

    def _error(self, text: str) -> None:
        logger.warning("%s: %s", self.name, text)
        self.outcome.errors.append(text)
        self.reporter.event(SyncWarning(text, self.name, INBOX))


def fetch_full(store: Store, account: Maildrop, message_id: int) -> None:
    """Replace a headers-only POP3 message (partial) with the full message from the server.

    Raises:
        NotFoundError: the message is no longer on the server.
    """
    row = store.message_row(message_id)
    if not row.partial:
        return
    if not row.uidl:
        raise ProtocolError(f"message {message_id} has no POP3 UIDL; cannot fetch its body")
    # the server message with this UIDL and the size recorded for this copy (the UIDL
    # alone may name another message now: reused, or listed twice)
    size = next((r.size for r in store.ledger.rows(row.account)
                 if r.message == message_id and r.uidl == row.uidl and r.size is not None), None)
    found = [e for e in account.pop_list() if e.uidl == row.uidl and size in (None, e.size)]
    if len(found) > 1:
        raise ProtocolError(f"the server lists {len(found)} messages as {row.uidl!r}; "
                            f"cannot tell which is message {message_id}")
    if not found:
        raise NotFoundError(f"message {message_id} is no longer on the server",
                            hint="it was deleted there; only its headers are cached")
    entry = found[0]
    got: list[bytes] = []
    account.pop_retrieve([entry], lambda _e, raw: got.append(raw))
    if not got:
        raise ProtocolError(f"the server sent nothing for message {message_id}")
    store.replace_raw(message_id, got[0], partial=False)

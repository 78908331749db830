"""Downloads of an IMAP sync: a folder's new server messages into the local store (a
mixin of sync/engine.ImapSync; the rules are in the engine's module docstring, step 2f).

Newest first: one pipelined fetch of the folder's UIDs in descending order, committed in
chunks from inside the stream (sync/staging.py RollingBatch): the first chunk only
FIRST_CHUNK messages, so the newest mail of a first sync is listable at once, then CHUNK
at a time, FETCH_BATCH messages per UID FETCH; each chunk one ``store.batch()`` (files
fsynced, then the rows committed), with the index parse in worker processes from
POOL_MIN messages on. A message that could not be stored (reported) or that vanished
meanwhile makes the download incomplete: the engine then records no HIGHESTMODSEQ, so
the next run retries exactly what is missing. A failed FETCH commits what arrived, then
fails the folder.

After a UIDVALIDITY change (step 2e) the download also keeps the digest of every message
it stores (``_fresh``); ``_drop_leftovers`` then drops each cached copy the rematch
missed whose bytes equal one of them, and reports the rest.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from mailcli.accounts.base import Account
from mailcli.errors import MailcliError
from mailcli.model import Flags
from mailcli.store import Store
from mailcli.sync.events import MessageFetched, Reporter
from mailcli.sync.outcome import Tally
from mailcli.sync.staging import Deliveries, RollingBatch, open_pool

# the log lines keep the name they always had (sync/engine.py wrote them before the split)
logger = logging.getLogger("mailcli.sync.engine")

CHUNK = 500          # messages per store transaction while downloading
FIRST_CHUNK = 100    # ...except the first (the newest mail, listable at once)
FETCH_BATCH = 100    # messages per pipelined UID FETCH inside a chunk


class Downloads:
    """Mixin: needs the engine's store, account, name, reporter, chunk, fetch_batch,
    parse_workers, _kill, _leftovers and _fresh attributes, and the LocalChanges helpers
    _folder_error and _note."""

    store: Store
    account: Account
    name: str
    reporter: Reporter
    chunk: int
    fetch_batch: int
    parse_workers: int | None
    _kill: Callable[[str], None] | None
    _leftovers: dict[str, tuple[int, ...]]
    _fresh: dict[str, list[int]]
    _after: dict[str, str]

    if TYPE_CHECKING:   # provided by LocalChanges (the engine mixes both in)
        def _folder_error(self, folder: str, message: str) -> None: ...
        def _note(self, folder: str | None, text: str, warn: bool = False) -> None: ...

    def _download(self, folder: str, uids: Sequence[int], tally: Tally) -> bool:
        """Fetch newest first in chunks, each chunk one store transaction; True if all
        arrived. From POOL_MIN messages on, the index parse runs in a ParsePool on the
        other cores while this process downloads (sync/staging.py), opened when the first
        message has come (its fork overlaps the first FETCH's round trip)."""
        from mailcli.sync.actions import format_uids

        store, name, kill = self.store, self.name, self._kill
        got: set[int] = set()
        failed: list[int] = []
        digests: dict[int, str] = {}

        def stored(uid: int, new_id: int, size: int) -> None:
            digest = digests.pop(uid, None)
            if digest is not None:
                self._fresh.setdefault(digest, []).append(new_id)
            got.add(uid)
            self.reporter.event(MessageFetched(name, folder, size))
            if kill is not None:
                kill("deliver")

        def lost(uid: int, exc: Exception) -> None:
            digests.pop(uid, None)
            failed.append(uid)
            logger.warning("%s/%s uid %d: could not store: %s", name, folder, uid, exc)

        nxt = self._after.get(folder)
        if nxt is not None:   # its SELECT goes out behind this download (unchanged.py)
            self.account.open_ahead(nxt)
        out: Deliveries[int] = Deliveries(store, name, folder, None, stored, lost,
                                          opener=partial(open_pool, len(uids), self.parse_workers))
        try:
            error = self._stream(folder, uids, tally, out, got, digests)
        finally:
            out.close()
        if error is not None:
            raise error   # after committing what arrived: fail the folder
        if failed:
            tally.failed += len(failed)
            self._folder_error(folder, f"{len(failed)} message(s) could not be stored "
                                       f"(uid {format_uids(failed)}); retried next run")
        missing = set(uids) - got - set(failed)
        if missing:
            logger.info("%s/%s: %d message(s) vanished during the download", name, folder,
                        len(missing))
        return not failed and not missing

    def _stream(self, folder: str, uids: Sequence[int], tally: Tally, out: Deliveries[int],
                got: set[int], digests: dict[int, str]) -> MailcliError | None:
        """The pipelined fetch into `out`, committed in chunks (RollingBatch); the
        account error that ended it, if any, after committing what arrived."""
        kill = self._kill
        counted = [0]

        def committed() -> None:
            tally.new += len(got) - counted[0]
            counted[0] = len(got)
            if kill is not None:
                kill("commit")

        parts = newest_first(uids, self.chunk)
        txn = RollingBatch(self.store, [len(p) for p in parts], out.drain, committed)

        def sink(uid: int, raw: bytes, flags: Flags) -> None:
            out.open()          # the pool, at the first message: before its transaction
            txn.begin()
            if folder in self._leftovers:
                digests[uid] = _digest(raw)
            out.put(uid, raw, flags=flags, uid=uid)
            txn.count()

        return txn.stream(lambda: self.account.fetch_messages(
            folder, [u for p in parts for u in p], sink, batch_size=self.fetch_batch))

    def _drop_leftovers(self, folder: str) -> None:
        """After a UIDVALIDITY change and the download: a cached copy the rematch missed
        (headers read differently, LF line ends) whose bytes, CRLF-normalised, equal a
        fresh server copy is that message: dropped, its flags added to the fresh copy
        (pushed by the next sync). What matches nothing stays (no UID) and is reported."""
        from mailcli.sync.actions import format_uids

        left, fresh = self._leftovers.pop(folder, ()), self._fresh
        self._fresh = {}
        kept, dropped = [], 0
        for lid in left:
            try:
                row, raw = self.store.message_row(lid), self.store.read_raw(lid)
            except (MailcliError, OSError):
                continue   # gone meanwhile
            twins = fresh.get(_digest(raw))
            if not twins:
                kept.append(lid)
                continue
            twin = self.store.message_row(twins.pop())
            if not row.flags <= twin.flags:
                self.store.set_flags(twin.id, twin.flags | row.flags)
            self.store.remove(lid)
            dropped += 1
        if dropped:
            self._note(folder, f"{folder}: {dropped} cached message(s) were the same as "
                               f"downloaded server copies; the duplicates were dropped")
        if kept:
            self._note(folder, f"{folder}: after the UIDVALIDITY change {len(kept)} cached "
                               f"message(s) match no server message (id "
                               f"{format_uids(kept)}); kept locally, not uploaded", warn=True)


def _digest(raw: bytes) -> str:
    """Identity of a message's bytes, line endings normalised (a server may store LF)."""
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def newest_first(uids: Iterable[int], chunk: int, first: int = FIRST_CHUNK) -> list[list[int]]:
    """The download order: UIDs from the highest (the newest mail) down, the first
    transaction only `first` messages (so the newest mail is listable within moments of
    the start of a first sync), then `chunk` at a time."""
    order = sorted(set(uids), reverse=True)
    head = min(first, chunk)
    parts = [order[:head]] if order else []
    parts += [order[i:i + chunk] for i in range(head, len(order), chunk)]
    return parts

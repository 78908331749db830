"""Deliveries of one download, with the index parse on the other cores when a
ParsePool is given (mailcli.store.parsepool): each message is staged (its file written
inside the caller's store.batch()), its path handed to a worker, and its row written
when the parse comes back, at most MAX_OUTSTANDING in flight. ``drain()`` before the
batch ends writes every remaining row, so a batch still commits files first, then all
its rows, exactly as with Store.deliver (which is used when there is no pool).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mailcli.errors import MailcliError
from mailcli.store import Store

if TYPE_CHECKING:
    from mailcli.store.facade import Staged
    from mailcli.store.parsepool import ParsePool

K = TypeVar("K")

POOL_MIN = 64        # downloads from which the index parse runs in worker processes
LOW_WATER = 32       # staged messages in flight before their rows are written


def open_pool(count: int, workers: int | None) -> ParsePool | None:
    """A ParsePool for a download of `count` messages, or None (small download, or
    `workers` == 0: parse inline)."""
    if count < POOL_MIN or workers == 0:
        return None
    from mailcli.store.parsepool import ParsePool  # (and pickle, select) only when used

    pool = ParsePool(workers)
    if pool.size == 0:
        pool.close()
        return None
    return pool


class Deliveries(Generic[K]):
    """Store each message of a download; report each as stored or lost.

    Args:
        store: the store (the caller holds its batch()).
        account, folder: where the messages go.
        pool: the parse pool, or None to parse inline (Store.deliver).
        stored: called with (key, new id, size in bytes) once a message's row is written.
        lost: called with (key, exception) when a message could not be stored.
        opener: with pool None, the pool open() opens (the caller calls it before the
            first message's transaction; never called: the parse is inline); that pool
            is this object's to close (close()).
    """

    def __init__(self, store: Store, account: str, folder: str, pool: ParsePool | None,
                 stored: Callable[[K, int, int], None],
                 lost: Callable[[K, Exception], None], *,
                 opener: Callable[[], ParsePool | None] | None = None) -> None:
        self.store, self.account, self.folder, self.pool = store, account, folder, pool
        self._stored, self._lost = stored, lost
        self._waiting: deque[tuple[K, Staged, int]] = deque()
        self._opener = opener if pool is None else None
        self._owned: ParsePool | None = None

    def open(self) -> None:
        """Open the pool the opener gives, once (call before the store transaction of the
        first message: it forks). A download opens it when its first message has come,
        so the fork and the parser's import overlap the round trip of the first FETCH."""
        opener, self._opener = self._opener, None
        if opener is not None:
            self.pool = self._owned = opener()

    def close(self) -> None:
        """Stop the pool this object opened (if any)."""
        self._opener = None
        owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()

    def put(self, key: K, raw: bytes, **where: Any) -> None:
        """Deliver one message (`where`: flags/uid, or uidl/size, as for Store.deliver)."""
        store, pool = self.store, self.pool
        try:
            if pool is None:
                new_id = store.deliver(self.account, self.folder, raw, **where)
            else:
                staged = store.stage(self.account, self.folder, raw, **where)
                if not isinstance(staged, int):
                    self._waiting.append((key, staged, pool.submit(staged.path)))
                    self._finish_ready()
                    return
                new_id = staged
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest
            self._lost_or_full(key, exc)
            return
        self._stored(key, new_id, len(raw))

    def _lost_or_full(self, key: K, exc: Exception) -> None:
        """A message that could not be stored is lost (retried next run), unless the disk
        is full: then the download stops with that error (the caller commits what
        arrived; exit 75), instead of failing every message after it one by one."""
        full = self.store.db.full_error_of(exc)
        if full is not None:
            raise full from exc
        self._lost(key, exc)

    def _finish_ready(self) -> None:
        """Write the rows whose parse came back, once a few are in flight (polling after
        every message cost a select() each); wait only past MAX_OUTSTANDING."""
        from mailcli.store.parsepool import MAX_OUTSTANDING

        pool, waiting = self.pool, self._waiting
        assert pool is not None
        if len(waiting) < LOW_WATER:
            return
        while waiting and (len(waiting) > MAX_OUTSTANDING or pool.ready(waiting[0][2])):
            self._finish()

    def _finish(self) -> None:
        key, staged, ticket = self._waiting.popleft()
        assert self.pool is not None
        try:
            answer = self.pool.result(ticket)
            new_id = (self.store.commit_staged(staged, *answer) if answer is not None
                      else self.store.commit_staged(staged))
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest
            self._lost_or_full(key, exc)
            return
        self._stored(key, new_id, staged.size)

    def drain(self) -> None:
        """Write the rows of every staged message (call inside the batch, before it ends)."""
        while self._waiting:
            self._finish()


class CommitFailed(BaseException):
    """A transaction commit failed inside a sink; carries the original error through the
    account layer's error translation untouched (an fsync EIO is not a lost connection)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class RollingBatch:
    """Store transactions over one streaming download: a store.batch() opened at the
    first message and committed after `sizes[0]` messages, the next after `sizes[1]`,
    and so on (the last size repeats) — from inside the sink, so the pipelined fetch
    keeps its commands in flight across commits and the server streams the next
    messages while this one is made durable. Each commit: ``before_commit()`` (the
    staged rows), files durable, rows committed, then ``after_commit()``.
    """

    def __init__(self, store: Store, sizes: list[int], before_commit: Callable[[], None],
                 after_commit: Callable[[], None]) -> None:
        self.store = store
        self._sizes = list(sizes) or [1]
        self._k = 0
        self._left = self._sizes[0]
        self._cm: Any = None
        self._before, self._after = before_commit, after_commit

    def begin(self) -> None:
        """Before a message: open the transaction if none is open."""
        if self._cm is None:
            cm = self.store.batch()
            cm.__enter__()
            self._cm = cm

    def count(self) -> None:
        """After a message (stored or not): commit when the chunk is full."""
        self._left -= 1
        if self._left <= 0:
            self._k = min(self._k + 1, len(self._sizes) - 1)
            self._left = self._sizes[self._k]
            try:
                self.commit()
            except BaseException as exc:
                raise CommitFailed(exc) from exc

    def commit(self) -> None:
        """Commit what the open transaction holds (nothing if none is open)."""
        cm, self._cm = self._cm, None
        if cm is None:
            return
        try:
            self._before()
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        cm.__exit__(None, None, None)
        self._after()

    def stream(self, fetch: Callable[[], None]) -> MailcliError | None:
        """Run the streaming download `fetch` (its sink calls begin() and count()), then
        commit what arrived. An account error is returned after that commit (what it
        means is the caller's); a commit that failed inside the stream raises its own
        error; anything else rolls the open transaction back and propagates."""
        error: MailcliError | None = None
        try:
            fetch()
        except MailcliError as exc:
            error = exc
        except CommitFailed as exc:
            raise exc.error from None
        except BaseException as exc:
            self.abort(exc)
            raise
        self.commit()
        return error

    def abort(self, exc: BaseException) -> None:
        """Roll the open transaction back (its files are removed)."""
        cm, self._cm = self._cm, None
        if cm is not None:
            try:
                cm.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException:  # noqa: BLE001 - the caller re-raises `exc` itself
                pass

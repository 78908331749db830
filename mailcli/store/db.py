"""SQLite connections for the index: one connection per thread, WAL, write transactions.

Owns opening ``<data>/index.sqlite3`` (WAL, ``synchronous=FULL``, foreign-key-free,
``busy_timeout``), running migrations once, handing each thread its own connection, and
the nesting-aware write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``).

Threading: every thread gets its own connection (created on first use), so a TUI worker
thread reads while the sync thread writes (WAL readers never block). Writers are
serialised by SQLite; a writer waits up to ``busy_timeout`` (10 s) for another thread's
transaction. Connections of threads that have ended are closed when the next thread
connects; :meth:`Database.close` closes them all.
"""
from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from mailcli.errors import TemporaryError
from mailcli.store.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


class Database:
    """Per-thread SQLite connections to one index file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._local = threading.local()
        self._closed = False
        # Two processes opening a brand-new index at once race on switching it to WAL
        # (SQLite answers "locked" there without waiting); retry within the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                migrate(self.conn())
                break
            except sqlite3.OperationalError as exc:   # locked past busy_timeout, or the race
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise TemporaryError(f"the index is busy: {exc}",
                                         hint="another mailcli process is writing; try again"
                                         ) from exc
                self._forget_thread_conn()
                time.sleep(0.05)

    def _forget_thread_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        with self._lock:
            self._conns.pop(threading.get_ident(), None)
        self._local.conn = None
        try:
            conn.close()
        except sqlite3.Error:
            pass

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-32000")
        return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            for ident, (thread, old) in list(self._conns.items()):
                if not thread.is_alive():
                    old.close()
                    del self._conns[ident]
            conn = self._open()
            self._conns[threading.get_ident()] = (threading.current_thread(), conn)
        self._local.conn = conn
        self._local.depth = 0
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection; nested calls join the outer one."""
        conn = self.conn()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TemporaryError(f"the index is busy: {exc}",
                                 hint="another mailcli process is writing; try again") from exc
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            conn.execute("ROLLBACK")
            raise
        self._local.depth = 0
        conn.execute("COMMIT")

    @property
    def in_transaction(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for _thread, conn in self._conns.values():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()

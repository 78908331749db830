"""SQLite connections for the index: one connection per thread, WAL, write transactions.

Owns opening ``<data>/index.sqlite3`` (WAL, ``synchronous=FULL``, foreign-key-free,
``busy_timeout``), running migrations once, handing each thread its own connection, and
the nesting-aware write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``).

Threading: every thread gets its own connection (created on first use), so a TUI worker
thread reads while the sync thread writes (WAL readers never block). Writers are
serialised by SQLite; a writer waits up to ``busy_timeout`` (10 s) for another thread's
transaction. Connections of threads that have ended are closed when the next thread
connects; :meth:`Database.close` closes them all.

The index file is created 0600 (its -wal/-shm inherit that mode). A data dir that cannot
be written (a read-only mount, another user's cache) is opened read-only: reading, listing
and searching work; a write transaction is a ConfigError (exit 2, never "busy").
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from mailcli.errors import ConfigError, TemporaryError
from mailcli.store.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


class Database:
    """Per-thread SQLite connections to one index file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conns: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._local = threading.local()
        self._closed = False
        self.read_only = not _writable(self.path)
        self._uri = ""
        # Two processes opening a brand-new index at once race on switching it to WAL
        # (SQLite answers "locked" there without waiting); retry within the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                migrate(self.conn(), read_only=self.read_only)
                break
            except sqlite3.OperationalError as exc:   # locked past busy_timeout, or the race
                if "readonly" in str(exc) or "read-only" in str(exc):
                    raise self._read_only_error() from exc
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

    def require_writable(self) -> None:
        """ConfigError (exit 2) when the cache is read-only: say so before any work (a
        fetch must not fail later at its lock file with a "temporary" error)."""
        if self.read_only:
            raise self._read_only_error()

    def _read_only_error(self) -> ConfigError:
        return ConfigError(f"the data dir {self.path.parent} is read-only: this command "
                           "needs to change the cache",
                           "reading (list, show, search, folders) works; to change or fetch, "
                           "make it writable or set MAILCLI_DATA to a writable directory")

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return self._open_read_only()
        if not self.path.exists():  # SQLite would create it 0644 (and its -wal/-shm alike)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-32000")
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """mode=ro (sees a live WAL when its -shm is there); where SQLite cannot set up
        the WAL index in an unwritable dir, immutable=1 (the last writer checkpointed)."""
        if not self.path.exists():
            raise self._read_only_error()
        uris = [self._uri] if self._uri else [f"file:{self.path}?mode=ro",
                                              f"file:{self.path}?immutable=1"]
        for uri in uris:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                conn.close()
                if uri is uris[-1]:
                    raise
                continue
            conn.execute("PRAGMA temp_store=MEMORY")
            self._uri = uri
            logger.debug("index opened read-only (%s)", uri.partition("?")[2])
            return conn
        raise AssertionError("unreachable")

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
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
        if self.read_only:
            raise self._read_only_error()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TemporaryError(f"the index is busy: {exc}",
                                 hint="another mailcli process is writing; try again") from exc
        self._local.depth = 1
        try:
            yield conn
        except BaseException as exc:
            self._local.depth = 0
            with contextlib.suppress(sqlite3.Error):  # SQLITE_FULL may have rolled back already
                conn.execute("ROLLBACK")
            if _disk_full(exc):
                raise self._full_error(exc) from exc
            raise
        self._local.depth = 0
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if _disk_full(exc):
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise self._full_error(exc) from exc
            raise

    def full_error_of(self, exc: BaseException) -> TemporaryError | None:
        """The disk-full error to end a run with if `exc` says the disk (or quota) is full
        (writing a message file, or the index), else None: no message of a full disk is
        "one bad message"; the run stops, exit 75, and the next continues."""
        return self._full_error(exc) if _disk_full(exc) else None

    def _full_error(self, exc: BaseException) -> TemporaryError:
        """Disk full is temporary (exit 75): the batch rolled back, nothing is lost, and
        the next run continues once there is room."""
        return TemporaryError(f"no space left for the cache in {self.path.parent}: {exc}",
                              hint="free some space there; the next fetch continues where "
                                   "this one stopped")

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


def _writable(path: Path) -> bool:
    """Whether the index can be written: its dir (for -wal/-shm and new files) and the
    file itself. access() also answers EROFS for a read-only mount, even to root."""
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return not path.parent.exists() and _writable(path.parent)
    return not path.exists() or os.access(path, os.W_OK)


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)

"""Parsing for the index on the other cores while the sync downloads.

Parsing a message for the index (mailcli.message.parse.parse_for_index) is about two
thirds of the CPU time of a first sync; the download (socket, IMAP responses, file
writes, SQLite rows) is the rest. A ParsePool forks a few worker processes that read
the message files the downloader has just written (still in ``tmp/``, before the
batch's fsync and rename) and send back the parsed fields; the downloader writes each
row with them in the same store transaction as before. Nothing about durability
changes: files are made durable, then the rows commit, all in the downloader's process;
a worker only ever reads.

Failure is never a loss: a job whose worker fails, dies or is killed (even mid-batch)
answers None, and the caller parses that message itself (``safe_parse``); a pool whose
workers are all gone answers None at once. Workers hold no resource of the parent: each
closes every inherited descriptor but its two pipes at once (the account lock, the index,
the server socket), and dies with its parent (PR_SET_PDEATHSIG on Linux; EOF on its job
pipe elsewhere). Jobs are file paths (a few hundred bytes), so with at most
MAX_OUTSTANDING jobs in flight the job pipe never fills and the two sides cannot block
each other.
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import sys
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.message.parse import ParsedMessage
    from mailcli.store.contacts import Addresses

    Parsed = tuple[ParsedMessage, Addresses]
    """A worker's answer: the index fields and the address book's parsed addresses."""

logger = logging.getLogger(__name__)

MAX_OUTSTANDING = 128     # jobs in flight per pool (paths: well under a pipe's 64 KiB)
SEND_EVERY = 8            # jobs per write to a worker (fewer wake-ups; flushed before a wait)
_HEAD = struct.Struct("!I")


def default_workers() -> int:
    """Worker processes for this machine: one per core, at most 3; 0 on a single core
    (forking would only add work there)."""
    n = os.cpu_count() or 1
    return 0 if n < 2 else min(3, n)


class _Worker:
    def __init__(self, pid: int, jobs: int, results: int) -> None:
        self.pid = pid
        self.jobs = jobs            # parent's write end
        self.results = results      # parent's read end
        self.queue: deque[int] = deque()    # tickets sent, answers not read yet
        self.alive = True
        self.buf = bytearray()
        self.out = bytearray()              # jobs not written yet
        self.unsent = 0


class ParsePool:
    """Forked parse workers; submit(path) -> ticket, result(ticket) in submission order.

    Use as a context manager (close() stops the workers). Not thread-safe: one
    downloader per pool.
    """

    def __init__(self, workers: int | None = None) -> None:
        from mailcli.message import parse  # loaded before forking: the workers inherit it

        del parse
        self._workers: list[_Worker] = []
        self._next = 0
        self._answers: dict[int, Parsed | None] = {}
        self._owner: dict[int, _Worker | None] = {}
        count = default_workers() if workers is None else workers
        for _ in range(count):
            try:
                self._workers.append(_spawn())
            except OSError as exc:      # no more processes: parse in the caller
                logger.debug("parse worker not started: %s", exc)
                break

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        """Workers still alive."""
        return sum(1 for w in self._workers if w.alive)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    def outstanding(self) -> int:
        return len(self._owner)

    def submit(self, path: Path | str) -> int:
        """Hand a written message file to a worker; returns the ticket for result()."""
        ticket = self._next
        self._next += 1
        live = [w for w in self._workers if w.alive]
        if not live:
            self._answers[ticket] = None
            self._owner[ticket] = None
            return ticket
        worker = min(live, key=lambda w: len(w.queue))
        data = os.fsencode(path)
        worker.out += _HEAD.pack(len(data)) + data
        worker.unsent += 1
        worker.queue.append(ticket)
        self._owner[ticket] = worker
        if worker.unsent >= SEND_EVERY:
            self._flush(worker)
        return ticket

    def _flush(self, worker: _Worker) -> None:
        """Write the worker's buffered jobs (a worker found dead answers None for them)."""
        if not worker.out or not worker.alive:
            return
        try:
            _write_all(worker.jobs, bytes(worker.out))
        except OSError:
            self._lost(worker)
            return
        worker.out.clear()
        worker.unsent = 0

    def ready(self, ticket: int) -> bool:
        """Whether result(ticket) would answer without waiting."""
        if ticket in self._answers:
            return True
        worker = self._owner.get(ticket)
        if worker is None or not worker.alive:
            return True
        self._flush(worker)
        self._read(worker, block=False)
        return ticket in self._answers or not worker.alive

    def result(self, ticket: int) -> Parsed | None:
        """The parse of that ticket's file, or None (parse it yourself: the worker failed
        on it or is gone). Each ticket is answered once."""
        worker = self._owner.get(ticket)
        if worker is not None:
            self._flush(worker)
        while ticket not in self._answers and worker is not None and worker.alive:
            self._read(worker, block=True)
        self._owner.pop(ticket, None)
        return self._answers.pop(ticket, None)

    def _read(self, worker: _Worker, block: bool) -> None:
        """Read what the worker has sent; store each complete answer for its ticket.
        Returns once at least one answer arrived, or (not blocking) nothing is waiting."""
        while worker.alive and worker.queue:
            if not block and not select.select([worker.results], [], [], 0)[0]:
                return
            try:
                chunk = os.read(worker.results, 1 << 20)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._lost(worker)
                return
            buf = worker.buf
            buf += chunk
            got = False
            while len(buf) >= _HEAD.size and worker.queue:
                (n,) = _HEAD.unpack_from(buf)
                if len(buf) < _HEAD.size + n:
                    break
                body = bytes(buf[_HEAD.size:_HEAD.size + n])
                del buf[:_HEAD.size + n]
                ticket = worker.queue.popleft()
                try:
                    self._answers[ticket] = pickle.loads(body) if body else None
                except Exception:  # noqa: BLE001 - a bad answer: parse it in the caller
                    self._answers[ticket] = None
                got = True
            if got:
                return

    def _lost(self, worker: _Worker) -> None:
        """A worker died (killed, crashed): its open tickets answer None."""
        if not worker.alive:
            return
        worker.alive = False
        logger.info("parse worker %d is gone; parsing its %d message(s) in the downloader",
                    worker.pid, len(worker.queue))
        while worker.queue:
            self._answers[worker.queue.popleft()] = None
        worker.out.clear()
        _close(worker)

    def close(self) -> None:
        """Stop the workers (EOF on their job pipes) and reap them."""
        for w in self._workers:
            _close(w)
        for w in self._workers:
            _reap(w.pid)
        self._workers = []


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _close(worker: _Worker) -> None:
    for fd in (worker.jobs, worker.results):
        with contextlib.suppress(OSError):
            os.close(fd)
    worker.jobs = worker.results = -1
    worker.alive = False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _spawn() -> _Worker:
    jobs_r, jobs_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:    # the worker: never returns
        code = 1
        try:
            _child(jobs_r, res_w)
            code = 0
        finally:
            os._exit(code)
    os.close(jobs_r)
    os.close(res_w)
    return _Worker(pid, jobs_w, res_r)


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(jobs: int, results: int) -> None:
    """The worker's loop: read a path, parse the file, send the pickled ParsedMessage
    (empty on any failure: the downloader parses that one itself). Ends at EOF."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the parent handles Ctrl-C
    _close_inherited({jobs, results})
    if os.getppid() == 1:
        return
    from mailcli.message.parse import parse_for_index
    from mailcli.store.contacts import address_pairs

    inbox = os.fdopen(jobs, "rb", buffering=1 << 16)
    while True:
        head = inbox.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        (n,) = _HEAD.unpack(head)
        path = inbox.read(n)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
            parsed = parse_for_index(raw)
            pairs = address_pairs(parsed.from_, parsed.to, parsed.cc)
            out = pickle.dumps((parsed, pairs), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - the downloader parses it (and logs why)
            out = b""
        _write_all(results, _HEAD.pack(len(out)) + out)


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor but stdio and `keep` (the account lock, the index, the
    server socket stay the parent's alone)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)

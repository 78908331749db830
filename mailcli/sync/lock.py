"""One lock per account, so cron, the CLI and the TUI never sync an account twice at once.

The lock is ``<data>/locks/<account>.lock`` held with ``fcntl.flock(LOCK_EX | LOCK_NB)``.
The holder writes its PID into the file; a second process fails at once with
``LockHeld`` (exit 75) naming that PID. The kernel drops a flock when its holder dies
(even by SIGKILL), so a stale lock file is simply taken over: the file stays, only
its lock matters, and it is never unlinked (unlinking would let two processes lock
two different inodes). The descriptor is close-on-exec, so subprocesses (e.g. a
password_command) never inherit the lock. POSIX only.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from mailcli.errors import LockHeld

logger = logging.getLogger(__name__)


def lock_path(data_dir: Path, account: str) -> Path:
    """Where the lock of `account` lives (the name is percent-encoded to a safe file name)."""
    return Path(data_dir) / "locks" / f"{quote(account, safe='@+-_.')}.lock"


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


@contextmanager
def account_lock(data_dir: Path, account: str) -> Iterator[Path]:
    """Hold the account's sync lock for the duration of the block.

    Args:
        data_dir: mailcli's data directory (``<data>/locks`` is created if needed).
        account: the account name.

    Yields:
        The lock file's path.

    Raises:
        LockHeld: another process holds the lock (exit 75), raised immediately.
    """
    path = lock_path(data_dir, account)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            pid = _holder(fd)
            who = f"process {pid}" if pid else "another process"
            raise LockHeld(f"account {account!r} is already being synced by {who}",
                           hint="wait for it to finish (cron can simply retry later)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        logger.debug("locked account %s (%s)", account, path)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            logger.debug("unlocked account %s", account)
    finally:
        os.close(fd)

"""Whether an account's SMTP server files what it sends into Sent itself (Gmail,
Microsoft 365, some hosting providers), so that mailcli makes no second copy by APPEND.

The answer comes from the config key ``server_saves_sent`` (true/false; `account add`
writes true for the providers its table marks), else it is found out ("auto", the
default): right after the first message an account sends through an SMTP server, its Sent
folder is searched for the Message-ID (IMAP ``UID SEARCH HEADER Message-ID``) for a few
seconds (:data:`WAIT`) before anything is appended. Found: the server saves sent mail,
no APPEND. Not found: the copy is appended, as for any server. The answer is remembered
per account and SMTP server, so later sends neither wait nor search; one check stays
owed after a "no": at the account's next send the first message is looked up once more,
and a second copy of it in Sent (the server filed it later than the wait) turns the
answer into "yes" then. Either change of mind is reported once (a notice). Copies made
before the answer was known are never deleted: the user decides about those.

Owns ``<data>/outbox/server-saves-sent.json`` (0600 in the 0700 outbox directory;
written atomically under an flock). It is not part of the index, so an index rebuild
keeps it; losing it only means the question is asked again at the next send.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailcli.config.schema import AccountConfig

logger = logging.getLogger(__name__)

WAIT = 3.0            # seconds the first send of an account waits for the server's own copy
POLL = 0.25           # seconds between two searches while waiting
# TEST HOOK (like MAILCLI_DISCOVERY_*): the wait in seconds, so the test suite's first sends
# do not each cost the full wait against a server that never files its mail
WAIT_ENV = "MAILCLI_SENT_CHECK_WAIT"

FILE_NAME = "server-saves-sent.json"


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, WAIT)))
    except ValueError:
        return WAIT


def server_key(cfg: AccountConfig) -> str:
    """The SMTP server a message of `cfg` goes through (an identity may have its own)."""
    smtp = cfg.smtp
    return f"{smtp.host}:{smtp.port}" if smtp is not None else ""


@dataclass(frozen=True)
class Answer:
    """What is remembered for one account and SMTP server. `probe` is the Message-ID of
    the message the answer was found with, while its one later check is still owed."""

    saves: bool
    decided_at: float
    probe: str | None = None


class Memory:
    """The remembered answers of every account (the private JSON file)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "outbox"
        self.path = self.dir / FILE_NAME

    def get(self, account: str, server: str) -> Answer | None:
        doc = self._read().get(account, {}).get(server)
        if not isinstance(doc, dict) or not isinstance(doc.get("saves"), bool):
            return None
        probe = doc.get("probe")
        return Answer(doc["saves"], float(doc.get("decided_at") or 0.0),
                      probe if isinstance(probe, str) else None)

    def put(self, account: str, server: str, answer: Answer) -> None:
        with self._locked():
            doc = self._read()
            doc.setdefault(account, {})[server] = {
                "saves": answer.saves, "decided_at": answer.decided_at, "probe": answer.probe}
            self._write(doc)

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("%s is unreadable (%s); asking the server again", self.path, exc)
            return {}
        return doc if isinstance(doc, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.dir / (FILE_NAME + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _write(self, doc: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(doc, sort_keys=True, indent=1).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


def poll(find: Callable[[], dict[int, int]], wait: float,
         sleep: Callable[[float], None] = time.sleep) -> dict[int, int]:
    """Search (`find`: uid -> size of the copies in Sent) now and every POLL seconds until
    something is found or `wait` has passed; what was found ({} for nothing)."""
    deadline = time.monotonic() + wait
    while True:
        found = find()
        if found:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return {}
        sleep(min(POLL, left))


def notice(account: str, server: str, late: bool = False) -> str:
    """The one-line report that a server was found to file sent mail itself (shown once)."""
    host = server.rpartition(":")[0] or server
    seen = " (seen after the first send: copies already made twice are left alone)" if late else ""
    return (f"account {account}: {host} files sent mail into Sent itself{seen}; mailcli "
            f"appends no copy of its own from now on (server_saves_sent = false turns this off)")

"""Crash injection for the SIGKILL tests: ``MAILCLI_TEST_KILL_AT="<event>:<n>"``.

When that variable is set, the sync engines (and the store, for ``landed``) make the
process SIGKILL itself right after the n-th occurrence of <event> in this process, so
tests can stop `mailcli fetch` at an exact point instead of racing a timer. Events (where
they fire):

- ``deliver``  a downloaded message was handed to the store (inside an uncommitted batch)
- ``landed``   a store batch's files were renamed into new/ and cur/, their rows not yet
               committed (store/facade.py Store.batch: the window a landing record covers)
- ``commit``   a download batch committed (files fsynced, rows committed)
- ``push``     a flag change or a journal action was applied on the IMAP server
- ``delete``   IMAP: messages were expunged on the server; POP3: DELEs sent, before QUIT
- ``quit``     POP3: QUIT confirmed (deletions applied), before the ledger records it

Unset (always, outside tests) `hook()` returns None and the engines skip the check with
one `is None` test per call site; the variable is read once per engine (per Store), never
per message. A top-level module, so the store can use it without importing the sync layer.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable

ENV = "MAILCLI_TEST_KILL_AT"


def hook() -> Callable[[str], None] | None:
    """A counter that kills the process at the configured point, or None if not set."""
    spec = os.environ.get(ENV)
    if not spec:
        return None
    event, _, count = spec.partition(":")
    target = int(count or "1")
    seen: dict[str, int] = {}

    def reached(name: str) -> None:
        seen[name] = seen.get(name, 0) + 1
        if name == event and seen[name] == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return reached

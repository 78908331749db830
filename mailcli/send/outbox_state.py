"""The Outbox table's row states, and the two questions every fetch (and every poll of
`watch`) asks of it before anything is sent: is the table empty (an index that lost its
rows), and does an account have work. Kept apart from mailcli.send.outbox, which these
answers usually make unnecessary to load (its classes cost ~2 ms of each run's start).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailcli.store import Store

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
APPENDED = "appended"
DONE = "done"
FAILED = "failed"
UNCERTAIN = "uncertain"
CANCELLED = "cancelled"
OPEN_STATES = (QUEUED, SENDING, SENT, APPENDED, FAILED, UNCERTAIN)


def is_empty(store: Store) -> bool:
    """No row at all, not even a done one: what a lost (new) index looks like."""
    return store.db.conn().execute("SELECT 1 FROM outbox LIMIT 1").fetchone() is None


def has_work(store: Store, account: str) -> bool:
    """Cheap check (one indexed query): anything open, or a done row whose Outbox copy
    is still to be removed?"""
    r = store.db.conn().execute(
        f"SELECT 1 FROM outbox WHERE account = ? AND (state IN ({','.join('?' * len(OPEN_STATES))})"
        " OR (state = ? AND message IS NOT NULL)) LIMIT 1",
        (account, *OPEN_STATES, DONE)).fetchone()
    return r is not None

"""Taking back a queued move before it reached the server (the TUI's `u`).

A query on the ``journal`` table (owned by mailcli.store.journal): it removes the newest
*open* move of one message — pending, or failed and waiting for a retry — inside the
caller's write transaction. A move a running sync has claimed, or one already done, is
left alone: it is on its way to the server or there already.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any


def take_open_move(conn: sqlite3.Connection, id: int) -> dict[str, Any] | None:
    """Delete the newest pending/failed `move` journal action of message `id`; its payload
    ({folder, uid, dest, id, ...}) or None if there is none."""
    row = conn.execute(
        "SELECT id, payload FROM journal WHERE kind = 'move' AND state IN ('pending', 'failed')"
        " AND json_extract(payload, '$.id') = ? ORDER BY id DESC LIMIT 1", (id,)).fetchone()
    if row is None:
        return None
    conn.execute("DELETE FROM journal WHERE id = ? AND state IN ('pending', 'failed')",
                 (row[0],))
    payload: dict[str, Any] = json.loads(row[1])
    return payload

"""The POP3 ledger as the store offers it (``Store.ledger``): which UIDLs an account has
downloaded, skipped, or seen deleted on the server. The rows and their SQL are
mailcli.store.state's; this is the store-level API over them, with its transactions, as
mailcli.store.journal's Journal is for queued actions."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager

from mailcli.store import state
from mailcli.store.state import PopLedgerEntry


class PopLedger:
    """`read` gives a connection, `write` a write transaction (mailcli.store.db)."""

    def __init__(self, read: Callable[[], sqlite3.Connection],
                 write: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._read = read
        self._write = write

    def entries(self, account: str) -> dict[str, PopLedgerEntry]:
        """Every UIDL downloaded for a POP3 account (survives local deletion); its newest
        stored row (see `rows` for all)."""
        return state.ledger(self._read(), account)

    def rows(self, account: str, *, settled_only: bool = False) -> list[PopLedgerEntry]:
        """Every POP3 ledger row of the account (several per UIDL possible; skipped ones);
        `settled_only`: only those deleted on the server or skipped."""
        return state.ledger_rows(self._read(), account, settled_only=settled_only)

    def skip(self, account: str, uidl: str, size: int, reason: str) -> None:
        """Record a server message reported once and never downloaded nor deleted."""
        with self._write() as conn:
            state.ledger_record(conn, account, uidl, None, size=size, skipped=reason)

    def confirm_size(self, row: int, size: int) -> None:
        with self._write() as conn:
            state.ledger_set_size(conn, row, size)

    def mark_server_deleted(self, rows: list[int]) -> None:
        with self._write() as conn:
            state.ledger_mark_server_deleted(conn, rows)

    def forget(self, rows: list[int]) -> None:
        with self._write() as conn:
            state.ledger_forget(conn, rows)

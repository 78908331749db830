"""The POP3 engine against FakeAccount: exactly-once download, every deletion policy,
headers-only messages, and deletions that never happen before the local copy is safe."""
from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.accounts.testing import POP3_FULL, FakeAccount
from mailcli.accounts.base import Capability
from mailcli.config.schema import AccountConfig
from mailcli.errors import NotFoundError, TemporaryError
from mailcli.store import DeleteUidl, Store
from mailcli.sync.outcome import SyncOutcome
from mailcli.sync.pop3 import Pop3Sync, fetch_full
from tests.fakes.accounts import account_config

A = "home"
DAY = 86400.0


def msg(i: int, pad: int = 0) -> bytes:
    return (f"From: s{i}@example.test\r\nSubject: pop {i}\r\nMessage-ID: <p{i}@example.test>\r\n"
            f"\r\nbody {i}\r\n" + "y" * pad).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as s:
        yield s


def cfg(**kw) -> AccountConfig:  # noqa: ANN003
    return dataclasses.replace(account_config("pop3", 995, "u", name=A), **kw)


def maildrop(n: int, caps=POP3_FULL, pad: int = 0) -> FakeAccount:  # noqa: ANN001
    acc = FakeAccount(caps, protocol="pop3", name=A)
    for i in range(1, n + 1):
        acc.server_pop_deliver(msg(i, pad), uidl=f"U{i:04d}")
    return acc


def run(store: Store, acc: FakeAccount, config: AccountConfig, now: float = 1e9) -> SyncOutcome:
    acc.connect()
    try:
        return Pop3Sync(store, acc, config, now=lambda: now).run()
    finally:
        acc.close()


def cached(store: Store) -> list[bytes]:
    return sorted(store.read_raw(r.id) for r in store.message_rows(A, "INBOX"))


def test_delete_mode_downloads_once_then_deletes_on_the_server(store: Store) -> None:
    acc = maildrop(5)
    out = run(store, acc, cfg())
    assert (out.new, out.deleted, out.errors) == (5, 5, [])
    assert acc.maildrop == [] and cached(store) == sorted(msg(i) for i in range(1, 6))
    assert all(e.server_deleted for e in store.ledger.entries(A).values()) is True or store.ledger.entries(A) == {}
    acc.server_pop_deliver(msg(6), uidl="U0006")
    out = run(store, acc, cfg())
    assert out.new == 1 and len(cached(store)) == 6


def test_connection_dying_before_quit_causes_no_duplicate(store: Store) -> None:
    acc = maildrop(4)
    acc.fail_next("pop_commit", TemporaryError("connection reset"))
    with pytest.raises(TemporaryError):
        run(store, acc, cfg())
    assert len(acc.maildrop) == 4                      # nothing deleted without QUIT
    assert len(cached(store)) == 4                     # but all stored and recorded
    out = run(store, acc, cfg())
    assert out.new == 0 and out.deleted == 4 and len(cached(store)) == 4


def test_dele_happens_only_after_the_batch_committed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    acc = maildrop(3)
    seen_at_dele: list[int] = []
    real = acc.pop_delete

    def pop_delete(entries):  # noqa: ANN001, ANN202
        entries = list(entries)
        ledger = store.ledger.entries(A)
        seen_at_dele.extend(1 for e in entries if e.uidl in ledger and ledger[e.uidl].local_present)
        return real(entries)

    monkeypatch.setattr(acc, "pop_delete", pop_delete)
    run(store, acc, cfg())
    assert seen_at_dele == [1, 1, 1]


def test_keep_mode_leaves_everything_and_never_downloads_twice(store: Store) -> None:
    acc = maildrop(3)
    c = cfg(leave_on_server=True)
    assert run(store, acc, c).new == 3
    assert run(store, acc, c).new == 0
    assert len(acc.maildrop) == 3 and len(cached(store)) == 3
    # a locally deleted message is not downloaded again
    store.remove(store.message_rows(A, "INBOX")[0].id)
    assert run(store, acc, c).new == 0 and len(acc.maildrop) == 3


def test_keep_days_deletes_only_old_downloads(store: Store) -> None:
    acc = maildrop(2)
    c = cfg(leave_on_server=True, keep_days=14)
    now = time.time()
    run(store, acc, c, now=now)
    acc.server_pop_deliver(msg(3), uidl="U0003")
    run(store, acc, c, now=now)
    with store.db.write() as conn:      # the first two were downloaded 10 days ago
        conn.execute("UPDATE pop_ledger SET downloaded_at = ? WHERE uidl IN ('U0001', 'U0002')",
                     (now - 10 * DAY,))
    assert run(store, acc, c, now=now).deleted == 0 and len(acc.maildrop) == 3
    out = run(store, acc, c, now=now + 5 * DAY)
    assert out.deleted == 2 and [u for u, _r in acc.maildrop] == ["U0003"]
    assert len(cached(store)) == 3
    assert run(store, acc, c, now=now + 15 * DAY).deleted == 1 and acc.maildrop == []


def test_delete_when_deleted_locally(store: Store) -> None:
    acc = maildrop(3)
    c = cfg(leave_on_server=True, delete_when_deleted_locally=True)
    run(store, acc, c)
    rows = store.message_rows(A, "INBOX")
    # one deleted through mailcli (journaled), one deleted by neomutt in the Maildir
    store.journal.enqueue(A, DeleteUidl(rows[0].uidl))
    store.remove(rows[0].id)
    store.path(rows[1].id).unlink()
    out = run(store, acc, c)
    assert out.deleted == 2 and [u for u, _r in acc.maildrop] == [rows[2].uidl]
    assert store.journal.pending(A) == []


def test_wiped_inbox_deletes_nothing_with_delete_when_deleted_locally(store: Store) -> None:
    acc = maildrop(3)
    c = cfg(leave_on_server=True, delete_when_deleted_locally=True)
    run(store, acc, c)
    for r in store.message_rows(A, "INBOX"):
        store.path(r.id).unlink()
    out = run(store, acc, c)
    assert out.deleted == 0 and len(acc.maildrop) == 3
    assert any("empty or missing" in n for n in out.notes)


def test_max_message_size_keeps_headers_only_until_fetch_full(store: Store) -> None:
    acc = maildrop(2)
    acc.server_pop_deliver(msg(3, pad=5000), uidl="BIG")
    c = cfg(max_message_size=1000)
    out = run(store, acc, c)
    assert out.new == 3
    assert [u for u, _r in acc.maildrop] == ["BIG"]       # partial: kept on the server
    big = next(r for r in store.message_rows(A, "INBOX") if r.uidl == "BIG")
    assert big.partial and store.read_raw(big.id) == msg(3, 5000).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert store.get(big.id).subject == "pop 3"
    acc.connect()
    fetch_full(store, acc, big.id)
    acc.close()
    assert store.read_raw(big.id) == msg(3, 5000) and not store.message_row(big.id).partial
    out = run(store, acc, c)
    assert out.new == 0 and acc.maildrop == []             # now safe to delete


def test_fetch_full_never_completes_headers_with_another_message_under_a_reused_uidl(store: Store) -> None:
    acc = maildrop(0)
    acc.server_pop_deliver(msg(3, pad=5000), uidl="BIG")
    run(store, acc, cfg(max_message_size=1000, leave_on_server=True))
    big = store.message_rows(A, "INBOX")[0]
    acc.maildrop = [("BIG", msg(4, pad=7000))]            # the server reused the UIDL
    acc.connect()
    with pytest.raises(NotFoundError):
        fetch_full(store, acc, big.id)
    acc.close()
    assert store.message_row(big.id).partial and store.get(big.id).subject == "pop 3"


def test_without_top_big_messages_are_downloaded_whole(store: Store) -> None:
    acc = maildrop(1, caps=POP3_FULL - {Capability.TOP}, pad=3000)
    out = run(store, acc, cfg(max_message_size=100))
    assert out.new == 1 and cached(store) == [msg(1, 3000)]


def test_an_interrupted_download_is_completed_exactly_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    acc = maildrop(12)
    real = store.deliver
    n = {"calls": 0}

    class Crash(BaseException):
        pass

    def deliver(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        n["calls"] += 1
        if n["calls"] == 8:
            raise Crash()
        return real(*a, **kw)

    monkeypatch.setattr(store, "deliver", deliver)
    acc.connect()
    with pytest.raises(Crash):
        Pop3Sync(store, acc, cfg(), chunk=5).run()
    acc.close()
    assert len(acc.maildrop) == 12 and len(cached(store)) == 5   # chunk 1 committed, chunk 2 not
    monkeypatch.setattr(store, "deliver", real)
    run(store, acc, cfg())
    assert cached(store) == sorted(msg(i) for i in range(1, 13)) and acc.maildrop == []


def test_dry_run_lists_and_changes_nothing(store: Store) -> None:
    acc = maildrop(3)
    acc.connect()
    out = Pop3Sync(store, acc, cfg(), dry_run=True).run()
    assert "download 3 message(s)" in out.plans[0] and "delete 3" in out.plans[0]
    assert len(acc.maildrop) == 3 and cached(store) == []


def test_a_local_delete_of_an_older_message_never_deletes_a_reused_uidl(store: Store) -> None:
    """The server reuses U0001 for another message; deleting the OLD local copy (through
    mailcli, or in the Maildir) must not delete the new one on the server."""
    acc = maildrop(2)
    c = cfg(leave_on_server=True, delete_when_deleted_locally=True)
    assert run(store, acc, c).new == 2
    old = {r.uidl: r.id for r in store.message_rows(A, "INBOX")}
    acc.maildrop = [("U0001", msg(11, pad=50)), ("U0002", msg(12, pad=60))]
    out = run(store, acc, c)
    assert (out.new, out.deleted) == (2, 0) and len(cached(store)) == 4
    store.journal.enqueue(A, DeleteUidl("U0001", old["U0001"]))
    store.remove(old["U0001"])
    store.path(old["U0002"]).unlink()                 # neomutt deleted the other old one
    out = run(store, acc, c)
    assert out.deleted == 0 and [r for _u, r in acc.maildrop] == [msg(11, pad=50), msg(12, pad=60)]
    assert store.journal.pending(A) == []             # settled: those copies are gone
    assert cached(store) == sorted([msg(11, pad=50), msg(12, pad=60)])


def index_before_m004(tmp_path: Path) -> Path:
    """A data dir whose index has only the migrations m001-m003 (an older mailcli's)."""
    from mailcli.store.migrations import MIGRATIONS

    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "index.sqlite3", isolation_level=None)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for name, fn in MIGRATIONS[:3]:
        fn(db)
        db.execute("INSERT INTO _migrations VALUES (?, 0)", (name,))
    db.close()
    return data


def test_ledger_rows_from_before_sizes_are_confirmed_by_the_local_copy(tmp_path: Path) -> None:
    """An index from before migration m004: its ledger rows survive with no size. They
    are never downloaded again; keep_days deletes one only when the local copy's size
    equals the announced size (a copy deleted locally cannot confirm: left on the server)."""
    data = index_before_m004(tmp_path)
    acc = maildrop(3)
    c = cfg(leave_on_server=True, keep_days=14)
    with Store(data) as st:   # m004 applied now; make its rows look like pre-m004 ones
        assert run(st, acc, c).new == 3
        with st.db.write() as conn:
            conn.execute("UPDATE pop_ledger SET size = NULL, sha256 = NULL,"
                         " downloaded_at = downloaded_at - 20 * 86400")
        st.remove(next(r.id for r in st.message_rows(A, "INBOX") if r.uidl == "U0003"))
        out = run(st, acc, c, now=time.time())
        assert (out.new, out.deleted) == (0, 2) and [u for u, _r in acc.maildrop] == ["U0003"]
        assert {e.uidl: e.size for e in st.ledger.rows(A)}["U0003"] is None
        assert run(st, acc, c, now=time.time()).new == 0 and len(acc.maildrop) == 1


def test_migration_m004_keeps_the_old_ledger_rows(tmp_path: Path) -> None:
    data = index_before_m004(tmp_path)
    db = sqlite3.connect(data / "index.sqlite3", isolation_level=None)
    db.execute("INSERT INTO pop_ledger (account, uidl, message, downloaded_at, server_deleted)"
               " VALUES ('home', 'old-1', NULL, 5.0, 1), ('home', 'old 2', NULL, 6.0, 0)")
    db.close()
    with Store(data) as st:
        rows = st.ledger.rows("home")
    assert [(r.uidl, r.downloaded_at, r.server_deleted, r.size, r.skipped) for r in rows] == [
        ("old-1", 5.0, True, None, None), ("old 2", 6.0, False, None, None)]


def test_keep_days_never_deletes_a_headers_only_copy(store: Store) -> None:
    """The row is read (is it partial?) only for messages the policy would delete: an
    old headers-only copy is still kept on the server, the old complete ones go."""
    acc = maildrop(2)
    acc.server_pop_deliver(msg(3, pad=5000), uidl="BIG")
    c = cfg(leave_on_server=True, keep_days=14, max_message_size=1000)
    now = time.time()
    assert run(store, acc, c, now=now).new == 3
    assert run(store, acc, c, now=now).deleted == 0 and len(acc.maildrop) == 3
    out = run(store, acc, c, now=now + 15 * DAY)
    assert out.deleted == 2 and [u for u, _r in acc.maildrop] == ["BIG"]


def test_ledger_rows_of_deleted_messages_are_forgotten_once_unlisted_kept_ones_stay(
        store: Store) -> None:
    acc = maildrop(3)
    assert run(store, acc, cfg(leave_on_server=True)).new == 3
    assert run(store, acc, cfg(leave_on_server=True)).new == 0
    assert len(store.ledger.rows(A)) == 3 and store.ledger.rows(A, settled_only=True) == []
    out = run(store, acc, cfg())                       # delete mode: all three go
    assert out.deleted == 3 and acc.maildrop == []
    assert len(store.ledger.rows(A, settled_only=True)) == 3
    assert run(store, acc, cfg()).new == 0             # no longer listed: forgotten
    assert store.ledger.rows(A) == []

"""The SQLite index behind Store: migrations, delivery + rows, paging, counts, flags in step
with file names, external changes, threads, rebuild."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailcli.errors import NotFoundError, UsageError
from mailcli.model import Flag
from mailcli.store import Append, FolderState, Store, rebuild_index
from mailcli.store.maildir import MaildirName
from mailcli.store.migrations import MIGRATIONS

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def msg(i: int, subject: str | None = None, when: datetime | None = None,
        sender: str = "alice@example.org", body: str = "hello") -> bytes:
    when = when or T0 + timedelta(minutes=i)
    return (f"From: Sender {i} <{sender}>\r\nTo: bob@example.org\r\n"
            f"Subject: {subject or f'message {i}'}\r\nMessage-ID: <m{i}@example.org>\r\n"
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n\r\n{body} {i}\r\n"
            ).encode()


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


def test_migrations_recorded_once_and_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "d") as s:
        conn = s.db.conn()
        names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [m[0] for m in MIGRATIONS]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(tmp_path / "d") as s:  # reopening applies nothing again
        assert s.db.conn().execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
    assert (tmp_path / "d" / "index.sqlite3").exists()


def test_deliver_indexes_envelope_and_keeps_bytes(store: Store) -> None:
    raw = msg(1) + b"\x00\xff trailing 8-bit \r\n"
    i = store.deliver("work", "INBOX", raw, flags={Flag.SEEN}, uid=11)
    env = store.get(i)
    assert (env.account, env.folder, env.uid, env.subject) == ("work", "INBOX", 11, "message 1")
    assert env.from_ == "Sender 1 <alice@example.org>" and env.to == "bob@example.org"
    assert env.date == T0 + timedelta(minutes=1) and env.flags == {Flag.SEEN}
    assert env.size == len(raw) and env.message_id == "<m1@example.org>"
    assert hashlib.sha256(store.read_raw(i)).digest() == hashlib.sha256(raw).digest()
    assert store.by_uid("work", "INBOX", 11).id == i
    row = store.message_row(i)
    assert row.synced_flags == {Flag.SEEN} and row.filename.endswith(",U=11:2,S")


def test_deliver_is_idempotent_per_uid_and_uidl(store: Store) -> None:
    a = store.deliver("work", "INBOX", msg(1), uid=5)
    assert store.deliver("work", "INBOX", msg(1), uid=5) == a
    b = store.deliver("pop", "INBOX", msg(2), uidl="UID-2")
    assert store.deliver("pop", "INBOX", msg(2), uidl="UID-2") == b
    store.remove(b)  # deleted locally: the ledger still prevents a second download
    assert store.deliver("pop", "INBOX", msg(2), uidl="UID-2") == b
    assert store.count("pop") == 0
    entry = store.ledger.entries("pop")["UID-2"]
    assert entry.message == b and not entry.local_present
    files = list((store.maildir("work", "INBOX").path / "cur").iterdir()) + \
        list((store.maildir("work", "INBOX").path / "new").iterdir())
    assert len(files) == 1


def test_unparseable_mail_is_still_stored(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes) -> object:
        raise RuntimeError("parser bug")

    monkeypatch.setattr("mailcli.message.parse.parse_for_index", broken)
    i = store.deliver("work", "INBOX", b"\xff\xfe garbage")
    assert store.read_raw(i) == b"\xff\xfe garbage" and store.get(i).subject == ""


def test_paging_unread_and_counts(store: Store) -> None:
    with store.batch():
        for i in range(120):
            store.deliver("work", "INBOX", msg(i), flags={Flag.SEEN} if i % 3 else (), uid=i + 1)
        store.deliver("work", "Archive", msg(500))
        store.deliver("other", "INBOX", msg(501))
    pages = [store.list_envelopes("work", "INBOX", limit=50, offset=o) for o in (0, 50, 100)]
    assert [len(p) for p in pages] == [50, 50, 20]
    subjects = [e.subject for p in pages for e in p]
    assert subjects == [f"message {i}" for i in reversed(range(120))]  # newest first
    asc = store.list_envelopes("work", "INBOX", limit=3, order="date asc")
    assert [e.subject for e in asc] == ["message 0", "message 1", "message 2"]
    unread = store.list_envelopes("work", "INBOX", unread_only=True, limit=100)
    assert len(unread) == 40 and all(Flag.SEEN not in e.flags for e in unread)
    assert store.count("work", "INBOX") == 120 and store.count("work", "INBOX", True) == 40
    assert store.count() == 122 and store.count("work") == 121
    assert len(store.list_envelopes(limit=500)) == 122
    with pytest.raises(UsageError):
        store.list_envelopes(order="subject; DROP TABLE messages")
    store.put_folder_state(FolderState("work", "Empty", uidvalidity=1))
    sums = {(s.account, s.folder): (s.total, s.unread) for s in store.folder_summaries()}
    assert sums == {("work", "INBOX"): (120, 40), ("work", "Archive"): (1, 1),
                    ("work", "Empty"): (0, 0), ("other", "INBOX"): (1, 1)}
    assert [s.folder for s in store.folder_summaries("work")][0] == "INBOX"


def test_listing_and_unread_count_use_indexes(store: Store) -> None:
    conn = store.db.conn()
    plan = " ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM messages m WHERE m.account=? AND m.folder=?"
        " ORDER BY m.date DESC, m.id DESC LIMIT 50", ("a", "b")))
    assert "ix_messages_folder_date" in plan and "TEMP B-TREE" not in plan
    plan = " ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM messages m WHERE m.account=? AND m.folder=?"
        " AND m.seen = 0", ("a", "b")))
    assert "COVERING INDEX ix_messages_folder_seen_date" in plan


def test_unsynced_flags_are_found_through_the_partial_index(store: Store) -> None:
    """Every sync asks each folder for flags that await the server: through the small
    partial index of m008, not by reading every row of the folder."""
    from mailcli.store import index

    conn = store.db.conn()
    for sql in (f"SELECT 1 FROM messages WHERE account = ? AND folder = ? AND {index._UNSYNCED}"
                " LIMIT 1",
                f"SELECT {index._ROW_COLUMNS} FROM messages WHERE account = ? AND folder = ?"
                f" AND {index._UNSYNCED}"):
        plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("a", "b")))
        assert "USING INDEX ix_messages_unsynced" in plan, plan

    def in_partial_index() -> set[int]:
        return {r[0] for r in conn.execute(
            "SELECT id FROM messages INDEXED BY ix_messages_unsynced WHERE account = 'work'"
            f" AND folder = 'INBOX' AND {index._UNSYNCED}")}

    with store.batch():
        ids = [store.deliver("work", "INBOX", msg(i), uid=i + 1) for i in range(50)]
        local = store.deliver("work", "INBOX", msg(99))   # no UID yet: nothing to push
    assert in_partial_index() == set() and not store.has_unsynced_flags("work", "INBOX")
    store.set_flags(ids[7], {Flag.SEEN})
    store.set_flags(local, {Flag.FLAGGED})
    assert in_partial_index() == {ids[7]} and store.has_unsynced_flags("work", "INBOX")
    assert not store.has_unsynced_flags("work", "Archive")
    store.set_synced_flags(ids[7], {Flag.SEEN})
    assert in_partial_index() == set() and not store.has_unsynced_flags("work", "INBOX")
    conn.execute("ANALYZE")     # with statistics the planner still takes the small index
    plan = " ".join(r[3] for r in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT 1 FROM messages WHERE account = ? AND folder = ? AND"
        f" {index._UNSYNCED} LIMIT 1", ("work", "INBOX")))
    assert "USING INDEX ix_messages_unsynced" in plan, plan


def test_get_unknown_id_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.get(999)
    with pytest.raises(NotFoundError):
        store.by_uid("work", "INBOX", 1)
    with pytest.raises(NotFoundError):
        store.read_raw(999)


def test_flag_updates_keep_file_name_and_index_in_step(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1), uid=3)
    assert store.message_row(i).filename.startswith("new/")
    for flags in ({Flag.SEEN}, {Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED}, set(), {Flag.DRAFT}):
        store.set_flags(i, flags)
        row = store.message_row(i)
        assert MaildirName.parse(row.filename.partition("/")[2]).flags == flags
        assert row.flags == flags == store.get(i).flags
        assert (store.maildir("work", "INBOX").path / row.filename).exists()
        assert row.synced_flags == frozenset()  # synced state untouched by local changes
    store.set_synced_flags(i, {Flag.DRAFT})
    assert store.message_row(i).synced_flags == {Flag.DRAFT}


def test_remove_move_and_set_uid(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1), flags={Flag.SEEN}, uid=3)
    store.move(i, "Archive/2024")
    env = store.get(i)
    assert env.folder == "Archive/2024" and env.uid is None and env.flags == {Flag.SEEN}
    assert store.read_raw(i) == msg(1) and ",U=" not in store.path(i).name
    store.set_uid(i, 77)
    assert store.by_uid("work", "Archive/2024", 77).id == i
    assert store.path(i).name.endswith(",U=77:2,S")
    path = store.path(i)
    store.remove(i)
    assert not path.exists()
    with pytest.raises(NotFoundError):
        store.get(i)
    assert store.search("message") == []


def test_replace_raw_completes_a_partial_message(store: Store) -> None:
    head = msg(1).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    i = store.deliver("pop", "INBOX", head, uidl="U1", partial=True)
    assert store.get(i).partial
    store.replace_raw(i, msg(1, body="full zanzibar"))
    assert not store.get(i).partial and store.read_raw(i) == msg(1, body="full zanzibar")
    assert [e.id for e in store.search("zanzibar")] == [i]
    assert store.message_row(i).uidl == "U1"
    assert len(list((store.maildir("pop", "INBOX").path / "new").iterdir())) == 1


def test_batch_rolls_back_rows_and_files(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.batch():
            store.deliver("work", "INBOX", msg(1), uid=1)
            store.deliver("work", "INBOX", msg(2), uid=2)
            raise RuntimeError("connection lost")
    assert store.count() == 0
    md = store.maildir("work", "INBOX").path
    assert list((md / "new").iterdir()) == [] and list((md / "cur").iterdir()) == []


def test_external_changes_flags_deletes_and_new_files(store: Store) -> None:
    a = store.deliver("work", "INBOX", msg(1), flags={Flag.SEEN}, uid=1)
    b = store.deliver("work", "INBOX", msg(2), uid=2)
    c = store.deliver("work", "INBOX", msg(3), uid=3)
    md = store.maildir("work", "INBOX").path
    pa, pb, pc = store.path(a), store.path(b), store.path(c)
    # like neomutt: a flagged, b read (new/ -> cur/), c deleted, one file saved into the folder
    pa.rename(md / "cur" / (MaildirName.parse(pa.name).base + ":2,FS"))
    pb.rename(md / "cur" / (pb.name + ":2,S"))
    pc.unlink()
    (md / "cur" / "1700000000.M1P1Q1.otherhost,U=1:2,S").write_bytes(msg(4))  # stale U=1
    changes = store.scan_external_changes("work", "INBOX")
    assert {(ch.id, ch.uid, ch.old, ch.new) for ch in changes.flags_changed} == {
        (a, 1, frozenset({Flag.SEEN}), frozenset({Flag.SEEN, Flag.FLAGGED})),
        (b, 2, frozenset(), frozenset({Flag.SEEN}))}
    assert [(r.id, r.uid, r.message_id) for r in changes.removed] == [(c, 3, "<m3@example.org>")]
    assert len(changes.added) == 1
    new = store.get(changes.added[0])
    assert new.uid is None and new.subject == "message 4"  # U=1 is taken: local-only
    assert ",U=" not in store.path(new.id).name
    assert store.get(a).flags == {Flag.SEEN, Flag.FLAGGED} and store.get(b).flags == {Flag.SEEN}
    assert store.read_raw(b) == msg(2)
    assert not store.scan_external_changes("work", "INBOX")  # converged


def test_threads_read_while_another_writes(store: Store) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for n in range(10):
                with store.batch():
                    for i in range(20):
                        store.deliver("work", "INBOX", msg(n * 20 + i), uid=n * 20 + i + 1,
                                      fsync=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                page = store.list_envelopes("work", "INBOX", limit=50)
                assert store.count("work", "INBOX") >= len(page)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert store.count("work", "INBOX") == 200


def _snapshot(store: Store) -> list[tuple]:
    rows = []
    for env in store.list_envelopes(limit=10_000, order="id asc"):
        r = store.message_row(env.id)
        rows.append((env, r.uid, r.uidl, r.filename, r.flags, r.synced_flags, r.partial))
    return rows


def test_rebuild_equals_the_original_index(store: Store) -> None:
    ids = [store.deliver("work", "INBOX", msg(i, sender=f"p{i}@ex.org"), uid=i + 1,
                         flags={Flag.SEEN} if i % 2 else ()) for i in range(8)]
    ids.append(store.deliver("work", "Lists/py", msg(20, body="kumquat")))
    ids.append(store.deliver("pop", "INBOX", msg(21), uidl="abc:/,1", partial=True))
    store.set_flags(ids[0], {Flag.FLAGGED})
    store.remove(ids[3])
    store.put_folder_state(FolderState("work", "INBOX", uidvalidity=42, uidnext=9))
    aid = store.journal.enqueue("work", Append("INBOX", ids[0]))
    before = _snapshot(store)
    search_before = [e.id for e in store.search("kumquat OR from:p5")]
    report = rebuild_index(store)
    assert report.messages == 9 and report.kept_ids == 9
    assert _snapshot(store) == before
    assert [e.id for e in store.search("kumquat OR from:p5")] == search_before
    assert store.folder_state("work", "INBOX").uidvalidity == 42  # type: ignore[union-attr]
    assert store.journal.get(aid).entry == Append("INBOX", ids[0])
    # new ids after a rebuild never reuse old ones
    assert store.deliver("work", "INBOX", msg(30)) > max(ids)


def test_rebuild_after_losing_the_index_recovers_uids_and_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        s.deliver("work", "INBOX", msg(1), flags={Flag.SEEN}, uid=101)
        s.deliver("work", ".hidden/cur", msg(2), uid=102)
        s.deliver("pop", "INBOX", msg(3), uidl="X/1")
    for f in data.glob("index.sqlite3*"):
        f.unlink()
    with Store(data) as s:
        assert s.count() == 0
        assert rebuild_index(s).messages == 3
        assert s.by_uid("work", "INBOX", 101).subject == "message 1"
        assert s.by_uid("work", ".hidden/cur", 102).subject == "message 2"
        assert s.message_row(s.by_uid("work", "INBOX", 101).id).synced_flags == {Flag.SEEN}
        assert s.ledger.entries("pop")["X/1"].local_present
        assert s.deliver("pop", "INBOX", msg(3), uidl="X/1") == s.list_envelopes("pop")[0].id


def test_folder_state_round_trip_and_delete_folder(store: Store) -> None:
    st = FolderState("work", "INBOX", None, 7, 100, 5000, 1.5)
    store.put_folder_state(st)
    assert store.folder_state("work", "INBOX") == st
    store.put_folder_state(FolderState("work", "INBOX", None, 8, 1, None, 2.0))
    assert store.folder_state("work", "INBOX").uidvalidity == 8  # type: ignore[union-attr]
    store.deliver("work", "Old", msg(1), uid=1)
    store.deliver("work", "Old/Child", msg(2), uid=1)
    store.put_folder_state(FolderState("work", "Old"))
    store.delete_folder("work", "Old")
    assert store.folder_state("work", "Old") is None and store.count("work", "Old") == 0
    assert store.count("work", "Old/Child") == 1
    assert not (store.maildir("work", "Old").path / "cur").exists()


def test_closed_store_closes_connections(tmp_path: Path) -> None:
    s = Store(tmp_path / "d")
    conn = s.db.conn()
    s.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


def test_reads_do_not_wait_for_a_writer_batch(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1), uid=1)
    inside, release = threading.Event(), threading.Event()

    def long_batch() -> None:
        with store.batch():
            store.deliver("work", "INBOX", msg(2), uid=2)
            inside.set()
            release.wait(30)

    t = threading.Thread(target=long_batch)
    t.start()
    assert inside.wait(10)
    try:
        import time
        start = time.monotonic()
        assert store.read_raw(i) == msg(1)
        assert [e.id for e in store.list_envelopes("work", "INBOX")] == [i]  # not committed yet
        assert store.search("message") and store.count("work", "INBOX") == 1
        assert time.monotonic() - start < 1.0
    finally:
        release.set()
        t.join(30)
    assert store.count("work", "INBOX") == 2


def test_missing_maildir_is_an_error_not_a_mass_deletion(store: Store) -> None:
    import shutil

    from mailcli.errors import FolderError

    store.deliver("work", "INBOX", msg(1), uid=1)
    shutil.rmtree(store.maildir("work", "INBOX").path)
    with pytest.raises(FolderError):
        store.scan_external_changes("work", "INBOX")
    assert store.count("work", "INBOX") == 1


def _open_and_count(data: str, q) -> None:  # noqa: ANN001 - multiprocessing target
    from mailcli.store import Store

    try:
        with Store(Path(data)) as s:
            s.count()
        q.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        q.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_index_at_once_all_succeed(tmp_path: Path) -> None:
    """Two cron fetches starting together on a fresh data dir raced on switching the new
    index to WAL ("database is locked", exit 75 for one of them)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    for round_ in range(6):
        q = ctx.Queue()
        procs = [ctx.Process(target=_open_and_count, args=(str(tmp_path / f"d{round_}"), q))
                 for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [q.get(timeout=5) for _ in procs] == ["ok"] * 4

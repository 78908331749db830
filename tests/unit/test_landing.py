"""Landing records (store/landing.py; written by maildir.batch for Store.batch, read by
store/reconcile.py): a batch's files with a server UID are named in a tmp/ record from
just before their rename until their rows commit, so the files a crash leaves without
rows are told apart from mail another program saved there.

The crash state is made for real: at the "landed" point (files renamed, rows not yet
committed) the Maildir is copied aside, the batch is made to fail (its files and record
go, the rows roll back), and the copy is put back, which is what SIGKILL at that point
leaves on disk (tests/integration/test_sync_kill.py does it with SIGKILL).
"""
from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from mailcli.model import Flag
from mailcli.store import Store
from mailcli.store.landing import PREFIX

A = "acct"


def msg(i: int) -> bytes:
    return (f"From: s{i}@example.test\r\nSubject: m{i}\r\nMessage-ID: <m{i}@example.test>\r\n"
            f"\r\nbody {i}\r\n").encode()


class Crash(BaseException):
    pass


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    s = Store(tmp_path / "data")
    yield s
    s.close()


def records(store: Store, folder: str = "INBOX") -> list[Path]:
    tmp = store.maildir(A, folder).path / "tmp"
    return sorted(p for p in tmp.iterdir() if p.name.startswith(PREFIX)) if tmp.is_dir() else []


def files(store: Store, folder: str = "INBOX") -> list[str]:
    md = store.maildir(A, folder).path
    return sorted(p.name for sub in ("cur", "new") if (md / sub).is_dir()
                  for p in (md / sub).iterdir())


def crash_at_landing(store: Store, deliveries: list[tuple[bytes, int | None]],
                     folder: str = "INBOX") -> None:
    """Deliver in one batch and leave what a SIGKILL at the "landed" point leaves."""
    md = store.maildir(A, folder).path
    saved = md.parent / "saved"

    def landed(event: str) -> None:
        assert event == "landed"
        shutil.copytree(md, saved)
        raise Crash

    store._kill = landed
    with pytest.raises(Crash):
        with store.batch():
            for raw, uid in deliveries:
                store.deliver(A, folder, raw, {Flag.SEEN}, uid=uid)
    store._kill = None
    shutil.rmtree(md)
    saved.rename(md)


def test_a_batch_names_its_uid_files_in_a_private_record_until_the_rows_commit(
        store: Store) -> None:
    seen: dict[str, object] = {}

    def landed(event: str) -> None:
        (rec,) = records(store)
        seen["lines"] = sorted(rec.read_text().split("\n"))
        seen["mode"] = stat.S_IMODE(rec.stat().st_mode)
        seen["files"] = files(store)
        with Store(store.data_dir) as other:      # what another process sees: no row yet
            seen["rows"] = other.count(A)

    store._kill = landed
    old = os.umask(0)
    try:
        with store.batch():
            store.deliver(A, "INBOX", msg(1), {Flag.SEEN}, uid=7)
            store.deliver(A, "INBOX", msg(2), uid=8)
            store.deliver(A, "INBOX", msg(3))              # a local message: no UID, not named
    finally:
        os.umask(old)
    bases = sorted(n.partition(":")[0] for n in files(store))
    assert seen["lines"] == [b for b in bases if ",U=" in b] and len(bases) == 3
    assert seen["mode"] == 0o600
    assert seen["files"] == files(store) and seen["rows"] == 0   # renamed, not committed
    assert records(store) == [] and store.count(A) == 3


def test_a_batch_without_uids_or_that_fails_leaves_no_record(store: Store) -> None:
    calls: list[str] = []
    store._kill = calls.append
    with store.batch():
        store.deliver(A, "INBOX", msg(1))
    assert calls == [] and records(store) == []
    with pytest.raises(KeyError):
        with store.batch():
            store.deliver(A, "INBOX", msg(2), uid=2)
            raise KeyError("connection dropped")
    assert records(store) == [] and store.count(A) == 1 and len(files(store)) == 1


def test_a_single_delivery_with_a_uid_is_recorded_too(store: Store) -> None:
    """Outside a batch (a Sent copy after APPENDUID) deliver() makes its own batch."""
    calls: list[str] = []
    store._kill = lambda event: calls.append(f"{event}:{len(records(store, 'Sent'))}")
    store.deliver(A, "Sent", msg(1), {Flag.SEEN}, uid=3)
    assert calls == ["landed:1"]
    assert records(store, "Sent") == [] and store.count(A, "Sent") == 1


def test_after_a_crash_the_named_files_keep_their_uids_and_the_records_go(store: Store) -> None:
    store.deliver(A, "INBOX", msg(1), {Flag.SEEN}, uid=1)
    crash_at_landing(store, [(msg(2), 2), (msg(3), 3)])
    # another program's file with a ,U= of its own (copied from an mbsync Maildir)
    md = store.maildir(A, "INBOX").path
    (md / "new" / "1700000002.M1P1Q2.other,U=9").write_bytes(msg(9))
    assert len(records(store)) == 1
    ext = store.scan_external_changes(A, "INBOX")
    landed = {store.message_row(i).uid for i in ext.landed}
    assert landed == {2, 3} and len(ext.added) == 3
    assert records(store) == []
    # the foreign file is in `added` but not `landed`: the sync checks its UID with the server
    foreign = [store.message_row(i) for i in ext.added if i not in ext.landed]
    assert [r.uid for r in foreign] == [9]
    for i in ext.landed:
        r = store.message_row(i)
        assert r.synced_flags == r.flags == frozenset({Flag.SEEN})   # as the commit would have


def test_a_named_file_whose_uid_is_indexed_meanwhile_is_a_second_copy_and_goes(
        store: Store) -> None:
    crash_at_landing(store, [(msg(5), 5)])
    (name,) = files(store)
    md = store.maildir(A, "INBOX").path
    kept = (md / "cur" / name).read_bytes()
    (md / "cur" / name).rename(md / "saved")
    store.deliver(A, "INBOX", msg(5), {Flag.SEEN}, uid=5)     # indexed by a later download
    (md / "saved").rename(md / "cur" / name)
    assert kept == msg(5) and len(files(store)) == 2
    ext = store.scan_external_changes(A, "INBOX")
    assert ext.added == () and ext.landed == ()
    assert len(files(store)) == 1 and store.count(A, "INBOX") == 1 and records(store) == []


def test_a_folder_removed_on_the_server_drops_named_files_and_keeps_foreign_ones(
        store: Store) -> None:
    crash_at_landing(store, [(msg(1), 1)], folder="Lists")
    md = store.maildir(A, "Lists").path
    (md / "new" / "1700000003.neomutt.host").write_bytes(msg(99))
    kept = store.delete_folder(A, "Lists")
    assert [store.read_raw(i) for i in kept] == [msg(99)]
    assert not md.exists()


def test_clean_tmp_leaves_landing_records_to_the_reconciliation(store: Store) -> None:
    crash_at_landing(store, [(msg(1), 1)])
    (rec,) = records(store)
    old = time.time() - 3 * 86400
    os.utime(rec, (old, old))
    stray = rec.parent / "1700000000.M1P1Q1.host"
    stray.write_bytes(b"partial")
    os.utime(stray, (old, old))
    store.maildir(A, "INBOX").clean_tmp()
    assert records(store) == [rec] and not stray.exists()


def test_a_row_that_fails_inside_a_batch_leaves_no_file_behind(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store.deliver's clean-up of a failed row must drop the pending file: removing
    "new/<name>" did nothing while it was still in tmp/, so it was renamed in later
    without a row (and, as the record is dropped at COMMIT, without a record)."""
    from mailcli.store import index

    real = index.insert_message

    def failing(conn, **kw):  # noqa: ANN001, ANN003, ANN202
        if kw.get("uid") == 2:
            raise ValueError("row refused")
        return real(conn, **kw)

    monkeypatch.setattr(index, "insert_message", failing)
    with store.batch():
        store.deliver(A, "INBOX", msg(1), {Flag.SEEN}, uid=1)
        with pytest.raises(ValueError):
            store.deliver(A, "INBOX", msg(2), {Flag.SEEN}, uid=2)
        store.deliver(A, "INBOX", msg(3), {Flag.SEEN}, uid=3)
    assert len(files(store)) == store.count(A, "INBOX") == 2
    assert list((store.maildir(A, "INBOX").path / "tmp").iterdir()) == []

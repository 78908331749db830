"""The Maildir stamp that lets scan_external_changes skip an unchanged folder: an
unchanged folder is neither listed nor read, any rename/delete/add is still found, and
directory times younger than 1 s are never trusted (a change within the same clock tick
of a coarse file system would keep the times)."""
from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailcli.model import Flag
from mailcli.store import FolderState, Store, reconcile, state
from mailcli.store.maildir import MaildirName
from tests.unit.test_index import msg


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    s.put_folder_state(FolderState("work", "INBOX"))
    for i in (1, 2, 3):
        s.deliver("work", "INBOX", msg(i), uid=i)
    yield s
    s.close()


def later(monkeypatch: pytest.MonkeyPatch, seconds: float = 10) -> None:
    """Let `seconds` pass for the stamp's age check (the directories' times stay)."""
    monkeypatch.setattr(reconcile, "_now_ns", lambda: time.time_ns() + int(seconds * 1e9))


def neomutt_flag(store: Store, id: int, letters: str) -> None:
    p = store.path(id)
    md = store.maildir("work", "INBOX").path
    p.rename(md / "cur" / (MaildirName.parse(p.name).base + ":2," + letters))


def test_unchanged_folder_is_not_listed_nor_read(store: Store, scan_counts: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    later(monkeypatch)
    assert not store.scan_external_changes("work", "INBOX")   # lists once, records the stamp
    assert scan_counts["listings"] > 0
    scan_counts.update(listings=0, rows=0)
    for _ in range(3):
        assert not store.scan_external_changes("work", "INBOX")
    assert scan_counts == {"listings": 0, "rows": 0}
    # a neomutt flag rename changes cur/'s times: found again
    neomutt_flag(store, 1, "FS")
    later(monkeypatch)
    changes = store.scan_external_changes("work", "INBOX")
    assert [(c.uid, c.new) for c in changes.flags_changed] == [(1, {Flag.FLAGGED, Flag.SEEN})]
    assert scan_counts["listings"] > 0 and scan_counts["rows"] > 0


@pytest.mark.parametrize("change", ["delete", "add"])
def test_delete_and_add_after_a_stamp_are_found(store: Store, change: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    later(monkeypatch)
    assert not store.scan_external_changes("work", "INBOX")
    assert state.maildir_stamp(store.db.conn(), "work", "INBOX") is not None
    md = store.maildir("work", "INBOX").path
    if change == "delete":
        store.path(2).unlink()
    else:
        (md / "new" / "1700000000.M1P1Q1.otherhost").write_bytes(msg(9))
    later(monkeypatch)
    changes = store.scan_external_changes("work", "INBOX")
    if change == "delete":
        assert [r.uid for r in changes.removed] == [2]
    else:
        assert len(changes.added) == 1


def test_a_rename_in_the_same_second_as_the_last_scan_is_found(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a file system with 1 s times, a rename in the second of the last scan keeps the
    directory times; the stamp is then not trusted, so the folder is compared again."""
    tick = time.time_ns() // 10**9 * 10**9
    real_stat = reconcile._stat

    def coarse(path: Path) -> SimpleNamespace:   # every change lands in the same second
        st = real_stat(path)
        return SimpleNamespace(st_dev=st.st_dev, st_ino=st.st_ino, st_mtime_ns=tick,
                               st_ctime_ns=tick)

    monkeypatch.setattr(reconcile, "_stat", coarse)
    monkeypatch.setattr(reconcile, "_now_ns", lambda: tick + 500_000_000)   # same second
    assert not store.scan_external_changes("work", "INBOX")
    assert state.maildir_stamp(store.db.conn(), "work", "INBOX") is None   # too young
    neomutt_flag(store, 3, "S")
    changes = store.scan_external_changes("work", "INBOX")
    assert [(c.uid, c.new) for c in changes.flags_changed] == [(3, {Flag.SEEN})]
    # once the times are 1 s old the stamp is trusted (a later change gets a later time)
    monkeypatch.setattr(reconcile, "_now_ns", lambda: tick + 1_000_000_000)
    assert not store.scan_external_changes("work", "INBOX")
    assert state.maildir_stamp(store.db.conn(), "work", "INBOX") is not None


def test_store_flag_change_renames_and_leaves_the_stamp(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """mailcli's own flag change renames the file (cur/ changes) and is seen by the sync
    through flags != synced_flags, not the scan."""
    later(monkeypatch)
    assert not store.scan_external_changes("work", "INBOX")
    assert not store.has_unsynced_flags("work", "INBOX")
    stamp = reconcile._maildir_stamp(store.maildir("work", "INBOX"))
    store.set_flags(1, {Flag.SEEN})
    later(monkeypatch)
    assert reconcile._maildir_stamp(store.maildir("work", "INBOX")) != stamp
    assert not store.scan_external_changes("work", "INBOX")   # the index already knows
    assert store.has_unsynced_flags("work", "INBOX")
    store.set_synced_flags(1, {Flag.SEEN})
    assert not store.has_unsynced_flags("work", "INBOX")


@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_a_message_file_replaced_by_a_non_file_is_gone(store: Store, kind: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick comparison sees file names as Maildir.entries() does: an indexed name that
    is now a directory (or a symlink, e.g. a dedup tool's) is not that message any more."""
    later(monkeypatch)
    assert not store.scan_external_changes("work", "INBOX")
    p = store.path(2)
    elsewhere = p.parent.parent / "moved-away"
    p.rename(elsewhere)
    if kind == "directory":
        p.mkdir()
    else:
        p.symlink_to(elsewhere)
    later(monkeypatch)
    changes = store.scan_external_changes("work", "INBOX")
    assert [r.uid for r in changes.removed] == [2]
    assert store.count("work", "INBOX") == 2


def test_an_odd_entry_in_cur_does_not_cost_the_full_comparison(
        store: Store, scan_counts: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory (or other non-file) in cur/ is no message: the quick comparison leaves
    it out, and the stamp is recorded as for a clean folder."""
    md = store.maildir("work", "INBOX").path
    (md / "cur" / "not-a-message").mkdir()
    later(monkeypatch)
    assert not store.scan_external_changes("work", "INBOX")
    assert scan_counts["rows"] == 0          # no full reconciliation
    assert state.maildir_stamp(store.db.conn(), "work", "INBOX") is not None
    assert store.count("work", "INBOX") == 3

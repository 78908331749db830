"""The IMAP engine against FakeAccount (no server): every rule of sync/engine.py, the
round trips it costs, failure isolation, and that an interrupted run converges."""
from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailcli.accounts.testing import IMAP_FULL, IMAP_MINIMAL, FakeAccount
from mailcli.errors import NotFoundError, ProtocolError, TemporaryError
from mailcli.model import Flag
from mailcli.store import Append, DeleteUid, MoveUid, Store
from mailcli.sync.engine import ImapSync, folder_selected
from mailcli.sync.events import FolderDone, MessageFetched, RecordingReporter, SyncWarning
from mailcli.sync.outcome import SyncOutcome

A = "work"
SEEN, FLAGGED, ANSWERED = Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED


def msg(i: int, pad: int = 0) -> bytes:
    return (f"From: s{i}@example.test\r\nTo: r@example.test\r\nSubject: message {i}\r\n"
            f"Message-ID: <m{i}@example.test>\r\n\r\nbody {i}\r\n" + "x" * pad).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as s:
        yield s


def fake(caps=IMAP_FULL, **folders: dict[int, tuple[bytes, set]]) -> FakeAccount:  # noqa: ANN001
    acc = FakeAccount(caps, folders or {"INBOX": {}})
    acc.connect()
    return acc


def sync(store: Store, acc: FakeAccount, **kw) -> SyncOutcome:  # noqa: ANN003
    out = ImapSync(store, acc, A, **kw).run()
    acc.calls.clear()
    return out


def local(store: Store, folder: str = "INBOX") -> dict[int, tuple[bytes, frozenset]]:
    """uid -> (raw, flags) of the cached messages with a uid."""
    return {r.uid: (store.read_raw(r.id), r.flags) for r in store.message_rows(A, folder)
            if r.uid is not None}


def server(acc: FakeAccount, folder: str = "INBOX") -> dict[int, tuple[bytes, frozenset]]:
    return {u: (raw, fl) for u, (raw, fl, _m) in acc.folders[folder].messages.items()}


def assert_in_step(store: Store, acc: FakeAccount, folder: str = "INBOX") -> None:
    assert local(store, folder) == server(acc, folder)
    for r in store.message_rows(A, folder):
        assert r.synced_flags == r.flags


@pytest.mark.parametrize("caps", [IMAP_FULL, IMAP_MINIMAL], ids=["qresync", "minimal"])
def test_initial_sync_downloads_every_folder_byte_identical(store: Store, caps) -> None:  # noqa: ANN001
    acc = fake(caps, INBOX={i: (msg(i), {SEEN} if i % 2 else set()) for i in range(1, 8)},
               **{"Lists/python": {3: (msg(30), set())}, "Archive": {}})
    rec = RecordingReporter()
    out = sync(store, acc, reporter=rec)
    assert (out.new, out.errors, out.blocked) == (8, [], [])
    for f in ("INBOX", "Lists/python", "Archive"):
        assert_in_step(store, acc, f)
        st = store.folder_state(A, f)
        assert st is not None and st.uidvalidity == acc.folders[f].uidvalidity
        assert st.uidnext == acc.folders[f].uidnext
    assert len(rec.of_type(MessageFetched)) == 8
    assert {e.folder for e in rec.of_type(FolderDone)} == {"INBOX", "Lists/python", "Archive"}


def test_no_change_sync_costs_one_status_of_all_folders_with_condstore(store: Store) -> None:
    acc = fake(IMAP_FULL, INBOX={i: (msg(i), set()) for i in range(1, 50)}, Sent={}, Trash={})
    sync(store, acc)
    out = ImapSync(store, acc, A).run()
    assert out.new == out.updated == out.deleted == 0
    assert acc.calls == [("list_folders",), ("folder_statuses", ("INBOX", "Sent", "Trash"))]


@pytest.mark.parametrize("only_some", [True, False], ids=["changed-rows", "every-row"])
def test_an_incremental_sync_reads_only_the_rows_it_plans_with(tmp_path: Path, only_some: bool) -> None:
    """With the server's changes since the last sync (QRESYNC), the plan reads the rows
    of the UIDs the server reported and those changed here, not the whole folder; the
    run does what it did reading every row (the "every-row" case feeds the planner all
    of them): a flag pulled, a flag pushed, an expunge, a new message, a row without a
    sync record noted and left alone, a local-only message left to its upload."""
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 301)})
    with Store(tmp_path / ("some" if only_some else "every")) as store:
        sync(store, acc)
        acc.server_set_flags("INBOX", 10, {SEEN})
        acc.server_expunge("INBOX", [20])
        new_uid = acc.server_deliver("INBOX", msg(999))
        store.set_flags(store.id_by_uid(A, "INBOX", 30), {FLAGGED})
        store.set_synced_flags(store.id_by_uid(A, "INBOX", 40), None)   # no sync record
        local_only = store.deliver(A, "INBOX", msg(500))                # no UID
        read: list[tuple[int, int]] = []
        every, some = store.message_rows, store.message_rows_for

        def no_full_read(account: str, folder: str) -> list:  # noqa: ANN202
            raise AssertionError(f"read every row of {folder}")

        def spy(account: str, folder: str, uids):  # noqa: ANN001, ANN202
            rows, cached = some(account, folder, uids)
            read.append((len(rows), cached))
            if only_some:
                return rows, cached
            return every(account, folder), None

        store.message_rows, store.message_rows_for = (  # type: ignore[method-assign]
            no_full_read if only_some else every, spy)
        try:
            out = ImapSync(store, acc, A).run()
        finally:
            store.message_rows, store.message_rows_for = every, some  # type: ignore[method-assign]
        assert read == [(4, 300)]          # uids 10, 20 (reported), 30 (changed here), 40
        assert (out.errors, out.new, out.updated, out.uploaded) == ([], 1, 2, 0)
        assert any("uid 40" in n and "no sync record" in n for n in out.notes), out.notes
        assert local(store) == server(acc) and new_uid in local(store) and 20 not in local(store)
        assert store.message_row(local_only).uid is None
        for r in store.message_rows(A, "INBOX"):
            if r.uid not in (None, 40):
                assert r.synced_flags == r.flags, r


def test_the_rows_of_many_uids_are_read_in_parts(store: Store) -> None:
    """message_rows_for: UIDs in "uid IN (...)" parts of 500 (SQLite bounds the number
    of parameters), each row once, in id order, with the count of cached UIDs."""
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 1201)})
    sync(store, acc)
    store.set_flags(store.id_by_uid(A, "INBOX", 1100), {FLAGGED})
    rows, cached = store.message_rows_for(A, "INBOX", [*range(1, 1051), 1050, 5000])
    assert cached == 1200
    assert sorted(r.uid for r in rows) == [*range(1, 1051), 1100]     # each once
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert [r.id for r in rows] == [r.id for r in store.message_rows(A, "INBOX") if r.uid in {*range(1, 1051), 1100}]
    # more UIDs than cached rows (VANISHED may name whole ranges): one pass, same answer
    many, cached = store.message_rows_for(A, "INBOX", [*range(1, 1051), *range(5000, 9000)])
    assert cached == 1200 and [r.id for r in many] == [r.id for r in rows]


def test_no_change_sync_is_one_flag_scan_per_folder_without_condstore(store: Store) -> None:
    acc = fake(IMAP_MINIMAL, INBOX={i: (msg(i), set()) for i in range(1, 50)}, Sent={})
    sync(store, acc)
    ImapSync(store, acc, A).run()
    assert acc.calls == [("list_folders",), ("changes_since", "INBOX", acc.folders["INBOX"].uidvalidity, None),
                         ("changes_since", "Sent", acc.folders["Sent"].uidvalidity, None)]


def test_folder_globs_select_folders() -> None:
    assert folder_selected("Lists/python", ["Lists/*"])
    assert not folder_selected("Archive", ["INBOX", "Lists/*"])


def test_only_folders_matching_globs_are_synced(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set())}, Spam={1: (msg(2), set())}, **{"Lists/a": {1: (msg(3), set())}})
    ImapSync(store, acc, A, folders=["INBOX", "Lists/*"]).run()
    assert {s.name for s in store.folder_states(A)} == {"INBOX", "Lists/a"}
    assert store.count(A, "Spam") == 0


@pytest.mark.parametrize("caps", [IMAP_FULL, IMAP_MINIMAL], ids=["qresync", "minimal"])
def test_flag_changes_on_both_sides_are_merged(store: Store, caps) -> None:  # noqa: ANN001
    acc = fake(caps, INBOX={i: (msg(i), set()) for i in range(1, 6)})
    sync(store, acc)
    acc.server_set_flags("INBOX", 1, {SEEN})                       # server only
    store.set_flags(store.id_by_uid(A, "INBOX", 2), {FLAGGED})     # local only
    acc.server_set_flags("INBOX", 3, {SEEN})                       # both, different flags
    store.set_flags(store.id_by_uid(A, "INBOX", 3), {ANSWERED})
    store.set_flags(store.id_by_uid(A, "INBOX", 4), {FLAGGED})     # the same change on both sides
    store.set_flags(store.id_by_uid(A, "INBOX", 5), {FLAGGED})
    acc.server_set_flags("INBOX", 4, {FLAGGED})
    out = sync(store, acc)
    assert out.errors == []
    assert acc.flags("INBOX") == {1: {SEEN}, 2: {FLAGGED}, 3: {SEEN, ANSWERED}, 4: {FLAGGED},
                                  5: {FLAGGED}}
    assert_in_step(store, acc)
    # pushes with the same change are one STORE
    out = ImapSync(store, acc, A).run()
    assert acc.count("set_flags") == 0


def test_same_flag_push_for_many_messages_is_one_store(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 30)})
    sync(store, acc)
    for r in store.message_rows(A, "INBOX"):
        store.set_flags(r.id, {SEEN})
    ImapSync(store, acc, A).run()
    assert acc.count("set_flags") == 1


def test_messages_the_server_expunged_take_their_words_with_them(store: Store) -> None:
    """The engine's mass expunge (Store.remove_many: files parsed before the write lock)
    leaves no words of the messages it removed, also for a file another client renamed."""
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 41)})
    sync(store, acc)
    renamed = store.path(store.id_by_uid(A, "INBOX", 7))
    renamed.rename(renamed.with_name(renamed.name.split(":2,")[0] + ":2,F"))
    acc.server_expunge("INBOX", range(1, 31))
    out = sync(store, acc, force=True)
    assert out.deleted == 30 and out.errors == []
    conn = store.db.conn()
    assert conn.execute("SELECT count(*) FROM fts_leftovers").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM messages_words").fetchone()[0] == 10
    assert [e.id for e in store.search("body:7")] == []
    assert len(store.search("body:31")) == 1
    assert_in_step(store, acc)


def test_deletions_both_ways_and_no_redownload_of_a_queued_delete(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 11)})
    sync(store, acc)
    acc.server_expunge("INBOX", [1, 2])
    mid = store.id_by_uid(A, "INBOX", 5)
    store.journal.enqueue(A, DeleteUid("INBOX", 5))
    store.remove(mid)
    out = sync(store, acc)
    assert out.deleted == 3 and out.errors == []
    assert set(acc.folders["INBOX"].messages) == {3, 4, 6, 7, 8, 9, 10}
    assert_in_step(store, acc)
    assert store.journal.pending(A) == []


def test_failed_queued_delete_is_retried_and_never_downloaded_again(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 4)})
    sync(store, acc)
    store.journal.enqueue(A, DeleteUid("INBOX", 2))
    store.remove(store.id_by_uid(A, "INBOX", 2))
    acc.fail_next("delete", ProtocolError("NO [SERVERBUG] try later"))
    out = sync(store, acc)
    assert out.errors and store.id_by_uid(A, "INBOX", 2) is None     # not downloaded back
    assert len(store.journal.pending(A)) == 1
    out = sync(store, acc)
    assert out.errors == [] and 2 not in acc.folders["INBOX"].messages


def test_external_changes_in_the_maildir_are_pushed(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 6)})
    sync(store, acc)
    md = store.maildir(A, "INBOX")
    p1, p2 = store.path(store.id_by_uid(A, "INBOX", 1)), store.path(store.id_by_uid(A, "INBOX", 2))
    # neomutt marks uid 1 seen+flagged (rename into cur/ with :2,FS) and deletes uid 2
    (md.path / "cur").mkdir(exist_ok=True)
    p1.rename(md.path / "cur" / (p1.name.split(":")[0] + ":2,FS"))
    p2.unlink()
    # and saves a new message of its own into the folder
    (md.path / "new" / "1700000000.neomutt.host").write_bytes(msg(99))
    out = sync(store, acc)
    assert out.errors == [] and out.uploaded == 1
    assert acc.flags("INBOX")[1] == {SEEN, FLAGGED}
    assert 2 not in acc.folders["INBOX"].messages
    assert msg(99) in [raw for raw, _f in server(acc).values()]
    assert_in_step(store, acc)


def test_file_with_a_uid_left_by_a_crash_keeps_its_uid_if_the_server_agrees(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set()), 2: (msg(2), set())})
    sync(store, acc)
    # a download of uid 3 whose row never committed; and a file copied in from elsewhere
    # with a ,U= that does not match the server's uid 4
    acc.server_deliver("INBOX", msg(3))
    acc.server_deliver("INBOX", msg(4))
    md = store.maildir(A, "INBOX")
    (md.path / "new" / "1700000001.M1P1Q1.host,U=3").write_bytes(msg(3))
    (md.path / "new" / "1700000002.M1P1Q2.host,U=4").write_bytes(msg(77))
    out = sync(store, acc)
    assert out.errors == []
    raws = sorted(raw for raw, _f in server(acc).values())
    assert raws == sorted([msg(1), msg(2), msg(3), msg(4), msg(77)])   # nothing lost, no dup
    assert_in_step(store, acc)


def test_a_resync_asks_the_status_of_every_synced_folder_at_once(store: Store) -> None:
    """One folder_statuses for the folders a STATUS can prove unchanged (one round trip
    on a real server), none one by one; a change made on the server before the run is
    seen, in the folder that has it."""
    acc = fake(INBOX={1: (msg(1), set())}, Archive={1: (msg(2), set())}, Lists={})
    sync(store, acc)
    acc.server_deliver("Archive", msg(3))
    out = ImapSync(store, acc, A).run()
    asked = [c[1] for c in acc.calls if c[0] == "folder_statuses"]
    assert [set(a) for a in asked] == [{"INBOX", "Archive", "Lists"}]
    assert acc.count("folder_status") == 0
    assert out.new == 1
    assert_in_step(store, acc, "Archive")


def test_statuses_given_with_the_listing_are_used_and_not_asked_again(store: Store) -> None:
    """A server with LIST-STATUS gives every folder's STATUS with the listing: a resync
    asks nothing more for the folders it proves unchanged, and still sees the change
    made on the server before the run."""
    acc = fake(INBOX={1: (msg(1), set())}, Archive={1: (msg(2), set())}, Lists={})
    sync(store, acc)
    acc.list_status = True
    acc.calls.clear()
    out = ImapSync(store, acc, A).run()
    assert acc.calls[0] == ("list_folders_with_status",)
    assert acc.count("folder_statuses") == acc.count("folder_status") == acc.count("list_folders") == 0
    assert out.new == 0 and not [c for c in acc.calls if c[0] == "changes_since"]
    acc.server_deliver("Archive", msg(3))
    acc.calls.clear()
    out = ImapSync(store, acc, A).run()
    assert out.new == 1 and acc.count("folder_status") == 0
    assert [c[1] for c in acc.calls if c[0] == "changes_since"] == ["Archive"]
    assert_in_step(store, acc, "Archive")


@pytest.mark.parametrize("caps", [IMAP_FULL, IMAP_MINIMAL], ids=["qresync", "minimal"])
def test_a_first_sync_selects_no_folder_the_listing_shows_empty(store: Store, caps) -> None:  # noqa: ANN001
    """With LIST-STATUS, a folder that holds nothing on the server (nor here) is synced by
    recording its STATUS: no SELECT, no scan (a round trip each). Mail that arrives there
    afterwards is fetched by the next sync."""
    acc = fake(caps, INBOX={1: (msg(1), set())}, Drafts={}, Trash={}, Archive={1: (msg(2), set())})
    acc.list_status = True
    out = ImapSync(store, acc, A).run()
    assert out.errors == [] and out.new == 2
    selected = {c[1] for c in acc.calls if c[0] == "changes_since"}
    assert selected == {"INBOX", "Archive"}
    drafts = store.folder_state(A, "Drafts")
    assert drafts is not None and drafts.uidvalidity == acc.folders["Drafts"].uidvalidity
    assert drafts.uidnext == acc.folders["Drafts"].uidnext and drafts.synced_at
    acc.server_deliver("Drafts", msg(3), {SEEN})
    out = sync(store, acc)
    assert out.new == 1 and local(store, "Drafts") == server(acc, "Drafts")
    assert_in_step(store, acc, "Trash")


def test_a_folder_empty_on_the_server_with_local_mail_is_synced_in_full(store: Store) -> None:
    """Not for a folder with something here: a file another program saved in it is
    uploaded as usual."""
    acc = fake(INBOX={1: (msg(1), set())}, Drafts={})
    acc.list_status = True
    md = store.maildir(A, "Drafts")
    md.create()
    (md.path / "new" / "1700000002.M1P1Q2.host").write_bytes(msg(9))
    out = sync(store, acc)
    assert out.errors == []
    assert [raw for raw, _f in server(acc, "Drafts").values()] == [msg(9)]


def test_an_entry_queued_after_the_listing_voids_the_statuses_it_gave(store: Store) -> None:
    """An entry queued between the listing (which gave every STATUS) and the folders'
    turns: its move changes the destination during the run, so no listed answer stands
    and each folder asks its own; without COPYUID the destination downloads the copy."""
    from mailcli.accounts.base import Capability
    acc = fake(IMAP_FULL - {Capability.UIDPLUS}, INBOX={1: (msg(1), set()), 2: (msg(2), set())},
               Archive={1: (msg(3), set())})
    sync(store, acc)
    acc.list_status = True
    real = acc.list_folders_with_status

    def then_queue():  # noqa: ANN202
        answer = real()
        mid = store.id_by_uid(A, "INBOX", 1)
        store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
        store.move(mid, "Archive")
        return answer

    acc.list_folders_with_status = then_queue  # type: ignore[method-assign]
    acc.calls.clear()
    assert ImapSync(store, acc, A).run().errors == []
    assert acc.count("list_folders_with_status") == 1 and acc.count("folder_status") >= 2
    assert sorted(raw for raw, _f in local(store, "Archive").values()) == sorted([msg(1), msg(3)])
    assert_in_step(store, acc, "Archive")
    assert_in_step(store, acc, "INBOX")


def test_no_statuses_are_asked_with_the_listing_when_entries_are_queued(store: Store) -> None:
    """Queued entries change other folders during the run: the listing asks no STATUS
    (the server would compute them for nothing) and each folder asks its own."""
    acc = fake(INBOX={1: (msg(1), set()), 2: (msg(2), set())}, Archive={})
    sync(store, acc)
    acc.list_status = True
    mid = store.id_by_uid(A, "INBOX", 1)
    store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
    store.move(mid, "Archive")
    acc.calls.clear()
    assert ImapSync(store, acc, A).run().errors == []
    assert acc.calls[0] == ("list_folders",) and acc.count("list_folders_with_status") == 0
    assert acc.count("folder_status") >= 2
    assert_in_step(store, acc, "Archive")
    assert_in_step(store, acc, "INBOX")


def test_with_queued_entries_each_folder_asks_its_own_status(store: Store) -> None:
    """A queued move changes another folder during the run: no answer asked at the start
    may stand for it, so each folder asks when its turn comes (and sees the move)."""
    acc = fake(INBOX={1: (msg(1), set()), 2: (msg(2), set())}, Archive={})
    sync(store, acc)
    mid = store.id_by_uid(A, "INBOX", 1)
    store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
    store.move(mid, "Archive")
    assert ImapSync(store, acc, A).run().errors == []
    assert acc.count("folder_statuses") == 0 and acc.count("folder_status") >= 2
    assert_in_step(store, acc, "Archive")
    assert_in_step(store, acc, "INBOX")


def test_a_move_queued_during_the_run_voids_the_early_statuses(store: Store) -> None:
    """An entry queued after run() asked the statuses (the TUI, another command): its
    folder replays it and may change another folder (the move's destination), so no
    early answer stands; without COPYUID the destination's sync downloads the server copy."""
    from mailcli.accounts.base import Capability
    acc = fake(IMAP_FULL - {Capability.UIDPLUS}, INBOX={1: (msg(1), set()), 2: (msg(2), set())},
               Archive={1: (msg(3), set())})
    sync(store, acc)
    real = acc.folder_statuses

    def then_queue(folders):  # noqa: ANN001, ANN202
        answer = real(folders)
        mid = store.id_by_uid(A, "INBOX", 1)
        store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
        store.move(mid, "Archive")
        return answer

    acc.folder_statuses = then_queue  # type: ignore[method-assign]
    assert ImapSync(store, acc, A).run().errors == []
    assert acc.count("folder_status") >= 1
    assert sorted(raw for raw, _f in local(store, "Archive").values()) == sorted([msg(1), msg(3)])
    assert_in_step(store, acc, "Archive")
    assert_in_step(store, acc, "INBOX")


def test_move_is_replayed_with_copyuid(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), {SEEN}), 2: (msg(2), set())}, Archive={})
    sync(store, acc)
    mid = store.id_by_uid(A, "INBOX", 1)
    store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
    store.move(mid, "Archive")
    out = sync(store, acc)
    assert out.errors == []
    assert set(acc.folders["INBOX"].messages) == {2}
    assert [raw for raw, _f in server(acc, "Archive").values()] == [msg(1)]
    assert store.message_row(mid).folder == "Archive" and store.message_row(mid).uid is not None
    sync(store, acc)
    assert_in_step(store, acc, "Archive")
    assert_in_step(store, acc, "INBOX")


def test_move_without_uidplus_is_downloaded_by_the_destination(store: Store) -> None:
    acc = fake(IMAP_MINIMAL, INBOX={1: (msg(1), set())}, Archive={})
    sync(store, acc)
    mid = store.id_by_uid(A, "INBOX", 1)
    store.journal.enqueue(A, MoveUid("INBOX", 1, "Archive", mid))
    store.move(mid, "Archive")
    sync(store, acc)
    sync(store, acc)
    assert [raw for raw, _f in local(store, "Archive").values()] == [msg(1)]
    assert store.count(A, "Archive") == 1 and store.count(A, "INBOX") == 0
    assert_in_step(store, acc, "Archive")


def test_queued_append_is_uploaded_and_gets_its_uid(store: Store) -> None:
    acc = fake(INBOX={}, Sent={})
    sync(store, acc)
    mid = store.deliver(A, "Sent", msg(5), flags={SEEN})
    store.journal.enqueue(A, Append("Sent", mid))
    out = sync(store, acc)
    assert out.uploaded == 1
    assert store.message_row(mid).uid == 1 and server(acc, "Sent") == {1: (msg(5), {SEEN})}
    sync(store, acc)
    assert store.count(A, "Sent") == 1


def test_folders_created_and_removed_on_the_server(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set())}, Old={1: (msg(2), set())})
    sync(store, acc)
    acc.server_create("New")
    acc.server_deliver("New", msg(3))
    del acc.folders["Old"]
    out = sync(store, acc)
    assert out.errors == []
    assert {s.name for s in store.folder_states(A)} == {"INBOX", "New"}
    assert store.count(A, "Old") == 0 and local(store, "New") == server(acc, "New")
    assert any("Old" in n and "removed" in n for n in out.notes)


def test_removed_folder_with_unsent_local_messages_is_kept_and_reported(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set())}, Projects={1: (msg(2), set())})
    sync(store, acc)
    mid = store.id_by_uid(A, "INBOX", 1)
    store.journal.enqueue(A, MoveUid("INBOX", 1, "Projects", mid))
    store.move(mid, "Projects")
    del acc.folders["Projects"]
    acc.fail_next("move", ProtocolError("NO [TRYCREATE] Mailbox doesn't exist: Projects"))
    out = sync(store, acc)
    assert any("Projects" in e and "kept locally" in e for e in out.errors)
    assert store.message_row(mid).folder == "Projects"              # not lost
    assert [s.name for s in store.folder_states(A)].count("Projects") == 1
    out = sync(store, acc)
    assert any("Projects" in e for e in out.errors)                  # reported every run


def test_uidvalidity_change_rematches_without_loss_or_duplicates(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 11)})
    sync(store, acc)
    ids = {r.uid: r.id for r in store.message_rows(A, "INBOX")}
    store.set_flags(ids[4], {FLAGGED})               # a local change not pushed yet
    local_only = store.deliver(A, "INBOX", msg(500))  # a local message the server never had
    acc.server_expunge("INBOX", [10])
    acc.server_reset_uidvalidity("INBOX")            # uids renumbered 1..9
    acc.server_deliver("INBOX", msg(11))
    rec = RecordingReporter()
    out = sync(store, acc, reporter=rec)
    assert out.errors == [] and out.deleted == 0 and out.new == 1
    assert any("UIDVALIDITY" in n for n in out.notes)
    assert any("UIDVALIDITY" in w.message for w in rec.of_type(SyncWarning))
    rows = store.message_rows(A, "INBOX")
    assert sorted(store.read_raw(r.id) for r in rows) == sorted([msg(i) for i in range(1, 12)] + [msg(500)])
    assert {r.id for r in rows} >= set(ids.values()) - {ids[10]} | {local_only}   # ids kept
    assert FLAGGED in acc.flags("INBOX")[4]          # the local flag reached the server
    assert len(acc.folders["INBOX"].messages) == 10  # nothing deleted, nothing uploaded twice
    assert store.folder_state(A, "INBOX").uidvalidity == acc.folders["INBOX"].uidvalidity
    out = sync(store, acc)
    assert out.new == out.deleted == 0


def test_guardrail_blocks_mass_deletion_until_forced(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 51)})
    sync(store, acc)
    acc.server_expunge("INBOX", range(1, 41))
    out = sync(store, acc)
    assert out.blocked and "--force" in out.blocked[0] and store.count(A, "INBOX") == 50
    out = sync(store, acc, force=True)
    assert out.blocked == [] and out.deleted == 40 and store.count(A, "INBOX") == 10


def test_guardrail_applies_to_mass_local_deletion(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 41)})
    sync(store, acc)
    for r in store.message_rows(A, "INBOX")[:30]:
        store.journal.enqueue(A, DeleteUid("INBOX", r.uid))
        store.remove(r.id)
    out = sync(store, acc)
    assert out.blocked and len(acc.folders["INBOX"].messages) == 40
    assert store.count(A, "INBOX") == 10                     # not downloaded back either
    out = sync(store, acc, force=True)
    assert out.blocked == [] and len(acc.folders["INBOX"].messages) == 10


def test_emptied_local_maildir_never_deletes_on_the_server(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), {SEEN}) for i in range(1, 21)}, Archive={1: (msg(99), set())})
    sync(store, acc)
    for f in ("INBOX", "Archive"):
        for sub in ("cur", "new"):
            for p in (store.maildir(A, f).path / sub).iterdir():
                p.unlink()
    out = sync(store, acc, force=True)
    assert out.deleted == 0 and len(acc.folders["INBOX"].messages) == 20
    assert acc.count("delete") == 0 and store.journal.pending(A) == []
    assert_in_step(store, acc)
    assert_in_step(store, acc, "Archive")
    assert any("empty or missing" in n for n in out.notes)


def test_missing_local_maildir_stops_the_folder_and_deletes_nothing(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 21)})
    sync(store, acc)
    shutil.rmtree(store.mail_root / A)
    out = sync(store, acc, force=True)
    assert out.errors and "missing" in out.errors[0]
    assert len(acc.folders["INBOX"].messages) == 20 and store.journal.pending(A) == []


def test_dry_run_changes_nothing_anywhere(store: Store) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 6)})
    sync(store, acc)
    acc.server_deliver("INBOX", msg(6))
    acc.server_expunge("INBOX", [1])
    store.set_flags(store.id_by_uid(A, "INBOX", 2), {SEEN})
    before = (local(store), server(acc), store.folder_states(A))
    out = ImapSync(store, acc, A, dry_run=True).run()
    assert (local(store), server(acc), store.folder_states(A)) == before
    text = "\n".join(out.plans)
    assert "download 1 message" in text and "delete local copy" in text and "push flags" in text
    assert acc.count("set_flags") == acc.count("fetch_messages") == 0


def test_a_failing_folder_is_reported_and_the_others_sync(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set())}, Bad={1: (msg(2), set())}, Good={1: (msg(3), set())})
    acc.fail_next("changes_since", ProtocolError("SELECT failed: NO [SERVERBUG]"))  # INBOX first
    out = sync(store, acc)
    assert len(out.errors) == 1 and out.errors[0].startswith("INBOX")
    assert store.count(A, "Bad") == store.count(A, "Good") == 1
    out = sync(store, acc)
    assert out.errors == [] and store.count(A, "INBOX") == 1


def test_a_lost_connection_ends_the_account(store: Store) -> None:
    acc = fake(INBOX={1: (msg(1), set())}, Other={1: (msg(2), set())})
    acc.fail_next("fetch_messages", TemporaryError("connection to x lost"))
    with pytest.raises(TemporaryError):
        ImapSync(store, acc, A).run()


def test_a_message_that_cannot_be_stored_fails_alone(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 6)})
    real = store.deliver

    def deliver(account, folder, raw, **kw):  # noqa: ANN001, ANN003, ANN202
        if raw == msg(3):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(account, folder, raw, **kw)

    monkeypatch.setattr(store, "deliver", deliver)
    out = sync(store, acc)
    assert out.new == 4 and out.failed == 1 and "uid 3" in out.errors[0]
    assert store.folder_state(A, "INBOX").highestmodseq is None     # next run rescans
    monkeypatch.setattr(store, "deliver", real)
    out = sync(store, acc)
    assert out.new == 1 and out.errors == []
    assert_in_step(store, acc)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_stops_the_download_keeping_what_arrived(
        store: Store, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """A full disk (or quota) is no "bad message": the download stops at once with the
    temporary disk-full error (exit 75), what arrived before it stays, and the next run
    fetches the rest."""
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, 9)})
    real = store.deliver
    full = {"on": True}

    def deliver(account, folder, raw, **kw):  # noqa: ANN001, ANN003, ANN202
        if full["on"] and raw in (msg(5), msg(4), msg(3)):
            raise OSError(code, os.strerror(code))
        return real(account, folder, raw, **kw)

    monkeypatch.setattr(store, "deliver", deliver)
    with pytest.raises(TemporaryError, match="no space left"):
        ImapSync(store, acc, A).run()
    kept = set(local(store))
    assert kept and not kept & {3, 4, 5}          # what came before the full disk stays
    assert store.folder_state(A, "INBOX").highestmodseq is None      # the next run rescans
    full["on"] = False
    out = sync(store, acc)
    assert out.new == 8 - len(kept) and out.errors == []
    assert_in_step(store, acc)


@pytest.mark.parametrize("stop_after", [1, 3, 7, 12])
def test_an_interrupted_run_converges_to_the_same_state(store: Store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        stop_after: int) -> None:
    acc = fake(INBOX={i: (msg(i), {SEEN} if i % 3 else set()) for i in range(1, 16)})
    real = store.deliver
    calls = {"n": 0}

    class Crash(BaseException):
        pass

    def deliver(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] > stop_after:
            raise Crash()
        return real(*a, **kw)

    monkeypatch.setattr(store, "deliver", deliver)
    with pytest.raises(Crash):
        ImapSync(store, acc, A, chunk=5, fetch_batch=2).run()
    monkeypatch.setattr(store, "deliver", real)
    sync(store, acc, chunk=5)
    assert_in_step(store, acc)
    assert len(store.message_rows(A, "INBOX")) == 15


def test_sync_folder_syncs_that_folder_alone_with_its_queued_changes(store: Store) -> None:
    """The watcher's entry: only the folder it names is fetched, its queued delete is
    pushed, other folders wait for the next run; a folder new to the cache is created."""
    acc = fake(IMAP_FULL, INBOX={1: (msg(1), set()), 2: (msg(2), set())}, Archive={})
    sync(store, acc)
    acc.server_deliver("INBOX", msg(3))
    acc.server_deliver("Archive", msg(4))
    acc.server_create("Fresh")
    acc.server_deliver("Fresh", msg(5))
    row = next(r for r in store.message_rows(A, "INBOX") if r.uid == 1)
    state = store.folder_state(A, "INBOX")
    with store.db.write():
        store.journal.enqueue(A, DeleteUid("INBOX", 1, state.uidvalidity if state else None))
        store.remove(row.id)
    out = ImapSync(store, acc, A).sync_folder("INBOX")
    assert out.new == 1 and out.errors == []
    assert sorted(local(store)) == [2, 3] and sorted(acc.messages("INBOX")) == [2, 3]
    assert local(store, "Archive") == {}                  # not this folder's turn
    ImapSync(store, acc, A).sync_folder("Fresh")
    assert sorted(local(store, "Fresh")) == [1]
    with pytest.raises(NotFoundError):
        ImapSync(store, acc, A).sync_folder("Nowhere")


def test_first_sync_downloads_newest_first_and_the_newest_are_listable_early(
        store: Store, tmp_path: Path) -> None:
    """Newest first: INBOX before the other folders, its highest UIDs first, and the first
    store transaction holds only the newest FIRST_CHUNK messages: they are committed (seen
    by another connection, as `mailcli list` would) while the rest still downloads; each
    later transaction holds older messages than the one before."""
    from mailcli.sync.download import FIRST_CHUNK

    n = FIRST_CHUNK + 2 * 150 + 7
    acc = fake(INBOX={i: (msg(i), set()) for i in range(1, n + 1)},
               Archive={1: (msg(900), set())})
    arrived: list[int] = []
    seen_by_other: dict[int, set[int]] = {}     # messages received -> uids listed elsewhere
    real = acc.fetch_messages

    def spy(folder, uids, sink, batch_size=200):  # noqa: ANN001, ANN202
        def watching(uid, raw, flags):  # noqa: ANN001, ANN202
            if folder == "INBOX" and len(arrived) in (FIRST_CHUNK, FIRST_CHUNK + 150):
                with Store(tmp_path / "data") as other:
                    seen_by_other[len(arrived)] = {
                        e.uid for e in other.list_envelopes(A, "INBOX", limit=n)}
            if folder == "INBOX":
                arrived.append(uid)
            sink(uid, raw, flags)
        return real(folder, uids, watching, batch_size)

    acc.fetch_messages = spy  # type: ignore[method-assign]
    ImapSync(store, acc, A, chunk=150, fetch_batch=50).run()
    calls = [c[1] for c in acc.calls if c[0] == "fetch_messages"]
    assert calls == ["INBOX", "Archive"]        # INBOX first, one pipelined stream each
    newest = set(range(n - FIRST_CHUNK + 1, n + 1))
    assert set(arrived[:FIRST_CHUNK]) == newest
    assert seen_by_other[FIRST_CHUNK] == newest  # committed while the rest downloads
    assert seen_by_other[FIRST_CHUNK + 150] == set(arrived[:FIRST_CHUNK + 150])
    assert min(arrived[:FIRST_CHUNK + 150]) > max(arrived[FIRST_CHUNK + 150:])
    assert sorted(arrived) == list(range(1, n + 1))
    assert_in_step(store, acc)


def test_newest_first_chunking() -> None:
    from mailcli.sync.download import newest_first

    assert newest_first([], 500) == []
    assert newest_first([3, 1, 2], 500, first=2) == [[3, 2], [1]]
    parts = newest_first(range(1, 1001), 500, first=100)
    assert [len(p) for p in parts] == [100, 500, 400]
    assert parts[0][0] == 1000 and parts[-1][-1] == 1
    assert newest_first(range(1, 11), 4, first=100) == [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1]]


def wordy(i: int) -> bytes:
    return (f"From: Sender {i} <s{i}@example.test>\r\nTo: r@example.test\r\n"
            f"Subject: report {i}\r\nMessage-ID: <w{i}@example.test>\r\n"
            f"Content-Type: text/plain\r\n\r\nthe word zebra{i}q and everyone\r\n").encode()


def assert_fully_indexed(store: Store, n: int) -> None:
    """Every message has its envelope and body in the index: search finds each one by
    a word of its body and by its sender, none has empty fields."""
    assert store.search_count("everyone") == n
    for i in range(1, n + 1, 7):
        assert store.search_count(f"zebra{i}q") == 1, i
        assert store.search_count(f"from:s{i}@example.test") == 1, i
    envs = store.list_envelopes(A, "INBOX", limit=n + 10)
    assert len(envs) == n
    assert all(e.subject.startswith("report ") and e.message_id and e.date is None
               for e in envs)


def test_the_parse_pool_indexes_everything_like_inline_parsing(store: Store,
                                                               tmp_path: Path) -> None:
    """Downloads from POOL_MIN on parse in worker processes: same rows as inline."""
    from mailcli.sync.staging import POOL_MIN

    n = POOL_MIN + 57
    acc = fake(INBOX={i: (wordy(i), {SEEN} if i % 2 else set()) for i in range(1, n + 1)})
    ImapSync(store, acc, A, chunk=100, parse_workers=2).run()
    assert_in_step(store, acc)
    assert_fully_indexed(store, n)
    with Store(tmp_path / "inline") as other:
        ImapSync(other, fake(INBOX={i: (wordy(i), {SEEN} if i % 2 else set())
                                    for i in range(1, n + 1)}), A, chunk=100,
                 parse_workers=0).run()
        key = lambda e: e.uid  # noqa: E731
        mine = sorted(store.list_envelopes(A, "INBOX", limit=n), key=key)
        theirs = sorted(other.list_envelopes(A, "INBOX", limit=n), key=key)
        assert [(e.uid, e.subject, e.from_, e.message_id, e.flags, e.size) for e in mine] == \
            [(e.uid, e.subject, e.from_, e.message_id, e.flags, e.size) for e in theirs]
        contacts = sorted((c.address, c.name, c.seen, c.written) for c in store.contacts())
        assert len(contacts) == n + 1     # every sender and the one recipient
        assert contacts == sorted((c.address, c.name, c.seen, c.written)
                                  for c in other.contacts())


def test_the_parse_pool_starts_once_the_first_message_has_come(store: Store) -> None:
    """The workers are forked when the first message arrives, not before the FETCH goes
    out: their fork and the parser's import overlap the FETCH's round trip. They are gone
    when the download ends."""
    import glob

    from mailcli.sync.staging import POOL_MIN

    def children() -> set[str]:
        return {pid for f in glob.glob("/proc/self/task/*/children")
                for pid in Path(f).read_text().split()}

    before = children()
    acc = fake(INBOX={i: (wordy(i), set()) for i in range(1, POOL_MIN + 11)})
    real_fetch = acc.fetch_messages
    seen: list[set[str]] = []

    def fetch(folder, uids, sink, batch_size=200):  # noqa: ANN001, ANN202
        seen.append(children() - before)         # the FETCH goes out

        def watching(uid, raw, flags):  # noqa: ANN001, ANN202
            sink(uid, raw, flags)
            if len(seen) == 1:
                seen.append(children() - before)   # the first message is in
        return real_fetch(folder, uids, watching, batch_size)

    acc.fetch_messages = fetch  # type: ignore[method-assign]
    out = ImapSync(store, acc, A, parse_workers=2).run()
    assert out.errors == [] and out.new == POOL_MIN + 10
    assert seen[0] == set() and len(seen[1]) == 2, seen
    assert children() - before == set()
    assert_fully_indexed(store, POOL_MIN + 10)


def test_a_parse_worker_killed_mid_batch_loses_nothing(store: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL every parse worker in the middle of a chunk's transaction: the downloader
    parses what they held itself; no message is lost or half-indexed, search finds every
    one, and the next run has nothing to do. No worker outlives the run."""
    import os
    import signal

    from mailcli.store import parsepool
    from mailcli.sync.staging import POOL_MIN

    pools: list[parsepool.ParsePool] = []
    real_init = parsepool.ParsePool.__init__

    def init(self, workers=None):  # noqa: ANN001, ANN202
        real_init(self, workers)
        pools.append(self)

    monkeypatch.setattr(parsepool.ParsePool, "__init__", init)
    n = POOL_MIN + 120
    acc = fake(INBOX={i: (wordy(i), set()) for i in range(1, n + 1)})
    real_fetch = acc.fetch_messages
    killed: list[int] = []

    def fetch(folder, uids, sink, batch_size=200):  # noqa: ANN001, ANN202
        def killing_sink(uid, raw, flags):  # noqa: ANN001, ANN202
            sink(uid, raw, flags)
            if not killed and len(killed) == 0 and pools and pools[0].outstanding() >= 3:
                for pid in pools[0].pids:       # mid-batch, with parses in flight
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        return real_fetch(folder, uids, killing_sink, batch_size)

    acc.fetch_messages = fetch  # type: ignore[method-assign]
    out = ImapSync(store, acc, A, chunk=150, parse_workers=2).run()
    assert killed, "the workers were never killed mid-batch"
    assert out.errors == [] and out.new == n
    assert_in_step(store, acc)
    assert_fully_indexed(store, n)
    for pid in killed:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)    # reaped by the pool, not left behind
    acc.calls.clear()
    again = ImapSync(store, acc, A, parse_workers=2).run()
    assert (again.new, again.updated, again.deleted) == (0, 0, 0)
    assert acc.count("fetch_messages") == 0
    assert_fully_indexed(store, n)

"""Two-way IMAP sync against real servers (Dovecot, `dovecot_minimal`, Cyrus in both
namespace modes, Courier):
new mail, flags both ways, deletions both ways, folders, moves, neomutt changes,
UIDVALIDITY recovery, guardrail, empty store, and the command count of a no-change sync."""
from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from mailcli.model import Flag
from mailcli.errors import NotFoundError
from mailcli.store import ActionState, DeleteUid, Store
from mailcli.sync.lock import lock_path
from tests.integration.mailboxes import (assert_cache_matches, data_dir, fetch, local_maildir,
                                         message, service)
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture(params=["dovecot", "dovecot-minimal", "cyrus", "cyrus-alt", "courier"])
def server(request: pytest.FixtureRequest) -> Dovecot:
    return request.getfixturevalue(request.param.replace("-", "_"))


@pytest.fixture
def user(server: Dovecot, write_config) -> str:  # noqa: ANN001
    u = server.add_user()
    write_config(protocol="imap", name="work", user=u, server=server)
    return u


def ids_by_uid(folder: str = "INBOX") -> dict[int, int]:
    with Store(data_dir()) as st:
        return {r.uid: r.id for r in st.message_rows("work", folder) if r.uid is not None}


def local_flags(folder: str = "INBOX") -> dict[int, frozenset]:
    with Store(data_dir()) as st:
        return {r.uid: r.flags for r in st.message_rows("work", folder) if r.uid is not None}


def test_new_mail_flags_both_ways_and_deletions_both_ways(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 11)])
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 10
    assert_cache_matches(server, user, "work")

    # between two syncs: server and local flag changes (one message changed on both sides)
    server.flags_add(user, "INBOX", "1", "\\Seen")
    server.flags_add(user, "INBOX", "3", "\\Flagged")
    ids = ids_by_uid()
    svc = service()
    try:
        svc.flag([str(ids[2])], add=frozenset({Flag.FLAGGED}))
        svc.flag([str(ids[3])], add=frozenset({Flag.SEEN}))
        svc.delete([str(ids[4])], expunge=True)         # local delete -> server
    finally:
        svc.close()
    server.expunge(user, "INBOX", "5")                  # server delete -> local
    server.deliver(user, message(11))                   # new mail
    r = fetch()
    rep = r.accounts[0]
    assert r.exit_code == 0, rep.error
    assert (rep.new, rep.deleted) == (1, 2)
    flags = server.flags(user)
    assert "\\Seen" in flags[1] and "\\Flagged" in flags[2]
    assert {"\\Seen", "\\Flagged"} <= flags[3]
    assert 4 not in flags and 5 not in flags
    assert local_flags()[3] == frozenset({Flag.SEEN, Flag.FLAGGED})
    assert local_flags()[1] == frozenset({Flag.SEEN})
    assert_cache_matches(server, user, "work")
    r = fetch()
    assert (r.accounts[0].new, r.accounts[0].updated, r.accounts[0].deleted) == (0, 0, 0)


def test_folders_created_and_removed_on_the_server(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 3)], folder="Projects/2024")
    server.seed(user, [message(i, "old") for i in range(1, 3)], folder="Old")
    fetch()
    assert_cache_matches(server, user, "work", "Projects/2024")
    L = server.local_name   # noqa: N806
    assert local_maildir("work", L("Old")).is_dir()
    server.delete_folder(user, "Old")
    server.create_folder(user, "Fresh")
    server.deliver(user, message(1, "fresh"), folder="Fresh")
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert_cache_matches(server, user, "work", "Fresh")
    assert not local_maildir("work", L("Old")).exists()
    with Store(data_dir()) as st:
        names = {s.name for s in st.folder_states("work")}
    assert L("Old") not in names and {L("Fresh"), L("Projects/2024"), "INBOX"} <= names


def test_a_first_sync_selects_only_the_folders_with_mail(server: Dovecot, user: str) -> None:
    """Where the listing brings each folder's STATUS (LIST-STATUS), the empty folders
    (Drafts, Sent, Trash here) are synced without a SELECT; mail that lands in one later
    is fetched by the next sync, on every server."""
    server.seed(user, [message(i) for i in range(1, 4)])
    rawlog = server.start_rawlog(user) if server.name == "dovecot" else None
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 3
    if rawlog is not None and server.capabilities is None:
        selects = [c for c in _commands(rawlog) if c.startswith(("SELECT", "EXAMINE"))]
        assert selects == ['SELECT "INBOX"'] or selects == ["SELECT INBOX"], selects
    server.deliver(user, message(9, "later"), folder="Trash")
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 1, r.accounts[0].error
    assert_cache_matches(server, user, "work", "Trash")
    assert_cache_matches(server, user, "work")


def test_local_move_and_delete_are_pushed(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 6)])
    server.create_folder(user, "Archive")
    fetch()
    ids = ids_by_uid()
    svc = service()
    try:
        svc.move([str(ids[1]), str(ids[2])], server.local_name("Archive"))
        svc.delete([str(ids[3])], expunge=True)
    finally:
        svc.close()
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert sorted(server.messages(user, "Archive").values()) == sorted([message(1), message(2)])
    assert sorted(server.messages(user, "INBOX")) == [4, 5]
    fetch()
    assert_cache_matches(server, user, "work", "Archive")
    assert_cache_matches(server, user, "work", "INBOX")
    with Store(data_dir()) as st:
        assert {st.message_row(ids[1]).folder, st.message_row(ids[2]).folder} == {server.local_name("Archive")}


def test_neomutt_changes_in_the_maildir_are_pushed(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 6)])
    fetch()
    md = local_maildir("work")
    with Store(data_dir()) as st:
        p1 = st.path(st.id_by_uid("work", "INBOX", 1))
        p2 = st.path(st.id_by_uid("work", "INBOX", 2))
    (md / "cur").mkdir(exist_ok=True)
    p1.rename(md / "cur" / (p1.name.split(":")[0] + ":2,FS"))     # neomutt: seen + flagged
    p2.unlink()                                                   # neomutt: deleted
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert {"\\Seen", "\\Flagged"} <= server.flags(user)[1]
    assert 2 not in server.flags(user)
    assert_cache_matches(server, user, "work")


def test_uidvalidity_change_recovers_without_loss_or_duplicates(server: Dovecot, user: str) -> None:
    msgs = [message(i) for i in range(1, 13)]
    server.seed(user, msgs, folder="Lists")
    fetch()
    ids = ids_by_uid(server.local_name("Lists"))
    svc = service()
    try:
        svc.flag([str(ids[2])], add=frozenset({Flag.FLAGGED}))   # local change not yet pushed
    finally:
        svc.close()
    # the folder is deleted and recreated on the server, and the same mail restored
    server.delete_folder(user, "Lists")
    server.create_folder(user, "Lists")
    server.seed(user, msgs + [message(99)], folder="Lists")
    r = fetch()
    rep = r.accounts[0]
    assert r.exit_code == 0, rep.error
    assert rep.deleted == 0 and rep.new == 1
    assert any("UIDVALIDITY" in n for n in rep.notes)
    assert_cache_matches(server, user, "work", "Lists")
    with Store(data_dir()) as st:
        rows = st.message_rows("work", server.local_name("Lists"))
        assert {r.id for r in rows} >= set(ids.values())          # same ids, rematched
        flagged = [st.read_raw(r.id) for r in rows if Flag.FLAGGED in r.flags]
    assert flagged == [message(2)]
    uid2 = next(u for u, raw in server.messages(user, "Lists").items() if raw == message(2))
    assert "\\Flagged" in server.flags(user, "Lists")[uid2]
    assert server.count(user, "Lists") == 13


def test_guardrail_blocks_a_mass_server_deletion_until_forced(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 41)])
    fetch()
    server.expunge(user, "INBOX", "1:32")                          # 80 %
    r = fetch()
    assert r.exit_code == 1 and "--force" in (r.accounts[0].error or "")
    with Store(data_dir()) as st:
        assert st.count("work", "INBOX") == 40
    r = fetch(force=True)
    assert r.exit_code == 0 and r.accounts[0].deleted == 32
    assert_cache_matches(server, user, "work")


def test_emptied_or_missing_local_store_never_deletes_on_the_server(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 21)])
    fetch()
    md = local_maildir("work")
    for sub in ("cur", "new"):
        for p in (md / sub).iterdir():
            p.unlink()
    r = fetch(force=True)
    assert r.exit_code == 0 and r.accounts[0].deleted == 0
    assert server.count(user) == 20
    assert_cache_matches(server, user, "work")
    shutil.rmtree(data_dir() / "mail")
    r = fetch(force=True)
    assert server.count(user) == 20                  # a missing Maildir stops, deletes nothing
    assert r.exit_code == 1 and "missing" in (r.accounts[0].error or "")


def test_dry_run_prints_the_plan_and_changes_nothing(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i) for i in range(1, 6)])
    r = fetch(dry_run=True)
    assert any("download 5 messages" in line for line in r.plans)
    with Store(data_dir()) as st:
        assert st.count("work") == 0 and st.folder_states("work") == []
    assert server.count(user) == 5


def _snapshot(server: Dovecot, user: str, folders: list[str]) -> dict[str, object]:
    """Everything a fetch could change: server messages and flags, every cache file, the
    index rows, the folder states and the journal."""
    out: dict[str, object] = {}
    for f in folders:
        out[f"server {f}"] = server.messages(user, f)
        # \\Recent is session state: any SELECT (a dry run's too) ends it
        out[f"server flags {f}"] = {u: fl - {"\\Recent"} for u, fl in server.flags(user, f).items()}
    out["files"] = sorted(str(p.relative_to(data_dir())) for p in (data_dir() / "mail").rglob("*"))
    with Store(data_dir()) as st:
        for f in folders + ["Gone"]:
            out[f"rows {f}"] = st.message_rows("work", f)
        out["states"] = st.folder_states("work")
        out["journal"] = [(a.id, a.entry, a.state, a.last_error) for a in st.journal.pending()]
    return out


def test_dry_run_with_queued_changes_changes_nothing_on_either_side(server: Dovecot,
                                                                    user: str) -> None:
    """--dry-run stops before every execute: queued moves/deletes/uploads, new and removed
    server folders, server changes, a UIDVALIDITY change are planned and printed only."""
    server.seed(user, [message(i) for i in range(1, 6)])
    server.seed(user, [message(i, "a") for i in range(1, 3)], folder="Archive")
    server.seed(user, [message(i, "g") for i in range(1, 3)], folder="Gone")
    fetch()
    ids = ids_by_uid()
    L = server.local_name   # noqa: N806
    svc = service()
    try:
        svc.move([str(ids[1])], L("Archive"))
        svc.delete([str(ids[3])], expunge=True)
        svc.delete([str(ids[4])], expunge=True)
    finally:
        svc.close()
    server.deliver(user, message(9))
    server.flags_add(user, "INBOX", "2", "\\Flagged")
    server.create_folder(user, "Fresh")
    server.delete_folder(user, "Gone")
    server.delete_folder(user, "Archive")   # recreated: a new UIDVALIDITY
    server.create_folder(user, "Archive")
    server.seed(user, [message(i, "a") for i in range(1, 3)], folder="Archive")
    folders = ["INBOX", "Archive", "Fresh"]
    before = _snapshot(server, user, folders)
    r = fetch(dry_run=True)
    assert r.exit_code == 0, r.accounts[0].error
    after = _snapshot(server, user, folders)
    assert [k for k in before if before[k] != after[k]] == []
    text = "\n".join(r.plans)
    assert "queued delete of uid 3:4" in text and f"queued move of uid 1 to {L('Archive')}" in text
    assert f"{L('Fresh')}: new folder" in text and f"{L('Gone')}: removed on the server" in text
    assert "download 1 message" in text and "UIDVALIDITY changed" in text
    r = fetch()                               # and the real run does what was printed
    assert r.exit_code == 0, r.accounts[0].error
    assert sorted(server.messages(user, "INBOX")) == [2, 5, 6]
    for folder in ("INBOX", "Archive", "Fresh"):
        assert_cache_matches(server, user, "work", folder)


def test_fetch_purges_done_journal_rows_and_crashed_tmp_files(server: Dovecot, user: str) -> None:
    """Done journal rows older than a week go at every fetch; tmp/ files older than 36 h
    (a delivery that crashed before its rename) at a fetch twice a day."""
    server.seed(user, [message(i) for i in range(1, 4)])
    fetch()
    tmp = local_maildir("work") / "tmp"
    crashed, fresh = tmp / "1700000000.M1P2.host", tmp / "1700000001.M2P3.host"
    crashed.write_bytes(message(90))
    fresh.write_bytes(message(91))          # a delivery that may still be in progress
    old = time.time() - 37 * 3600
    os.utime(crashed, (old, old))
    os.utime(fresh, (time.time() - 3600,) * 2)
    with Store(data_dir()) as st:
        old_done = st.journal.enqueue("work", DeleteUid("INBOX", 99))
        recent_done = st.journal.enqueue("work", DeleteUid("INBOX", 98))
        st.journal.mark_done(old_done)
        st.journal.mark_done(recent_done)
        with st.db.write() as conn:
            conn.execute("UPDATE journal SET updated_at = ? WHERE id = ?",
                         (time.time() - 8 * 86400, old_done))
    fetch(dry_run=True)                     # --dry-run changes nothing, this neither
    fetch()                                 # tmp/ was cleaned by the first fetch: not again
    assert crashed.exists()
    stamp = lock_path(data_dir(), "work").with_suffix(".tidied")
    os.utime(stamp, (time.time() - 13 * 3600,) * 2)
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert not crashed.exists() and fresh.exists()
    with Store(data_dir()) as st:
        with pytest.raises(NotFoundError):
            st.journal.get(old_done)
        assert st.journal.get(recent_done).state is ActionState.DONE
    assert_cache_matches(server, user, "work")


def _commands(rawlog) -> list[str]:  # noqa: ANN001
    """The session's command lines; waits (up to 5 s) for its LOGOUT to be logged (the
    client closes right after sending it)."""
    deadline = time.monotonic() + 5
    while True:
        out = _lines(rawlog)
        if (out and out[-1].split()[-1].upper() == "LOGOUT") or time.monotonic() > deadline:
            return out
        time.sleep(0.02)


def _lines(rawlog) -> list[str]:  # noqa: ANN001
    out = []
    for f in sorted(rawlog.iterdir()):
        if f.name.endswith(".in"):
            for line in f.read_text(errors="replace").splitlines():
                parts = line.split(" ", 2)
                if len(parts) == 3 and re.fullmatch(r"[\d.]+", parts[0]):
                    out.append(parts[2])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("server", ["dovecot", "dovecot-minimal"], indirect=True)   # counts Dovecot's rawlog
def test_no_change_sync_of_5000_messages_costs_o1_commands_per_folder(server: Dovecot, user: str) -> None:
    server.seed(user, [message(i, lines=2) for i in range(5000)])
    r = fetch()
    assert r.accounts[0].new == 5000
    rawlog = server.start_rawlog(user)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 0
    cmds = _commands(rawlog)
    folders = 4                                   # INBOX, Drafts, Sent, Trash
    per_folder = [c for c in cmds if c.split()[0] in ("STATUS", "SELECT", "EXAMINE", "UID", "FETCH")]
    if server.capabilities is None:               # CONDSTORE and LIST-STATUS: the listing
        assert per_folder == [], cmds             # has every STATUS; no SELECT, no STATUS
        assert any(c.startswith('LIST "" "*" RETURN (') and "STATUS (" in c for c in cmds), cmds
    else:                                         # one SELECT + one flag scan per folder
        assert len(per_folder) == 2 * folders, cmds
        assert sum(1 for c in per_folder if c.startswith("UID FETCH 1:* (UID FLAGS")) == folders
    assert len(cmds) <= 2 * folders + 5, cmds     # + ENABLE, LIST x2, LOGOUT

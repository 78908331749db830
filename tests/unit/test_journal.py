"""The pending-actions journal: typed entries (round trip, rows written by older versions),
write-ahead order, retries, and a real kill -9 between perform and mark_done."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mailcli.errors import NotFoundError
from mailcli.model import Flag
from mailcli.store import (ActionKind, ActionState, Append, DeleteUid, DeleteUidl, Entry, MoveUid,
                           Store)
from mailcli.store.journal import entry_from_payload

ENTRIES: list[Entry] = [
    DeleteUid("INBOX", 7, uidvalidity=42, message_id="<a@x>"),
    DeleteUid("Lists/py", 8),
    DeleteUidl("abc:/,1"),
    MoveUid("INBOX", 9, "Archive", id=3, uidvalidity=42, message_id="<b@x>"),
    MoveUid("INBOX", 10, "Archive"),
    Append("Sent", 4, "<c@x>", frozenset({Flag.SEEN}), sent_copy=True),
    Append("Drafts", 5, "<d@x>", frozenset({Flag.DRAFT, Flag.SEEN}), draft=True),
    Append("INBOX", 6),
]


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


@pytest.mark.parametrize("entry", ENTRIES, ids=str)
def test_every_entry_kind_round_trips(store: Store, entry: Entry) -> None:
    assert entry_from_payload(entry.kind, entry.to_payload()) == entry
    aid = store.journal.enqueue("work", entry)
    assert store.journal.get(aid).entry == entry
    (row,) = store.journal.pending("work")
    assert (row.entry, row.kind, row.state, row.attempts) == (entry, entry.kind,
                                                              ActionState.PENDING, 0)


def _insert_old_row(store: Store, kind: str, payload: dict[str, object],
                    state: str = "pending") -> int:
    """A row exactly as the string-keyed journal wrote it (json.dumps, sort_keys)."""
    with store.db.write() as conn:
        cur = conn.execute(
            "INSERT INTO journal (account, kind, payload, state, created_at, updated_at)"
            " VALUES ('work', ?, ?, ?, 1.0, 1.0)", (kind, json.dumps(payload, sort_keys=True),
                                                   state))
        return int(cur.lastrowid or 0)


def test_rows_written_by_the_old_string_keyed_journal_still_load(store: Store) -> None:
    old = [  # the payloads service/changing.py, sync/replay.py, send/sent.py and
             # send/drafts.py spelled before the typed entries
        ("delete", {"folder": "INBOX", "uid": 5, "uidvalidity": 42, "message_id": "<a@x>"}),
        ("delete", {"folder": "INBOX", "uid": 6, "message_id": None,
                    "uidvalidity": None}),
        ("delete", {"uidl": "000123"}),
        ("move", {"folder": "INBOX", "uid": 1, "dest": "Archive", "id": 3,
                  "uidvalidity": 42, "message_id": "<b@x>"}),
        ("move", {"folder": "INBOX", "uid": 2, "dest": "Archive", "id": 4}),
        ("append", {"folder": "INBOX", "id": 9}),
        ("append", {"folder": "Sent", "id": 10, "message_id": "<c@x>", "flags": ["seen"],
                    "sent_copy": True}),
        ("append", {"folder": "Drafts", "id": 11, "message_id": None,
                    "flags": ["draft", "seen"], "draft": True}),
        ("append", {"folder": "Sent", "id": 12}, "claimed"),   # left by the old claim()
        ("append", {"folder": "Sent", "id": 13}, "failed"),
    ]
    for row in old:
        _insert_old_row(store, *row)  # type: ignore[arg-type]
    assert [a.entry for a in store.journal.pending("work")] == [
        DeleteUid("INBOX", 5, 42, "<a@x>"),
        DeleteUid("INBOX", 6),
        DeleteUidl("000123"),
        MoveUid("INBOX", 1, "Archive", 3, 42, "<b@x>"),
        MoveUid("INBOX", 2, "Archive", 4),
        Append("INBOX", 9),
        Append("Sent", 10, "<c@x>", frozenset({Flag.SEEN}), sent_copy=True),
        Append("Drafts", 11, None, frozenset({Flag.DRAFT, Flag.SEEN}), draft=True),
        Append("Sent", 12),
        Append("Sent", 13),
    ]
    # the keys other code reads from old rows are still there
    sent = store.journal.pending("work")[6]
    assert sent.payload["message_id"] == "<c@x>" and sent.payload["sent_copy"] is True


def test_a_row_that_says_nothing_performable_is_skipped_not_fatal(store: Store) -> None:
    bad = _insert_old_row(store, "flag", {"id": 1})            # a kind no version enqueued
    _insert_old_row(store, "move", {"folder": "INBOX", "dest": "X"})   # no uid
    good = store.journal.enqueue("work", DeleteUidl("u1"))
    assert [a.id for a in store.journal.pending("work")] == [good]
    with pytest.raises(NotFoundError):
        store.journal.get(bad)


def test_enqueue_and_pending_in_order_per_account(store: Store) -> None:
    a = store.journal.enqueue("work", DeleteUid("INBOX", 1))
    b = store.journal.enqueue("home", DeleteUidl("x"))
    c = store.journal.enqueue("work", MoveUid("INBOX", 3, "Archive", 3))
    assert [x.id for x in store.journal.pending("work")] == [a, c]
    assert [x.id for x in store.journal.pending()] == [a, b, c]
    assert store.journal.pending("work")[1].kind is ActionKind.MOVE


def test_done_failed_retry_and_cancel(store: Store) -> None:
    a = store.journal.enqueue("work", DeleteUid("INBOX", 1))
    b = store.journal.enqueue("work", MoveUid("INBOX", 2, "Gone", 2))
    c = store.journal.enqueue("work", Append("INBOX", 3))
    store.journal.mark_done(a)
    store.journal.mark_failed(b, "NO [TRYCREATE] mailbox gone")
    store.journal.cancel(c)
    (left,) = store.journal.pending("work")
    assert (left.id, left.state, left.last_error, left.attempts) == (
        b, ActionState.FAILED, "NO [TRYCREATE] mailbox gone", 1)
    store.journal.mark_failed(b, "still failing")
    assert store.journal.get(b).attempts == 2
    store.journal.cancel(a)                    # done rows are not cancelled
    assert store.journal.get(a).state is ActionState.DONE
    with pytest.raises(NotFoundError):
        store.journal.mark_done(12345)


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mailcli.store import Store
    store = Store(Path(sys.argv[1]))
    log = open(sys.argv[2], "a")
    for action in store.journal.pending("work"):
        log.write("%d\\n" % action.entry.id); log.flush()
        if action.entry.id == 3:
            print("performed", flush=True)
            time.sleep(60)          # killed here: performed, not marked done
        store.journal.mark_done(action.id)
""")


def test_kill_between_perform_and_mark_done_replays(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "performed.log"
    with Store(data) as s:
        for n in range(1, 6):
            s.journal.enqueue("work", Append("INBOX", n))
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(data), str(log)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"performed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(data) as s:
        assert [a.entry.id for a in s.journal.pending("work")] == [3, 4, 5]  # 1, 2 done
    assert log.read_text().split() == ["1", "2", "3"]


def test_purge_done_keeps_open_and_recent_rows(store: Store) -> None:
    old_done = store.journal.enqueue("work", DeleteUidl("a"))
    recent_done = store.journal.enqueue("work", DeleteUidl("b"))
    open_ = store.journal.enqueue("work", DeleteUidl("c"))
    store.journal.mark_done(old_done)
    store.journal.mark_done(recent_done)
    with store.db.write() as conn:
        conn.execute("UPDATE journal SET updated_at = ? WHERE id IN (?, ?)",
                     (time.time() - 8 * 86400, old_done, open_))
    assert store.journal.purge_done() == 1
    with pytest.raises(NotFoundError):
        store.journal.get(old_done)
    assert store.journal.get(recent_done).state is ActionState.DONE
    assert [a.id for a in store.journal.pending("work")] == [open_]

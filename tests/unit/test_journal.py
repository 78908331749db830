"""The pending-actions journal: write-ahead order, retries, and idempotent replay after a
crash (including a real kill -9 between perform and mark_done)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mailcli.errors import NotFoundError, UsageError
from mailcli.store import ActionKind, ActionState, Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


def test_enqueue_and_pending_in_order_per_account(store: Store) -> None:
    a = store.journal.enqueue("work", "flag", {"id": 1, "add": ["seen"]})
    b = store.journal.enqueue("home", ActionKind.DELETE, {"id": 2})
    c = store.journal.enqueue("work", "move", {"id": 3, "to": "Archive"})
    assert [x.id for x in store.journal.pending("work")] == [a, c]
    assert [x.id for x in store.journal.pending()] == [a, b, c]
    first = store.journal.pending("work")[0]
    assert first.kind is ActionKind.FLAG and first.payload == {"id": 1, "add": ["seen"]}
    assert first.state is ActionState.PENDING and first.attempts == 0


def test_unknown_kind_is_refused(store: Store) -> None:
    with pytest.raises(UsageError):
        store.journal.enqueue("work", "teleport", {})
    assert store.journal.pending() == []


def test_claim_done_failed_and_retry(store: Store) -> None:
    a = store.journal.enqueue("work", "flag", {"id": 1})
    b = store.journal.enqueue("work", "delete", {"id": 2})
    claimed = store.journal.claim("work")
    assert [(x.id, x.state, x.attempts) for x in claimed] == [
        (a, ActionState.CLAIMED, 1), (b, ActionState.CLAIMED, 1)]
    store.journal.mark_done(a)
    store.journal.mark_failed(b, "NO [TRYCREATE] mailbox gone")
    left = store.journal.pending("work")
    assert [(x.id, x.state, x.last_error) for x in left] == [
        (b, ActionState.FAILED, "NO [TRYCREATE] mailbox gone")]
    again = store.journal.claim("work")
    assert [(x.id, x.attempts) for x in again] == [(b, 2)]
    store.journal.mark_failed(b, "still failing")
    assert store.journal.claim("work", max_attempts=2) == []  # gave up: kept, not claimed
    assert store.journal.get(b).attempts == 2 and store.journal.pending("work")[0].id == b
    with pytest.raises(NotFoundError):
        store.journal.mark_done(12345)


def test_claim_limit_and_cancel(store: Store) -> None:
    ids = [store.journal.enqueue("work", "flag", {"n": i}) for i in range(5)]
    assert [x.id for x in store.journal.claim("work", limit=2)] == ids[:2]
    store.journal.cancel(ids[4])
    assert [x.id for x in store.journal.pending("work")] == ids[:4]


def test_replay_after_a_crash_is_idempotent(tmp_path: Path) -> None:
    """The write-ahead order: record, perform, mark done. A run that dies after performing
    but before mark_done replays the action; an idempotent perform reaches the same state."""
    server_flags: dict[int, set[str]] = {1: set(), 2: set()}

    def perform(action) -> None:  # absolute flags: idempotent
        server_flags[action.payload["uid"]] = set(action.payload["flags"])

    data = tmp_path / "data"
    with Store(data) as s:
        s.journal.enqueue("work", "flag", {"uid": 1, "flags": ["seen"]})
        s.journal.enqueue("work", "flag", {"uid": 2, "flags": ["flagged"]})
        for action in s.journal.claim("work"):
            perform(action)
            break  # "crash": performed the first, marked nothing
    with Store(data) as s:
        assert [a.state for a in s.journal.pending("work")] == [ActionState.CLAIMED,
                                                                 ActionState.CLAIMED]
        results = list(s.journal.replay("work", perform))
        assert [err for _, err in results] == [None, None]
        assert s.journal.pending("work") == []
        assert [a.attempts for a, _ in results] == [2, 2]
    assert server_flags == {1: {"seen"}, 2: {"flagged"}}


def test_replay_keeps_failures_for_retry(store: Store) -> None:
    store.journal.enqueue("work", "append", {"n": 1})
    store.journal.enqueue("work", "append", {"n": 2})

    def perform(action) -> None:
        if action.payload["n"] == 1:
            raise ConnectionResetError("server went away")

    results = list(store.journal.replay("work", perform))
    assert [(a.payload["n"], type(e).__name__ if e else None) for a, e in results] == [
        (1, "ConnectionResetError"), (2, None)]
    (left,) = store.journal.pending("work")
    assert left.payload == {"n": 1} and left.last_error == "server went away"


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mailcli.store import Store
    store = Store(Path(sys.argv[1]))
    log = open(sys.argv[2], "a")
    for action in store.journal.claim("work"):
        log.write("%d\\n" % action.payload["n"]); log.flush()
        if action.payload["n"] == 3:
            print("performed", flush=True)
            time.sleep(60)          # killed here: performed, not marked done
        store.journal.mark_done(action.id)
""")


def test_kill_between_perform_and_mark_done_replays(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "performed.log"
    with Store(data) as s:
        for n in range(1, 6):
            s.journal.enqueue("work", "flag", {"n": n})
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(data), str(log)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"performed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Store(data) as s:
        open_ = s.journal.pending("work")
        assert [a.payload["n"] for a in open_] == [3, 4, 5]  # 1, 2 were marked done
        done = [a.payload["n"] for a, err in s.journal.replay("work", lambda a: None)
                if err is None]
        assert done == [3, 4, 5] and s.journal.pending("work") == []
    assert log.read_text().split() == ["1", "2", "3"]


def test_purge_done(store: Store) -> None:
    a = store.journal.enqueue("work", "flag", {})
    store.journal.mark_done(a)
    assert store.journal.purge_done(older_than=-1) == 1
    with pytest.raises(NotFoundError):
        store.journal.get(a)

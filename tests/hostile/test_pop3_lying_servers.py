"""`mailcli fetch` (a real process) against POP3 servers that lie about message identity
(the scripted FakePop3Server: what Dovecot will not do on demand). Every scenario checks what
the server still holds after the run (nothing deleted that was not stored byte-identical
and recorded), what the cache holds (each message exactly once), the exit code and the
one-line error; and that the next run neither fails for ever nor downloads twice.
"""
from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

from tests.fakes.pop3 import FakePop3Server
from tests.hostile.conftest import Box, assert_clean_failure, message, sha
from tests.servers.dovecot import PASSWORD


def box_for(server: FakePop3Server, root: Path, extra: str = "") -> Box:
    b = Box(server=None, user="me", root=root, protocol="pop3")  # type: ignore[arg-type]
    b.write(port=server.port, security="none", ca=False, extra=extra)
    return b


def fake(msgs: list[bytes], **kw) -> FakePop3Server:  # noqa: ANN003
    return FakePop3Server(msgs, password=PASSWORD, **kw)


def counts(raws: list[bytes]) -> Counter[str]:
    return Counter(map(sha, raws))


def fetch_json(b: Box) -> tuple[int, dict, str]:
    r = b.mailcli("fetch", "--json", timeout=60)
    return r.exit_code, json.loads(r.stdout)["accounts"][0] if r.stdout.strip() else {}, r.stderr


def test_a_uidl_listed_twice_is_downloaded_twice_and_deleted_never(tmp_path: Path) -> None:
    """Audit #17.1: UIDLs dup, dup (other content, same size), u3 -> '3 new, 3 deleted',
    exit 0, one message gone for good."""
    m1, m2, m3 = message(1, "d"), message(2, "d"), message(3, "d")
    assert len(m1) == len(m2)
    with fake([m1, m2, m3], uidls=["dup", "dup", "u3"]) as server:
        b = box_for(server, tmp_path)
        r = b.mailcli("fetch")
        err = assert_clean_failure(r, (1,))
        assert "more than one message" in err and "never deleted" in err, err
        assert counts(server.held()) == counts([m1, m2])       # only u3 was deleted
        assert b.local_hashes() == counts([m1, m2, m3])         # each exactly once
        code, acct, err = fetch_json(b)                         # the next run: nothing new
        assert code == 0 and acct["new"] == 0 and acct["deleted"] == 0, err
        assert counts(server.held()) == counts([m1, m2])
        assert b.local_hashes() == counts([m1, m2, m3])


def test_uidls_with_spaces_are_kept_whole(tmp_path: Path) -> None:
    """Audit #17.1: UIDLs 'abc def' / 'abc xyz' were both read as 'abc'."""
    m1, m2 = message(1, "s"), message(2, "s", lines=9)
    with fake([m1, m2], uidls=["abc def", "abc xyz"]) as server:
        b = box_for(server, tmp_path)
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (2, 2), err
        assert server.held() == [] and b.local_hashes() == counts([m1, m2])


def test_uidls_reused_after_a_provider_migration_are_new_messages(tmp_path: Path) -> None:
    """Audit #17.1: keep mode with keep_days; the new provider reuses the old UIDLs for
    other messages -> '0 new, 3 deleted' (never downloaded, deleted on the server)."""
    policy = "leave_on_server = true\nkeep_days = 14\n"
    old = [message(i, "old") for i in range(3)]
    with fake(old, uidls=["u1", "u2", "u3"]) as server:
        b = box_for(server, tmp_path, policy)
        code, acct, err = fetch_json(b)
        assert code == 0 and acct["new"] == 3, err
    with sqlite3.connect(b.data / "index.sqlite3") as db:    # downloaded 20 days ago
        db.execute("UPDATE pop_ledger SET downloaded_at = downloaded_at - 20 * 86400")
    new = [message(i, "migrated", lines=8 + i) for i in range(3)]
    with fake(new, uidls=["u1", "u2", "u3"]) as server:
        b.write(port=server.port, security="none", ca=False, extra=policy)
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (3, 0), err
        assert counts(server.held()) == counts(new)
        assert b.local_hashes() == counts(old + new)
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (0, 0), err


def test_an_unusable_uidl_is_reported_once_and_left_on_the_server(tmp_path: Path) -> None:
    """Audit #17.13: a 300-character UIDL was 'retried next run' for ever (every run failed)."""
    m1, m2 = message(1, "l"), message(2, "l")
    with fake([m1, m2], uidls=["x" * 300, "u2"]) as server:
        b = box_for(server, tmp_path)
        r = b.mailcli("fetch")
        err = assert_clean_failure(r, (1,))
        assert "unusable UIDL" in err and "reported once" in err, err
        assert server.held() == [m1] and b.local_hashes() == counts([m2])
        for _ in range(2):                                     # not again, not failing
            code, acct, err = fetch_json(b)
            assert code == 0 and (acct["new"], acct["deleted"]) == (0, 0), err
            assert "UIDL" not in err
        assert server.held() == [m1] and b.local_hashes() == counts([m2])


def test_a_uidl_listed_twice_survives_a_lost_index(tmp_path: Path) -> None:
    """The index file is lost and rebuilt from the Maildir (the UIDL is in each file
    name): the next fetch downloads neither copy again and deletes neither."""
    m1, m2, m3 = message(1, "r"), message(2, "r"), message(3, "r")
    with fake([m1, m2, m3], uidls=["dup", "dup", "u3"]) as server:
        b = box_for(server, tmp_path, "leave_on_server = true\n")
        assert b.mailcli("fetch").exit_code == 1
        for suffix in ("", "-wal", "-shm"):
            (b.data / f"index.sqlite3{suffix}").unlink(missing_ok=True)
        assert b.mailcli("index", "rebuild").exit_code == 0
        code, acct, err = fetch_json(b)
        assert code == 0 and (acct["new"], acct["deleted"]) == (0, 0), err
        assert b.local_hashes() == counts([m1, m2, m3])
        assert counts(server.held()) == counts([m1, m2, m3])

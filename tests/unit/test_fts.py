"""The full-text index without its own copy of the text (mailcli.store.fts): words are
found, and go exactly when their message goes or changes; what cannot go is listed and
never found; decrypted text and messages indexed before the split live in the kept table;
the migration from a copy-keeping index loses nothing."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailcli.store import Store, rebuild_index
from mailcli.store.migrations import MIGRATIONS, migrate
from tests.unit.test_index import msg


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


def _hits(store: Store, table: str, word: str) -> int:
    """Documents of `table` holding `word` (the index itself, not the search's join)."""
    return int(store.db.conn().execute(
        f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (word,)).fetchone()[0])


def _found(store: Store, query: str) -> list[int]:
    return [e.id for e in store.search(query)]


def _leftovers(store: Store) -> int:
    return int(store.db.conn().execute("SELECT count(*) FROM fts_leftovers").fetchone()[0])


def _integrity(store: Store) -> None:
    with store.db.write() as conn:
        for table in ("messages_fts", "messages_fts_kept"):
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")


def test_the_index_keeps_no_copy_of_the_text(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="quokka habitat"), uid=1)
    assert _found(store, "quokka") == [i] and _found(store, "body:habitat") == [i]
    conn = store.db.conn()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "messages_fts_content" not in tables and "messages_fts_kept" in tables
    # still a table a person can look at (the sqlite3 shell): rows, no text
    assert conn.execute("SELECT rowid, body, subject FROM messages_fts").fetchall() == [
        (i, None, None)]
    assert conn.execute("SELECT fts_sum FROM messages WHERE id = ?", (i,)).fetchone()[0]


def test_removing_a_message_removes_its_words(store: Store) -> None:
    keep = store.deliver("work", "INBOX", msg(1, body="wombat"), uid=1)
    gone = store.deliver("work", "INBOX", msg(2, body="platypus wombat"), uid=2)
    assert _hits(store, "messages_fts", "platypus") == 1
    store.remove(gone)
    assert _hits(store, "messages_fts", "platypus") == 0
    assert _hits(store, "messages_fts", "wombat") == 1 and _found(store, "wombat") == [keep]
    assert _leftovers(store) == 0
    _integrity(store)


def test_a_removed_folder_takes_its_words(store: Store) -> None:
    for n in range(1, 4):
        store.deliver("work", "Lists", msg(n, body=f"echidna{n}"), uid=n)
    store.delete_folder("work", "Lists")
    assert sum(_hits(store, "messages_fts", f"echidna{n}") for n in range(1, 4)) == 0
    assert _leftovers(store) == 0


def test_a_removed_folder_takes_the_words_of_files_another_client_renamed(store: Store) -> None:
    i = store.deliver("work", "Lists", msg(1, body="dunnart"), uid=1)
    path = store.path(i)
    base = path.name.split(":2,")[0]
    path.rename(path.parent.parent / "cur" / f"{base}:2,S")   # neomutt marked it seen
    store.delete_folder("work", "Lists")
    assert _hits(store, "messages_fts", "dunnart") == 0 and _leftovers(store) == 0


def test_words_of_a_file_deleted_by_another_program_stay_unfound_until_rebuild(
        store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="numbat"), uid=1)
    store.path(i).unlink()                      # neomutt deleted it
    store.scan_external_changes("work", "INBOX")
    assert _found(store, "numbat") == []        # never a result: no such message
    assert _hits(store, "messages_fts", "numbat") == 1 and _leftovers(store) == 1
    new = store.deliver("work", "INBOX", msg(2, body="numbat too"), uid=2)
    assert _found(store, "numbat") == [new]     # ids are not reused
    rebuild_index(store)
    assert _hits(store, "messages_fts", "numbat") == 1 and _leftovers(store) == 0
    assert _found(store, "numbat") == [new]


def test_a_text_that_no_longer_matches_its_checksum_is_left_not_guessed(store: Store) -> None:
    """A later parser may read the file differently: no 'delete' with text FTS5 did not
    index (that would corrupt it); the words stay, listed, and the id is not reused."""
    i = store.deliver("work", "INBOX", msg(1, body="bilby"), uid=1)
    with store.db.write() as conn:
        conn.execute("UPDATE messages SET fts_sum = fts_sum + 1 WHERE id = ?", (i,))
    store.remove(i)
    assert _leftovers(store) == 1 and _hits(store, "messages_fts", "bilby") == 1
    assert _found(store, "bilby") == []
    _integrity(store)


def test_new_bytes_replace_the_words(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="headonly"), uid=1, partial=True)
    store.replace_raw(i, msg(1, body="fullbody dingo"))
    assert _hits(store, "messages_fts", "headonly") == 0
    assert _found(store, "dingo") == [i] and _found(store, "headonly") == []
    store.remove(i)
    assert _hits(store, "messages_fts", "dingo") == 0 and _leftovers(store) == 0
    _integrity(store)


def test_replaced_after_a_leftover_goes_to_the_kept_table(store: Store) -> None:
    """FTS5 gets a rowid once: an id whose older words stayed is indexed in the kept table."""
    i = store.deliver("work", "INBOX", msg(1, body="quoll"), uid=1, partial=True)
    with store.db.write() as conn:
        conn.execute("UPDATE messages SET fts_sum = 1 WHERE id = ?", (i,))
    store.replace_raw(i, msg(1, body="kowari"))
    assert _leftovers(store) == 1 and _hits(store, "messages_fts_kept", "kowari") == 1
    assert _found(store, "kowari") == [i]
    assert _found(store, "quoll") == []          # its old words are not its words any more
    store.remove(i)
    assert _hits(store, "messages_fts_kept", "kowari") == 0
    _integrity(store)


def test_decrypted_text_moves_the_words_to_the_kept_table(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, subject="sealed", body="armour"), uid=1)
    store.index_body(i, "secret quokka plan")
    store.index_body(i, "secret quokka plan")         # idempotent
    assert _hits(store, "messages_fts", "armour") == 0   # left exactly
    assert _hits(store, "messages_fts_kept", "quokka") == 1
    assert _found(store, "subject:sealed quokka armour") == [i]   # one document still
    kept = store.db.conn().execute("SELECT body FROM messages_fts_kept").fetchone()[0]
    assert kept.count("quokka") == 1
    store.remove(i)
    assert _hits(store, "messages_fts_kept", "quokka") == 0 and _leftovers(store) == 0


def test_an_index_from_before_the_split_is_migrated_without_loss(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        old = s.deliver("work", "INBOX", msg(1, body="bandicoot"), uid=1)
    # the same index as mailcli wrote it before m006: the table with its copy of the text
    conn = sqlite3.connect(data / "index.sqlite3", isolation_level=None)
    conn.execute("DROP TABLE fts_leftovers")
    conn.execute("DROP TABLE messages_fts")
    conn.execute("ALTER TABLE messages_fts_kept RENAME TO messages_fts")
    conn.execute("ALTER TABLE messages DROP COLUMN fts_sum")
    conn.execute("INSERT INTO messages_fts (rowid, from_, to_, cc, subject, body)"
                 " VALUES (?, 'Sender 1 <alice@example.org>', 'bob@example.org', '',"
                 " 'message 1', 'bandicoot 1')", (old,))
    conn.execute("DELETE FROM _migrations WHERE name = 'm006_fts_contentless'")
    assert migrate(conn) == ["m006_fts_contentless"]
    conn.close()
    with Store(data) as s:
        assert [e.id for e in s.search("bandicoot")] == [old]
        new = s.deliver("work", "INBOX", msg(2, body="bandicoot again"), uid=2)
        assert sorted(e.id for e in s.search("bandicoot")) == [old, new]
        assert _hits(s, "messages_fts", "bandicoot") == 1
        assert _hits(s, "messages_fts_kept", "bandicoot") == 1
        s.remove(old)
        assert _hits(s, "messages_fts_kept", "bandicoot") == 0 and _leftovers(s) == 0
        assert [e.id for e in s.search("bandicoot")] == [new]
        names = [r[0] for r in s.db.conn().execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [m[0] for m in MIGRATIONS]

"""The full-text index without its own copy of the text (mailcli.store.fts): words are
found, and go exactly when their message goes or changes; what cannot go is listed and
never found; decrypted text and messages indexed before the split live in the kept table;
the migration from a copy-keeping index loses nothing."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailcli.errors import ConfigError
from mailcli.store import Store, fts, rebuild_index
from mailcli.store.facade import safe_parse
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
    """The index holds exactly the words of the messages there are: every term instance
    (term, document, column, offset) of the contentless table, leftover ids aside, is one
    that indexing each live message's file afresh gives, and no other (an FTS5
    'integrity-check' passes on a contentless table whatever 'delete' it was given); a
    message is in one table only; KEPT's own check passes."""
    db = sqlite3.connect(store.db.path)
    try:
        db.execute(f"CREATE VIRTUAL TABLE temp.expect USING fts5 ({fts.COLUMNS}, {fts.TOKENIZE})")
        rows = db.execute("SELECT id FROM messages WHERE fts_sum IS NOT NULL").fetchall()
        for (id,) in rows:
            vals = fts.values(safe_parse(store.path(id).read_bytes()))
            assert fts.checksum(vals) == db.execute(
                "SELECT fts_sum FROM messages WHERE id = ?", (id,)).fetchone()[0]
            db.execute(f"INSERT INTO temp.expect (rowid, {fts.COLUMNS}) VALUES (?,?,?,?,?,?)",
                       (id, *vals))
        db.execute(f"CREATE VIRTUAL TABLE temp.vw USING fts5vocab(main, {fts.WORDS}, instance)")
        db.execute("CREATE VIRTUAL TABLE temp.ve USING fts5vocab(temp, expect, instance)")
        have = db.execute("SELECT term, doc, col, offset FROM temp.vw"
                          " WHERE doc NOT IN (SELECT id FROM fts_leftovers)").fetchall()
        want = db.execute("SELECT term, doc, col, offset FROM temp.ve").fetchall()
        assert sorted(have) == sorted(want)
        both = db.execute(f"SELECT count(*) FROM {fts.KEPT} k JOIN messages m ON m.id = k.rowid"
                          " WHERE m.fts_sum IS NOT NULL").fetchone()[0]
        assert both == 0
        db.execute(f"INSERT INTO {fts.KEPT} ({fts.KEPT}) VALUES ('integrity-check')")
    finally:
        db.close()


def test_the_index_keeps_no_copy_of_the_text(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="quokka habitat"), uid=1)
    assert _found(store, "quokka") == [i] and _found(store, "body:habitat") == [i]
    conn = store.db.conn()
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert f"{fts.WORDS}_content" not in tables and f"{fts.KEPT}_content" in tables
    # still a table a person can look at (the sqlite3 shell): rows, no text
    assert conn.execute(f"SELECT rowid, body, subject FROM {fts.WORDS}").fetchall() == [
        (i, None, None)]
    assert conn.execute("SELECT fts_sum FROM messages WHERE id = ?", (i,)).fetchone()[0]


def test_removing_a_message_removes_its_words(store: Store) -> None:
    keep = store.deliver("work", "INBOX", msg(1, body="wombat"), uid=1)
    gone = store.deliver("work", "INBOX", msg(2, body="platypus wombat"), uid=2)
    assert _hits(store, fts.WORDS, "platypus") == 1
    store.remove(gone)
    assert _hits(store, fts.WORDS, "platypus") == 0
    assert _hits(store, fts.WORDS, "wombat") == 1 and _found(store, "wombat") == [keep]
    assert _leftovers(store) == 0
    _integrity(store)


def test_a_removed_folder_takes_its_words(store: Store) -> None:
    for n in range(1, 4):
        store.deliver("work", "Lists", msg(n, body=f"echidna{n}"), uid=n)
    store.delete_folder("work", "Lists")
    assert sum(_hits(store, fts.WORDS, f"echidna{n}") for n in range(1, 4)) == 0
    assert _leftovers(store) == 0


def test_a_removed_folder_takes_the_words_of_files_another_client_renamed(store: Store) -> None:
    i = store.deliver("work", "Lists", msg(1, body="dunnart"), uid=1)
    path = store.path(i)
    base = path.name.split(":2,")[0]
    path.rename(path.parent.parent / "cur" / f"{base}:2,S")   # neomutt marked it seen
    store.delete_folder("work", "Lists")
    assert _hits(store, fts.WORDS, "dunnart") == 0 and _leftovers(store) == 0


def test_words_of_a_file_deleted_by_another_program_stay_unfound_until_rebuild(
        store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="numbat"), uid=1)
    store.path(i).unlink()                      # neomutt deleted it
    store.scan_external_changes("work", "INBOX")
    assert _found(store, "numbat") == []        # never a result: no such message
    assert _hits(store, fts.WORDS, "numbat") == 1 and _leftovers(store) == 1
    new = store.deliver("work", "INBOX", msg(2, body="numbat too"), uid=2)
    assert _found(store, "numbat") == [new]     # ids are not reused
    rebuild_index(store)
    assert _hits(store, fts.WORDS, "numbat") == 1 and _leftovers(store) == 0
    assert _found(store, "numbat") == [new]


def test_a_text_that_no_longer_matches_its_checksum_is_left_not_guessed(store: Store) -> None:
    """A later parser may read the file differently: no 'delete' with text FTS5 did not
    index (that would corrupt it); the words stay, listed, and the id is not reused."""
    i = store.deliver("work", "INBOX", msg(1, body="bilby"), uid=1)
    with store.db.write() as conn:
        conn.execute("UPDATE messages SET fts_sum = fts_sum + 1 WHERE id = ?", (i,))
    store.remove(i)
    assert _leftovers(store) == 1 and _hits(store, fts.WORDS, "bilby") == 1
    assert _found(store, "bilby") == []
    _integrity(store)


def test_new_bytes_replace_the_words(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, body="headonly"), uid=1, partial=True)
    store.replace_raw(i, msg(1, body="fullbody dingo"))
    assert _hits(store, fts.WORDS, "headonly") == 0
    assert _found(store, "dingo") == [i] and _found(store, "headonly") == []
    store.remove(i)
    assert _hits(store, fts.WORDS, "dingo") == 0 and _leftovers(store) == 0
    _integrity(store)


def test_replaced_after_a_leftover_goes_to_the_kept_table(store: Store) -> None:
    """FTS5 gets a rowid once: an id whose older words stayed is indexed in the kept table."""
    i = store.deliver("work", "INBOX", msg(1, body="quoll"), uid=1, partial=True)
    with store.db.write() as conn:
        conn.execute("UPDATE messages SET fts_sum = 1 WHERE id = ?", (i,))
    store.replace_raw(i, msg(1, body="kowari"))
    assert _leftovers(store) == 1 and _hits(store, fts.KEPT, "kowari") == 1
    assert _found(store, "kowari") == [i]
    assert _found(store, "quoll") == []          # its old words are not its words any more
    store.remove(i)
    assert _hits(store, fts.KEPT, "kowari") == 0
    _integrity(store)


def test_decrypted_text_moves_the_words_to_the_kept_table(store: Store) -> None:
    i = store.deliver("work", "INBOX", msg(1, subject="sealed", body="armour"), uid=1)
    store.index_body(i, "secret quokka plan")
    store.index_body(i, "secret quokka plan")         # idempotent
    assert _hits(store, fts.WORDS, "armour") == 0   # left exactly
    assert _hits(store, fts.KEPT, "quokka") == 1
    assert _found(store, "subject:sealed quokka armour") == [i]   # one document still
    kept = store.db.conn().execute(f"SELECT body FROM {fts.KEPT}").fetchone()[0]
    assert kept.count("quokka") == 1
    store.remove(i)
    assert _hits(store, fts.KEPT, "quokka") == 0 and _leftovers(store) == 0


def _as_0_2_0_wrote_it(data: Path) -> sqlite3.Connection:
    """The index as mailcli 0.2.0 left it (m001-m005): one FTS5 table, messages_fts, with
    its copy of the text."""
    conn = sqlite3.connect(data / "index.sqlite3", isolation_level=None)
    conn.execute("DROP TABLE fts_leftovers")
    conn.execute(f"DROP TABLE {fts.WORDS}")
    conn.execute("ALTER TABLE messages DROP COLUMN fts_sum")
    conn.execute("DELETE FROM _migrations WHERE name IN ('m006_fts_contentless', 'm007_fts_names')")
    return conn


def test_an_index_from_before_the_split_is_migrated_without_loss(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        old = s.deliver("work", "INBOX", msg(1, body="bandicoot"), uid=1)
    conn = _as_0_2_0_wrote_it(data)
    conn.execute("INSERT INTO messages_fts (rowid, from_, to_, cc, subject, body)"
                 " VALUES (?, 'Sender 1 <alice@example.org>', 'bob@example.org', '',"
                 " 'message 1', 'bandicoot 1')", (old,))
    assert migrate(conn) == ["m006_fts_contentless", "m007_fts_names"]
    conn.close()
    with Store(data) as s:
        assert [e.id for e in s.search("bandicoot")] == [old]
        new = s.deliver("work", "INBOX", msg(2, body="bandicoot again"), uid=2)
        assert sorted(e.id for e in s.search("bandicoot")) == [old, new]
        assert _hits(s, fts.WORDS, "bandicoot") == 1
        assert _hits(s, fts.KEPT, "bandicoot") == 1
        s.remove(old)
        assert _hits(s, fts.KEPT, "bandicoot") == 0 and _leftovers(s) == 0
        assert [e.id for e in s.search("bandicoot")] == [new]
        names = [r[0] for r in s.db.conn().execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == [m[0] for m in MIGRATIONS]
        _integrity(s)


def test_a_0_2_0_process_still_running_after_the_upgrade_writes_without_harm(
        tmp_path: Path) -> None:
    """A `watch` started before the upgrade goes on with 0.2.0's statements (its
    mailcli/store/index.py, verbatim) on the migrated index: they succeed, what it indexes
    is found, what it deletes is not, and the new code deletes what it left exactly."""
    data = tmp_path / "data"
    with Store(data) as s:
        gone = s.deliver("work", "INBOX", msg(1, body="bettong"), uid=1)
        changed = s.deliver("work", "INBOX", msg(2, body="potoroo"), uid=2)
        gone_file = s.path(gone)
    conn = sqlite3.connect(data / "index.sqlite3", isolation_level=None)
    # 0.2.0 delivers a message
    cur = conn.execute("INSERT INTO messages (account, folder, uid, filename, added_at)"
                       " VALUES ('work', 'INBOX', 3, 'x', 0)")
    added = int(cur.lastrowid or 0)
    conn.execute("INSERT INTO messages_fts (rowid, from_, to_, cc, subject, body)"
                 " VALUES (?,?,?,?,?,?)", (added, "", "", "", "", "wallaroo"))
    # 0.2.0's delete_message and replace_content
    gone_file.unlink()
    conn.execute("DELETE FROM messages WHERE id = ?", (gone,))
    conn.execute("DELETE FROM messages_fts WHERE rowid = ?", (gone,))
    conn.execute("DELETE FROM messages_fts WHERE rowid = ?", (changed,))
    conn.execute("INSERT INTO messages_fts (rowid, from_, to_, cc, subject, body)"
                 " VALUES (?,?,?,?,?,?)", (changed, "", "", "", "", "potoroo decrypted"))
    conn.close()
    with Store(data) as s:
        assert _found(s, "wallaroo") == [added] and _found(s, "bettong") == []
        assert _found(s, "decrypted") == [changed] and _found(s, "potoroo") == [changed]
        s.remove(changed)           # its words were in both tables: both go
        assert _hits(s, fts.WORDS, "potoroo") == 0 and _hits(s, fts.KEPT, "potoroo") == 0
        with s.db.write() as w:
            w.execute("DELETE FROM messages WHERE id = ?", (added,))
            w.execute(f"DELETE FROM {fts.KEPT} WHERE rowid = ?", (added,))
        assert _hits(s, fts.WORDS, "bettong") == 1    # under an id no message has
        rebuild_index(s)
        assert _hits(s, fts.WORDS, "bettong") == 0
        _integrity(s)


def test_an_index_a_newer_mailcli_changed_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        s.deliver("work", "INBOX", msg(1, body="kultarr"), uid=1)
        with s.db.write() as w:
            w.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_later', 0)")
    with pytest.raises(ConfigError, match=r"newer mailcli \(m999_later\)"):
        Store(data)


def test_an_index_only_migration_of_a_newer_mailcli_is_no_reason_to_refuse(
        tmp_path: Path) -> None:
    """A migration marked INDEX_ONLY adds indexes and changes nothing else: an older
    mailcli that does not know it goes on using the index (SQLite keeps it in step)."""
    from mailcli.store.migrations import INDEX_ONLY

    data = tmp_path / "data"
    with Store(data) as s:
        s.deliver("work", "INBOX", msg(1, body="kultarr"), uid=1)
        with s.db.write() as w:
            w.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, 0)",
                      ("m999_later" + INDEX_ONLY,))
            w.execute("CREATE INDEX ix_later ON messages (subject)")
    with Store(data) as s:
        assert s.count("work", "INBOX") == 1
        s.deliver("work", "INBOX", msg(2), uid=2)
        assert [e.subject for e in s.search("kultarr")] == ["message 1"]


def test_a_read_only_cache_without_an_index_only_migration_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache that cannot be written and lacks an INDEX_ONLY migration is read as it is
    (its queries work without the index); the migration runs at the next writable open.
    (Root writes whatever the modes say: the check that decides is stood in for here; a
    read-only mount is tests/cli/test_private_cache.py's.)"""
    from mailcli.store import db, migrations

    data = tmp_path / "data"
    with Store(data) as s:
        s.deliver("work", "INBOX", msg(1, body="kultarr"), uid=1)
        index_only = [n for n, _fn in migrations.MIGRATIONS if n.endswith(migrations.INDEX_ONLY)]
        assert index_only
        with s.db.write() as w:
            w.execute("DROP INDEX ix_messages_unsynced")
            w.executemany("DELETE FROM _migrations WHERE name = ?", [(n,) for n in index_only])
    with monkeypatch.context() as m:
        m.setattr(db, "_writable", lambda path: False)
        with Store(data) as s:
            assert s.db.read_only
            assert s.count("work", "INBOX") == 1 and not s.has_unsynced_flags("work", "INBOX")
            assert [e.subject for e in s.search("kultarr")] == ["message 1"]
    with Store(data) as s:
        names = {r[0] for r in s.db.conn().execute("SELECT name FROM _migrations")}
        assert set(index_only) <= names
        assert s.db.conn().execute("SELECT 1 FROM sqlite_master WHERE name ="
                                   " 'ix_messages_unsynced'").fetchone()


def test_words_indexed_from_a_parse_worker_go_exactly(store: Store) -> None:
    """A first sync indexes what a forked worker parsed (mailcli.store.parsepool); the
    words must be what a removal's own parse of the file gives, or every removal would
    leave them behind."""
    from mailcli.store.parsepool import ParsePool

    bodies = ["quolls and =?utf-8?q?caf=C3=A9?=", "Grüße aus Köln\r\n\r\nmehr", "x" * 70_000]
    with ParsePool(workers=1) as pool, store.batch():
        staged = [store.stage("work", "INBOX", msg(n, body=b), uid=n)
                  for n, b in enumerate(bodies, start=1)]
        tickets = [pool.submit(s.path) for s in staged]   # type: ignore[union-attr]
        ids = []
        for s, t in zip(staged, tickets, strict=True):
            answer = pool.result(t)
            assert answer is not None                     # parsed by the worker
            ids.append(store.commit_staged(s, *answer))   # type: ignore[arg-type]
    _integrity(store)
    for i in ids:
        store.remove(i)
    assert _leftovers(store) == 0
    _integrity(store)
    assert _hits(store, fts.WORDS, "quolls") == 0 and _hits(store, fts.WORDS, "köln") == 0


def test_after_a_rebuild_a_removal_is_still_exact(store: Store) -> None:
    a = store.deliver("work", "INBOX", msg(1, body="mulgara"), uid=1)
    store.deliver("work", "INBOX", msg(2, body="mulgara ningaui"), uid=2)
    rebuild_index(store)
    (gone,) = _found(store, "ningaui")
    store.remove(gone)
    assert _leftovers(store) == 0 and _hits(store, fts.WORDS, "ningaui") == 0
    assert len(_found(store, "mulgara")) == 1 and a not in _found(store, "ningaui")
    _integrity(store)


def test_a_message_indexed_before_the_split_gets_its_new_words_in_the_contentless_table(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data) as s:
        i = s.deliver("work", "INBOX", msg(1, body="antechinus"), uid=1, partial=True)
        vals = fts.values(safe_parse(s.read_raw(i)))
    conn = _as_0_2_0_wrote_it(data)
    conn.execute(f"INSERT INTO messages_fts (rowid, {fts.COLUMNS}) VALUES (?,?,?,?,?,?)",
                 (i, *vals))
    assert migrate(conn) == ["m006_fts_contentless", "m007_fts_names"]
    conn.close()
    with Store(data) as s:
        assert _hits(s, fts.KEPT, "antechinus") == 1
        s.replace_raw(i, msg(1, body="antechinus and phascogale"))
        assert _hits(s, fts.KEPT, "antechinus") == 0
        assert _hits(s, fts.WORDS, "phascogale") == 1 and _found(s, "phascogale") == [i]
        _integrity(s)
        s.remove(i)
        assert _hits(s, fts.WORDS, "phascogale") == 0 and _leftovers(s) == 0
        _integrity(s)


def test_words_a_0_2_0_rebuild_left_under_a_live_id_are_never_indexed_twice(
        store: Store) -> None:
    """0.2.0's `index rebuild` (after a downgrade) re-inserts every message into KEPT with
    fts_sum NULL and leaves WORDS as it was: the id's next text must not be put into
    WORDS a second time (FTS5 gets a rowid once); it goes to KEPT, the id is listed."""
    i = store.deliver("work", "INBOX", msg(1, body="dibbler"), uid=1, partial=True)
    with store.db.write() as conn:       # what 0.2.0's rebuild leaves for this message
        conn.execute("UPDATE messages SET fts_sum = NULL WHERE id = ?", (i,))
        conn.execute(f"INSERT INTO {fts.KEPT} (rowid, {fts.COLUMNS}) VALUES (?,'','','','',"
                     "'dibbler')", (i,))
    store.replace_raw(i, msg(1, body="mardo"))
    assert _leftovers(store) == 1 and _hits(store, fts.WORDS, "dibbler") == 1
    assert _found(store, "mardo") == [i] and _found(store, "dibbler") == []
    _integrity(store)


def test_the_missing_migrations_are_applied_together_or_not_at_all(tmp_path: Path) -> None:
    """No process ever sees an index between two migrations (a 0.2.0 writing between m006
    and m007 met the contentless table under the name it knew): a failure in m007 leaves
    the index as 0.2.0 wrote it."""
    data = tmp_path / "data"
    with Store(data) as s:
        s.deliver("work", "INBOX", msg(1, body="ningbing"), uid=1)
    conn = _as_0_2_0_wrote_it(data)
    names = [n for n, _f in MIGRATIONS]
    failing = list(MIGRATIONS)

    def boom(_conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    failing[names.index("m007_fts_names")] = ("m007_fts_names", boom)
    with pytest.MonkeyPatch.context() as m:
        m.setattr("mailcli.store.migrations.MIGRATIONS", failing)
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "messages_fts_kept" not in tables and fts.WORDS not in tables
    done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    assert "m006_fts_contentless" not in done
    assert migrate(conn) == ["m006_fts_contentless", "m007_fts_names"]
    conn.close()


def test_remove_many_in_chunks_removes_exactly(store: Store) -> None:
    ids = [store.deliver("work", "INBOX", msg(n, body=f"kaluta{n}"), uid=n) for n in range(1, 6)]
    real_words = Store._words
    calls: list[str] = []

    def words(md, rel):  # noqa: ANN001, ANN202
        calls.append(rel)
        if len(calls) == 2:              # the early read of ids[1] fails (a moment's
            return None                  # error): the remove reads the file again
        return real_words(md, rel)

    rows = [store.message_row(i) for i in ids]
    gone = store.deliver("work", "INBOX", msg(9, body="kaluta9"), uid=9)
    rows.append(store.message_row(gone))
    store.remove(gone)                   # removed meanwhile: fails alone
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Store, "_words", staticmethod(words))
        failed = store.remove_many(rows, chunk=2)
    assert list(failed) == [gone]
    assert _leftovers(store) == 0 and store.count("work", "INBOX") == 0
    assert sum(_hits(store, fts.WORDS, f"kaluta{n}") for n in range(1, 6)) == 0
    _integrity(store)

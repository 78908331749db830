"""flag, move, delete: local changes recorded per phase 3's rules (flags in the store,
journal entries for IMAP move/delete), --json shapes, all-or-nothing errors."""
from __future__ import annotations

import json

from mailcli.store import Store
from tests.cli.conftest import Seeded, assert_one_line_error
from tests.helpers import invoke


def _env(seeded: Seeded, id: int) -> dict:
    return next(e for e in json.loads(invoke("list", "--json").stdout) if e["id"] == id)


def test_flag_sets_and_clears_locally(seeded: Seeded) -> None:
    r = invoke("flag", str(seeded.plain), "work:INBOX:3", "--seen", "--flagged", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert [e["id"] for e in doc] == [seeded.plain, seeded.html]
    assert all(e["flags"] == ["seen", "flagged"] for e in doc)
    r = invoke("flag", str(seeded.plain), "--unseen", "--unflagged", "--answered")
    assert r.exit_code == 0 and "marked 1 message answered, unflagged, unread" in r.stdout
    assert _env(seeded, seeded.plain)["flags"] == ["answered"]
    with Store(seeded.data) as store:  # flags only: no journal entry, synced_flags untouched
        assert store.journal.pending("work") == []
        assert store.message_row(seeded.plain).synced_flags == frozenset()


def test_flag_errors(seeded: Seeded) -> None:
    assert_one_line_error(invoke("flag", str(seeded.plain)), 2, "no flag change")
    assert_one_line_error(invoke("flag", str(seeded.plain), "--bogus"), 2, "no such option")
    assert_one_line_error(invoke("flag", "--seen"), 2, "missing argument")
    r = invoke("flag", str(seeded.plain), "99999", "--flagged")
    assert_one_line_error(r, 4, "99999")
    assert _env(seeded, seeded.plain)["flags"] == []  # nothing changed: all or nothing
    assert_one_line_error(invoke("flag", "nosuch:INBOX:1", "--seen"), 4, "nosuch")


def test_move_queues_imap_move(seeded: Seeded) -> None:
    r = invoke("move", str(seeded.plain), str(seeded.attach), "Archive", "--json")
    assert r.exit_code == 0, r
    doc = json.loads(r.stdout)
    assert [(e["id"], e["folder"], e["uid"]) for e in doc] == [
        (seeded.plain, "Archive", None), (seeded.attach, "Archive", None)]
    with Store(seeded.data) as store:
        actions = store.journal.pending("work")
        assert [(a.kind.value, _core(a.payload)) for a in actions] == [
            ("move", {"folder": "INBOX", "uid": 1, "dest": "Archive", "id": seeded.plain}),
            ("move", {"folder": "INBOX", "uid": 2, "dest": "Archive", "id": seeded.attach})]
    folders = {f["folder"]: f["total"] for f in json.loads(invoke("folders", "--json").stdout)}
    assert folders == {"INBOX": 3, "Archive": 3}


def test_move_errors(seeded: Seeded) -> None:
    assert_one_line_error(invoke("move", str(seeded.plain), "NoSuch"), 4, "no folder 'NoSuch'")
    assert_one_line_error(invoke("move", "77777", "Archive"), 4, "77777")
    assert_one_line_error(invoke("move", "Archive"), 2, "missing argument")
    with Store(seeded.data) as store:
        assert store.journal.pending("work") == []


def test_delete_expunge_queues_imap_delete_and_drops_local_only(seeded: Seeded) -> None:
    r = invoke("delete", "--expunge", str(seeded.hostile), str(seeded.local_only), "--json")
    assert r.exit_code == 0, r
    assert {e["id"] for e in json.loads(r.stdout)} == {seeded.hostile, seeded.local_only}
    with Store(seeded.data) as store:
        assert [(a.kind.value, _core(a.payload)) for a in store.journal.pending("work")] == [
            ("delete", {"folder": "INBOX", "uid": 4})]
    assert_one_line_error(invoke("show", str(seeded.hostile)), 4, "no message")
    r = invoke("delete", "--expunge", str(seeded.plain))
    assert r.exit_code == 0 and "deleted 1 message" in r.stdout


def test_delete_moves_to_a_trash_it_creates_when_the_account_has_none(seeded: Seeded) -> None:
    r = invoke("delete", str(seeded.hostile), str(seeded.local_only))
    assert r.exit_code == 0, r
    assert r.stdout.startswith("moved 2 messages to Trash\n"), r.stdout
    with Store(seeded.data) as store:
        assert [(a.kind.value, _core(a.payload)) for a in store.journal.pending("work")] == [
            ("move", {"folder": "INBOX", "uid": 4, "dest": "Trash", "id": seeded.hostile,
                      "create_dest": True})]
        assert store.get(seeded.local_only).folder == "Trash"
    # in the Trash, a delete is for good
    r = invoke("delete", str(seeded.hostile))
    assert r.exit_code == 0 and r.stdout.startswith("deleted 1 message\n"), r
    assert_one_line_error(invoke("show", str(seeded.hostile)), 4, "no message")


def test_delete_range_and_query(seeded: Seeded) -> None:
    r = invoke("flag", f"{seeded.plain}-{seeded.html}", "--flagged", "--json")
    assert r.exit_code == 0, r
    assert [e["id"] for e in json.loads(r.stdout)] == [seeded.plain, seeded.attach, seeded.html]
    assert_one_line_error(invoke("flag", "9000-9100", "--seen"), 4, "9000-9100")
    assert_one_line_error(invoke("flag", "5-2", "--seen"), 2, "range")
    r = invoke("move", "--query", "subject:invoice OR subject:newsletter", "Archive", "--json")
    assert r.exit_code == 0, r
    assert sorted(e["id"] for e in json.loads(r.stdout)) == [seeded.attach, seeded.html]
    r = invoke("delete", "--query", "from:nobody-at-all", "--expunge")
    assert r.exit_code == 0 and r.stdout == "" and "no message matches" in r.stderr, r
    r = invoke("delete", "-q", "subject:quarterly")
    assert r.exit_code == 0 and "moved 1 message to Trash" in r.stdout, r
    assert_one_line_error(invoke("delete"), 2, "REF")


def test_delete_errors(seeded: Seeded) -> None:
    assert_one_line_error(invoke("delete", str(seeded.plain), "55555"), 4, "55555")
    assert _env(seeded, seeded.plain)["id"] == seeded.plain  # not deleted
    assert_one_line_error(invoke("delete", "x:y"), 2, "bad message reference")


def test_pop3_delete_follows_account_policy(write_config, tmp_path) -> None:
    import os
    from pathlib import Path

    from tests.cli.conftest import make_message

    write_config(protocol="pop3", name="home",
                 extra="leave_on_server = true\ndelete_when_deleted_locally = true")
    write_config(protocol="pop3", name="plain")
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        a = store.deliver("home", "INBOX", make_message("pop one"), uidl="UIDL-A")
        b = store.deliver("plain", "INBOX", make_message("pop two"), uidl="UIDL-B")
    assert invoke("delete", str(a), str(b)).exit_code == 0
    with Store(Path(os.environ["MAILCLI_DATA"])) as store:
        assert [(x.account, x.payload) for x in store.journal.pending()] == [
            ("home", {"uidl": "UIDL-A", "message": a})]
        assert store.count() == 0


def _core(payload: dict) -> dict:
    """The payload without the identity keys (uidvalidity, message_id), checked apart."""
    assert "uidvalidity" in payload and "message_id" in payload
    return {k: v for k, v in payload.items() if k not in ("uidvalidity", "message_id")}


def test_contradicting_flag_options_are_a_usage_error(seeded) -> None:  # noqa: ANN001
    r = invoke("flag", str(seeded.plain), "--seen", "--unseen")
    assert r.exit_code == 2 and r.stderr.startswith("mailcli: error: cannot both set and clear seen")

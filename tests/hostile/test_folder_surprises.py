"""Folders and UIDs that a server changes or lies about, through `mailcli` as a process:
a folder removed on the server that holds mail another program saved locally; a folder
listing that suddenly has no folders; a deep hierarchy of long names; a UIDVALIDITY that
changes on every connection; a UID too large for the cache; an APPEND whose result was
lost to a SIGKILL (issue 17). Real Dovecot where it can be made to do it; a rewriting
proxy in front of it (tests/fakes/proxy.py) where only a lying server would.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.proxy import FaultProxy
from tests.hostile.conftest import Box, message, new_box, sha
from tests.servers.dovecot import PASSWORD, Dovecot

pytestmark = pytest.mark.dovecot


def fetch_json(b: Box, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    r = b.mailcli("fetch", "--json", *args, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r.exit_code, json.loads(r.stdout), r.stderr


def listed(b: Box, folder: str) -> list[dict]:
    r = b.mailcli("list", "--json", "--limit", "1000", "-f", folder)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def cached_files(b: Box, folder: str) -> dict[str, int]:
    """sha -> count of the message files in a folder's cur/ and new/."""
    out: dict[str, int] = {}
    for sub in ("cur", "new"):
        d = b.maildir(folder) / sub
        for p in (d.iterdir() if d.is_dir() else ()):
            out[sha(p.read_bytes())] = out.get(sha(p.read_bytes()), 0) + 1
    return out


# ------------------------------------------------------------------ folder removed
def test_removed_folder_keeps_mail_another_program_saved_there(box: Box) -> None:
    box.server.seed(box.user, [message(i, "proj") for i in range(4)], folder="Projects")
    box.server.seed(box.user, [message(i, "inbox") for i in range(2)])
    assert box.mailcli("fetch").exit_code == 0
    # neomutt saves a message into the Maildir: a file the index has never seen
    mine = message(99, "draft")
    saved = box.maildir("Projects") / "cur" / "1700000000.M1P1Q1.laptop:2,S"
    saved.write_bytes(mine)
    box.server.doveadm("mailbox", "delete", "-u", box.user, "-s", "Projects")

    code, doc, err = fetch_json(box)
    assert code == 0, err
    report = doc["accounts"][0]
    assert report["deleted"] == 4, report         # the cached copies count as deleted
    assert "orphans" in json.dumps(report["notes"]), report
    # the local-only message is kept, byte-identical, in the local "orphans" folder
    assert cached_files(box, "orphans") == {sha(mine): 1}
    assert [e["subject"] for e in listed(box, "orphans")] == ["draft 99"]
    assert not box.maildir("Projects").exists()
    # nothing of it reaches the server, and the next run is quiet and stable
    code, doc, err = fetch_json(box)
    assert code == 0 and doc["accounts"][0]["new"] == 0, err
    assert cached_files(box, "orphans") == {sha(mine): 1}
    assert "orphans" not in box.server.doveadm("mailbox", "list", "-u", box.user)
    box.assert_cache_matches("INBOX")


# ------------------------------------------------------------------ empty listing
def _no_folders(_n: int, data: bytes) -> bytes:
    return re.sub(rb"\* LIST [^\r\n]*\r\n", b"", data)


def test_empty_folder_listing_is_refused_without_force(box: Box) -> None:
    box.server.seed(box.user, [message(i, "a") for i in range(3)], folder="Archive")
    box.server.seed(box.user, [message(i, "i") for i in range(3)])
    assert box.mailcli("fetch").exit_code == 0
    before = {f: cached_files(box, f) for f in ("INBOX", "Archive")}

    with FaultProxy(box.server.ports.imap, rewrite=_no_folders) as proxy:
        box.write(port=proxy.port, security="none")
        code, doc, err = fetch_json(box)
        assert code == 1, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and "INBOX" in lines[0] and "--force" in lines[0], err
        assert doc["accounts"][0]["deleted"] == 0
        assert {f: cached_files(box, f) for f in ("INBOX", "Archive")} == before
        # --force believes the server: everything goes, and is counted
        code, doc, err = fetch_json(box, "--force")
        assert code == 0, err
        assert doc["accounts"][0]["deleted"] == 6, doc
    assert cached_files(box, "Archive") == {}
    box.write()
    assert box.mailcli("fetch").exit_code == 0      # the true listing brings them back
    box.assert_cache_matches("INBOX")
    box.assert_cache_matches("Archive")


def test_listing_that_drops_many_folders_is_refused(box: Box) -> None:
    names = [f"F{i}" for i in range(6)]
    for name in names:
        box.server.seed(box.user, [message(0, name)], folder=name)
    assert box.mailcli("fetch").exit_code == 0

    def only_inbox(_n: int, data: bytes) -> bytes:
        return re.sub(rb"\* LIST \([^)]*\) \"/\" \"?F\d\"?\r\n", b"", data)

    with FaultProxy(box.server.ports.imap, rewrite=only_inbox) as proxy:
        box.write(port=proxy.port, security="none")
        code, doc, err = fetch_json(box)
    assert code == 1 and "--force" in err, err
    for name in names:
        assert cached_files(box, name) == {sha(message(0, name)): 1}


# ------------------------------------------------------------------ long / odd names
@pytest.fixture(scope="module")
def dotted() -> Iterator[Dovecot]:
    """A Dovecot whose hierarchy separator is "." and whose folder names live in its index
    (LAYOUT=index): folders 31 levels deep, and "/" inside a name, are legal there."""
    server = Dovecot.start(extra_conf="mail_location = maildir:~/Maildir:LAYOUT=index\n"
                                      "namespace inbox {\n  separator = .\n}\n")
    yield server
    server.stop()


def test_deep_hierarchy_of_long_names_syncs_every_folder(dotted: Dovecot, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    b = new_box(dotted, tmp_path)
    levels = [f"level-{'x' * 120}{i}" for i in range(31)]   # ~4,000 bytes of path
    for depth in (1, 31):
        dotted.doveadm("mailbox", "create", "-u", b.user, ".".join(levels[:depth]))
        dotted.deliver(b.user, message(depth, "deep"), folder=".".join(levels[:depth]))
    dotted.deliver(b.user, message(0, "inbox"))

    code, doc, err = fetch_json(b)
    assert code == 0, err
    assert [e["subject"] for e in listed(b, "INBOX")] == ["inbox 0"]
    deep = "/".join(levels)
    assert [e["subject"] for e in listed(b, levels[0])] == ["deep 1"]
    assert [e["subject"] for e in listed(b, deep)] == ["deep 31"]
    # the hashed local path maps back through the index, also after a rebuild
    assert b.mailcli("index", "rebuild").exit_code == 0
    assert [e["subject"] for e in listed(b, deep)] == ["deep 31"]
    code, doc, err = fetch_json(b)
    assert code == 0 and doc["accounts"][0]["new"] == 0, err


def test_slash_inside_a_name_on_a_dot_separator_server(dotted: Dovecot, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    b = new_box(dotted, tmp_path)
    for name in ("INBOX.a/b", "INBOX.a", "INBOX.a.b"):
        dotted.doveadm("mailbox", "create", "-u", b.user, name)
        dotted.deliver(b.user, message(0, name), folder=name)

    code, doc, err = fetch_json(b)
    assert code == 0, err
    # three different server folders, three different local folders, each its own mail
    assert [e["subject"] for e in listed(b, "INBOX/a%2Fb")] == ["INBOX.a/b 0"]
    assert [e["subject"] for e in listed(b, "INBOX/a")] == ["INBOX.a 0"]
    assert [e["subject"] for e in listed(b, "INBOX/a/b")] == ["INBOX.a.b 0"]
    # a local flag change goes back to the right server folder
    mid = listed(b, "INBOX/a%2Fb")[0]["id"]
    assert b.mailcli("flag", "--flagged", str(mid)).exit_code == 0
    code, doc, err = fetch_json(b)
    assert code == 0 and doc["accounts"][0]["new"] == 0, err
    assert any("\\Flagged" in f for f in dotted.flags(b.user, "INBOX.a/b").values())
    assert not any("\\Flagged" in f for f in dotted.flags(b.user, "INBOX.a.b").values())


# ------------------------------------------------------------------ lying UIDs
def no_message_id(i: int) -> bytes:
    return (f"From: list@example.test\r\nSubject: digest {i}\r\n\r\n"
            f"no Message-ID here, message {i}\r\n").encode()


def test_uidvalidity_new_on_every_connection_converges(box: Box) -> None:
    box.server.seed(box.user, [no_message_id(i) for i in range(5)] + [message(0, "with")])

    def new_validity(n: int, data: bytes) -> bytes:
        return re.sub(rb"UIDVALIDITY \d+", b"UIDVALIDITY %d" % (1000 + n), data)

    with FaultProxy(box.server.ports.imap, rewrite=new_validity) as proxy:
        box.write(port=proxy.port, security="none")
        for run in range(3):
            code, doc, err = fetch_json(box)
            assert code == 0, err
            assert doc["accounts"][0]["new"] == (6 if run == 0 else 0), (run, doc)
            # the cache holds each server message once, byte-identical; it never grows
            box.assert_cache_matches("INBOX")


def test_uid_too_large_for_the_cache_is_reported_and_skipped(box: Box) -> None:
    box.server.seed(box.user, [message(i, "u") for i in range(3)])
    huge = b"%d" % ((1 << 63) + 5)

    def lie(_n: int, data: bytes) -> bytes:   # the server's UID 3 becomes 2^63 + 5
        data = re.sub(rb"UIDNEXT 4([] )])", rb"UIDNEXT " + huge + rb"6\1", data)
        return re.sub(rb"UID 3([ )])", rb"UID " + huge + rb"\1", data)

    with FaultProxy(box.server.ports.imap, rewrite=lie) as proxy:
        box.write(port=proxy.port, security="none")
        code, doc, err = fetch_json(box)
        assert code == 0, err
        assert doc["accounts"][0]["new"] == 2
        assert huge.decode() in json.dumps(doc["accounts"][0]["notes"]) + err
        code, doc, err = fetch_json(box)
        assert code == 0 and doc["accounts"][0]["new"] == 0, err
        # a change on it comes in the server's changes since the last sync (QRESYNC):
        # the incremental path skips it too, and the folder's other changes still sync
        box.server.flags_add(box.user, "INBOX", "3", "\\Flagged")
        box.server.flags_add(box.user, "INBOX", "1", "\\Flagged")
        code, doc, err = fetch_json(box)
        assert code == 0 and doc["accounts"][0]["new"] == 0, err
        assert doc["accounts"][0]["updated"] == 1 and "internal error" not in err.lower(), (doc, err)
        code, doc, err = fetch_json(box)
        assert code == 0 and doc["accounts"][0]["updated"] == 0, (doc, err)
    assert sorted(e["subject"] for e in listed(box, "INBOX")) == ["u 0", "u 1"]


# ------------------------------------------------------------------ interrupted APPEND
def test_append_killed_before_its_uid_was_recorded_is_not_uploaded_twice(box: Box) -> None:
    box.server.seed(box.user, [message(i, "in") for i in range(2)])
    assert box.mailcli("fetch").exit_code == 0
    mine = message(7, "local")   # saved by neomutt: queued for upload by the next fetch
    (box.maildir("INBOX") / "cur" / "1700000000.M2P2Q2.laptop:2,S").write_bytes(mine)

    killed = box.mailcli("fetch", env={"MAILCLI_TEST_KILL_AT": "push:1"})
    assert killed.exit_code == -9, (killed.exit_code, killed.stderr)
    assert box.server_hashes("INBOX")[sha(mine)] == 1, "the APPEND reached the server"

    code, doc, err = fetch_json(box)
    assert code == 0, err
    assert box.server_hashes("INBOX")[sha(mine)] == 1, "uploaded a second time"
    box.assert_cache_matches("INBOX")
    assert fetch_json(box)[1]["accounts"][0]["new"] == 0

"""Maildir layer: folder-name mapping, file names and flags, atomic delivery, crash safety,
and that notmuch reads the cache as an ordinary Maildir."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.model import Flag
from mailcli.store import Store
from mailcli.store import maildir as md_mod
from mailcli.store.maildir import (MAX_COMPONENT, Maildir, MaildirName, folder_to_relpath,
                                   iter_maildirs, relpath_to_folder)

ALL_CHARS = st.characters(blacklist_categories=())  # includes controls and lone surrogates
folder_names = st.text(alphabet=ALL_CHARS, max_size=300) | st.sampled_from(
    [".", "..", "...", ".hidden", "cur", "NEW", "Tmp", "", "a//b", "/", "INBOX/cur/new",
     "x" * 600, "é" * 250, "a\x00b", "back\\slash", "%41", "%+", "a%+/b", "\x1b[31mred"])


def _disk_safe(component: str) -> None:
    assert component not in (".", "..") and not component.startswith(".")
    assert component.lower() not in ("cur", "new", "tmp")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\\]", component)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in component)
    assert 0 < len(component.encode("utf-8")) <= MAX_COMPONENT


@given(folder_names)
@settings(max_examples=400, deadline=None)
def test_folder_mapping_is_reversible_and_disk_safe(name: str) -> None:
    rel = folder_to_relpath(name)
    assert relpath_to_folder(rel) == name
    for component in rel.split("/"):
        _disk_safe(component)


@given(st.lists(folder_names, min_size=2, max_size=2, unique=True))
@settings(max_examples=200, deadline=None)
def test_folder_mapping_is_injective(names: list[str]) -> None:
    assert folder_to_relpath(names[0]) != folder_to_relpath(names[1])


@given(st.lists(folder_names, min_size=1, max_size=5, unique=True))
@settings(max_examples=25, deadline=None)
def test_folders_created_on_disk_are_found_again(tmp_path_factory: pytest.TempPathFactory,
                                                  names: list[str]) -> None:
    root = tmp_path_factory.mktemp("mail")
    for name in names:
        Maildir(root / folder_to_relpath(name)).create()
    found = {relpath_to_folder(rel) for rel, _ in iter_maildirs(root)}
    assert found == set(names)


flag_sets = st.frozensets(st.sampled_from(list(Flag)))
extra_letters = st.text(alphabet="Pabcz", max_size=3).map(lambda s: "".join(sorted(set(s))))


@given(flag_sets, extra_letters, st.one_of(st.none(), st.integers(1, 2**32 - 1)))
def test_flags_round_trip_through_file_names(flags: frozenset[Flag], extra: str,
                                             uid: int | None) -> None:
    base = md_mod.new_base(uid)
    name = MaildirName(base, flags, extra, True).filename()
    parsed = MaildirName.parse(name)
    assert parsed.flags == flags and parsed.extra == extra and parsed.base == base
    assert parsed.uid == uid
    letters = name.partition(":2,")[2]
    assert list(letters) == sorted(letters)  # Maildir spec: ASCII order
    assert md_mod.letters_to_flags(md_mod.flags_to_letters(flags)) == flags


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
               max_size=70))
def test_pop3_uidl_survives_in_the_file_name(uidl: str) -> None:
    base = md_mod.new_base(7, uidl)
    assert "/" not in base and ":" not in base
    parsed = MaildirName.parse(base + ":2,S")
    assert parsed.uidl == uidl and parsed.uid == 7


def test_unique_names_follow_the_spec(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "INBOX")
    names = {md.deliver(b"x", fsync=False) for _ in range(500)}
    assert len(names) == 500
    for rel in names:
        assert re.fullmatch(r"new/\d+\.M\d+P\d+Q\d+\.[^/:]+", rel)


def test_deliver_places_by_flags_and_keeps_bytes(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "INBOX")
    raw = b"Subject: x\n\n\x00\xff\r\nodd bytes\r\n"
    new = md.deliver(raw)
    cur = md.deliver(raw, {Flag.SEEN, Flag.FLAGGED}, uid=9)
    assert new.startswith("new/") and ":" not in new
    assert cur.startswith("cur/") and cur.endswith(",U=9:2,FS")
    assert md.read(new) == raw and md.read(cur) == raw
    renamed = md.set_flags(cur, {Flag.ANSWERED})
    assert renamed.endswith(",U=9:2,R") and md.read(renamed) == raw
    assert not (md.path / cur).exists()


def test_set_flags_keeps_unknown_info_letters(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "INBOX")
    md.create()
    (md.path / "cur" / "123.M1P1Q1.host:2,PSa").write_bytes(b"x")
    new = md.set_flags("cur/123.M1P1Q1.host:2,PSa", {Flag.FLAGGED})
    assert new == "cur/123.M1P1Q1.host:2,FPa"


def test_failed_rename_leaves_nothing_in_cur_new_or_tmp(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    md = Maildir(tmp_path / "INBOX")
    md.create()

    def boom(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(md_mod.os, "rename", boom)
    with pytest.raises(OSError):
        md.deliver(b"Subject: x\n\nbody\n", {Flag.SEEN})
    for sub in ("cur", "new", "tmp"):
        assert list((md.path / sub).iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    md = Maildir(tmp_path / "INBOX")
    md.create()

    def boom(fd: int) -> None:
        raise OSError("EIO")

    monkeypatch.setattr(md_mod.os, "fsync", boom)
    with pytest.raises(OSError):
        md.deliver(b"x" * 10000)
    for sub in ("cur", "new", "tmp"):
        assert list((md.path / sub).iterdir()) == []


def test_batch_fsyncs_each_directory_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(md_mod, "fsync_dir", lambda p: synced.append(Path(p)))
    md = Maildir(tmp_path / "INBOX")
    with md.batch():
        for i in range(20):
            md.deliver(b"x", {Flag.SEEN} if i % 2 else frozenset())
        assert synced == []
    assert sorted(synced) == sorted([md.path / "cur", md.path / "new"])
    synced.clear()
    md.deliver(b"y")  # outside a batch: per message
    assert synced == [md.path / "new"]


# ---------------------------------------------------------------- crash (kill -9)
CRASH_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mailcli.store import Store
    from mailcli.model import Flag
    store = Store(Path(sys.argv[1]))
    i = 0
    while True:
        body = (b"%08d" % i) * 40000          # 320 kB: a kill lands mid-write often
        raw = b"Subject: m%d\\r\\nX-Len: %d\\r\\n\\r\\n" % (i, len(body)) + body
        store.deliver("acct", "INBOX", raw, flags={Flag.SEEN} if i % 2 else (), uid=i + 1)
        print(i, flush=True)
        i += 1
""")


def _check_complete(raw: bytes) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(re.search(rb"X-Len: (\d+)", head).group(1))  # type: ignore[union-attr]
    i = int(re.search(rb"Subject: m(\d+)", head).group(1))  # type: ignore[union-attr]
    assert len(body) == length and body == (b"%08d" % i) * 40000


@pytest.mark.parametrize("delay", [0.3, 0.55, 0.8])
def test_kill_during_delivery_leaves_no_partial_message(tmp_path: Path, delay: float) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(data)],
                            stdout=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert proc.stdout is not None
    proc.stdout.readline()  # at least one delivery done
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    inbox = data / "mail" / "acct" / "INBOX"
    files = [p for sub in ("cur", "new") for p in (inbox / sub).iterdir()]
    assert files
    for path in files:
        _check_complete(path.read_bytes())
    with Store(data) as store:
        indexed = store.count("acct", "INBOX")
        changes = store.scan_external_changes("acct", "INBOX")
        # files whose row was not committed yet are adopted with their UID from the name
        assert indexed + len(changes.added) == len(files) and not changes.removed
        assert all(store.get(i).uid is not None for i in changes.added)
        for env in store.list_envelopes("acct", "INBOX", limit=10_000):
            _check_complete(store.read_raw(env.id))
        leftovers = list((inbox / "tmp").iterdir())
        assert Maildir(inbox).clean_tmp(max_age=0) == len(leftovers)
        assert list((inbox / "tmp").iterdir()) == []


# ----------------------------------------------------------------------- notmuch
def _msg(i: int) -> bytes:
    return (f"From: Sender {i} <s{i}@example.org>\r\nTo: me@example.org\r\n"
            f"Subject: notmuch test {i}\r\nMessage-ID: <nm{i}@example.org>\r\n"
            f"Date: Tue, 2 Jan 2024 10:0{i}:00 +0000\r\n\r\nbody {i}\r\n").encode()


def test_notmuch_reads_the_cache_and_its_flag_changes_are_detected(tmp_path: Path) -> None:
    if shutil.which("notmuch") is None:
        if os.environ.get("MAILCLI_REQUIRE_SERVERS") == "1":
            pytest.fail("MAILCLI_REQUIRE_SERVERS=1 but notmuch is not installed")
        pytest.skip("notmuch is not installed (apt-get install notmuch)")
    data = tmp_path / "data"
    store = Store(data)
    ids = [store.deliver("acct", "INBOX", _msg(0)),
           store.deliver("acct", "INBOX", _msg(1), flags={Flag.SEEN}, uid=2),
           store.deliver("acct", "Lists/python.dev", _msg(2), flags={Flag.SEEN}, uid=3),
           store.deliver("acct", ".weird", _msg(3), uid=4)]
    hashes = {i: hashlib.sha256(store.read_raw(i)).hexdigest() for i in ids}
    cfg = tmp_path / "notmuch-config"
    cfg.write_text(f"[database]\npath={data / 'mail'}\n[new]\ntags=inbox;\n"
                   "[maildir]\nsynchronize_flags=true\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(cfg), "HOME": str(tmp_path)}

    def nm(*args: str) -> str:
        out = subprocess.run(["notmuch", *args], env=env, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    nm("new")
    assert nm("count", "*") == "4"
    assert nm("count", "tag:unread") == "2"  # the two delivered without \Seen
    assert nm("count", "folder:acct/Lists/python.dev") == "1"
    # notmuch renames files for flags (synchronize_flags): an external change
    nm("tag", "+flagged", "id:nm0@example.org")
    nm("tag", "-unread", "id:nm0@example.org")
    nm("tag", "+unread", "id:nm1@example.org")
    changes = store.scan_external_changes("acct", "INBOX")
    by_id = {c.id: c for c in changes.flags_changed}
    assert by_id[ids[0]].new == {Flag.FLAGGED, Flag.SEEN}
    assert by_id[ids[1]].new == frozenset() and by_id[ids[1]].uid == 2
    assert not changes.removed and not changes.added
    assert store.get(ids[0]).flags == {Flag.FLAGGED, Flag.SEEN}
    assert {i: hashlib.sha256(store.read_raw(i)).hexdigest() for i in ids} == hashes
    store.close()


def test_batch_renames_after_all_files_are_written_and_cleans_up_on_error(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "INBOX")
    with md.batch():
        rels = [md.deliver(b"m%d" % i, {Flag.SEEN} if i % 2 else ()) for i in range(6)]
        assert list((md.path / "cur").iterdir()) == [] and list((md.path / "new").iterdir()) == []
        assert len(list((md.path / "tmp").iterdir())) == 6
    assert [md.read(r) for r in rels] == [b"m%d" % i for i in range(6)]
    assert list((md.path / "tmp").iterdir()) == []
    with pytest.raises(KeyError):
        with md.batch():
            md.deliver(b"lost")
            raise KeyError("connection dropped")
    assert len(list(md.entries())) == 6 and list((md.path / "tmp").iterdir()) == []

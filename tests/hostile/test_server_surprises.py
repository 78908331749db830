"""The server changes under mailcli's feet, through `mailcli` as a process:
a folder deleted on the server while local changes for it are queued; UIDVALIDITY
changing while a local delete and flag wait (a stale delete must never hit the message
that now has that UID); messages expunged between the listing and the UID FETCH; the
quota exceeded on the APPEND of a Sent copy (sent once, copy queued and reported, then
uploaded once space is freed); a mailbox with 100 folders (a no-change sync costs O(1)
commands per folder).
"""
from __future__ import annotations

import json
import os
import pwd
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import Box, message, new_box, sha
from tests.fakes.proxy import FaultProxy
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = pytest.mark.dovecot


def listed(b: Box, folder: str | None = None) -> list[dict]:
    args = ["list", "--json", "--limit", "1000"] + (["-f", folder] if folder else [])
    r = b.mailcli(*args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def by_subject(b: Box, folder: str) -> dict[str, dict]:
    return {e["subject"]: e for e in listed(b, folder)}


def fetch_json(b: Box) -> tuple[int, dict, str]:
    r = b.mailcli("fetch", "--json")
    assert "Traceback" not in r.stderr, r.stderr
    return r.exit_code, json.loads(r.stdout), r.stderr


# ---------------------------------------------------------------------------- folder deleted
def test_folder_deleted_on_server_with_local_changes_queued(box: Box) -> None:
    box.server.seed(box.user, [message(i, "proj") for i in range(5)], folder="Projects")
    box.server.seed(box.user, [message(i, "inbox") for i in range(3)])
    assert box.mailcli("fetch").exit_code == 0
    proj, inbox = by_subject(box, "Projects"), by_subject(box, "INBOX")
    # queued locally: a flag, a delete, a move out of Projects, and a message moved in
    assert box.mailcli("flag", "--flagged", str(proj["proj 0"]["id"])).exit_code == 0
    assert box.mailcli("delete", "--expunge", str(proj["proj 1"]["id"])).exit_code == 0
    assert box.mailcli("move", str(proj["proj 2"]["id"]), "INBOX").exit_code == 0
    assert box.mailcli("move", str(inbox["inbox 0"]["id"]), "Projects").exit_code == 0
    box.server.delete_folder(box.user, "Projects")

    code, doc, err = fetch_json(box)
    assert code in (0, 1), err
    assert "Projects" in err or "Projects" in json.dumps(doc), "the removal is reported"
    # the message moved out of Projects survived: it is uploaded to INBOX
    server_inbox = box.server.messages(box.user)
    assert sha(message(2, "proj")) in {sha(r) for r in server_inbox.values()}
    # the message moved into Projects locally was never on the server: kept, not lost
    local_projects = by_subject(box, "Projects")
    assert "inbox 0" in local_projects, "a local-only message vanished with the folder"
    assert sha(message(0, "inbox")) in {sha(p.read_bytes()) for p in box.maildir("Projects").glob("*/*")}
    # another run is stable: nothing downloaded twice, INBOX equals the server
    # the queued move into the vanished folder is kept (its server copy stays in INBOX,
    # not downloaded again) and reported, naming the missing folder, on every run
    assert "move of uid" in err and "'Projects' does not exist" in err, err
    code2, doc2, err2 = fetch_json(box)
    assert code2 == 1 and doc2["accounts"][0]["new"] == 0, err2
    assert "Projects" in err2
    server_inbox = {sha(r) for r in box.server.messages(box.user).values()}
    assert server_inbox == box.local_hashes("INBOX").keys() | {sha(message(0, "inbox"))}


# ---------------------------------------------------------------------------- UIDVALIDITY
def test_uidvalidity_change_with_a_queued_delete_never_hits_the_wrong_message(box: Box) -> None:
    msgs = [message(i, "uv") for i in range(8)]
    box.server.seed(box.user, msgs, folder="Lists")
    assert box.mailcli("fetch").exit_code == 0
    local = by_subject(box, "Lists")
    victim, keeper = local["uv 2"], local["uv 5"]
    assert box.mailcli("delete", "--expunge", str(victim["id"])).exit_code == 0
    assert box.mailcli("flag", "--flagged", str(keeper["id"])).exit_code == 0
    # the folder is recreated with the same mail in reverse order: every UID now names
    # a different message (the queued delete's UID belongs to someone else)
    box.server.delete_folder(box.user, "Lists")
    box.server.create_folder(box.user, "Lists")
    for raw in reversed(msgs):
        box.server.deliver(box.user, raw, folder="Lists")
    innocent_uid = victim["uid"]
    innocent = box.server.messages(box.user, "Lists")[innocent_uid]
    assert innocent != msgs[2]

    code, doc, err = fetch_json(box)
    assert code in (0, 1), err
    server = {sha(r) for r in box.server.messages(box.user, "Lists").values()}
    assert sha(innocent) in server, "a stale queued delete removed the wrong message"
    assert server >= {sha(m) for m in msgs if m is not msgs[2]}
    box.assert_cache_matches("Lists")
    # the local flag survived the re-match and reached the server
    flags = box.server.flags(box.user, "Lists")
    keeper_uid = next(u for u, r in box.server.messages(box.user, "Lists").items() if r == msgs[5])
    assert "\\Flagged" in flags[keeper_uid]
    assert fetch_json(box)[1]["accounts"][0]["new"] == 0


# ---------------------------------------------------------------------------- expunged mid-fetch
def test_messages_expunged_between_listing_and_fetching(box: Box) -> None:
    """Plain IMAP on loopback through a proxy that watches the commands: when the first
    `UID FETCH ... BODY.PEEK[]` goes out, another client expunges a third of the
    messages before the server sees the command."""
    msgs = [message(i, "ex", lines=10) for i in range(300)]
    box.server.seed(box.user, msgs)
    uids = box.server.uids(box.user)
    doomed = uids[100:200]
    fired = threading.Event()

    def on_client(data: bytes) -> None:
        if b"BODY.PEEK[]" in data and not fired.is_set():
            fired.set()
            box.server.expunge(box.user, "INBOX", f"{doomed[0]}:{doomed[-1]}")

    with FaultProxy(box.server.ports.imap, on_client=on_client) as proxy:
        box.write(port=proxy.port, security="none")
        r = box.mailcli("fetch")
    assert fired.is_set()
    assert r.exit_code in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    box.write()
    r = box.mailcli("fetch")
    assert r.exit_code == 0, r.stderr
    box.assert_cache_matches("INBOX")
    assert box.server.count(box.user) == 200


# ---------------------------------------------------------------------------- quota on APPEND
@pytest.fixture(scope="module")
def tiny_dovecot() -> Iterator[Dovecot]:
    server = Dovecot.start(quota_mb=1)
    yield server
    server.stop()


def test_quota_exceeded_on_sent_copy_is_queued_reported_then_uploaded(
        tiny_dovecot: Dovecot, smtp_server: SmtpServer, tmp_path: Path) -> None:
    from tests.hostile.test_kill import smtp_section

    b = new_box(tiny_dovecot, tmp_path / "q", smtp=smtp_section(smtp_server))
    filler = b"Subject: filler\r\n\r\n" + b"f" * 700_000 + b"\r\n"
    tiny_dovecot.deliver(b.user, filler)
    assert b.mailcli("fetch").exit_code == 0
    body = b"big report\n" + b"r" * 500_000 + b"\n"
    before = len(smtp_server.messages)
    r = b.mailcli("compose", "--to", "r@example.test", "--subject", "over quota", "--body-file", "-",
                  "--json", input=body, env={"SMTP_PW": SMTP_PASSWORD})
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "sent" and doc["sent_copy"] == "queued"
    assert "quota" in r.stderr.lower()
    assert len(smtp_server.messages) == before + 1
    # fetch keeps it queued and says so; nothing is sent again
    r = b.mailcli("fetch", env={"SMTP_PW": SMTP_PASSWORD})
    assert "Traceback" not in r.stderr
    assert tiny_dovecot.messages(b.user, "Sent") == {}
    assert len(smtp_server.messages) == before + 1
    assert "over quota" in by_subject(b, "Sent")
    # space is freed on the server: the next fetch uploads the copy, exactly once
    tiny_dovecot.expunge(b.user, "INBOX", "1:*")
    for _ in range(2):
        r = b.mailcli("fetch", env={"SMTP_PW": SMTP_PASSWORD})
        assert r.exit_code == 0, r.stderr
    (copy,) = tiny_dovecot.messages(b.user, "Sent").values()
    assert b"Subject: over quota" in copy
    assert len(smtp_server.messages) == before + 1
    assert len(by_subject(b, "Sent")) == 1


# ---------------------------------------------------------------------------- 100 folders
def seed_folders(server: Dovecot, user: str, n: int, per: int) -> None:
    """n Maildir++ folders with `per` messages each, written directly (one doveadm index)."""
    md = server.home(user) / "Maildir"
    for i in range(n):
        d = md / f".F{i:03d}"
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        for j in range(per):
            (d / "new" / f"{int(time.time())}.M{i}_{j}P{os.getpid()}.seed").write_bytes(message(j, f"f{i}-"))
    if server.run_as:
        pw = pwd.getpwnam(server.run_as)
        for p in [server.home(user), *server.home(user).rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    server.doveadm("index", "-u", user, "*")


def imap_commands(rawlog: Path) -> list[str]:
    out = []
    for f in sorted(rawlog.iterdir()):
        if f.name.endswith(".in"):
            for line in f.read_text(errors="replace").splitlines():
                parts = line.split(" ", 2)
                if len(parts) == 3 and re.fullmatch(r"[\d.]+", parts[0]):
                    out.append(parts[2])
                elif len(parts) >= 2 and re.fullmatch(r"[A-Za-z0-9.]+", parts[0]):
                    out.append(line.split(" ", 1)[1])
    return out


def test_a_mailbox_with_100_folders(box: Box) -> None:
    seed_folders(box.server, box.user, 100, 2)
    r = box.mailcli("fetch", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accounts"][0]["new"] == 200
    folders = json.loads(box.mailcli("folders", "--json").stdout)
    assert sum(1 for f in folders if f["folder"].startswith("F")) == 100
    assert all(f["total"] == 2 for f in folders if f["folder"].startswith("F"))
    box.assert_cache_matches("F042")
    rawlog = box.server.start_rawlog(box.user)
    t0 = time.monotonic()
    r = box.mailcli("fetch", "--json")
    took = time.monotonic() - t0
    assert r.exit_code == 0 and json.loads(r.stdout)["accounts"][0]["new"] == 0, r.stderr
    cmds = imap_commands(rawlog)
    n_folders = 100 + 4                               # + INBOX, Drafts, Sent, Trash
    assert cmds, "rawlog recorded the session"
    verbs = Counter(c.split()[0].upper() for c in cmds)
    # one STATUS per folder (CONDSTORE: unchanged HIGHESTMODSEQ -> no SELECT) + a fixed few
    assert verbs["STATUS"] <= n_folders and verbs["SELECT"] + verbs["EXAMINE"] == 0, verbs
    assert len(cmds) <= n_folders + 10, f"{len(cmds)} commands for {n_folders} folders: {verbs}"
    assert not any("BODY" in c for c in cmds)
    print(f"\n100 folders: no-change sync {len(cmds)} commands, {took:.2f} s")

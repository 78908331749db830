"""A hostile or broken IMAP server (tests/fakes/imap.py) against a real `mailcli fetch`
process: a 3 GB literal, an endless LIST, a server that trickles one byte a second. Each
run ends in bounded time and memory with a one-line error and the right exit code, the
account lock is free afterwards, and nothing the server did not deliver is recorded as
synced (issue 17, point 8)."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.fakes.imap import MESSAGE, FakeImapServer
from tests.hostile.conftest import peak_rss_mb

CLI = "import sys; from mailcli.cli.main import main; main(sys.argv[1:])"
MAX_RSS_MB = 100.0        # a bare `mailcli fetch` of one small message peaks at ~33 MB
SMALL2 = MESSAGE.replace(b"small@", b"second@")


def write_config(root: Path, port: int, timeout: float = 10) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(
        f'[accounts.acct]\nprotocol = "imap"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'username = "me"\npassword_env = "FAKE_PW"\nemail = "me@example.test"\ntimeout = {timeout}\n')
    return {"MAILCLI_CONFIG": str(root / "config.toml"), "MAILCLI_DATA": str(root / "data"),
            "FAKE_PW": "x"}


def stderr_lines(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("PEAK_RSS_KB")]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert lines and all(len(ln) < 400 for ln in lines), stderr[-3000:]
    return lines


def stored(root: Path) -> list[bytes]:
    from mailcli.store.maildir import encode_component, folder_to_relpath

    box = root / "data" / "mail" / encode_component("acct") / folder_to_relpath("INBOX")
    return [p.read_bytes() for sub in ("cur", "new") if (box / sub).is_dir() for p in (box / sub).iterdir()]


def indexed_uids(root: Path) -> list[int]:
    from mailcli.store import Store

    with Store(root / "data") as st:
        return sorted(r.uid for r in st.message_rows("acct", "INBOX") if r.uid is not None)


def assert_lock_free(root: Path) -> None:
    from mailcli.sync.lock import account_lock

    with account_lock(root / "data", "acct"):
        pass


TWO = {"STATUS": "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UIDVALIDITY 7 UNSEEN 2)\r\n{tag} OK done\r\n",
       "SELECT": ("* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n"
                  "{tag} OK [READ-WRITE] selected\r\n"),
       "UID SEARCH": "* SEARCH 1 2\r\n{tag} OK done\r\n",
       "UID FETCH FLAGS": ("* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 3000000000)\r\n"
                           "* 2 FETCH (UID 2 FLAGS () RFC822.SIZE 100)\r\n{tag} OK done\r\n")}


def test_huge_announced_literal_is_refused_unread_and_the_other_message_arrives(tmp_path: Path) -> None:
    def body(conn: socket.socket, tag: str, args: str) -> object:
        if args.startswith("1"):      # UID 1 first: announce 3 GB and pour zeros until hung up
            conn.sendall(b"* 1 FETCH (UID 1 FLAGS () BODY[] {3000000000}\r\n")
            chunk = b"\0" * (1 << 20)
            for _ in range(3000):
                conn.sendall(chunk)
            return False
        conn.sendall(b"* 2 FETCH (UID 2 FLAGS () BODY[] {%d}\r\n" % len(SMALL2) + SMALL2
                     + b")\r\n" + tag.encode() + b" OK done\r\n")
        return None

    with FakeImapServer({**TWO, "UID FETCH BODY": body}) as server:
        env = write_config(tmp_path, server.port)
        rss, wall, proc = peak_rss_mb(CLI, "fetch", env=env, timeout=120)
    print(f"\nHUGE LITERAL: peak RSS {rss:.0f} MB, {wall:.1f} s; {proc.stderr.strip().splitlines()[0]}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    text = "\n".join(stderr_lines(proc.stderr))
    assert "uid 1" in text and "3,000,000,000-byte literal" in text
    assert rss < MAX_RSS_MB and wall < 60
    assert stored(tmp_path) == [SMALL2] and indexed_uids(tmp_path) == [2]   # uid 1 never synced
    assert_lock_free(tmp_path)


def test_endless_list_is_cut_off(tmp_path: Path) -> None:
    def endless(conn: socket.socket, tag: str, args: str) -> object:
        if '""' == args.split(" ", 1)[-1]:             # the delimiter probe: LIST "" ""
            conn.sendall(b'* LIST (\\Noselect) "/" ""\r\n' + tag.encode() + b" OK done\r\n")
            return None
        block = b"".join(b'* LIST () "/" "folder %d"\r\n' % i for i in range(10_000))
        while True:
            conn.sendall(block)

    with FakeImapServer({"LIST": endless}) as server:
        env = write_config(tmp_path, server.port)
        rss, wall, proc = peak_rss_mb(CLI, "fetch", env=env, timeout=120)
    print(f"\nENDLESS LIST: peak RSS {rss:.0f} MB, {wall:.1f} s; {proc.stderr.strip().splitlines()[0]}")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "more than 100000 LIST responses" in "\n".join(stderr_lines(proc.stderr))
    assert rss < MAX_RSS_MB and wall < 60
    assert stored(tmp_path) == []
    assert_lock_free(tmp_path)


@pytest.mark.parametrize("where", ["line", "literal"])
def test_trickling_server_ends_with_75_in_bounded_time(tmp_path: Path, where: str) -> None:
    """One byte a second, well inside `timeout = 2`: the socket timeout never trips, the
    command deadline (max(4 x timeout, 20 s) plus 1 s per 16 KB received) does."""
    head = b"* 1 FETCH (UID 1 FLAGS () BODY[] {%d}\r\n" % len(MESSAGE)

    def trickle(conn: socket.socket, tag: str, args: str) -> object:
        data = head + MESSAGE + b")\r\n" + tag.encode() + b" OK done\r\n"
        if where == "literal":
            conn.sendall(head)
            data = data[len(head):]
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            time.sleep(1.0)
        return None

    with FakeImapServer({"UID FETCH BODY": trickle}) as server:
        env = write_config(tmp_path, server.port, timeout=2)
        rss, wall, proc = peak_rss_mb(CLI, "fetch", env=env, timeout=120)
    print(f"\nTRICKLE ({where}): {wall:.1f} s, peak RSS {rss:.0f} MB; {proc.stderr.strip().splitlines()[0]}")
    assert proc.returncode == 75, proc.stderr[-3000:]
    assert "did not finish within 20 s" in "\n".join(stderr_lines(proc.stderr))
    assert 19 < wall < 45
    assert stored(tmp_path) == [] and indexed_uids(tmp_path) == []
    assert_lock_free(tmp_path)

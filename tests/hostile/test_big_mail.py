"""A 50 MB message, fetched over IMAP and over POP3 by `mailcli fetch` in a fresh
process whose peak RSS (VmHWM) is measured: it stays under
BOUND = 3 x 50 MB + 60 MB = 210 MB, and the cached file is byte-identical to what the
server holds.

Measured on the 2-core CI machine (54 MB message; a bare `mailcli fetch` of one small
message peaks at ~33 MB): IMAP 85 MB, POP3 132 MB (its reader builds the body in a
bytearray and returns a bytes copy). Before the fixes in message/mime.py the index
parse alone added ~2-3 message sizes: the whole message decoded to one str and split
into lines at once, the attachment base64-decoded just to learn its size, then (in
skeleton()) a lower-cased copy of the message and a copy of each base64 body.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest

from tests.hostile.conftest import new_box, peak_rss_mb, sha
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot

SIZE_MB = 50
BOUND_MB = 3 * SIZE_MB + 60


@pytest.fixture(scope="module")
def big_message() -> bytes:
    payload = base64.encodebytes(os.urandom(SIZE_MB * 3 * 1024 * 1024 // 4)).replace(b"\n", b"\r\n")
    head = (b"From: big@example.test\r\nTo: me@example.test\r\nSubject: fifty megabytes\r\n"
            b"Message-ID: <big-50@example.test>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
            b"see the attachment\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n')
    raw = head + payload + b"--b--\r\n"
    assert len(raw) >= SIZE_MB * 1000 * 1000
    return raw


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_50mb_message_fetched_with_bounded_memory(dovecot: Dovecot, tmp_path: Path,
                                                  big_message: bytes, protocol: str) -> None:
    b = new_box(dovecot, tmp_path / "b", protocol)
    dovecot.seed(b.user, [big_message, b"Subject: small\r\n\r\nsmall\r\n"])
    cli = "import sys; from mailcli.cli.main import main; main(sys.argv[1:])"
    rss, wall, proc = peak_rss_mb(cli, "fetch", env=b.env())
    print(f"\nBIG {protocol}: {len(big_message) / 1e6:.1f} MB message, peak RSS {rss:.0f} MB, "
          f"{wall:.1f} s (bound {BOUND_MB} MB)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rss < BOUND_MB, f"peak RSS {rss:.0f} MB for a {SIZE_MB} MB message"
    files = [p for sub in ("cur", "new") for p in (b.maildir() / sub).iterdir()]
    assert len(files) == 2
    want = hashlib.sha256(big_message).hexdigest()
    assert want in {sha(p.read_bytes()) for p in files}, "the 50 MB message is not stored intact"
    if protocol == "pop3":
        assert dovecot.count(b.user) == 0      # deleted on the server only once stored


BOMB_MB = 20
BOMB_BOUND_MB = 3 * BOMB_MB + 60     # the same rule as for the 50 MB message: 120 MB


def test_blank_line_bomb_costs_bounded_memory_at_fetch_and_show(dovecot: Dovecot, tmp_path: Path) -> None:
    """20 MB of blank lines after a word: the index parse and `show` keep at most
    mime.MAX_LINES lines (each a ~60-byte str: 20 MB of blank lines was ~750 MB of them).
    Measured before: fetch 747 MB, show 749 MB; after: see the printed figures."""
    bomb = (b"From: bomb@example.test\r\nTo: me@example.test\r\nSubject: blank lines\r\n"
            b"Message-ID: <bomb-20@example.test>\r\n\r\nfindme at the top\r\n"
            + b"\r\n" * (BOMB_MB * 1024 * 1024 // 2) + b"and the last line\r\n")
    b = new_box(dovecot, tmp_path / "b")
    dovecot.seed(b.user, [bomb])
    cli = "import sys; from mailcli.cli.main import main; main(sys.argv[1:])"
    figures = {}
    for args in (["fetch"], ["show", "--no-mark", "1"], ["show", "--headers", "--no-mark", "1"],
                 ["search", "findme"]):
        rss, wall, proc = peak_rss_mb(cli, *args, env=b.env())
        figures[" ".join(args[:2])] = f"{rss:.0f} MB/{wall:.1f} s"
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        assert rss < BOMB_BOUND_MB, f"{args}: peak RSS {rss:.0f} MB for {BOMB_MB} MB of blank lines"
        if args[0] == "show":
            assert "findme at the top" in proc.stdout and "lines of this message are not shown" in proc.stdout
        if args[0] == "search":
            assert "blank lines" in proc.stdout
    print(f"\nBLANK-LINE BOMB {BOMB_MB} MB: " + ", ".join(f"{k}: {v}" for k, v in figures.items()))
    files = [p for sub in ("cur", "new") for p in (b.maildir() / sub).iterdir()]
    assert [sha(p.read_bytes()) for p in files] == [hashlib.sha256(bomb).hexdigest()]

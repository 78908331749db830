"""The index-parse worker pool (mailcli/store/parsepool.py): same answers as parsing in
the caller, a dead worker answers None (the caller parses), workers never outlive the
process that forked them and hold none of its descriptors."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailcli.message.parse import parse_for_index
from mailcli.store.contacts import address_pairs
from mailcli.store.parsepool import ParsePool


def parsed(raw: bytes) -> tuple:
    """What a worker answers: the index fields and the parsed addresses."""
    p = parse_for_index(raw)
    return p, address_pairs(p.from_, p.to, p.cc)


def _msg(i: int) -> bytes:
    return (f"From: A {i} <a{i}@example.test>\r\nTo: b@example.test\r\nSubject: hello {i}\r\n"
            f"Message-ID: <p{i}@example.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
            f"\r\nbody text {i}\r\n").encode()


def test_answers_equal_parsing_in_the_caller(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        p = tmp_path / f"m{i}"
        p.write_bytes(_msg(i))
        paths.append(p)
    (tmp_path / "broken").write_bytes(b"\xff\xfe not mail at all \x00")
    with ParsePool(2) as pool:
        assert pool.size == 2
        tickets = [pool.submit(p) for p in paths]
        missing = pool.submit(tmp_path / "no-such-file")
        broken = pool.submit(tmp_path / "broken")
        assert [pool.result(t) for t in tickets] == [parsed(_msg(i)) for i in range(40)]
        assert pool.result(missing) is None          # the caller parses (and reports) it
        assert pool.result(broken) == parsed((tmp_path / "broken").read_bytes())


def test_a_killed_worker_answers_none_and_the_others_go_on(tmp_path: Path) -> None:
    p = tmp_path / "m"
    p.write_bytes(_msg(1))
    with ParsePool(2) as pool:
        first = pool.pids[0]
        os.kill(first, signal.SIGKILL)
        time.sleep(0.2)
        answers = [pool.result(pool.submit(p)) for _ in range(20)]
        assert pool.size == 1
        assert all(a in (None, parsed(_msg(1))) for a in answers)
        assert pool.result(pool.submit(p)) == parsed(_msg(1))


def test_workers_die_with_their_parent_and_hold_no_inherited_descriptor(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    code = f"""
import fcntl, os, signal, sys, time
from mailcli.store.parsepool import ParsePool
fd = os.open({str(lock)!r}, os.O_CREAT | os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
pool = ParsePool(2)
print(" ".join(map(str, pool.pids)), flush=True)
time.sleep(0.3)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    pids = [int(x) for x in proc.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a parse worker outlived its parent"
    import fcntl
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # nobody holds the lock any more
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False

"""The IMAP lower bound: the least a correct, durable one-way IMAP -> Maildir download can do
with plain imaplib. Run as a subprocess by the harness (so it pays interpreter start-up like
every tool):  python -m benchmarks.lower_imap --host H --port P --user U --dir D
(password in $BENCH_PASSWORD).

First run: one `LIST "" "*" RETURN (STATUS ...)`, then per folder EXAMINE and
`UID FETCH a:b (UID FLAGS BODY.PEEK[])` in 500-UID ranges; each batch is written to tmp/,
made durable with one syncfs(2), renamed into cur/ (flags in the name), the directory fsynced,
and only then recorded in the state file (written atomically).
Later runs: the same LIST-STATUS; folders whose UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ did not
change cost nothing more; changed ones get `ENABLE QRESYNC` (once), `EXAMINE box (QRESYNC
(uidvalidity modseq))` -- flag changes and VANISHED come in that reply -- and a UID FETCH of
the new UIDs.
"""
from __future__ import annotations

import argparse
import ctypes
import imaplib
import json
import os
import re
import time
from pathlib import Path

BATCH = 500
_libc = ctypes.CDLL(None, use_errno=True)
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}
STATUS_RE = re.compile(rb'^(?:"((?:[^"\\]|\\.)*)"|(\S+)) \((.*)\)$')
FETCH_UID_RE = re.compile(rb"UID (\d+)")
FETCH_FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)")


def syncfs(path: Path) -> None:
    """Make every write on path's file system durable with one call (one 'fsync per batch')."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def letters(flags: bytes) -> str:
    return "".join(sorted(FLAG_LETTERS.get(f, "") for f in flags.decode().split()))


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def list_status(m: imaplib.IMAP4) -> dict[str, dict[str, int]]:
    typ, _ = m._simple_command("LIST", '""', '"*"', "RETURN",
                               "(STATUS (UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES))")
    assert typ == "OK", typ
    m.untagged_responses.pop("LIST", None)
    result: dict[str, dict[str, int]] = {}
    for line in m.untagged_responses.pop("STATUS", []):
        match = STATUS_RE.match(line)
        if not match:
            continue
        name = (match.group(1) or match.group(2)).decode()
        items = match.group(3).split()
        result[name] = {items[k].decode().lower(): int(items[k + 1]) for k in range(0, len(items), 2)}
    return result


class Store:
    """The local side: one Maildir per folder plus an atomically written JSON state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_file = root / ".state.json"
        self.state: dict = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self.seq = 0

    def maildir(self, folder: str) -> Path:
        d = self.root / folder
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        return d

    def save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(self.state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_file)

    def write_batch(self, folder: str, items: list[tuple[int, bytes, bytes]]) -> None:
        """items: (uid, flags, raw). tmp/ -> one syncfs -> rename into cur/ -> fsync dir."""
        d = self.maildir(folder)
        st = self.state[folder]
        staged = []
        for uid, flags, raw in items:
            self.seq += 1
            base = f"{int(time.time())}.P{os.getpid()}Q{self.seq}.bench,U={uid}"
            with open(d / "tmp" / base, "wb") as fh:
                fh.write(raw.replace(b"\r\n", b"\n"))
            staged.append((uid, base, f"{base}:2,{letters(flags)}"))
        syncfs(d)
        for uid, base, name in staged:
            os.rename(d / "tmp" / base, d / "cur" / name)
            st["files"][str(uid)] = name
        fsync_dir(d / "cur")


def fetch_range(m: imaplib.IMAP4, store: Store, folder: str, first: int, last: int) -> int:
    got = 0
    lo = first
    while lo <= last:
        hi = min(lo + BATCH - 1, last)
        typ, data = m.uid("FETCH", f"{lo}:{hi}", "(UID FLAGS BODY.PEEK[])")
        assert typ == "OK", (typ, data)
        items = []
        for item in data:
            if isinstance(item, tuple):
                uid = int(FETCH_UID_RE.search(item[0]).group(1))
                flags = FETCH_FLAGS_RE.search(item[0])
                items.append((uid, flags.group(1) if flags else b"", item[1]))
        if items:
            store.write_batch(folder, items)
            got += len(items)
        lo = hi + 1
    return got


def apply_qresync(m: imaplib.IMAP4, store: Store, folder: str) -> None:
    """Flag changes (untagged FETCH) and VANISHED from the QRESYNC EXAMINE reply."""
    d = store.maildir(folder)
    files = store.state[folder]["files"]
    for line in m.untagged_responses.pop("FETCH", []):
        if not isinstance(line, bytes):
            continue
        uid_m, flags_m = FETCH_UID_RE.search(line), FETCH_FLAGS_RE.search(line)
        if not (uid_m and flags_m) or uid_m.group(1).decode() not in files:
            continue
        old = files[uid_m.group(1).decode()]
        new = old.split(":2,")[0] + ":2," + letters(flags_m.group(1))
        if new != old:
            os.rename(d / "cur" / old, d / "cur" / new)
            files[uid_m.group(1).decode()] = new
    for line in m.untagged_responses.pop("VANISHED", []):
        for part in line.replace(b"(EARLIER)", b"").strip().decode().split(","):
            a, _, b = part.partition(":")
            for uid in range(int(a), int(b or a) + 1):
                name = files.pop(str(uid), None)
                if name:
                    os.unlink(d / "cur" / name)
    fsync_dir(d / "cur")


def sync(host: str, port: int, user: str, password: str, root: Path) -> int:
    store = Store(root)
    m = imaplib.IMAP4(host, port)
    m.login(user, password)
    got = 0
    enabled = False
    for folder, status in list_status(m).items():
        st = store.state.get(folder)
        if st and st["uidvalidity"] == status["uidvalidity"] \
                and st["uidnext"] == status["uidnext"] \
                and st["highestmodseq"] == status["highestmodseq"]:
            continue                                   # untouched folder: no more commands
        if st and st["uidvalidity"] == status["uidvalidity"]:
            if not enabled:
                m._simple_command("ENABLE", "QRESYNC")
                enabled = True
            m.is_readonly = True
            typ, _ = m._simple_command("EXAMINE", quote(folder),
                                       f"(QRESYNC ({st['uidvalidity']} {st['highestmodseq']}))")
            assert typ == "OK", typ
            m.state = "SELECTED"
            apply_qresync(m, store, folder)
            first = st["uidnext"]
        else:
            if status.get("messages", 0) == 0:
                store.state[folder] = {**status, "files": {}}
                continue
            typ, _ = m.select(quote(folder), readonly=True)
            assert typ == "OK", typ
            store.state[folder] = {**status, "files": {}}
            first = 1
        if status["uidnext"] > first:
            got += fetch_range(m, store, folder, first, status["uidnext"] - 1)
        store.state[folder].update(uidvalidity=status["uidvalidity"], uidnext=status["uidnext"],
                                   highestmodseq=status["highestmodseq"])
        store.save()
    m.logout()
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--dir", type=Path, required=True)
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sync(args.host, args.port, args.user, os.environ["BENCH_PASSWORD"], args.dir)


if __name__ == "__main__":
    main()

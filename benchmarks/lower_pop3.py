"""The POP3 lower bound: the least a correct, durable POP3 -> Maildir download can do.
Run as a subprocess by the harness:
  python -m benchmarks.lower_pop3 --port P --user U --dir D --mode keep|delete [--pipeline]
(password in $BENCH_PASSWORD).

UIDL, then the messages whose UIDL is not in the ledger, in batches of 500: each batch is
written to tmp/, made durable with one syncfs(2), renamed into new/, the directory fsynced,
the ledger appended and fsynced, and only then (delete mode) DELE'd. Sequential mode is
poplib's RETR, wait, next; --pipeline sends a whole batch of RETR (and DELE) commands at once
(the server advertises PIPELINING) and parses the replies from a buffer.
"""
from __future__ import annotations

import argparse
import os
import poplib
import socket
import time
from pathlib import Path

from benchmarks.lower_imap import fsync_dir, syncfs

BATCH = 500


class Local:
    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("cur", "new", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.ledger_path = root / ".uidl"
        self.known = set(self.ledger_path.read_text().split()) if self.ledger_path.exists() else set()
        self.seq = 0

    def store(self, batch: list[tuple[str, bytes]]) -> None:
        names = []
        for _, raw in batch:
            self.seq += 1
            name = f"{int(time.time())}.P{os.getpid()}Q{self.seq}.bench"
            with open(self.root / "tmp" / name, "wb") as fh:
                fh.write(raw)
            names.append(name)
        syncfs(self.root)
        for name in names:
            os.rename(self.root / "tmp" / name, self.root / "new" / name)
        fsync_dir(self.root / "new")
        with open(self.ledger_path, "a") as fh:
            fh.write("".join(uidl + "\n" for uidl, _ in batch))
            fh.flush()
            os.fsync(fh.fileno())
        self.known.update(uidl for uidl, _ in batch)


def sequential(host: str, port: int, user: str, password: str, local: Local, delete: bool) -> int:
    p = poplib.POP3(host, port)
    p.user(user)
    p.pass_(password)
    _, listing, _ = p.uidl()
    todo = [(int(n), u) for n, u in (line.decode().split() for line in listing) if u not in local.known]
    for k in range(0, len(todo), BATCH):
        chunk = todo[k:k + BATCH]
        batch = []
        for num, uidl in chunk:
            _, lines, _ = p.retr(num)
            batch.append((uidl, b"\n".join(lines) + b"\n"))
        local.store(batch)
        if delete:
            for num, _ in chunk:
                p.dele(num)
    p.quit()
    return len(todo)


class Pipe:
    """A minimal pipelining POP3 client over one socket and one receive buffer."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.status()

    def send(self, *commands: str) -> None:
        self.sock.sendall("".join(c + "\r\n" for c in commands).encode())

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def status(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buf[:end])
        del self.buf[:end + 2]
        if not line.startswith(b"+OK"):
            raise RuntimeError(line.decode(errors="replace"))
        return line

    def multiline(self) -> bytes:
        """The body of a multi-line reply, dot-unstuffed, with LF line ends."""
        self.status()
        if self.buf.startswith(b".\r\n"):
            del self.buf[:3]
            return b""
        start = 0
        while (end := self.buf.find(b"\r\n.\r\n", start)) < 0:
            start = max(0, len(self.buf) - 4)
            self._fill()
        body = bytes(self.buf[:end + 2])
        del self.buf[:end + 5]
        if body.startswith(b".."):
            body = body[1:]
        return body.replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n")


def pipelined(host: str, port: int, user: str, password: str, local: Local, delete: bool) -> int:
    p = Pipe(host, port)
    p.send(f"USER {user}", f"PASS {password}", "UIDL")
    p.status()
    p.status()
    listing = p.multiline().decode().split("\n")
    todo = [(int(n), u) for n, u in (line.split() for line in listing if line.strip())
            if u not in local.known]
    for k in range(0, len(todo), BATCH):
        chunk = todo[k:k + BATCH]
        p.send(*(f"RETR {num}" for num, _ in chunk))
        local.store([(uidl, p.multiline()) for _, uidl in chunk])
        if delete:
            p.send(*(f"DELE {num}" for num, _ in chunk))
            for _ in chunk:
                p.status()
    p.send("QUIT")
    p.status()
    p.sock.close()
    return len(todo)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--mode", choices=("keep", "delete"), default="keep")
    ap.add_argument("--pipeline", action="store_true")
    args = ap.parse_args()
    local = Local(args.dir)
    fn = pipelined if args.pipeline else sequential
    fn(args.host, args.port, args.user, os.environ["BENCH_PASSWORD"], local, args.mode == "delete")


if __name__ == "__main__":
    main()

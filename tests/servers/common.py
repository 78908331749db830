"""What the Cyrus and Courier test servers share: where their extracted roots live, a
per-run CA, and the server-side helpers the tests call on any server (deliver, seed,
flags, expunge, messages ...) done over IMAP as the user, the way Dovecot's fixture does
them with doveadm.

The roots are Debian packages extracted by scripts/lib.sh (ensure_extracted_servers): the
packages Conflict with Dovecot's, so they are never installed.
"""
from __future__ import annotations

import imaplib
import os
import re
import signal
import socket
import time
from pathlib import Path

PASSWORD = "s3cret-Pa55"


def cache_dir() -> Path:
    return Path(os.environ.get("MAILCLI_SERVER_CACHE", "/var/cache/mailcli-test-servers"))


def extracted_root(name: str) -> Path | None:
    """The extracted package tree for `name` (cyrus, courier), or None when absent."""
    root = cache_dir() / name
    return root if (root / ".complete").exists() else None


def wait_for_ports(ports: list[int], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", pending[0]), timeout=1).close()
            pending.pop(0)
        except OSError:
            time.sleep(0.05)
    return not pending


def stop_pidfile(pidfile: Path) -> None:
    """SIGTERM the daemon whose pid is in `pidfile` and wait (up to 5 s) until it is gone."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(500):
            if _exited(pid):
                return
            time.sleep(0.01)
    except ProcessLookupError:
        pass


def _exited(pid: int) -> bool:
    """Gone, or a zombie: the daemon is not our child, so its exit is reaped by whoever
    adopted it, which can take a second longer than the exit (the daemon has let go of
    its ports and files by then)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSeeding:
    """Server-side helpers over IMAP logged in as the user. Subclasses set `ports`,
    `sep` (hierarchy separator) and `prefix` (personal namespace prefix, e.g. "INBOX.")."""

    ports: object
    sep: str = "/"
    prefix: str = ""
    name: str = "server"

    has: frozenset[str] = frozenset()

    def local_name(self, folder: str) -> str:
        """A test's folder ("Archive/2024") as mailcli names it locally: the personal
        namespace prefix stays part of the name ("INBOX/Archive/2024")."""
        if folder.upper() == "INBOX":
            return "INBOX"
        return self.prefix.replace(self.sep, "/") + folder

    def spelled(self, folder: str) -> str:
        """A test's folder as the server spells it in LIST (UTF-8)."""
        return "INBOX" if folder.upper() == "INBOX" else self.prefix + folder.replace("/", self.sep)

    def folder_names(self, user: str) -> list[str]:
        """Every folder of `user` as the server names it (decoded from modified UTF-7)."""
        from imapclient.imap_utf7 import decode

        def go(m: imaplib.IMAP4) -> list[str]:
            _, rows = m.list()
            out = []
            for row in rows:
                name = re.match(rb'\(.*?\) (?:NIL|"[^"]*") (.*)$', row).group(1)  # type: ignore[union-attr]
                if name.startswith(b'"'):
                    name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
                out.append(decode(name))
            return out
        return self._run(user, go)

    def server_name(self, folder: str) -> str:
        """A test's folder name ("Archive/2024", "INBOX") as this server spells it."""
        from imapclient.imap_utf7 import encode

        if folder.upper() == "INBOX":
            return "INBOX"
        return encode(self.prefix + folder.replace("/", self.sep)).decode("ascii")

    def imap(self, user: str, password: str = PASSWORD) -> imaplib.IMAP4:
        m = imaplib.IMAP4("127.0.0.1", self.ports.imap)  # type: ignore[attr-defined]
        m.login(user, password)
        return m

    def _run(self, user: str, fn):  # noqa: ANN001, ANN202
        m = self.imap(user)
        try:
            return fn(m)
        finally:
            try:
                m.logout()
            except Exception:
                pass

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        self.seed(user, [raw], folder)

    def seed(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        name = self.server_name(folder)

        def go(m: imaplib.IMAP4) -> None:
            if name != "INBOX":
                m.create(quote(name))
            if "MULTIAPPEND" in m.capabilities and "LITERAL+" in m.capabilities:
                for i in range(0, len(messages), 500):
                    _multiappend(m, name, messages[i:i + 500])
                return
            for raw in messages:
                typ, data = m.append(quote(name), None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND to {name} refused: {data!r}")
        self._run(user, go)

    def create_folder(self, user: str, folder: str) -> None:
        def go(m: imaplib.IMAP4) -> None:
            typ, data = m.create(quote(self.server_name(folder)))
            if typ != "OK":
                raise RuntimeError(f"CREATE {folder} refused: {data!r}")
            m.subscribe(quote(self.server_name(folder)))
        self._run(user, go)

    def delete_folder(self, user: str, folder: str) -> None:
        def go(m: imaplib.IMAP4) -> None:
            m.unsubscribe(quote(self.server_name(folder)))
            typ, data = m.delete(quote(self.server_name(folder)))
            if typ != "OK":
                raise RuntimeError(f"DELETE {folder} refused: {data!r}")
        self._run(user, go)

    def _store(self, user: str, folder: str, uids: str, op: str, flags: tuple[str, ...]) -> None:
        def go(m: imaplib.IMAP4) -> None:
            m.select(quote(self.server_name(folder)))
            typ, data = m.uid("STORE", uids, op, "(" + " ".join(flags) + ")")
            if typ != "OK":
                raise RuntimeError(f"STORE refused: {data!r}")
        self._run(user, go)

    def flags_add(self, user: str, folder: str, uids: str, *flags: str) -> None:
        self._store(user, folder, uids, "+FLAGS.SILENT", flags)

    def flags_remove(self, user: str, folder: str, uids: str, *flags: str) -> None:
        self._store(user, folder, uids, "-FLAGS.SILENT", flags)

    def expunge(self, user: str, folder: str, uids: str) -> None:
        """Expunge `uids` as another client would, and check they are gone: a refused
        step (a server still busy with a killed client's session) is retried, then
        raised, never passed over (a test's expectations assume the expunge happened)."""
        def go(m: imaplib.IMAP4) -> list[str]:
            steps = [m.select(quote(self.server_name(folder))),
                     m.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)"),
                     m.uid("EXPUNGE", uids) if "UIDPLUS" in m.capabilities else m.expunge()]
            refused = [f"{typ} {data!r}" for typ, data in steps if typ != "OK"]
            typ, data = m.uid("SEARCH", "UID", uids)
            left = (data[0] or b"").split() if typ == "OK" else [b"?"]
            return refused + ([f"still there: {left!r}"] if left else [])
        problems: list[str] = []
        for _attempt in range(10):
            problems = self._run(user, go)
            if not problems:
                return
            time.sleep(0.3)
        raise RuntimeError(f"EXPUNGE of {folder} uid {uids} for {user} failed: {problems}")

    def _fetch(self, user: str, folder: str, what: str) -> list[tuple[bytes, bytes | None]]:
        def go(m: imaplib.IMAP4) -> list[tuple[bytes, bytes | None]]:
            typ, _ = m.select(quote(self.server_name(folder)), readonly=True)
            if typ != "OK":
                raise RuntimeError(f"SELECT {folder} refused")
            typ, data = m.uid("FETCH", "1:*", what)
            out: list[tuple[bytes, bytes | None]] = []
            for item in data:
                if isinstance(item, tuple):
                    out.append((item[0], item[1]))
                elif isinstance(item, bytes) and b"UID" in item:
                    out.append((item, None))
            return out
        return self._run(user, go)

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        return sorted(int(re.search(rb"UID (\d+)", head).group(1))  # type: ignore[union-attr]
                      for head, _ in self._fetch(user, folder, "(UID)"))

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for head, _ in self._fetch(user, folder, "(UID FLAGS)"):
            uid = int(re.search(rb"UID (\d+)", head).group(1))  # type: ignore[union-attr]
            flags = re.search(rb"FLAGS \(([^)]*)\)", head)
            out[uid] = set(flags.group(1).decode().split()) if flags else set()
        return out

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, bytes]:
        out: dict[int, bytes] = {}
        for head, body in self._fetch(user, folder, "(UID BODY.PEEK[])"):
            if body is not None:
                out[int(re.search(rb"UID (\d+)", head).group(1))] = body  # type: ignore[union-attr]
        return out

    def count(self, user: str, folder: str = "INBOX") -> int:
        def go(m: imaplib.IMAP4) -> int:
            typ, data = m.status(quote(self.server_name(folder)), "(MESSAGES)")
            return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))  # type: ignore[union-attr, index]
        return self._run(user, go)


def _multiappend(m: imaplib.IMAP4, mailbox: str, messages: list[bytes]) -> None:
    """One APPEND of many messages (RFC 3502) with non-synchronizing literals: thousands of
    messages in seconds where one APPEND each (one fsync each on Cyrus) takes minutes."""
    tag = m._new_tag()  # type: ignore[attr-defined]
    parts = [tag + b" APPEND " + quote(mailbox).encode()]
    for raw in messages:
        parts.append(b" {%d+}\r\n" % len(raw) + raw)
    m.send(b"".join(parts) + b"\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise RuntimeError(f"MULTIAPPEND to {mailbox} refused: {line!r}")
            return
        if not line:
            raise RuntimeError("connection closed during MULTIAPPEND")

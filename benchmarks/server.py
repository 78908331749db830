"""The benchmark's Dovecot: the same private instance the tests use (tests.servers.dovecot),
one seeded user, a pristine snapshot of that user's Maildir to restore between runs (message
files hard-linked, Dovecot's index files copied), server-side changes for the incremental
scenario, and counting IMAP commands from Dovecot's rawlog.
"""
from __future__ import annotations

import os
import pwd
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.servers.dovecot import PASSWORD, Dovecot, available  # noqa: E402

from benchmarks import seed as seedmod  # noqa: E402

__all__ = ["BenchServer", "PASSWORD", "available"]


def _is_message_dir(path: Path) -> bool:
    return path.name in ("cur", "new")


def _clone_tree(src: Path, dst: Path) -> None:
    """Copy src to dst: message files as hard links (Dovecot only renames or unlinks them),
    everything else (index, uidlist, logs that Dovecot appends to) as real copies."""
    for dirpath, dirnames, filenames in os.walk(src):
        d = Path(dirpath)
        target = dst / d.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copystat(d, target)
        link = _is_message_dir(d)
        for name in filenames:
            s, t = d / name, target / name
            if link:
                os.link(s, t)
            else:
                shutil.copy2(s, t)


class BenchServer:
    """A started Dovecot with one user holding the seeded mailbox."""

    def __init__(self, n: int, user: str = "bench", seed: int = seedmod.SEED) -> None:
        self.dovecot = Dovecot.start(quota_mb=100_000)
        self.user = self.dovecot.add_user(user)
        self.corpus = seedmod.seed_dovecot(self.dovecot, self.user, n, seed)
        self._warm()
        self.pristine = self.dovecot.root / "pristine" / self.user
        _clone_tree(self.maildir, self.pristine)
        self.rtt_ms = 0.0
        self._proxies: list = []

    def add_latency(self, rtt_ms: float) -> None:
        """Route every tool through a latency proxy (benchmarks/latency.py) adding
        `rtt_ms` of round-trip time: imap_port/pop3_port become the proxy's ports."""
        from benchmarks.latency import LatencyProxy
        if rtt_ms <= 0:
            return
        self.rtt_ms = rtt_ms
        self._proxies = [LatencyProxy(self.host, self.dovecot.ports.imap, rtt_ms),
                         LatencyProxy(self.host, self.dovecot.ports.pop3, rtt_ms)]

    def _warm(self) -> None:
        """One POP3 and one IMAP session over everything, so Dovecot's caches (POP3 UIDLs and
        sizes, IMAP sizes and dates) are built before the snapshot, not by the first tool."""
        import imaplib
        import poplib
        p = poplib.POP3(self.host, self.pop3_port, timeout=300)
        p.user(self.user)
        p.pass_(self.password)
        p.uidl()
        p.list()
        p.rset()
        p.quit()
        m = imaplib.IMAP4(self.host, self.imap_port, timeout=300)
        m.login(self.user, self.password)
        for folder in seedmod.FOLDERS:
            m.select(f'"{folder}"', readonly=True)
            m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE)")
        m.logout()

    # ---------- addresses ----------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def imap_port(self) -> int:
        return self._proxies[0].port if getattr(self, "_proxies", None) else self.dovecot.ports.imap

    @property
    def pop3_port(self) -> int:
        return self._proxies[1].port if getattr(self, "_proxies", None) else self.dovecot.ports.pop3

    @property
    def password(self) -> str:
        return PASSWORD

    @property
    def maildir(self) -> Path:
        return self.dovecot.home(self.user) / "Maildir"

    def stop(self) -> None:
        for p in getattr(self, "_proxies", []):
            p.close()
        self.dovecot.stop()

    # ---------- state ----------
    def restore(self) -> None:
        """Put the user's mailbox back exactly as seeded (same UIDs, UIDVALIDITY, modseqs)."""
        shutil.rmtree(self.maildir)
        _clone_tree(self.pristine, self.maildir)
        if self.dovecot.run_as:
            pw = pwd.getpwnam(self.dovecot.run_as)
            for p in [self.maildir, *self.maildir.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def change(self, new: int = 100, flagged: int = 100) -> None:
        """The incremental scenario's server-side changes: `new` messages delivered to INBOX
        and `flagged` flag changes (half \\Seen added, half \\Flagged added) on old messages."""
        raws = seedmod.extra_messages(new)
        inbox = seedmod.folder_path(self.maildir, "INBOX")
        seedmod.write_maildir(inbox, iter(raws), prefix="X")
        if self.dovecot.run_as:
            pw = pwd.getpwnam(self.dovecot.run_as)
            for p in (inbox / "new").iterdir():
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self.dovecot.doveadm("index", "-u", self.user, "INBOX")
        uids = self.dovecot.uids(self.user, "INBOX")[: self.corpus["folders"]["INBOX"]["messages"]]
        step = max(1, len(uids) // max(1, flagged))
        chosen = uids[::step][:flagged]
        half = len(chosen) // 2
        if chosen[:half]:
            self.dovecot.flags_add(self.user, "INBOX", ",".join(map(str, chosen[:half])), "\\Seen")
        if chosen[half:]:
            self.dovecot.flags_add(self.user, "INBOX", ",".join(map(str, chosen[half:])), "\\Flagged")

    # ---------- protocol traces ----------
    def rawlog_on(self) -> Path:
        d = self.dovecot.rawlog_dir(self.user)
        shutil.rmtree(d, ignore_errors=True)
        return self.dovecot.start_rawlog(self.user)

    def rawlog_off(self) -> tuple[int, int]:
        """Stop tracing; -> (IMAP commands after login, sessions) over every session logged."""
        d = self.dovecot.rawlog_dir(self.user)
        _logged_out(d)
        commands = sessions = 0
        for f in sorted(d.glob("*.in")):
            sessions += 1
            commands += count_commands(f.read_bytes())
        shutil.rmtree(d, ignore_errors=True)
        return commands, sessions


def _logged_out(d: Path, wait: float = 2.0) -> None:
    """Wait (up to `wait` s) until every logged session's last command is its LOGOUT: a
    client may close right after sending it, and Dovecot logs it a moment later."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        last = [(f.read_bytes().rstrip().rsplit(b"\n", 1)[-1].split(None, 3) + [b"", b""])[:3]
                for f in d.glob("*.in")]
        if all(b"LOGOUT" in (p[1].upper(), p[2].upper()) for p in last):
            return
        time.sleep(0.02)


IMAP_COMMANDS = frozenset(
    b"CAPABILITY NOOP LOGOUT STARTTLS AUTHENTICATE LOGIN SELECT EXAMINE CREATE DELETE RENAME "
    b"SUBSCRIBE UNSUBSCRIBE LIST LSUB XLIST STATUS APPEND CHECK CLOSE UNSELECT EXPUNGE SEARCH "
    b"FETCH STORE COPY MOVE UID ENABLE IDLE NAMESPACE ID GETQUOTA GETQUOTAROOT SETQUOTA "
    b"COMPRESS GETMETADATA SETMETADATA SORT THREAD NOTIFY".split())


def count_commands(data: bytes) -> int:
    """IMAP commands in one session's client->server rawlog (`[timestamp] TAG COMMAND ...`
    lines), not counting LOGIN/AUTHENTICATE. Literal data, IDLE's DONE and SASL
    continuations are not `TAG COMMAND` lines, so they are not counted."""
    count = 0
    for line in data.split(b"\n"):
        parts = line.split(None, 3)
        if parts and b"." in parts[0] and parts[0].replace(b".", b"").isdigit():  # timestamp
            parts = parts[1:]
        if len(parts) < 2 or parts[1].upper() not in IMAP_COMMANDS:
            continue
        if parts[1].upper() in (b"LOGIN", b"AUTHENTICATE"):
            continue
        count += 1
    return count

"""A private Courier IMAP + Courier POP3 on loopback for tests.

Owns: one temp dir holding a Courier config (authdaemonrc with authuserdb, a userdb of
test users, each with a Maildir++ with quota) and the listeners. authdaemond's config and
socket paths are compiled in (/etc/courier, /run/courier), so authdaemond and the
couriertcpd listeners run inside a private mount namespace (`unshare -m`) where our own
directories are bind-mounted over those two: the system's Courier files are never touched.
Binaries for imapd/pop3d come from the extracted Debian packages (tests/servers/common.py);
everything is stopped by killing the process group this fixture started.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.common import PASSWORD, ImapSeeding, extracted_root, read_log, wait_for_ports
from tests.servers.dovecot import Ports, free_port

IMAP_CAPABILITY = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"


def available() -> bool:
    return (extracted_root("courier") is not None and shutil.which("couriertcpd") is not None
            and os.path.exists("/usr/lib/courier/courier-authlib/authdaemond")
            and shutil.which("unshare") is not None and os.geteuid() == 0)


@dataclass
class Courier(ImapSeeding):
    root: Path
    pkg: Path
    ports: Ports
    ca_file: Path
    users: set[str] = field(default_factory=set)
    _counter: int = 0
    name: str = "courier"
    has: frozenset[str] = frozenset({"uidplus", "quota", "idle"})
    _proc: subprocess.Popen | None = None
    sep: str = "."
    prefix: str = "INBOX."

    @classmethod
    def start(cls, ca_file: Path, cert: Path, key: Path) -> "Courier":
        pkg = extracted_root("courier")
        if pkg is None:
            raise RuntimeError("Courier is not extracted (run scripts/test, or . scripts/lib.sh; ensure_extracted_servers)")
        root = Path(tempfile.mkdtemp(prefix="mailcli-courier-", dir="/tmp"))
        os.chmod(root, 0o755)
        ports = Ports(free_port(), free_port(), free_port(), free_port())
        self = cls(root=root, pkg=pkg, ports=ports, ca_file=ca_file)
        for sub in ("etc", "run", "run/authdaemon", "homes"):
            (root / sub).mkdir()
        (root / "etc" / "shared").mkdir()
        (root / "tls.pem").write_bytes(key.read_bytes() + cert.read_bytes())
        # imaplogin/pop3login drop to Courier's mail user before STARTTLS: it must read the key
        os.chmod(root / "tls.pem", 0o640)
        try:
            os.chown(root / "tls.pem", 0, grp.getgrnam("courier").gr_gid)
        except KeyError:
            pass
        (root / "etc/authdaemonrc").write_text(
            'authmodulelist="authuserdb"\ndaemons=3\nauthdaemonvar=/run/courier/authdaemon\n'
            'DEBUG_LOGIN=0\nDEFAULTOPTIONS=""\nLOGGEROPTS=""\n')
        if os.path.exists("/etc/courier/dhparams.pem"):
            shutil.copy("/etc/courier/dhparams.pem", root / "etc/dhparams.pem")
        (root / "etc/userdb").write_text("")
        os.chmod(root / "etc/userdb", 0o600)
        self._makeuserdb()
        (root / "start.sh").write_text(self._script())
        log = open(root / "courier.log", "wb")
        self._proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", str(root / "start.sh")],
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      start_new_session=True)
        log.close()
        if not wait_for_ports([ports.imap, ports.imaps, ports.pop3, ports.pop3s]) or \
                not self._wait_auth():
            self.stop()
            raise RuntimeError("courier did not start: " + self.log_text()[-2000:])
        return self

    def _wait_auth(self) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if (self.root / "run/authdaemon/socket").exists():
                return True
            time.sleep(0.05)
        return False

    def _script(self) -> str:
        r, pkg = self.root, self.pkg
        lib = pkg / "usr/lib/courier/courier"
        env = {
            "IMAP_CAPABILITY": IMAP_CAPABILITY,
            "IMAP_CAPABILITY_TLS": IMAP_CAPABILITY + " AUTH=PLAIN",
            "IMAP_KEYWORDS": "1", "IMAP_ACL": "1", "IMAP_IDLE_TIMEOUT": "2",
            "IMAP_MAILBOX_SANITY_CHECK": "1", "IMAP_USELOCKS": "1", "IMAP_ENHANCEDIDLE": "0",
            "IMAP_UMASK": "077", "IMAP_SHAREDINDEXFILE": "/etc/courier/shared/index",
            "IMAP_TRASHFOLDERNAME": "Trash", "IMAP_EMPTYTRASH": "", "IMAP_MOVE_EXPUNGE_TO_TRASH": "0",
            "IMAP_STARTTLS": "YES", "COURIERTLS": "/usr/bin/couriertls", "TLS_CERTFILE": f"{r}/tls.pem",
            "TLS_VERIFYPEER": "NONE",
            "TLS_DHPARAMS": "/etc/courier/dhparams.pem",
            "POP3AUTH": "LOGIN", "POP3AUTH_TLS": "LOGIN PLAIN", "POP3_PROXY": "0",
            "PORT": "", "MAILDIRPATH": "Maildir", "AUTHDAEMONVAR": "/run/courier/authdaemon",
            "POP3_STARTTLS": "YES", "HOSTNAME": "localhost",
        }
        exports = "".join(f"export {k}='{v}'\n" for k, v in env.items())
        tcpd = "couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup"
        imap = f"{lib}/imaplogin {pkg}/usr/bin/imapd Maildir"
        pop = f"{lib}/courierpop3login {lib}/courierpop3d Maildir"
        p = self.ports
        return f"""set -e
mount --bind {r}/etc /etc/courier
mount --bind {r}/run /run/courier
{exports}
( set -a; . /etc/courier/authdaemonrc; exec /usr/lib/courier/courier-authlib/authdaemond ) &
echo $! >> {r}/pids
{tcpd} {p.imap} {imap} &
echo $! >> {r}/pids
IMAP_TLS=1 {tcpd} {p.imaps} /usr/bin/couriertls -server -tcpd {imap} &
echo $! >> {r}/pids
{tcpd} {p.pop3} {pop} &
echo $! >> {r}/pids
POP3_TLS=1 {tcpd} {p.pop3s} /usr/bin/couriertls -server -tcpd {pop} &
echo $! >> {r}/pids
wait
"""

    def _makeuserdb(self) -> None:
        subprocess.run(["makeuserdb", "-f", str(self.root / "etc/userdb")], check=True, capture_output=True)

    def stop(self) -> None:
        # couriertcpd puts itself in its own process group: stop each process we started
        try:
            pids = [int(x) for x in (self.root / "pids").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)   # the shell waiting for them
                self._proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return read_log(self.root / "courier.log")

    # ---------- users ----------
    def add_user(self, name: str | None = None, password: str = PASSWORD,
                 quota: str = "1073741824S,100000C") -> str:
        if name is None:
            self._counter += 1
            name = f"user{self._counter}-{os.getpid()}"
        pw = pwd.getpwnam("nobody")
        home = self.root / "homes" / name
        home.mkdir()
        subprocess.run(["maildirmake", "-q", quota, str(home / "Maildir")], check=True, capture_output=True)
        for folder in ("Sent", "Drafts", "Trash"):
            subprocess.run(["maildirmake", "-f", folder, str(home / "Maildir")], check=True, capture_output=True)
        (home / "Maildir/courierimapsubscribed").write_text(
            "".join(f"INBOX.{f}\n" for f in ("Sent", "Drafts", "Trash")))
        for p in [home, *home.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
        crypted = subprocess.run(["openssl", "passwd", "-1", "-stdin"], input=password.encode(),
                                 check=True, capture_output=True).stdout.decode().strip()
        with open(self.root / "etc/userdb", "a") as fh:
            fh.write(f"{name}\tuid={pw.pw_uid}|gid={pw.pw_gid}|home={home}|mail={home}/Maildir|"
                     f"systempw={crypted}\n")
        self._makeuserdb()
        self.users.add(name)
        return name

    def home(self, user: str) -> Path:
        return self.root / "homes" / user

    def seed(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Many messages fast: write Maildir files into new/ (Courier assigns UIDs when it
        next scans the folder, as for mail delivered by an MDA)."""
        if len(messages) < 100:
            return super().seed(user, messages, folder)
        md = self.home(user) / "Maildir"
        if folder.upper() != "INBOX":
            md = md / ("." + folder.replace("/", "."))
            if not md.exists():
                self.create_folder(user, folder)
        pw = pwd.getpwnam("nobody")
        base = int(time.time())
        for i, raw in enumerate(messages):
            tmp = md / "tmp" / f"{base}.M{i}P{os.getpid()}.seed"
            tmp.write_bytes(raw.replace(b"\r\n", b"\n"))    # Courier stores LF, serves CRLF
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
            os.rename(tmp, md / "new" / tmp.name)
        return None

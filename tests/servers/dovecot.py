"""A private Dovecot on loopback for tests, benchmarks and the demo.

Owns: writing a throwaway dovecot.conf under one temp dir, a per-run self-signed
certificate, passwd-file users, starting the server as an unprivileged account
when we are root, and `doveadm` helpers to seed mail and change it server-side.
It never touches /etc/dovecot or the system service; it stops its instance by PID.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
PASSWORD = "s3cret-Pa55"
ALL_CAPS = "CONDSTORE QRESYNC MOVE UIDPLUS QUOTA SPECIAL-USE IDLE LIST-STATUS"


def available() -> bool:
    return os.path.exists(DOVECOT) and os.path.exists(DOVEADM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed cert for localhost/127.0.0.1; the cert is its own CA."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@dataclass
class Ports:
    imap: int
    imaps: int
    pop3: int
    pop3s: int


@dataclass
class Dovecot:
    """One running instance. Create with `Dovecot.start()`; stop with `.stop()`."""

    root: Path
    ports: Ports
    ca_file: Path
    run_as: str | None
    capabilities: str | None = None
    users: set[str] = field(default_factory=set)
    _counter: int = 0
    oauth2: str = ""          # the oauth2 passdb block (placed before the passwd-file one)
    name: str = "dovecot"

    @property
    def has(self) -> frozenset[str]:
        """Protocol features the tests may rely on (same vocabulary for every server)."""
        caps = (self.capabilities or ALL_CAPS).upper().split()
        return frozenset(c.lower() for c in caps)

    def local_name(self, folder: str) -> str:
        """A test's folder ("Archive/2024") as mailcli names it locally (no namespace prefix here)."""
        return folder

    def spelled(self, folder: str) -> str:
        return folder

    def folder_names(self, user: str) -> list[str]:
        """Every folder of `user` as the server names it (UTF-8)."""
        return self.doveadm("mailbox", "list", "-u", user).split()

    # ---------- lifecycle ----------
    @classmethod
    def start(cls, capabilities: str | None = None, quota_mb: int = 1024,
              extra_conf: str = "", oauth2_introspection_url: str | None = None) -> "Dovecot":
        if not available():
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
        root = Path(tempfile.mkdtemp(prefix="mailcli-dovecot-", dir="/tmp"))
        os.chmod(root, 0o755)
        run_as = "nobody" if os.geteuid() == 0 else None
        ports = Ports(free_port(), free_port(), free_port(), free_port())
        cert, key = make_cert(root)
        self = cls(root=root, ports=ports, ca_file=cert, run_as=run_as, capabilities=capabilities)
        (root / "users").write_text("")
        for sub in ("base", "state", "homes", "rawlog", "users.d"):
            (root / sub).mkdir()
        if oauth2_introspection_url:
            self.oauth2 = _oauth2_conf(root, oauth2_introspection_url)
        self._write_conf(cert, key, quota_mb, extra_conf)
        if run_as:
            uid = pwd.getpwnam(run_as).pw_uid
            for p in [root, *root.rglob("*")]:
                os.chown(p, uid, -1)
        # dovecot daemonizes: its children inherit our fds, so never capture them.
        with open(root / "start.log", "wb") as errlog:
            subprocess.run([*self._prefix(), DOVECOT, "-c", str(self.conf)], check=True,
                           stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", ports.imap), timeout=1).close()
                socket.create_connection(("127.0.0.1", ports.pop3), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("dovecot did not start: " + self.log_text()[-2000:])
        return self

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def _prefix(self) -> list[str]:
        if not self.run_as:
            return []
        pw = pwd.getpwnam(self.run_as)
        return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"]

    def _write_conf(self, cert: Path, key: Path, quota_mb: int, extra: str) -> None:
        user = self.run_as or pwd.getpwuid(os.geteuid()).pw_name
        pw = pwd.getpwnam(user)
        r = self.root
        cap = f"imap_capability = {self.capabilities}" if self.capabilities else ""
        self.conf.write_text(f"""
instance_name = mailcli-test-{r.name}
base_dir = {r}/base
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
default_internal_user = {user}
default_internal_group = {pw.pw_gid and __import__('grp').getgrgid(pw.pw_gid).gr_name}
default_login_user = {user}
first_valid_uid = {pw.pw_uid}
first_valid_gid = 0
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.oauth2 else ""}
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
mail_plugins = $mail_plugins quota
pop3_uidl_format = %08Xu%08Xv
{self.oauth2}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users.d/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/users.d/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.ports.imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ports.imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.ports.pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.ports.pop3s}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth-worker {{
  user = $default_internal_user
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
  rawlog_dir = {r}/rawlog/%u
  {cap}
}}
protocol pop3 {{
  rawlog_dir = {r}/rawlog/%u
}}
plugin {{
  quota = count:User quota
  quota_rule = *:storage={quota_mb}M
  quota_vsizes = yes
}}
{extra}
""")

    def stop(self) -> None:
        from tests.servers.common import stop_pidfile

        stop_pidfile(self.root / "base" / "master.pid")
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        from tests.servers.common import read_log

        return read_log(self.root / "dovecot.log")

    # ---------- users ----------
    def add_user(self, name: str | None = None, password: str = PASSWORD) -> str:
        """Create a passwd-file user; returns the login name. Each test can have its own."""
        if name is None:
            self._counter += 1
            name = f"user{self._counter}-{os.getpid()}"
        home = self.root / "homes" / name
        home.mkdir(exist_ok=True)
        user = self.run_as or pwd.getpwuid(os.geteuid()).pw_name
        pw = pwd.getpwnam(user)
        if self.run_as:
            os.chown(home, pw.pw_uid, pw.pw_gid)
        line = f"{name}:{{PLAIN}}{password}:{pw.pw_uid}:{pw.pw_gid}::{home}::\n"
        with open(self.root / "users", "a") as fh:
            fh.write(line)
        # One passwd-file per user: Dovecot re-reads a passwd-file at most once per second,
        # so users added to one shared file within a second of a login stayed unknown.
        (self.root / "users.d" / name).write_text(line)
        self.users.add(name)
        return name

    def home(self, user: str) -> Path:
        return self.root / "homes" / user

    # ---------- doveadm ----------
    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        proc = subprocess.run([*self._prefix(), DOVEADM, "-c", str(self.conf), *args],
                              input=input, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode(errors="replace")

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver one raw message through doveadm save (as a server would)."""
        self.doveadm("save", "-u", user, "-m", folder, input=raw)

    def seed(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Put many messages into a folder fast: write Maildir files, then doveadm index."""
        home = self.home(user)
        md = home / "Maildir"
        if folder != "INBOX":
            md = md / ("." + folder.replace("/", "."))
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
        base = int(time.time())
        for i, raw in enumerate(messages):
            (md / "new" / f"{base}.M{i}P{os.getpid()}.seed").write_bytes(raw)
        if self.run_as:
            pw = pwd.getpwnam(self.run_as)
            for p in [home, *home.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
        if folder != "INBOX":
            try:
                self.doveadm("mailbox", "create", "-u", user, folder)
            except RuntimeError as exc:
                if "exists" not in str(exc):
                    raise
        self.doveadm("index", "-u", user, folder)

    def create_folder(self, user: str, folder: str) -> None:
        self.doveadm("mailbox", "create", "-u", user, folder)

    def delete_folder(self, user: str, folder: str) -> None:
        self.doveadm("mailbox", "delete", "-u", user, "-s", folder)

    def flags_add(self, user: str, folder: str, uids: str, *flags: str) -> None:
        self.doveadm("flags", "add", "-u", user, " ".join(flags), "mailbox", folder, "uid", uids)

    def flags_remove(self, user: str, folder: str, uids: str, *flags: str) -> None:
        self.doveadm("flags", "remove", "-u", user, " ".join(flags), "mailbox", folder, "uid", uids)

    def expunge(self, user: str, folder: str, uids: str) -> None:
        self.doveadm("expunge", "-u", user, "mailbox", folder, "uid", uids)

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        out = self.doveadm("-f", "flow", "fetch", "-u", user, "uid", "mailbox", folder, "all")
        return [int(line.split("=", 1)[1]) for line in out.splitlines() if line.startswith("uid=")]

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        out = self.doveadm("-f", "tab", "fetch", "-u", user, "uid flags", "mailbox", folder, "all")
        result: dict[int, set[str]] = {}
        for line in out.splitlines()[1:]:
            uid, _, flags = line.partition("\t")
            result[int(uid)] = set(flags.split())
        return result

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, bytes]:
        """Every message of a folder as the server holds it, uid -> raw bytes (via imaplib)."""
        import imaplib
        m = imaplib.IMAP4("127.0.0.1", self.ports.imap)
        try:
            m.login(user, PASSWORD)
            m.select(_quote(folder), readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            result: dict[int, bytes] = {}
            for item in data:
                if isinstance(item, tuple):
                    uid = int(item[0].split(b"UID ")[1].split()[0])
                    result[uid] = item[1]
            return result
        finally:
            try:
                m.logout()
            except Exception:
                pass

    def count(self, user: str, folder: str = "INBOX") -> int:
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", user, "messages", folder)
        return int(out.strip().split("messages=")[1])

    def rawlog_dir(self, user: str) -> Path:
        return self.root / "rawlog" / user

    def start_rawlog(self, user: str) -> Path:
        d = self.rawlog_dir(user)
        d.mkdir(exist_ok=True)
        if self.run_as:
            pw = pwd.getpwnam(self.run_as)
            os.chown(d, pw.pw_uid, pw.pw_gid)
        return d


def _oauth2_conf(root: Path, introspection_url: str) -> str:
    """Dovecot's own oauth2 passdb (XOAUTH2 and OAUTHBEARER), validating each token by
    RFC 7662 introspection (POST) at the test's authorization server. Declared before the
    passwd-file passdb, which keeps password logins working (PLAIN/LOGIN skip this one)."""
    (root / "oauth2.conf.ext").write_text(f"""introspection_mode = post
introspection_url = {introspection_url}
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
""")
    return f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

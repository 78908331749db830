"""The tools under test, each as a Tool: whether it is installed, how its config is written
into a fresh work dir, the command line, and how many messages it stored locally.

mailcli is run exactly as a user would (`mailcli --config CFG fetch --quiet`, env
MAILCLI_DATA); until its fetch command exists it reports "n/a". Peer configs are described
in benchmarks/README.md. Every config lives in the run's temp dir; nothing touches $HOME.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchmarks.server import BenchServer

PASSWORD_ENV = "BENCH_PASSWORD"
MAILCLI_PASSWORD_ENV = "MAILCLI_BENCH_PASSWORD"


def count_maildir(root: Path) -> int:
    """Messages in every Maildir under root (files in cur/ and new/)."""
    n = 0
    for dirpath, _, filenames in os.walk(root):
        if os.path.basename(dirpath) in ("cur", "new"):
            n += len(filenames)
    return n


def base_env(work: Path, server: BenchServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILCLI_", "XDG_"))}
    env.update({
        PASSWORD_ENV: server.password, MAILCLI_PASSWORD_ENV: server.password,
        "XDG_CONFIG_HOME": str(work / "xdg-config"), "XDG_DATA_HOME": str(work / "xdg-data"),
        "XDG_CACHE_HOME": str(work / "xdg-cache"), "LC_ALL": "C.UTF-8",
    })
    return env


@dataclass
class Tool:
    name: str
    protocol: str                      # "imap" or "pop3"
    package: str | None                # Debian package, None for in-repo tools
    binary: str | None
    build: Callable[["Tool", Path, BenchServer, str], tuple[list[str], dict[str, str]]]
    count: Callable[[Path], int]
    ok_codes: tuple[int, ...] = (0,)
    is_mailcli: bool = False
    lower_bound: bool = False

    def unavailable(self) -> str | None:
        """None when the tool can run, else the reason (e.g. the package to install)."""
        if self.is_mailcli:
            return mailcli_unavailable()
        if self.binary and not shutil.which(self.binary):
            return f"not installed (apt-get install {self.package})"
        return None

    def prepare(self, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
        """Write this tool's config for mode ("sync", "keep", "delete") into work."""
        work.mkdir(parents=True, exist_ok=True)
        return self.build(self, work, server, mode)


# ---------------------------------------------------------------- mailcli
_MAILCLI_CMD: list[str] | None = None


def set_mailcli_command(cmd: list[str] | None) -> None:
    global _MAILCLI_CMD, _MAILCLI_STATUS
    _MAILCLI_CMD = cmd
    _MAILCLI_STATUS = None


def mailcli_command() -> list[str]:
    if _MAILCLI_CMD:
        return list(_MAILCLI_CMD)
    script = Path(sys.executable).parent / "mailcli"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mailcli"]


_MAILCLI_STATUS: str | None | bool = None


def mailcli_unavailable() -> str | None:
    """None when `mailcli fetch --help` works; else why mailcli cannot be benchmarked yet."""
    global _MAILCLI_STATUS
    if _MAILCLI_STATUS is None:
        try:
            proc = subprocess.run([*mailcli_command(), "fetch", "--help"], capture_output=True,
                                  timeout=30, stdin=subprocess.DEVNULL)
            if proc.returncode == 0:
                _MAILCLI_STATUS = False
            else:
                err = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
                _MAILCLI_STATUS = "n/a: `mailcli fetch` not available" + (f" ({err[-1]})" if err else "")
        except (OSError, subprocess.TimeoutExpired) as exc:
            _MAILCLI_STATUS = f"n/a: mailcli does not run ({exc})"
    return _MAILCLI_STATUS or None


def _mailcli(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
    cfg = work / "config.toml"
    if tool.protocol == "imap":
        account = f"""[accounts.bench]
protocol = "imap"
host = "{server.host}"
port = {server.imap_port}
security = "none"
username = "{server.user}"
password_env = "{MAILCLI_PASSWORD_ENV}"
email = "bench@bench.example"
"""
    else:
        account = f"""[accounts.bench]
protocol = "pop3"
host = "{server.host}"
port = {server.pop3_port}
security = "none"
username = "{server.user}"
password_env = "{MAILCLI_PASSWORD_ENV}"
email = "bench@bench.example"
leave_on_server = {"true" if mode == "keep" else "false"}
"""
    cfg.write_text("[general]\n\n" + account)
    env = base_env(work, server)
    env["MAILCLI_DATA"] = str(work / "data")
    return [*mailcli_command(), "--config", str(cfg), "fetch", "--quiet"], env


# ---------------------------------------------------------------- mbsync
def _mbsync(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
    rc = work / "mbsyncrc"
    mail = work / "mail"
    mail.mkdir(exist_ok=True)
    # FSync defaults to yes (an fdatasync per message): kept, it is mbsync's durable default
    rc.write_text(f"""IMAPAccount bench
Host {server.host}
Port {server.imap_port}
User {server.user}
Pass {server.password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {mail}/
Inbox {mail}/INBOX
SubFolders Verbatim

Channel bench
Far :remote:
Near :local:
Patterns *
Create Near
Remove None
Expunge None
Sync All
SyncState *
""")
    rc.chmod(0o600)
    return ["mbsync", "-c", str(rc), "-q", "-a"], base_env(work, server)


# ---------------------------------------------------------------- offlineimap
def _offlineimap(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
    rc = work / "offlineimaprc"
    (work / "mail").mkdir(exist_ok=True)
    rc.write_text(f"""[general]
accounts = bench
metadata = {work}/meta
maxsyncaccounts = 1
ui = quiet

[Account bench]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {work}/mail

[Repository remote]
type = IMAP
remotehost = {server.host}
remoteport = {server.imap_port}
remoteuser = {server.user}
remotepass = {server.password}
ssl = no
starttls = no
""")
    rc.chmod(0o600)
    return ["offlineimap", "-c", str(rc), "-o", "-u", "quiet"], base_env(work, server)


# ---------------------------------------------------------------- getmail6
def _getmail(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
    md = work / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    gdir = work / "getmail"
    gdir.mkdir(exist_ok=True)
    # getmail refuses to deliver as root: as root, deliver as nobody (a Maildir nobody owns)
    as_user = ""
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("nobody")
        for p in [md, *md.iterdir()]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
        as_user = "user = nobody\n"
    rc = gdir / "getmailrc"
    rc.write_text(f"""[retriever]
type = SimplePOP3Retriever
server = {server.host}
port = {server.pop3_port}
username = {server.user}
password = {server.password}

[destination]
type = Maildir
path = {md}/
{as_user}
[options]
read_all = false
delete = {"false" if mode == "keep" else "true"}
verbose = 0
message_log_syslog = false
""")
    rc.chmod(0o600)
    return ["getmail", "--getmaildir", str(gdir), "--rcfile", str(rc), "--quiet"], base_env(work, server)


# ---------------------------------------------------------------- fetchmail
def _fetchmail(tool: Tool, work: Path, server: BenchServer, mode: str, mda: bool = False
               ) -> tuple[list[str], dict[str, str]]:
    home = work / "fetchmailhome"
    home.mkdir(exist_ok=True)
    home.chmod(0o700)
    if mda:
        md = work / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (md / sub).mkdir(parents=True, exist_ok=True)
        script = work / "deliver.sh"
        script.write_text(f'#!/bin/sh\nf=$(mktemp -p {md}/tmp) && cat > "$f" && mv "$f" {md}/new/\n')
        script.chmod(0o755)
        sink = f'mda "{script}"'
    else:
        sink = f'bsmtp "{work}/mail.bsmtp"'
    rc = home / "fetchmailrc"
    import pwd
    me = pwd.getpwuid(os.geteuid()).pw_name
    rc.write_text(f"""set no bouncemail
set no syslog
poll {server.host} service {server.pop3_port} protocol POP3 uidl auth password
  user "{server.user}" there with password "{server.password}" is "{me}" here
  {"keep" if mode == "keep" else "nokeep"}
  sslproto '' no sslcertck
  {sink}
""")
    rc.chmod(0o600)
    env = base_env(work, server)
    env["FETCHMAILHOME"] = str(home)
    env["FETCHMAILUSER"] = me
    env["HOME"] = str(home)
    return ["fetchmail", "-f", str(rc), "--idfile", str(home / ".fetchids"),
            "--pidfile", str(home / "fetchmail.pid"), "--nodetach", "--silent"], env


def _count_bsmtp(work: Path) -> int:
    f = work / "mail.bsmtp"
    if not f.exists():
        return 0
    n = 0
    with open(f, "rb") as fh:
        for line in fh:
            if line.startswith(b"MAIL FROM:"):
                n += 1
    return n


# ---------------------------------------------------------------- lower bounds
def _lower_imap(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
    return ([sys.executable, "-m", "benchmarks.lower_imap", "--host", server.host,
             "--port", str(server.imap_port), "--user", server.user, "--dir", str(work / "mail")],
            _repo_env(work, server))


def _lower_pop3(pipeline: bool):
    def build(tool: Tool, work: Path, server: BenchServer, mode: str) -> tuple[list[str], dict[str, str]]:
        cmd = [sys.executable, "-m", "benchmarks.lower_pop3", "--host", server.host,
               "--port", str(server.pop3_port), "--user", server.user,
               "--dir", str(work / "Maildir"), "--mode", mode]
        return cmd + (["--pipeline"] if pipeline else []), _repo_env(work, server)
    return build


def _repo_env(work: Path, server: BenchServer) -> dict[str, str]:
    env = base_env(work, server)
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def imap_tools(fetchmail_mda: bool = False) -> list[Tool]:
    return [
        Tool("mailcli", "imap", None, None, _mailcli, lambda w: count_maildir(w / "data" / "mail"),
             is_mailcli=True),
        Tool("mbsync", "imap", "isync", "mbsync", _mbsync, lambda w: count_maildir(w / "mail")),
        Tool("offlineimap", "imap", "offlineimap", "offlineimap", _offlineimap,
             lambda w: count_maildir(w / "mail")),
        Tool("imaplib-lower-bound", "imap", None, None, _lower_imap,
             lambda w: count_maildir(w / "mail"), lower_bound=True),
    ]


def pop3_tools(fetchmail_mda: bool = False) -> list[Tool]:
    tools = [
        Tool("mailcli", "pop3", None, None, _mailcli, lambda w: count_maildir(w / "data" / "mail"),
             is_mailcli=True),
        Tool("getmail6", "pop3", "getmail6", "getmail", _getmail, lambda w: count_maildir(w / "Maildir")),
        # exit code 1 is fetchmail's "no mail" (the no-change re-run)
        Tool("fetchmail", "pop3", "fetchmail", "fetchmail", _fetchmail, _count_bsmtp, ok_codes=(0, 1)),
    ]
    if fetchmail_mda:
        tools.append(Tool("fetchmail-mda", "pop3", "fetchmail", "fetchmail",
                          lambda t, w, s, m: _fetchmail(t, w, s, m, mda=True),
                          lambda w: count_maildir(w / "Maildir"), ok_codes=(0, 1)))
    tools += [
        Tool("poplib-lower-bound", "pop3", None, None, _lower_pop3(False),
             lambda w: count_maildir(w / "Maildir"), lower_bound=True),
        Tool("pop3-pipelined-lower-bound", "pop3", None, None, _lower_pop3(True),
             lambda w: count_maildir(w / "Maildir"), lower_bound=True),
    ]
    return tools


REQUIRED_PACKAGES = {"isync": "mbsync", "offlineimap": "offlineimap", "getmail6": "getmail",
                     "fetchmail": "fetchmail"}


def missing_packages() -> list[str]:
    return [pkg for pkg, binary in REQUIRED_PACKAGES.items() if not shutil.which(binary)]


def versions() -> dict[str, str]:
    """One version line per peer that is installed (for the report header)."""
    probes = {"mbsync": ["mbsync", "--version"], "offlineimap": ["offlineimap", "--version"],
              "getmail6": ["getmail", "--version"], "fetchmail": ["fetchmail", "--version"],
              "dovecot": ["dovecot", "--version"]}
    out: dict[str, str] = {}
    for name, cmd in probes.items():
        if not shutil.which(cmd[0]) and not os.path.exists("/usr/sbin/" + cmd[0]):
            continue
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            lines = [ln for ln in (proc.stdout + proc.stderr).decode(errors="replace").splitlines()
                     if ln.strip() and "WARNING" not in ln]
            out[name] = lines[0].strip().removeprefix("This is fetchmail release ") if lines else "?"
        except (OSError, subprocess.TimeoutExpired):
            out[name] = "?"
    return out

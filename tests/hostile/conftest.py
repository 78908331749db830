"""Shared pieces of the hostile-world suite: an account on the Dovecot fixture whose
config the test controls (port through a FaultProxy, security, password source, POP3
policy), `mailcli` run as a real process, and the checks every scenario repeats."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Result, run
from tests.servers.dovecot import PASSWORD, Dovecot

# what a terminal would act on: ESC (7-bit sequences), C1 CSI/OSC/DCS/APC/PM/SOS (8-bit)
TERMINAL_CONTROLS = re.compile("[\x1b\x9b\x9d\x90\x9f\x9e\x98\x07]")


@dataclass
class Box:
    """One mail account on a Dovecot with its own config and data dir under `root`
    (the test's tmp_path for the `box` fixture, so in-process `invoke` sees it too)."""

    server: Dovecot
    user: str
    root: Path
    name: str = "acct"
    protocol: str = "imap"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def env(self, **extra: str) -> dict[str, str]:
        return {"MAILCLI_CONFIG": str(self.config), "MAILCLI_DATA": str(self.data),
                "MAILCLI_TEST_PASSWORD": PASSWORD, **extra}

    def default_port(self, security: str = "tls") -> int:
        p = self.server.ports
        if self.protocol == "imap":
            return p.imaps if security == "tls" else p.imap
        return p.pop3s if security == "tls" else p.pop3

    def write(self, *, port: int | None = None, security: str = "tls", ca: bool = True,
              password: str = 'password_env = "MAILCLI_TEST_PASSWORD"', extra: str = "",
              smtp: str = "", host: str = "127.0.0.1") -> None:
        lines = [f"[accounts.{self.name}]", f'protocol = "{self.protocol}"', f'host = "{host}"',
                 f"port = {port or self.default_port(security)}", f'security = "{security}"',
                 f'username = "{self.user}"', password, f'email = "{self.user}@example.test"']
        if ca:
            lines.append(f'tls_ca_file = "{self.server.ca_file}"')
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(lines) + "\n" + extra + "\n" + smtp)

    def mailcli(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None,
                input: bytes | None = None) -> Result:
        return run(*args, timeout=timeout, env=self.env(**(env or {})), input=input)

    def popen(self, *args: str, env: dict[str, str] | None = None,
              stdin: bool = False) -> subprocess.Popen[bytes]:
        full = dict(os.environ)
        full.update(self.env(**(env or {})))
        return subprocess.Popen([sys.executable, "-m", "mailcli", *args], env=full,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def maildir(self, folder: str = "INBOX") -> Path:
        from mailcli.store.maildir import encode_component, folder_to_relpath

        return self.data / "mail" / encode_component(self.name) / folder_to_relpath(folder)

    def local_hashes(self, folder: str = "INBOX") -> Counter[str]:
        return maildir_hashes(self.maildir(folder))

    def server_hashes(self, folder: str = "INBOX") -> Counter[str]:
        return Counter(sha(raw) for raw in self.server.messages(self.user, folder).values())

    def assert_cache_matches(self, folder: str = "INBOX") -> None:
        """Every server message cached exactly once, byte-identical, nothing extra, and
        the index agrees (IMAP)."""
        from mailcli.store import Store

        server = self.server.messages(self.user, folder)
        want = Counter(sha(raw) for raw in server.values())
        have = self.local_hashes(folder)
        assert have == want, f"{folder}: cache {sum(have.values())} files vs server {len(server)}"
        with Store(self.data) as st:
            rows = st.message_rows(self.name, folder)
            assert sorted(r.uid for r in rows if r.uid is not None) == sorted(server)
            assert len(rows) == len(server)


def sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def maildir_hashes(root: Path) -> Counter[str]:
    out: Counter[str] = Counter()
    for sub in ("cur", "new"):
        d = root / sub
        if d.is_dir():
            for p in d.iterdir():
                out[sha(p.read_bytes())] += 1
    return out


def message(i: int, tag: str = "m", lines: int = 6) -> bytes:
    body = "".join(f"line {j} of message {i}: lorem ipsum dolor sit amet\r\n" for j in range(lines))
    return (f"From: Sender {i} <s{i}@example.test>\r\nTo: r@example.test\r\n"
            f"Subject: {tag} {i}\r\nMessage-ID: <{tag}{i}@example.test>\r\n"
            f"Date: Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000\r\n\r\n{body}").encode()


@pytest.fixture
def box(dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    b = Box(dovecot, dovecot.add_user(), tmp_path)
    b.write()
    return b


@pytest.fixture
def pop_box(box: Box) -> Box:
    box.protocol = "pop3"
    box.write()
    return box


def new_box(server: Dovecot, root: Path, protocol: str = "imap", **write: object) -> Box:
    b = Box(server, server.add_user(), root, protocol=protocol)
    b.write(**write)  # type: ignore[arg-type]
    return b


def assert_clean_failure(r: Result, codes: tuple[int, ...] = (75, 1)) -> str:
    """A failed run: an expected exit code, no traceback, every stderr line one short
    readable line. Returns stderr."""
    assert r.exit_code in codes, (r.exit_code, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines, "a failure must say what went wrong"
    assert all(len(ln) < 400 for ln in lines), r.stderr
    return r.stderr


def peak_rss_mb(code: str, *args: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run `python -c code args...` in a fresh child; returns (peak RSS MB, wall s, proc).

    The child reports its own high-water mark, VmHWM from /proc/self/status, on its last
    stderr line. (Not ru_maxrss: Linux keeps that across fork+exec, so a child of a big
    pytest process would report the parent's size.)"""
    import time

    wrapper = ("import sys\n"
               "try:\n"
               f"    exec(compile({code!r}, '<hostile>', 'exec'))\n"
               "finally:\n"
               "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
               "    sys.stderr.write('\\nPEAK_RSS_KB %s\\n' % hwm.split()[1])\n")
    full = dict(os.environ)
    full.update(env or {})
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True,
                          timeout=timeout, env=full)
    wall = time.monotonic() - t0
    m = re.findall(r"PEAK_RSS_KB (\d+)", proc.stderr)
    assert m, proc.stderr[-3000:]
    return int(m[-1]) / 1024, wall, proc

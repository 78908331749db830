"""Secrets stay secret during a full `mailcli --debug` run (IMAP fetch, POP3 fetch, and
sending with its SMTP AUTH), the password coming from `password_command`: the password
(and its base64 AUTH PLAIN form) appears in no line of the data dir's mailcli.log, not
on stdout or stderr (where --debug prints protocol traces), and in no process's command
line — /proc/*/cmdline is polled while mailcli runs, including the shell that runs the
password command (which is `cat FILE`, so the secret is not in the config either).
A wrong password (through 127.0.0.2: Dovecot's failed-login penalty is per IP) is
reported without echoing it.
"""
from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import Box
from tests.fakes.proxy import FaultProxy
from tests.servers.dovecot import PASSWORD
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = pytest.mark.dovecot


class CmdlineWatch:
    """Polls every process's command line until stopped; keeps each distinct one."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as fh:
                            self.seen.add(fh.read())
                    except OSError:
                        pass
            time.sleep(0.002)

    def __enter__(self) -> "CmdlineWatch":
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def secret_forms(user: str, password: str) -> list[bytes]:
    plain = base64.b64encode(f"\0{user}\0{password}".encode())
    return [password.encode(), plain, base64.b64encode(password.encode())]


def assert_nowhere(secrets: list[bytes], *texts: bytes) -> None:
    for s in secrets:
        for t in texts:
            assert s not in t, f"secret {s!r} leaked: ...{t[max(0, t.find(s) - 80):t.find(s) + 40]!r}..."


def password_file(root: Path, name: str, secret: str) -> str:
    path = root / name
    path.write_text(secret + "\n")
    path.chmod(0o600)
    # sleep: keeps the shell alive long enough for the watcher to see its command line
    return f'password_command = "sleep 0.3; cat {path}"'


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_debug_fetch_and_send_never_show_the_password(box: Box, smtp_server: SmtpServer,
                                                      tmp_path: Path, protocol: str) -> None:
    box.protocol = protocol
    box.server.deliver(box.user, b"Subject: hi\r\nFrom: a@example.test\r\n\r\nbody\r\n")
    smtp = (f'[accounts.acct.smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
            f'security = "starttls"\nusername = "sender"\n'
            + password_file(tmp_path, "smtp.pw", SMTP_PASSWORD) + "\n")
    box.write(password=password_file(tmp_path, "imap.pw", PASSWORD), smtp=smtp)
    env = {"MAILCLI_TEST_PASSWORD": ""}           # only the password command knows it
    with CmdlineWatch() as watch:
        fetch = box.mailcli("--debug", "fetch", env=env)
        send = box.mailcli("--debug", "compose", "--to", "r@example.test", "--subject", "s",
                           "--body-file", "-", input=b"hello\n", env=env)
    assert fetch.exit_code == 0, fetch.stderr[-2000:]
    assert send.exit_code == 0, send.stderr[-2000:]
    # the traces are really on (else this test proves nothing)
    assert "DEBUG" in fetch.stderr and ("LOGIN" in fetch.stderr or "PASS" in fetch.stderr)
    assert any(b"sleep 0.3; cat" in c for c in watch.seen), "the watcher saw the password command"
    assert any(b"mailcli" in c and b"fetch" in c for c in watch.seen)
    log = b"".join(p.read_bytes() for p in box.data.glob("mailcli.log*"))
    assert b"DEBUG" in log
    secrets = secret_forms(box.user, PASSWORD) + secret_forms("sender", SMTP_PASSWORD)
    assert_nowhere(secrets, log, fetch.stdout.encode(), fetch.stderr.encode(),
                   send.stdout.encode(), send.stderr.encode(), *watch.seen)
    assert PASSWORD not in box.config.read_text()


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_wrong_password_is_not_echoed(box: Box, tmp_path: Path, protocol: str) -> None:
    box.protocol = protocol
    wrong = "Wr0ng-but-Secret-77"
    with FaultProxy(box.default_port(), source="127.0.0.2") as proxy:
        box.write(port=proxy.port, password=password_file(tmp_path, "bad.pw", wrong))
        r = box.mailcli("--debug", "fetch", env={"MAILCLI_TEST_PASSWORD": ""})
    assert r.exit_code == 3, r.stderr[-2000:]
    assert "refused the login" in r.stderr
    log = b"".join(p.read_bytes() for p in box.data.glob("mailcli.log*"))
    assert_nowhere(secret_forms(box.user, wrong), log, r.stdout.encode(), r.stderr.encode())

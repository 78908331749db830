"""The fetch's first connection, opened on a thread while the fetch loads the rest
(service/headstart.py): the sync uses it, a failure is the same failure, it is never
opened where a prompt or another process's lock could make a difference, and one that
is not used is logged out."""
from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from mailcli.accounts.imap import ImapAccount
from mailcli.config.credentials import PasswordCredentials
from mailcli.config.schema import Secret
from mailcli.sync.lock import account_lock
from tests.fakes.accounts import account_config
from tests.integration.mailboxes import data_dir, fetch, message
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each IMAP connect ran on."""
    threads: list[str] = []
    real = ImapAccount.connect

    def connect(self: ImapAccount) -> None:
        threads.append(threading.current_thread().name)
        real(self)

    monkeypatch.setattr(ImapAccount, "connect", connect)
    return threads


def _sessions(rawlog) -> int:  # noqa: ANN001
    return sum(1 for f in rawlog.iterdir() if f.name.endswith(".in"))


def test_the_sync_runs_on_the_connection_opened_ahead(dovecot: Dovecot, write_config,  # noqa: ANN001
                                                       connects: list[str]) -> None:
    spec = write_config(protocol="imap", security="starttls")
    dovecot.seed(spec.user, [message(i) for i in range(1, 4)])
    rawlog = dovecot.start_rawlog(spec.user)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 3, r.accounts[0].error
    assert connects == ["mailcli-connect-work"]
    assert _sessions(rawlog) == 1


def test_a_connection_left_idle_by_a_long_outbox_flush_is_replaced(  # noqa: ANN001
        dovecot: Dovecot, write_config, connects: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox is sent (SMTP) before the sync while the connection opened ahead waits:
    one idle longer than MAX_IDLE (a NAT may have forgotten it) is logged out unused and
    the sync connects anew."""
    from mailcli.service import headstart
    from mailcli.service.flushing import Flushing

    spec = write_config(protocol="imap")
    dovecot.seed(spec.user, [message(i) for i in range(1, 3)])
    rawlog = dovecot.start_rawlog(spec.user)
    logged_in = threading.Event()
    real_connect, real_flush = ImapAccount.connect, Flushing.flush_outbox

    def connect(self: ImapAccount) -> None:
        real_connect(self)
        logged_in.set()

    def slow_flush(self: Flushing, *args: object, **kw: object) -> object:
        assert logged_in.wait(10)     # the login ahead is done; the flush takes a while
        time.sleep(0.2)
        return real_flush(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ImapAccount, "connect", connect)
    monkeypatch.setattr(Flushing, "flush_outbox", slow_flush)
    monkeypatch.setattr(headstart, "MAX_IDLE", 0.1)
    r = fetch()
    assert r.exit_code == 0 and r.accounts[0].new == 2, r.accounts[0].error
    assert connects == ["mailcli-connect-work", threading.current_thread().name]
    sessions = sorted((f for f in rawlog.iterdir() if f.name.endswith(".in")),
                      key=lambda f: f.stat().st_mtime)
    assert len(sessions) == 2
    texts = [f.read_text(errors="replace").upper() for f in sessions]
    unused = [t for t in texts if "SELECT" not in t]
    assert len(unused) == 1 and "LOGOUT" in unused[0], texts


def test_only_the_first_account_connects_ahead(dovecot: Dovecot, write_config,  # noqa: ANN001
                                              connects: list[str]) -> None:
    write_config(protocol="imap", name="one")
    write_config(protocol="imap", name="two")
    r = fetch()
    assert r.exit_code == 0, [a.error for a in r.accounts]
    assert connects == ["mailcli-connect-one", threading.current_thread().name]


def test_a_login_refused_ahead_fails_the_fetch_as_before(dovecot: Dovecot, write_config,  # noqa: ANN001
                                                        connects: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(protocol="imap")
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", "wrong")
    r = fetch()
    assert connects == ["mailcli-connect-work"]
    assert r.exit_code == 3 and "refused the login" in (r.accounts[0].error or ""), r.accounts[0]


def test_no_connection_ahead_while_another_process_syncs_the_account(  # noqa: ANN001
        dovecot: Dovecot, write_config, connects: list[str]) -> None:
    spec = write_config(protocol="imap")
    rawlog = dovecot.start_rawlog(spec.user)
    with account_lock(data_dir(), "work"):
        r = fetch()
    assert r.exit_code == 75 and connects == [], r.accounts[0].error
    assert _sessions(rawlog) == 0


def test_the_connection_ahead_logs_in_only_under_the_account_lock(  # noqa: ANN001
        dovecot: Dovecot, write_config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is taken before the thread starts (and handed to the runner): two fetches
    started in the same instant never both log in; the second finds the lock held."""
    from mailcli.errors import LockHeld

    write_config(protocol="imap")
    seen: list[tuple[str, bool]] = []
    real = ImapAccount.connect

    def connect(self: ImapAccount) -> None:
        try:
            with account_lock(data_dir(), "work"):   # another descriptor: conflicts if held
                held = False
        except LockHeld:
            held = True
        seen.append((threading.current_thread().name, held))
        real(self)

    monkeypatch.setattr(ImapAccount, "connect", connect)
    r = fetch()
    assert r.exit_code == 0, r.accounts[0].error
    assert seen == [("mailcli-connect-work", True)]
    with account_lock(data_dir(), "work"):   # released at the end
        pass


def test_a_password_from_the_keyring_is_not_asked_for_on_another_thread() -> None:
    """The keyring may prompt on a terminal: such an account connects in the fetch itself."""
    from mailcli.service.headstart import worth_it

    cfg = account_config("imap", 1, "u")
    assert worth_it(cfg, PasswordCredentials("u", cfg.secret, "work"))
    command = dataclasses.replace(cfg, secret=Secret(command="echo pw"))
    assert worth_it(command, PasswordCredentials("u", command.secret, "work"))
    keyring = dataclasses.replace(cfg, secret=Secret())
    assert not worth_it(keyring, PasswordCredentials("u", keyring.secret, "work", print))


def test_a_connection_opened_ahead_and_not_taken_is_logged_out() -> None:
    """discard() logs out a connection never taken: at once when it is up, and when its
    login ends for one still under way (waited for, up to the account's timeout, so that
    no password command or token refresh is cut off by the exit)."""
    from mailcli.service.headstart import HeadStart
    from tests.fakes.imap import FakeImapServer

    release = threading.Event()

    def slow_login(conn, tag: str, args: str) -> None:  # noqa: ANN001
        release.wait(20)
        conn.sendall(f"{tag} OK logged in\r\n".encode())

    for slow in (True, False):
        with FakeImapServer({"LOGIN": slow_login} if slow else {}) as server:
            head = HeadStart("work", ImapAccount(account_config("imap", server.port, "u",
                                                                security="none"), "pw"), 10)
            deadline = time.monotonic() + 5
            while not any("LOGIN" in c for c in server.received) and time.monotonic() < deadline:
                time.sleep(0.01)
            if slow:
                threading.Timer(0.3, release.set).start()
            else:
                time.sleep(0.2)
            t0 = time.monotonic()
            head.discard()
            waited = time.monotonic() - t0
            assert (0.2 < waited < 5) if slow else waited < 1.0, waited
            deadline = time.monotonic() + 5
            while not any(c.endswith("LOGOUT") for c in server.received) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert any(c.endswith("LOGOUT") for c in server.received), server.received
        release.clear()


def test_oauth2_tokens_in_the_keyring_are_not_read_on_another_thread() -> None:
    from mailcli.config.schema import OAuth2Config
    from mailcli.service.headstart import worth_it

    base = account_config("imap", 1, "u")
    for store, command, ahead in (("keyring", None, False), ("file", None, True),
                                  ("keyring", "print-token", True)):
        cfg = dataclasses.replace(base, auth="oauth2", oauth2=OAuth2Config(
            provider="custom", token_store=store, token_command=command))
        from mailcli.config.credentials import credentials_for
        assert worth_it(cfg, credentials_for(cfg, "work")) is ahead, (store, command)


def test_ctrl_c_while_the_connection_ahead_hangs_ends_the_fetch_at_once(tmp_path) -> None:  # noqa: ANN001
    """Ctrl-C while the login opened ahead is unanswered: `fetch` exits at once with the
    interrupted code, without waiting for the connect (the account's timeout is 60 s)."""
    import os
    import signal
    import subprocess
    import sys

    from mailcli.errors import ExitCode
    from tests.fakes.imap import FakeImapServer

    hang = threading.Event()

    def never(conn, tag: str, args: str) -> None:  # noqa: ANN001
        hang.wait(30)

    with FakeImapServer({"LOGIN": never}) as server:
        (tmp_path / "config.toml").write_text(f"""
[accounts.work]
protocol = "imap"
host = "127.0.0.1"
port = {server.port}
security = "none"
username = "u"
password_env = "MAILCLI_TEST_PASSWORD"
email = "u@example.test"
timeout = 60
""")
        env = {**os.environ, "MAILCLI_CONFIG": str(tmp_path / "config.toml"),
               "MAILCLI_DATA": str(tmp_path / "data"), "MAILCLI_TEST_PASSWORD": "pw"}
        proc = subprocess.Popen([sys.executable, "-m", "mailcli", "fetch"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not any("LOGIN" in c for c in server.received) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)                       # the fetch is waiting for that login now
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
        hang.set()
    assert time.monotonic() - t0 < 5, err
    assert proc.returncode == int(ExitCode.INTERRUPTED), err
    assert "Traceback" not in err

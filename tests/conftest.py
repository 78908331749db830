"""Test harness: environment isolation for every test, and the real servers.

Every test gets its own MAILCLI_CONFIG/MAILCLI_DATA under tmp_path and a keyring
backend that fails (no real keyring is touched). The Dovecot and SMTP servers are
session fixtures on free loopback ports. Where MAILCLI_REQUIRE_SERVERS=1 (CI) a server
that cannot start fails the test instead of skipping it.
"""
from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import dovecot as dovecot_mod
from tests.servers.dovecot import PASSWORD, Dovecot

REQUIRE = os.environ.get("MAILCLI_REQUIRE_SERVERS") == "1"


def _unavailable(why: str) -> None:
    if REQUIRE:
        pytest.fail(f"MAILCLI_REQUIRE_SERVERS=1 but {why}")
    pytest.skip(why)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MAILCLI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("MAILCLI_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")
    # GnuPG (PGP/MIME in `show`) never touches the real ~/.gnupg: tests/pgp sets its own homes
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "gnupg-unused"))
    monkeypatch.delenv("MAILCLI_TEST_PASSWORD", raising=False)
    # a first send looks for the server's own Sent copy once, without the few seconds'
    # wait (mailcli.send.sentcheck); tests of that wait set their own
    monkeypatch.setenv("MAILCLI_SENT_CHECK_WAIT", "0")
    yield


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """In-process CLI runs install mailcli's log handlers and quiet imapclient's logger
    (cli/logging.py); undo that after each test so later tests see default logging."""
    import logging

    root, imap = logging.getLogger(), logging.getLogger("imapclient")
    saved = (root.level, list(root.handlers), imap.level)
    yield
    for h in root.handlers:
        if h not in saved[1]:
            root.removeHandler(h)
            h.close()
    root.setLevel(saved[0])
    imap.setLevel(saved[2])


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not dovecot_mod.available():
        _unavailable("dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
    try:
        server = Dovecot.start()
    except Exception as exc:  # pragma: no cover - reported as fail/skip
        _unavailable(f"dovecot could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot_minimal() -> Iterator[Dovecot]:
    """A Dovecot that pretends to lack MOVE, CONDSTORE, QRESYNC, UIDPLUS and QUOTA."""
    if not dovecot_mod.available():
        _unavailable("dovecot is not installed")
    server = Dovecot.start(capabilities="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE SPECIAL-USE")
    yield server
    server.stop()


def _start_other(name: str, dovecot: Dovecot, **kw: object):  # noqa: ANN202
    """Start Cyrus or Courier with the per-run CA (the Dovecot fixture's certificate)."""
    from tests.servers import courier as courier_mod, cyrus as cyrus_mod

    mod = {"cyrus": cyrus_mod, "courier": courier_mod}[name]
    if not mod.available():
        _unavailable(f"{name} is not available (scripts/test extracts it: see scripts/lib.sh)")
    cls = cyrus_mod.Cyrus if name == "cyrus" else courier_mod.Courier
    try:
        return cls.start(dovecot.ca_file, dovecot.ca_file, dovecot.root / "key.pem", **kw)
    except Exception as exc:  # pragma: no cover - reported as fail/skip
        _unavailable(f"{name} could not start: {exc}")


@pytest.fixture(scope="session")
def cyrus(dovecot: Dovecot):  # noqa: ANN201
    """Cyrus IMAP/POP3, standard namespace: personal folders under "INBOX." with "."."""
    server = _start_other("cyrus", dovecot)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cyrus_alt(dovecot: Dovecot):  # noqa: ANN201
    """Cyrus with altnamespace + unixhierarchysep: top-level folders, "/" separator."""
    server = _start_other("cyrus", dovecot, altnamespace=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def courier(dovecot: Dovecot):  # noqa: ANN201
    """Courier IMAP + POP3: no CONDSTORE/QRESYNC/MOVE/SPECIAL-USE, namespace "INBOX."."""
    server = _start_other("courier", dovecot)
    yield server
    server.stop()


def each_server(*names: str):  # noqa: ANN201
    """A `mail_server` fixture parameterised over server fixtures; a module that assigns
    `mail_server = each_server("dovecot", "cyrus", "courier")` runs every test using
    mail_server/mail_user/write_config once per server, the id naming the server
    (`test_x[cyrus]`)."""
    @pytest.fixture(params=names, name="mail_server")
    def mail_server(request: pytest.FixtureRequest):  # noqa: ANN202
        return request.getfixturevalue(request.param.replace("-", "_"))
    return mail_server


@pytest.fixture
def mail_server(request: pytest.FixtureRequest) -> Dovecot:
    """The server write_config and mail_user use: Dovecot unless the module says otherwise
    (each_server) or a test names servers: parametrize("mail_server", [...], indirect=True)."""
    return request.getfixturevalue(getattr(request, "param", "dovecot").replace("-", "_"))


@pytest.fixture
def mail_user(mail_server: Dovecot) -> str:
    """A fresh mailbox on the test's server."""
    return mail_server.add_user()


@pytest.fixture(scope="session")
def smtp_server(dovecot: Dovecot):
    try:
        from tests.servers.smtp import SmtpServer
    except ImportError as exc:
        _unavailable(f"aiosmtpd is not installed: {exc}")
    server = SmtpServer(dovecot.ca_file, dovecot.root / "key.pem")
    server.start()
    yield server
    server.stop()


@dataclass
class AccountSpec:
    """What a test needs to write a config for an account on the fixture."""

    name: str
    protocol: str
    security: str
    port: int
    user: str
    ca_file: Path
    extra: str = ""

    def toml(self) -> str:
        return textwrap.dedent(f"""
            [accounts.{self.name}]
            protocol = "{self.protocol}"
            host = "127.0.0.1"
            port = {self.port}
            security = "{self.security}"
            tls_ca_file = "{self.ca_file}"
            username = "{self.user}"
            password_env = "MAILCLI_TEST_PASSWORD"
            email = "{self.user}@example.test"
            name = "Test {self.user}"
        """) + self.extra + "\n"


def port_for(server: Dovecot, protocol: str, security: str) -> int:
    if protocol == "imap":
        return server.ports.imaps if security == "tls" else server.ports.imap
    return server.ports.pop3s if security == "tls" else server.ports.pop3


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mail_server: Dovecot):
    """write_config(protocol="imap", security="tls", name="work", user=None, extra="")
    writes config.toml for an account on the test's server and returns its AccountSpec.
    Call it several times to configure several accounts."""
    monkeypatch.setenv("MAILCLI_TEST_PASSWORD", PASSWORD)
    written: list[AccountSpec] = []

    def write(protocol: str = "imap", security: str = "tls", name: str = "work",
              user: str | None = None, extra: str = "", server: Dovecot | None = None,
              general: str = "") -> AccountSpec:
        srv = server or mail_server
        spec = AccountSpec(name, protocol, security, port_for(srv, protocol, security),
                           user or srv.add_user(), srv.ca_file, extra)
        written.append(spec)
        text = (general + "\n" if general else "") + "".join(s.toml() for s in written)
        (tmp_path / "config.toml").write_text(text)
        return spec

    return write


@pytest.fixture
def scan_counts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often a directory is listed and a folder's rows are read."""
    from mailcli.store import index

    seen = {"listings": 0, "rows": 0}
    real_scandir, real_rows = os.scandir, index.folder_rows

    def scandir(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        seen["listings"] += 1
        return real_scandir(*a, **kw)

    def folder_rows(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        seen["rows"] += 1
        return real_rows(*a, **kw)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(index, "folder_rows", folder_rows)
    return seen


_SLOW_PATHS = ("tests/hostile/", "tests/integration/test_sync_kill.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The hostile-world suite and the kill tests are `slow`: the quick inner loop is
    `./scripts/test -m "not slow"`; CI and the README's test command run everything."""
    root = str(config.rootpath) + os.sep
    for item in items:
        path = str(item.path).removeprefix(root).replace(os.sep, "/")
        if path.startswith(_SLOW_PATHS) or "sigkill" in item.name or "kill_" in item.name:
            item.add_marker(pytest.mark.slow)

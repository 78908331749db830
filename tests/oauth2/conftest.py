"""OAuth2 fixtures: the local authorization server (tests/servers/oauth2.py), a Dovecot
whose own oauth2 passdb validates tokens against it by introspection, and an aiosmtpd
server checking XOAUTH2/OAUTHBEARER tokens the same way. `oauth_account` writes a
config for an OAuth2 account on them, `grant` stores a refresh token for it."""
from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _unavailable
from tests.servers import dovecot as dovecot_mod
from tests.servers.dovecot import Dovecot
from tests.servers.oauth2 import CLIENT_ID, OAuth2Server


@pytest.fixture(scope="session")
def oauth2_server() -> Iterator[OAuth2Server]:
    server = OAuth2Server().start()
    yield server
    server.stop()


@pytest.fixture
def oauth(oauth2_server: OAuth2Server) -> OAuth2Server:
    oauth2_server.reset()
    return oauth2_server


@pytest.fixture(scope="session")
def oauth2_dovecot(oauth2_server: OAuth2Server) -> Iterator[Dovecot]:
    if not dovecot_mod.available():
        _unavailable("dovecot is not installed")
    try:
        server = Dovecot.start(oauth2_introspection_url=oauth2_server.introspection_url)
    except Exception as exc:  # pragma: no cover
        _unavailable(f"dovecot could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth2_smtp(oauth2_dovecot: Dovecot, oauth2_server: OAuth2Server):
    from tests.servers.smtp import SmtpServer

    server = SmtpServer(oauth2_dovecot.ca_file, oauth2_dovecot.root / "key.pem",
                        introspect=oauth2_server.active)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def oauth_user(oauth2_dovecot: Dovecot, oauth: OAuth2Server) -> str:
    user = oauth2_dovecot.add_user()
    oauth.login_as = user
    return user


def oauth_toml(server: OAuth2Server, dovecot: Dovecot, user: str, protocol: str = "imap",
               name: str = "work", store: str = "file", smtp_port: int | None = None,
               extra: str = "") -> str:
    port = dovecot.ports.imaps if protocol == "imap" else dovecot.ports.pop3s
    text = textwrap.dedent(f"""
        [accounts.{name}]
        protocol = "{protocol}"
        host = "127.0.0.1"
        port = {port}
        security = "tls"
        tls_ca_file = "{dovecot.ca_file}"
        username = "{user}"
        email = "{user}@example.test"
        auth = "oauth2"
        oauth2_provider = "custom"
        oauth2_client_id = "{CLIENT_ID}"
        oauth2_authorize_url = "{server.authorize_url}"
        oauth2_token_url = "{server.token_url}"
        oauth2_device_url = "{server.device_url}"
        oauth2_scopes = ["mail", "offline_access"]
        oauth2_token_store = "{store}"
    """) + extra + "\n"
    if smtp_port:
        text += textwrap.dedent(f"""
            [accounts.{name}.smtp]
            host = "127.0.0.1"
            port = {smtp_port}
            security = "starttls"
        """)
    return text


@pytest.fixture
def oauth_account(oauth: OAuth2Server, oauth2_dovecot: Dovecot, oauth_user: str):
    """oauth_account(protocol="imap", smtp_port=None, extra="") -> user; writes config.toml."""
    def write(protocol: str = "imap", smtp_port: int | None = None, extra: str = "",
              store: str = "file") -> str:
        Path(os.environ["MAILCLI_CONFIG"]).write_text(
            oauth_toml(oauth, oauth2_dovecot, oauth_user, protocol, smtp_port=smtp_port,
                       extra=extra, store=store))
        return oauth_user

    return write


@pytest.fixture
def grant(oauth: OAuth2Server):
    """grant(user, account="work") stores a fresh refresh token in the file store."""
    from mailcli.oauth2.store import FileTokenStore

    def make(user: str, account: str = "work") -> str:
        refresh, _access = oauth.issue(user, "mail offline_access")
        FileTokenStore(Path(os.environ["MAILCLI_DATA"]), account).save({"refresh_token": refresh})
        return refresh

    return make

"""OAuth2 logins against real servers: Dovecot's own oauth2 passdb (XOAUTH2/OAUTHBEARER,
tokens checked by RFC 7662 introspection at the local authorization server) for IMAP
and POP3, aiosmtpd taught the same mechanisms for SMTP. Fetch, send, the mechanism
chosen, the silent refresh, a revoked grant (exit 3 + hint), the token command, and
tokens absent from the log, --debug traces, error lines and the index."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from mailcli.config import load_config
from mailcli.config.credentials import credentials_for
from tests.cli.conftest import make_message
from tests.helpers import invoke
from tests.servers.dovecot import Dovecot
from tests.servers.oauth2 import OAuth2Server

pytestmark = [pytest.mark.dovecot]


def _config():
    return load_config(Path(os.environ["MAILCLI_CONFIG"]))


def _mechanisms(dovecot: Dovecot, user: str) -> list[str]:
    return [line.split("method=")[1].split(",")[0] for line in dovecot.log_text().splitlines()
            if f"Login: user=<{user}>" in line and "method=" in line]


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_fetch_with_oauth2_uses_oauthbearer_when_offered(protocol: str, oauth: OAuth2Server,
                                                         oauth2_dovecot: Dovecot, oauth_account,
                                                         grant) -> None:
    user = oauth_account(protocol)
    grant(user)
    oauth2_dovecot.deliver(user, make_message("over oauth2", "body\n"))
    r = invoke("fetch", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["accounts"][0]["new"] == 1
    listed = json.loads(invoke("list", "--json").stdout)
    assert [e["subject"] for e in listed] == ["over oauth2"]
    # Dovecot offers both: OAUTHBEARER is chosen; one refresh for the run
    assert _mechanisms(oauth2_dovecot, user) == ["OAUTHBEARER"]
    assert len(oauth.token_requests("refresh_token")) == 1


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_xoauth2_when_the_server_offers_only_that(protocol: str, oauth2_dovecot: Dovecot,
                                                  oauth_account, grant) -> None:
    from mailcli.accounts.registry import open_account

    user = oauth_account(protocol)
    grant(user)
    cfg = _config()
    creds = credentials_for(cfg.account("work"), "work")
    from mailcli.accounts import sasl

    offered = []
    real = sasl.choose

    def only_xoauth2(mechs):
        offered.extend(mechs)
        return real([m for m in mechs if m.upper() != "OAUTHBEARER"])

    sasl.choose, saved = only_xoauth2, sasl.choose
    try:
        with open_account(cfg.account("work"), creds) as acc:
            assert acc.list_folders()
    finally:
        sasl.choose = saved
    assert {"XOAUTH2", "OAUTHBEARER"} <= {m.upper() for m in offered}
    assert _mechanisms(oauth2_dovecot, user)[-1] == "XOAUTH2"


def test_expired_access_token_is_refreshed_once_silently(oauth: OAuth2Server,
                                                         oauth2_dovecot: Dovecot,
                                                         oauth_account, grant) -> None:
    from mailcli.accounts.registry import open_account

    user = oauth_account("imap")
    grant(user)
    cfg = _config()
    creds = credentials_for(cfg.account("work"), "work")
    with open_account(cfg.account("work"), creds) as acc:
        acc.list_folders()
    first = creds.token()
    oauth.expire_access_tokens()          # the server now says inactive; we still hold it
    with open_account(cfg.account("work"), creds) as acc:
        assert acc.list_folders()
    assert creds.token() != first
    assert len(oauth.token_requests("refresh_token")) == 2


def test_token_is_renewed_before_it_expires(oauth: OAuth2Server, oauth_account, grant) -> None:
    oauth.access_ttl = 50                 # inside the one-minute margin: renewed at each use
    user = oauth_account("imap")
    grant(user)
    creds = credentials_for(_config().account("work"), "work")
    a, b = creds.token(), creds.token()
    assert a != b and len(oauth.token_requests("refresh_token")) == 2
    oauth.access_ttl = 3600
    c = creds.token()
    assert creds.token() == c             # cached for the run


def test_revoked_grant_is_exit_3_with_the_authorize_hint(oauth: OAuth2Server, oauth_account,
                                                         grant) -> None:
    user = oauth_account("imap")
    refresh = grant(user)
    oauth.revoke_all(user)
    r = invoke("fetch")
    assert r.exit_code == 3, r
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("mailcli: error: ") and "invalid_grant" in lines[0]
    assert any("mailcli account authorize work" in line for line in lines)
    assert refresh not in r.stdout + r.stderr


def test_no_grant_yet_is_exit_3_naming_authorize(oauth_account) -> None:
    oauth_account("imap")
    r = invoke("account", "test", "work")
    assert r.exit_code == 3, r
    assert "mailcli account authorize work" in r.stderr


def test_token_command_is_used_for_each_connection(oauth: OAuth2Server, oauth2_dovecot: Dovecot,
                                                   oauth_user: str, tmp_path: Path) -> None:
    _refresh, access = oauth.issue(oauth_user)
    counter = tmp_path / "count"
    script = tmp_path / "token.sh"
    script.write_text(f"#!/bin/sh\necho x >> {counter}\necho {access}\n")
    script.chmod(0o700)
    Path(os.environ["MAILCLI_CONFIG"]).write_text(
        f'[accounts.work]\nprotocol = "imap"\nhost = "127.0.0.1"\nport = {oauth2_dovecot.ports.imaps}\n'
        f'tls_ca_file = "{oauth2_dovecot.ca_file}"\nusername = "{oauth_user}"\nauth = "oauth2"\n'
        f'oauth2_token_command = "{script}"\n')
    oauth2_dovecot.deliver(oauth_user, make_message("by command"))
    r = invoke("fetch", "--json")
    assert r.exit_code == 0, r
    assert counter.read_text().count("x") >= 1
    assert oauth.token_requests() == []                 # the command did the OAuth2 part
    r = invoke("account", "test", "work")
    assert r.exit_code == 0, r
    assert access not in r.stdout + r.stderr


def test_token_command_failure_is_one_line(oauth2_dovecot: Dovecot, oauth_user: str) -> None:
    Path(os.environ["MAILCLI_CONFIG"]).write_text(
        f'[accounts.work]\nprotocol = "imap"\nhost = "127.0.0.1"\nport = {oauth2_dovecot.ports.imaps}\n'
        f'tls_ca_file = "{oauth2_dovecot.ca_file}"\nusername = "{oauth_user}"\nauth = "oauth2"\n'
        f'oauth2_token_command = "echo helper-is-broken >&2; exit 4"\n')
    r = invoke("fetch")
    assert r.exit_code == 2, r
    first = r.stderr.strip().splitlines()[0]
    assert "oauth2_token_command failed with exit status 4: helper-is-broken" in first


def test_send_over_smtp_with_oauth2(oauth: OAuth2Server, oauth2_dovecot: Dovecot, oauth2_smtp,
                                    oauth_account, grant) -> None:
    user = oauth_account("imap", smtp_port=oauth2_smtp.port,
                         extra="")
    # the SMTP table inherits the account's OAuth2 login; its CA is the same file
    cfg_path = Path(os.environ["MAILCLI_CONFIG"])
    cfg_path.write_text(cfg_path.read_text() + f'tls_ca_file = "{oauth2_smtp.ca_file}"\n')
    grant(user)
    before = len(oauth2_smtp.messages)
    r = invoke("compose", "--to", "bob@example.org", "--subject", "via xoauth", "--body-file", "-",
               "--json", input="Hello over OAuth2\n")
    assert r.exit_code == 0, r
    assert len(oauth2_smtp.messages) == before + 1
    assert b"Hello over OAuth2" in oauth2_smtp.messages[-1].data
    assert oauth2_smtp.recorder.mechanisms[-1] == "OAUTHBEARER"
    assert oauth2_smtp.recorder.initial_responses[-1] is True     # one round trip (RFC 4954 IR)
    # IMAP (Sent copy) and SMTP shared one access token: one refresh for the run
    assert len(oauth.token_requests("refresh_token")) == 1


def test_tokens_never_reach_log_debug_trace_or_index(oauth: OAuth2Server, oauth2_dovecot: Dovecot,
                                                     oauth_account, grant, tmp_path: Path) -> None:
    user = oauth_account("imap")
    refresh = grant(user)
    oauth2_dovecot.deliver(user, make_message("secret-free"))
    r = invoke("--debug", "-vv", "fetch")
    assert r.exit_code == 0, r
    access = [t for t, (g, _e) in oauth.access.items() if g.username == user]
    assert access
    data = Path(os.environ["MAILCLI_DATA"])
    texts = [r.stdout, r.stderr]
    for p in data.rglob("*"):
        if p.is_file() and p.suffix != ".json":
            texts.append(p.read_bytes().decode("utf-8", "replace"))
    db = data / "index.sqlite3"
    if db.exists():
        con = sqlite3.connect(db)
        for (sql,) in con.execute("select name from sqlite_master where type='table'"):
            for row in con.execute(f'select * from "{sql}"'):
                texts.append(repr(row))
        con.close()
    blob = "\n".join(texts)
    assert "AUTH OAUTHBEARER ********" in blob and "AUTHENTICATE" in blob   # traced, redacted
    for token in [refresh, *access]:
        assert token not in blob
    import base64
    assert "dXNlcj" not in blob and "bixhPW" not in blob  # base64 of "user=" / "n,a=" prefixes
    # the grant file itself: 0600 in a 0700 dir
    f = data / "oauth2" / "work.json"
    assert f.stat().st_mode & 0o777 == 0o600 and f.parent.stat().st_mode & 0o777 == 0o700
    del base64


def test_a_token_the_server_keeps_refusing_is_refreshed_once_then_exit_3(
        oauth: OAuth2Server, oauth2_dovecot: Dovecot, oauth_account, grant) -> None:
    user = oauth_account("imap")
    other = oauth2_dovecot.add_user()
    grant(other)                     # a grant for someone else: valid tokens, wrong user
    r = invoke("account", "test", "work")
    assert r.exit_code == 3, r
    assert f"refused the OAuth2 login (OAUTHBEARER) for {user!r}" in r.stderr
    assert "mailcli account authorize work" in r.stderr
    assert len(oauth.token_requests("refresh_token")) == 2        # one forced refresh, no loop


def test_pop3_long_token_goes_after_the_continuation(oauth: OAuth2Server, oauth2_dovecot: Dovecot,
                                                     oauth_account, grant) -> None:
    oauth.token_bytes = 300          # the AUTH line would pass 255 octets (RFC 5034 4)
    user = oauth_account("pop3")
    grant(user)
    oauth2_dovecot.deliver(user, make_message("long token"))
    r = invoke("fetch", "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["accounts"][0]["new"] == 1
    assert _mechanisms(oauth2_dovecot, user) == ["OAUTHBEARER"]


def test_imap_without_sasl_ir_answers_the_continuation(oauth: OAuth2Server, oauth2_dovecot: Dovecot,
                                                       oauth_account, grant,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from imapclient import IMAPClient

    from mailcli.accounts.registry import open_account

    real = IMAPClient.capabilities
    monkeypatch.setattr(IMAPClient, "capabilities",
                        lambda self: tuple(c for c in real(self) if c != b"SASL-IR"))
    user = oauth_account("imap")
    grant(user)
    cfg = _config()
    with open_account(cfg.account("work"), credentials_for(cfg.account("work"), "work")) as acc:
        assert acc.list_folders()
    oauth.expire_access_tokens()     # and the refused-then-refreshed path without SASL-IR
    creds = credentials_for(cfg.account("work"), "work")
    creds.token()
    oauth.expire_access_tokens()
    with open_account(cfg.account("work"), creds) as acc:
        assert acc.list_folders()
    assert _mechanisms(oauth2_dovecot, user) == ["OAUTHBEARER", "OAUTHBEARER"]

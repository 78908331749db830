"""Error translation at the protocol boundary, for IMAP and POP3: each failure gives its
mailcli error class, exit code and a one-line message naming the host — never an
imapclient/poplib/socket exception. Also: passwords never reach the DEBUG traces."""
from __future__ import annotations

import logging

import pytest

from mailcli.accounts.registry import open_account
from mailcli.errors import AuthError, MailcliError, TemporaryError, TLSError
from mailcli.model import Flag
from tests.fakes.accounts import account_config, creds, dovecot_config
from tests.fakes.proxy import TcpProxy
from tests.fakes.scripted import ScriptedServer
from tests.servers.dovecot import PASSWORD, Dovecot, free_port

PROTOCOLS = ["imap", "pop3"]


def connect_error(config, password: str = PASSWORD) -> MailcliError:  # noqa: ANN001
    acc = open_account(config, creds(password))
    with pytest.raises(MailcliError) as ei:
        with acc:
            pass
    err = ei.value
    assert "\n" not in err.message and err.message.strip() == err.message
    assert password not in err.message and password not in (err.hint or "")
    return err


@pytest.mark.dovecot
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_password_is_auth_error(dovecot: Dovecot, mail_user: str, protocol: str) -> None:
    # from a loopback address of its own: Dovecot's growing per-IP penalty for failed
    # logins would otherwise delay every later login of the session by seconds
    port = dovecot.ports.imaps if protocol == "imap" else dovecot.ports.pop3s
    with TcpProxy(port, source="127.0.0.2" if protocol == "imap" else "127.0.0.3") as proxy:
        err = connect_error(account_config(protocol, proxy.port, mail_user, ca_file=dovecot.ca_file),
                            "wrong-password")
    assert type(err) is AuthError and err.exit_code == 3
    assert mail_user in err.message and "127.0.0.1" in err.message and "Authentication failed" in err.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_closed_port_is_temporary(protocol: str) -> None:
    err = connect_error(account_config(protocol, free_port(), "me"))
    assert type(err) is TemporaryError and err.exit_code == 75 and "refused" in err.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_host_and_silent_server_are_temporary(protocol: str) -> None:
    err = connect_error(account_config(protocol, 993, "me", host="no-such-host.invalid"))
    assert type(err) is TemporaryError and err.exit_code == 75 and "no-such-host.invalid" in err.message
    with ScriptedServer([("expect", "never")]) as silent:            # accepts, never greets
        err = connect_error(account_config(protocol, silent.port, "me", security="none", timeout=0.5))
    assert type(err) is TemporaryError and "timed out" in err.message


@pytest.mark.dovecot
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_untrusted_certificate_is_tls_error_naming_the_host(dovecot: Dovecot, mail_user: str,
                                                             protocol: str, security: str) -> None:
    err = connect_error(dovecot_config(dovecot, protocol, mail_user, security, ca_file=None))
    assert type(err) is TLSError and err.exit_code == 1
    assert "127.0.0.1" in err.message and "not trusted" in err.message
    assert err.hint and "tls_ca_file" in err.hint


@pytest.mark.dovecot
@pytest.mark.parametrize("protocol,strip", [("imap", {b" STARTTLS": b""}), ("pop3", {b"STLS\r\n": b""})])
def test_starttls_not_offered_is_tls_error(dovecot: Dovecot, mail_user: str, protocol: str,
                                           strip: dict[bytes, bytes]) -> None:
    plain = dovecot.ports.imap if protocol == "imap" else dovecot.ports.pop3
    with TcpProxy(plain, replace=strip) as proxy:
        err = connect_error(account_config(protocol, proxy.port, mail_user, security="starttls",
                                           ca_file=dovecot.ca_file))
    assert type(err) is TLSError and "does not offer" in err.message and "plaintext" in err.message


@pytest.mark.parametrize("cut_at", ["LOGIN", "STARTTLS"])
def test_a_line_cut_during_the_login_or_starttls_is_temporary_not_refused(cut_at: str) -> None:
    """imapclient wraps every failure of LOGIN in LoginError, a connection that ends
    too; STARTTLS's abort was taken for a refusal. Both are a lost connection: exit 75
    (cron retries), not "check the password" (3) or a TLS failure (2)."""
    greeting = ("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] fake ready\r\n"
                if cut_at == "LOGIN" else "* OK fake ready\r\n")
    script = [("send", greeting)]
    if cut_at == "STARTTLS":
        script += [("expect", r"(?P<tag>\S+) CAPABILITY"),
                   ("send", "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n{tag} OK done\r\n")]
    script += [("expect", rf"(?P<tag>\S+) {cut_at}.*"), ("close", "")]
    security = "starttls" if cut_at == "STARTTLS" else "none"
    with ScriptedServer(script) as server:
        err = connect_error(account_config("imap", server.port, "me", security=security))
    assert isinstance(err, TemporaryError) and err.exit_code == 75, (type(err), err.message)
    assert "refused" not in err.message and "password" not in (err.hint or ""), err.message
    assert server.received[-1].split(" ")[1] == cut_at, server.received


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_refused_starttls_is_tls_error_without_fallback(protocol: str) -> None:
    if protocol == "imap":
        script = [("send", "* OK fake ready\r\n"),
                  ("expect", r"(?P<tag>\S+) CAPABILITY"),
                  ("send", "* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n{tag} OK done\r\n"),
                  ("expect", r"(?P<tag>\S+) STARTTLS"), ("send", "{tag} NO TLS is broken today\r\n"),
                  ("expect", r".*")]
    else:
        capa = "+OK\r\nSTLS\r\nUSER\r\n.\r\n"
        script = [("send", "+OK fake ready\r\n"), ("expect", "CAPA"), ("send", capa),
                  ("expect", "CAPA"), ("send", capa), ("expect", "STLS"), ("send", "-ERR TLS is broken today\r\n"),
                  ("expect", r".*")]
    with ScriptedServer(script) as server:
        err = connect_error(account_config(protocol, server.port, "me", security="starttls"))
    assert type(err) is TLSError and ("STARTTLS" in err.message or "STLS" in err.message)
    if protocol == "pop3":
        assert "TLS is broken today" in err.message        # imaplib drops the server's text
    assert not any("LOGIN" in line or "USER" in line or "PASS" in line for line in server.received)


@pytest.mark.dovecot
def test_connection_cut_mid_fetch_is_temporary(dovecot: Dovecot, mail_user: str) -> None:
    dovecot.seed(mail_user, [b"Subject: m\r\n\r\n" + b"x" * 5000 + b"\r\n"] * 100)
    with TcpProxy(dovecot.ports.imap, cut_after=150_000) as proxy:
        acc = open_account(account_config("imap", proxy.port, mail_user, security="starttls",
                                          ca_file=dovecot.ca_file), creds(PASSWORD))
        got: list[int] = []
        with acc:
            uids = acc.list_uids("INBOX")
            with pytest.raises(TemporaryError) as ei:
                acc.fetch_messages("INBOX", uids, lambda uid, raw, fl: got.append(uid), batch_size=20)
        assert proxy.cut.is_set()
    assert ei.value.exit_code == 75 and 0 < len(got) < 100


@pytest.mark.dovecot
@pytest.mark.parametrize("protocol,security", [("imap", "tls"), ("imap", "starttls"), ("pop3", "starttls")])
def test_password_never_reaches_debug_logs(dovecot: Dovecot, mail_user: str, protocol: str, security: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with open_account(dovecot_config(dovecot, protocol, mail_user, security), creds(PASSWORD)) as acc:
        if protocol == "imap":
            acc.set_flags("INBOX", [1], add=frozenset({Flag.SEEN}))
            acc.list_folders()
        else:
            acc.pop_list()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ("LOGIN" in text) if protocol == "imap" else ("PASS ********" in text)   # traces are on
    assert PASSWORD not in text


@pytest.mark.dovecot
@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_implicit_tls_to_a_plaintext_port_says_so_not_the_ca_hint(dovecot: Dovecot, mail_user: str,
                                                                  protocol: str) -> None:
    """security = "tls" against a port that answers in plaintext: the error says the
    server did not start TLS and points at starttls, not at tls_ca_file (issue 16)."""
    port = dovecot.ports.imap if protocol == "imap" else dovecot.ports.pop3
    err = connect_error(account_config(protocol, port, mail_user, security="tls",
                                       ca_file=dovecot.ca_file))
    assert type(err) is TLSError and "did not start TLS" in err.message, err.message
    assert "starttls" in (err.hint or "") and "tls_ca_file" not in (err.hint or "")

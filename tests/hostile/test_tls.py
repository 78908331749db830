"""TLS, end to end through `mailcli`: an untrusted certificate is refused; a man in the
middle that strips STARTTLS/STLS from the capabilities makes mailcli refuse rather than
log in in plaintext (the proxy records every byte the client sent: no LOGIN, USER, PASS,
AUTH and no password crossed it); `security = "none"` to a host that is not loopback is
a config error (exit 2) before any connection is made.
"""
from __future__ import annotations

import pytest

from tests.hostile.conftest import Box, assert_clean_failure
from tests.fakes.proxy import FaultProxy
from tests.servers.dovecot import PASSWORD
from tests.servers.smtp import SMTP_PASSWORD, SmtpServer

pytestmark = pytest.mark.dovecot

CREDENTIAL_VERBS = (b"LOGIN", b"AUTHENTICATE", b"USER ", b"PASS ", b"APOP", b"AUTH ")


@pytest.mark.parametrize("protocol,security", [("imap", "tls"), ("imap", "starttls"),
                                               ("pop3", "tls"), ("pop3", "starttls")])
def test_untrusted_certificate_is_refused(box: Box, protocol: str, security: str) -> None:
    box.protocol = protocol
    with FaultProxy(box.default_port(security)) as proxy:
        box.write(port=proxy.port, security=security, ca=False)   # no tls_ca_file: untrusted
        r = box.mailcli("fetch")
    err = assert_clean_failure(r, (1,))
    assert "not trusted" in err and "certificate" in err, err
    assert PASSWORD.encode() not in proxy.client_bytes
    if security == "starttls":       # what went out before TLS is visible: no credentials
        assert not any(v in proxy.client_bytes.upper() for v in CREDENTIAL_VERBS)


def test_untrusted_smtp_certificate_is_refused(box: Box, smtp_server: SmtpServer) -> None:
    with FaultProxy(smtp_server.port) as proxy:
        box.write(ca=False, smtp=f'[accounts.acct.smtp]\nhost = "127.0.0.1"\nport = {proxy.port}\n'
                       f'security = "starttls"\nusername = "sender"\npassword_env = "SMTP_PW"\n')
        before = len(smtp_server.messages)
        r = box.mailcli("compose", "--to", "r@example.test", "--subject", "tls?", "--body-file", "-",
                        input=b"x\n", env={"SMTP_PW": SMTP_PASSWORD})
    err = assert_clean_failure(r, (1,))
    assert "certificate" in err and "not trusted" in err, err
    assert len(smtp_server.messages) == before
    assert b"AUTH" not in proxy.client_bytes and SMTP_PASSWORD.encode() not in proxy.client_bytes


@pytest.mark.parametrize("protocol,strip", [
    ("imap", {b" STARTTLS": b""}),
    ("pop3", {b"STLS\r\n": b""}),
])
def test_stripped_starttls_is_refused_and_nothing_crosses_in_plaintext(
        box: Box, protocol: str, strip: dict[bytes, bytes]) -> None:
    box.protocol = protocol
    with FaultProxy(box.default_port("starttls"), replace=strip) as proxy:
        box.write(port=proxy.port, security="starttls")
        r = box.mailcli("fetch")
        sent = bytes(proxy.client_bytes)
    err = assert_clean_failure(r, (1,))
    assert ("STARTTLS" in err or "STLS" in err) and "plaintext" in err, err
    assert "does not offer" in err, err     # it read the stripped capabilities
    # IMAP: the greeting names them, so the client refuses before sending a byte
    assert sent or protocol == "imap", "the POP3 client did talk to the proxy (CAPA)"
    assert not any(v in sent.upper() for v in CREDENTIAL_VERBS), sent
    assert PASSWORD.encode() not in sent and box.user.encode() not in sent
    assert not list(box.maildir().glob("*/*")), "nothing may be fetched"


def test_stripped_smtp_starttls_is_refused(box: Box, smtp_server: SmtpServer) -> None:
    with FaultProxy(smtp_server.port, replace={b"250-STARTTLS\r\n": b""}) as proxy:
        box.write(smtp=f'[accounts.acct.smtp]\nhost = "127.0.0.1"\nport = {proxy.port}\n'
                       f'security = "starttls"\ntls_ca_file = "{smtp_server.ca_file}"\n'
                       f'username = "sender"\npassword_env = "SMTP_PW"\n')
        before = len(smtp_server.messages)
        r = box.mailcli("compose", "--to", "r@example.test", "--subject", "mitm", "--body-file", "-",
                        input=b"secret plans\n", env={"SMTP_PW": SMTP_PASSWORD})
        sent = bytes(proxy.client_bytes)
    err = assert_clean_failure(r, (1,))
    assert "STARTTLS" in err, err
    assert b"AUTH" not in sent and b"secret plans" not in sent and b"DATA" not in sent
    assert len(smtp_server.messages) == before


@pytest.mark.parametrize("host", ["mail.example.org", "127.0.0.1.nip.io", "localhost.evil.example",
                                  "10.0.0.1"])
@pytest.mark.parametrize("section", ["account", "smtp"])
def test_security_none_to_a_remote_host_is_refused_by_config(box: Box, host: str, section: str) -> None:
    if section == "account":
        box.write(security="none", host=host, port=143)
    else:
        box.write(smtp=f'[accounts.acct.smtp]\nhost = "{host}"\nport = 25\nsecurity = "none"\n')
    for cmd in (["fetch"], ["compose", "--to", "r@example.test", "--subject", "s", "--body-file", "-"]):
        r = box.mailcli(*cmd, input=b"x\n", timeout=20)
        assert r.exit_code == 2, (cmd, r.stderr)
        assert "security" in r.stderr and "clear text" in r.stderr and "Traceback" not in r.stderr
        assert r.stderr.startswith("mailcli: error:")

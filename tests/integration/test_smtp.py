"""The SMTP transport against a real aiosmtpd with STARTTLS and AUTH."""
from __future__ import annotations

import pytest

from mailcli.config.schema import Secret, SmtpConfig
from mailcli.errors import AuthError, TemporaryError, TLSError
from mailcli.send.smtp import RecipientsRefused, send_message
from tests.fakes.accounts import creds
from tests.servers.dovecot import free_port
from tests.servers.smtp import SMTP_PASSWORD, SMTP_USER

pytestmark = pytest.mark.smtp

RAW = "From: a@example.test\r\nTo: b@example.test\r\nSubject: Grüße\r\n\r\nbody é\r\n".encode()


def cfg(server, **kw) -> SmtpConfig:
    base = dict(host="127.0.0.1", port=server.port, security="starttls", username=SMTP_USER,
                secret=Secret(), tls_ca_file=server.ca_file, timeout=10)
    base.update(kw)
    return SmtpConfig(**base)


def test_send_over_starttls_with_auth(smtp_server) -> None:
    n = len(smtp_server.messages)
    refused = send_message(cfg(smtp_server), creds(SMTP_PASSWORD), RAW, "a@example.test", ["b@example.test"])
    assert refused == {}
    got = smtp_server.messages[n]
    assert got.rcpt_tos == ["b@example.test"] and got.data.replace(b"\r\n", b"\n") == RAW.replace(b"\r\n", b"\n")


def test_wrong_password(smtp_server) -> None:
    with pytest.raises(AuthError) as ei:
        send_message(cfg(smtp_server), creds("wrong-smtp-password"), RAW, "a@example.test", ["b@example.test"])
    assert ei.value.exit_code == 3


def test_untrusted_certificate(smtp_server) -> None:
    with pytest.raises(TLSError, match="127.0.0.1"):
        send_message(cfg(smtp_server, tls_ca_file=None), creds(SMTP_PASSWORD), RAW, "a@x", ["b@x"])


def test_refused_recipients_named(smtp_server) -> None:
    smtp_server.recorder.reject.add("bad@example.test")
    try:
        refused = send_message(cfg(smtp_server), creds(SMTP_PASSWORD), RAW, "a@example.test",
                               ["b@example.test", "bad@example.test"])
        assert list(refused) == ["bad@example.test"] and refused["bad@example.test"][0] == 550
        with pytest.raises(RecipientsRefused, match="bad@example.test"):
            send_message(cfg(smtp_server), creds(SMTP_PASSWORD), RAW, "a@example.test", ["bad@example.test"])
    finally:
        smtp_server.recorder.reject.clear()


def test_unreachable_is_temporary() -> None:
    c = SmtpConfig(host="127.0.0.1", port=free_port(), security="starttls", username="u",
                   secret=Secret(), timeout=5)
    with pytest.raises(TemporaryError) as ei:
        send_message(c, creds("pw"), RAW, "a@x", ["b@x"])
    assert ei.value.exit_code == 75


def test_no_starttls_offered_is_refused_not_plaintext() -> None:
    from aiosmtpd.controller import Controller

    from tests.servers.smtp import Recorder

    rec = Recorder()
    port = free_port()
    ctl = Controller(rec, hostname="127.0.0.1", port=port)  # no TLS at all
    ctl.start()
    try:
        c = SmtpConfig(host="127.0.0.1", port=port, security="starttls", username="u",
                       secret=Secret(), timeout=5)
        with pytest.raises(TLSError, match="does not offer STARTTLS"):
            send_message(c, creds("pw"), RAW, "a@x", ["b@x"])
        assert rec.messages == []
    finally:
        ctl.stop()


def test_unreadable_tls_ca_file_is_the_same_one_line_error_as_imap(smtp_server, tmp_path) -> None:  # noqa: ANN001
    from mailcli.accounts.registry import open_account
    from mailcli.errors import ConfigError
    from tests.fakes.accounts import account_config

    bad = tmp_path / "ca.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError) as imap:
        with open_account(account_config("imap", free_port(), "u", ca_file=bad), creds("pw")):
            pass
    n = len(smtp_server.messages)
    with pytest.raises(ConfigError) as smtp:
        send_message(cfg(smtp_server, tls_ca_file=bad), creds(SMTP_PASSWORD), RAW, "a@x", ["b@x"])
    assert type(smtp.value) is type(imap.value) and smtp.value.exit_code == 2
    assert (smtp.value.message, smtp.value.hint) == (imap.value.message, imap.value.hint)
    assert "\n" not in smtp.value.message and str(bad) in smtp.value.message
    assert len(smtp_server.messages) == n


def test_tls_below_1_2_is_refused(smtp_server) -> None:  # noqa: ANN001
    """STARTTLS to a server that speaks only TLS 1.1 (aiosmtpd's implicit-TLS mode could
    not be made to serve TLS 1.1 here, so port-465 TLS shares the context untested)."""
    import smtplib
    import ssl
    import warnings

    from aiosmtpd.controller import Controller

    from tests.servers.smtp import Recorder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # TLSVersion.TLSv1_1 itself
        old = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        old.load_cert_chain(str(smtp_server.ca_file), str(smtp_server._key))
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        permissive = ssl.create_default_context(cafile=str(smtp_server.ca_file))
        permissive.set_ciphers("DEFAULT:@SECLEVEL=0")
        permissive.minimum_version = ssl.TLSVersion.TLSv1_1
    rec, port = Recorder(), free_port()
    ctl = Controller(rec, hostname="127.0.0.1", port=port, server_hostname="localhost",
                     tls_context=old, require_starttls=True)
    ctl.start()
    try:
        # the server really speaks TLS 1.1: a client that allows it gets through
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as probe:
            probe.starttls(context=permissive)
            assert probe.sock.version() == "TLSv1.1"
        c = cfg(smtp_server, port=port)
        with pytest.raises(TLSError) as ei:
            send_message(c, creds("pw-never-sent"), RAW, "a@x", ["b@x"])
        assert "127.0.0.1" in ei.value.message and "\n" not in ei.value.message
        assert rec.messages == []
    finally:
        ctl.stop()

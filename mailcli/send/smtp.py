"""SMTP transport over smtplib: implicit TLS (465) or strict STARTTLS (587), AUTH with
the account's credentials, and errors that say which recipients were refused and why.

TLS is the protocol layer's (accounts/tls.py): the same verified context as IMAP and POP3
(TLS 1.2 or newer, the system store plus tls_ca_file) and the same one-line errors for
an untrusted certificate or an unreadable tls_ca_file.

A STARTTLS the server does not offer, or that fails, is a TLSError: never a plaintext
fallback. Connection problems are TemporaryError (the message stays in the outbox),
except once the whole message (up to the final ".") has gone out: a connection lost
while waiting for the server's answer then is SendUncertain (the server may well have
accepted it; retrying would deliver it twice).
"""
from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Sequence

from mailcli.accounts import sasl
from mailcli.accounts.tls import make_ssl_context, tls_error
from mailcli.config.credentials import Credentials, as_credentials
from mailcli.config.schema import SmtpConfig
from mailcli.errors import AuthError, SendError, TemporaryError, TLSError

logger = logging.getLogger(__name__)


class SendUncertain(SendError):
    """The message was transmitted completely but the server's verdict never arrived
    (connection lost or timed out after the final "."): it may have been delivered."""


class RecipientsRefused(SendError):
    """Some or all recipients were refused; `refused` maps address -> (code, text)."""

    def __init__(self, refused: dict[str, tuple[int, str]], all_refused: bool) -> None:
        parts = [f"{addr} ({code} {text})" for addr, (code, text) in refused.items()]
        what = "all recipients refused" if all_refused else "some recipients refused"
        super().__init__(f"{what}: " + "; ".join(parts))
        self.refused = refused
        self.all_refused = all_refused


def send_message(config: SmtpConfig, credentials: Credentials | str, raw: bytes, mail_from: str,
                 rcpt_to: Sequence[str], account: str = "") -> dict[str, tuple[int, str]]:
    """Send `raw` (bytes exactly as to be delivered) to `rcpt_to`. The password (or an
    OAuth2 token) is asked of `credentials` only when the server wants AUTH.

    Returns the recipients refused when at least one was accepted (a partial send is a
    send: the caller reports the refused ones). Raises RecipientsRefused when none was
    accepted, AuthError, TLSError, TemporaryError, ConfigError (an unreadable
    tls_ca_file), CredentialError, or SendError.
    """
    host = config.host
    ctx = make_ssl_context(config.tls_ca_file) if config.security != "none" else None
    creds = as_credentials(credentials, config.username)
    transmitted: list[bool] = []       # set once the final "." of DATA went out
    try:
        if config.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, config.port, timeout=config.timeout,
                                                  context=ctx)
        else:
            smtp = smtplib.SMTP(host, config.port, timeout=config.timeout)
        with smtp:
            smtp.ehlo()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TLSError(f"{host}: the SMTP server does not offer STARTTLS",
                                   'refusing to send in clear text; check the port or use security = "tls"')
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if creds.kind == "oauth2":
                _login_oauth2(smtp, creds, config, account)
            elif smtp.has_extn("auth"):
                smtp.login(config.username, creds.secret())
            _track_end_of_data(smtp, transmitted)
            refused = smtp.sendmail(mail_from, list(rcpt_to), raw)
            return {k: (v[0], _text(v[1])) for k, v in refused.items()}
    except smtplib.SMTPRecipientsRefused as exc:
        raise RecipientsRefused({k: (v[0], _text(v[1])) for k, v in exc.recipients.items()},
                                True) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"{host}: SMTP login refused for {config.username}: "
                        f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPSenderRefused as exc:
        raise SendError(f"{host}: sender {mail_from} refused: {exc.smtp_code} "
                        f"{_text(exc.smtp_error)}") from exc
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise tls_error(exc, host, config.port) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"{host}: {exc}") from exc
    except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
            ConnectionError, socket.gaierror, OSError) as exc:
        if transmitted:
            raise SendUncertain(f"{host}:{config.port}: the connection was lost after the whole "
                                f"message was sent, before the server confirmed it: "
                                f"{getattr(exc, 'strerror', None) or exc}") from exc
        raise TemporaryError(f"{host}:{config.port}: cannot reach the SMTP server: "
                             f"{getattr(exc, 'strerror', None) or exc}") from exc
    except smtplib.SMTPResponseException as exc:
        err = _text(exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            raise TemporaryError(f"{host}: {exc.smtp_code} {err}") from exc
        raise SendError(f"{host}: {exc.smtp_code} {err}") from exc


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _login_oauth2(smtp: smtplib.SMTP, creds: Credentials, config: SmtpConfig, account: str) -> None:
    """AUTH OAUTHBEARER/XOAUTH2 with the initial response (RFC 4954 allows it always);
    a 334 after it is the server's error report, answered so that it ends with 535."""
    offered = (smtp.esmtp_features.get("auth") or "").split()

    def send(mech: str, response: bytes) -> None:
        respond = sasl.challenge_responder(mech, response)
        try:
            smtp.auth(mech, lambda challenge=None: respond(challenge or b"").decode("utf-8"),
                      initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as exc:
            err = _text(exc.smtp_error)
            raise sasl.SaslRefused(f"{exc.smtp_code} {' '.join(err.split())[:200]}") from None

    sasl.login(creds, offered, config.host, config.port, send, account or config.username)


def _track_end_of_data(smtp: smtplib.SMTP, transmitted: list[bool]) -> None:
    """Record in `transmitted` when smtplib sends the end of DATA (it sends the quoted
    message and the final ".\\r\\n" in one `send` call, then waits for the reply)."""
    send = smtp.send

    def tracking_send(data: bytes | str) -> None:
        send(data)
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):
            transmitted.append(True)

    smtp.send = tracking_send  # type: ignore[method-assign, assignment]

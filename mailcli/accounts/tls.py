"""Connection security and connection failures for the protocol layer.

Owns: the verified SSLContext every IMAP, POP3 and SMTP connection uses (system trust
store plus the account's `tls_ca_file`, TLS 1.2 or newer), and the translation of
socket/ssl/DNS/timeout failures into mailcli.errors (TLSError naming the host with a
`tls_ca_file` hint, TemporaryError for anything worth retrying). The three protocols
share these so their errors read the same.
"""
from __future__ import annotations

import socket
import ssl
from pathlib import Path

from mailcli.errors import ConfigError, MailcliError, TemporaryError, TLSError

CA_HINT = ("if the server uses a private CA or a self-signed certificate, set tls_ca_file "
           "= \"/path/to/ca.pem\" for this account")


def make_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the certificate and the host name.

    Trusts the system store and, in addition, `ca_file` when given. TLS 1.2 or newer.
    Raises ConfigError when the CA file cannot be read.
    """
    ctx = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load tls_ca_file {str(ca_file)!r}: {_first_line(exc)}",
                              hint="point tls_ca_file at a PEM file with the CA certificate") from exc
    return ctx


def tls_error(exc: BaseException, host: str, port: int) -> TLSError:
    """A TLSError for a failed handshake or certificate check on host:port."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or exc.reason or "verification failed"
        return TLSError(f"certificate of {host}:{port} is not trusted: {why}", hint=CA_HINT)
    if getattr(exc, "reason", None) in _PLAINTEXT_REPLIES:
        # implicit TLS met a server speaking plaintext ("* OK", "+OK", "220 ..."): no
        # certificate was ever seen, so the CA hint would send the user the wrong way
        return TLSError(f"{host}:{port} did not start TLS: it answers in plaintext",
                        hint='this is a plaintext port: use security = "starttls" there, or '
                             'the TLS port (imap 993, pop3 995, smtp 465)')
    return TLSError(f"TLS with {host}:{port} failed: {_first_line(exc)}", hint=CA_HINT)


# OpenSSL's reasons when the first bytes back are not a TLS record
_PLAINTEXT_REPLIES = frozenset({"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST",
                                "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def connection_error(exc: BaseException, host: str, port: int, what: str = "server") -> MailcliError:
    """Translate a socket-level failure into TLSError or TemporaryError (one line)."""
    if isinstance(exc, MailcliError):
        return exc
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        # the peer (or the network) dropped the connection inside TLS, e.g. mid-handshake:
        # a lost connection like any other, not a certificate problem
        return TemporaryError(f"{host}:{port} closed the connection during TLS",
                              hint="retry later")
    if isinstance(exc, ssl.SSLError) or isinstance(exc, ssl.CertificateError):
        return tls_error(exc, host, port)
    if isinstance(exc, socket.gaierror):
        return TemporaryError(f"cannot resolve host {host!r}: {exc.strerror or exc}",
                              hint="check the host name and your network connection")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TemporaryError(f"{what} {host}:{port} timed out",
                              hint="the server is slow or unreachable; raise `timeout` for this account or retry later")
    if isinstance(exc, ConnectionRefusedError):
        return TemporaryError(f"connection to {host}:{port} refused",
                              hint="check host, port and security; retry later if the server is down")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return TemporaryError(f"connection to {host}:{port} was reset", hint="retry later")
    if isinstance(exc, EOFError):
        return TemporaryError(f"{host}:{port} closed the connection", hint="retry later")
    if isinstance(exc, OSError):
        return TemporaryError(f"network error talking to {host}:{port}: {exc.strerror or _first_line(exc)}",
                              hint="retry later")
    return TemporaryError(f"connection to {host}:{port} failed: {_first_line(exc)}")


def is_network_error(exc: BaseException) -> bool:
    """Whether `exc` is a socket/ssl/timeout failure that connection_error() translates."""
    return isinstance(exc, (OSError, EOFError, ssl.SSLError, ssl.CertificateError))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

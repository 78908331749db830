"""A real SMTP server for tests: aiosmtpd on a free loopback port, with STARTTLS
(required before AUTH) and AUTH PLAIN/LOGIN, recording every message it accepts."""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.dovecot import free_port

SMTP_USER = "sender"
SMTP_PASSWORD = "smtp-Pa55word"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Recorder:
    messages: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted"


def _auth(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
            and auth_data.password.decode() == SMTP_PASSWORD:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


class SmtpServer:
    def __init__(self, cert: Path, key: Path) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.ca_file = cert
        self._key = key
        self.controller = self._controller()
        self.running = False

    def _controller(self) -> Controller:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.ca_file), str(self._key))
        return Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, tls_context=ctx,
            require_starttls=True, authenticator=_auth, auth_required=True,
            auth_require_tls=True, decode_data=False, server_hostname="localhost",
        )

    def start(self) -> None:
        """Start (again: aiosmtpd's Controller cannot restart, so a stopped server gets a
        fresh one on the same port, keeping the recorded messages)."""
        if self.controller.loop.is_closed():
            self.controller = self._controller()
        self.controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

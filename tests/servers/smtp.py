"""A real SMTP server for tests: aiosmtpd on a free loopback port, with STARTTLS
(required before AUTH) and AUTH PLAIN/LOGIN, recording every message it accepts.
Given an `introspect` function (token -> username or None, e.g. the OAuth2 test
server's), it also offers AUTH XOAUTH2 and OAUTHBEARER and checks tokens with it."""
from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable
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


class FilingRecorder(Recorder):
    """A Recorder that also files each accepted message into the sender's Sent folder,
    as Gmail and Microsoft 365 do: `file(raw)` is called with the message as the server
    keeps it (a trace header on top, so a test can tell the server's copy from an APPENDed
    one), at once before the reply, or `delay` seconds later from a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.file: Callable[[bytes], None] | None = None
        self.delay = 0.0
        self.timers: list[threading.Timer] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        reply = await super().handle_DATA(server, session, envelope)
        if self.file is not None:
            kept = b"X-Filed-By: smtp-fixture\r\n" + self.messages[-1].data
            if self.delay > 0:
                timer = threading.Timer(self.delay, self.file, (kept,))
                self.timers.append(timer)
                timer.start()
            else:
                self.file(kept)
        return reply

    def join(self) -> None:
        for timer in self.timers:
            timer.join()


def _auth(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == SMTP_USER \
            and auth_data.password.decode() == SMTP_PASSWORD:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


class OAuth2Recorder(Recorder):
    """A Recorder that also offers SASL XOAUTH2 and OAUTHBEARER (aiosmtpd adds a handler's
    auth_* methods to EHLO AUTH), answering a bad token the way Gmail does: a 334 with a
    JSON error, then 535 after the client's empty line."""

    def __init__(self, introspect: Callable[[str], str | None]) -> None:
        super().__init__()
        self.introspect = introspect
        self.mechanisms: list[str] = []
        self.initial_responses: list[bool] = []

    async def _oauth(self, server, args, mechanism: str) -> AuthResult:
        self.mechanisms.append(mechanism)
        self.initial_responses.append(len(args) > 1)
        if len(args) > 1:
            blob = base64.b64decode(args[1])
        else:
            got = await server.challenge_auth("")
            if not isinstance(got, bytes):
                return AuthResult(success=False, handled=True)
            blob = got
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user = fields.get("user")
        if mechanism == "OAUTHBEARER":
            gs2 = blob.decode().split("\x01", 1)[0]         # n,a=user,
            user = next((p[2:] for p in gs2.split(",") if p.startswith("a=")), None)
        token = fields.get("auth", "").removeprefix("Bearer ")
        if user and self.introspect(token) == user:
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, message="535 5.7.8 Username and token not accepted")

    async def auth_XOAUTH2(self, server, args):  # noqa: N802
        return await self._oauth(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):  # noqa: N802
        return await self._oauth(server, args, "OAUTHBEARER")


class SmtpServer:
    def __init__(self, cert: Path, key: Path,
                 introspect: Callable[[str], str | None] | None = None,
                 exclude: tuple[str, ...] = (), recorder: Recorder | None = None) -> None:
        self.recorder = recorder or (OAuth2Recorder(introspect) if introspect else Recorder())
        self._exclude = list(exclude)
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
            auth_exclude_mechanism=self._exclude,
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

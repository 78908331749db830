r"""ScriptedServer: a socket fake that follows an expect/send script (IMAP or POP3).

Each step is ("send", text) or ("expect", regex). A send may use names captured by the
previous expect, e.g. ("expect", r"(?P<tag>\S+) STARTTLS"), ("send", "{tag} NO no TLS\r\n").
A mismatch is recorded in `errors` and closes the connection."""
from __future__ import annotations

import re
import socket

from tests.fakes.base import LoopbackServer


class ScriptMismatch(AssertionError):
    pass


class ScriptedServer(LoopbackServer):
    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = script
        self.received: list[str] = []
        super().__init__(self._serve)

    def _serve(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        names: dict[str, str] = {}
        for kind, text in self.script:
            if kind == "send":
                conn.sendall(text.format(**names).encode())
            elif kind == "expect":
                line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
                self.received.append(line)
                m = re.fullmatch(text, line)
                if m is None:
                    raise ScriptMismatch(f"expected {text!r}, got {line!r}")
                names = m.groupdict()
            elif kind == "close":
                return
            else:
                raise ValueError(kind)

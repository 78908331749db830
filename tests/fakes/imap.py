r"""FakeImapServer: a minimal IMAP4rev1 server (one folder, INBOX) whose replies a test can
replace, for what Dovecot will not do on demand: announce a 3 GB literal, LIST for ever,
answer one byte at a time.

Each command is answered from `replies`, keyed by the command name ("LIST", "UID FETCH",
...), else by the defaults below; a reply is a str (formatted with {tag} and {args}) or a
callable(conn, tag, args) that writes what it likes and returns False to hang up.
`received` records every command line (LOGIN redacted)."""
from __future__ import annotations

import re
import socket
from collections.abc import Callable

from tests.fakes.base import LoopbackServer

Reply = str | Callable[[socket.socket, str, str], object]

MESSAGE = (b"From: a@example.test\r\nTo: b@example.test\r\nSubject: small\r\n"
           b"Message-ID: <small@example.test>\r\n\r\nhello\r\n")


def _body_fetch(conn: socket.socket, tag: str, args: str) -> None:
    conn.sendall(b"* 1 FETCH (UID 1 FLAGS () BODY[] {%d}\r\n" % len(MESSAGE) + MESSAGE + b")\r\n"
                 + tag.encode() + b" OK fetch done\r\n")


DEFAULTS: dict[str, Reply] = {
    "CAPABILITY": "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n",
    "LOGIN": "{tag} OK logged in\r\n",
    "LIST": '* LIST () "/" INBOX\r\n{tag} OK done\r\n',
    "STATUS": "* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7 UNSEEN 1)\r\n{tag} OK done\r\n",
    "SELECT": ("* 1 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 7] ok\r\n"
               "* OK [UIDNEXT 2] ok\r\n{tag} OK [READ-WRITE] selected\r\n"),
    "UID SEARCH": "* SEARCH 1\r\n{tag} OK done\r\n",
    "UID FETCH FLAGS": "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 100)\r\n{tag} OK done\r\n",
    "UID FETCH BODY": _body_fetch,
    "LOGOUT": "* BYE bye\r\n{tag} OK done\r\n",
}
_LINE = re.compile(r"(?P<tag>\S+) (?P<name>(?:UID )?\S+) ?(?P<args>.*)", re.I)


class FakeImapServer(LoopbackServer):
    def __init__(self, replies: dict[str, Reply] | None = None,
                 greeting: str = "* OK fake IMAP ready\r\n") -> None:
        self.replies = {**DEFAULTS, **(replies or {})}
        self.greeting = greeting
        self.received: list[str] = []
        super().__init__(self._serve)

    def _reply_for(self, name: str, args: str) -> Reply:
        if name == "UID FETCH":
            key = "UID FETCH BODY" if "BODY.PEEK[]" in args.upper() else "UID FETCH FLAGS"
            return self.replies.get(key, self.replies.get(name, "{tag} OK done\r\n"))
        if name == "EXAMINE":
            name = "SELECT"
        return self.replies.get(name, "{tag} OK done\r\n")

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(None)
        f = conn.makefile("rb")
        conn.sendall(self.greeting.encode())
        while True:
            line = f.readline().decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return
            m = _LINE.fullmatch(line)
            if m is None:
                conn.sendall(b"* BAD what\r\n")
                continue
            tag, name, args = m["tag"], m["name"].upper(), m["args"]
            self.received.append(f"{tag} LOGIN ***" if name == "LOGIN" else line)
            reply = self._reply_for(name, args)
            if callable(reply):
                if reply(conn, tag, args) is False:
                    return
            else:
                conn.sendall(reply.format(tag=tag, args=args).encode())
            if name == "LOGOUT":
                return

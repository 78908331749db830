"""FakePop3Server: a small stateful POP3 server for what Dovecot will not do on demand.

Knobs: no CAPA (-ERR), no UIDL, no TOP, no PIPELINING, no USER (APOP only), -ERR for
RETR of chosen messages, bare-LF line endings, a connection cut after a given RETR.
Lying servers: `uidls` (the UIDL of each message, e.g. one listed twice, with spaces or
300 characters long), `sizes` (what LIST announces instead of the real size), `endless`
(a RETR that never sends its final "."; `endless_top` the same for TOP), `trickle` (RETR replies sent one byte per
`trickle` seconds), `long_status` (a RETR whose +OK line is 3,000 bytes). Knobs name messages by their 1-based position in `messages`.
Messages are given as raw bytes (CRLF lines); the server dot-stuffs them on the wire.
A confirmed QUIT removes the marked messages for later sessions (`held()` is what the
server still holds). `commands` records every command line received (PASS redacted) and
`deleted` the session message numbers removed at a confirmed QUIT."""
from __future__ import annotations

import hashlib
import socket
import time

from tests.fakes.base import LoopbackServer

PASSWORD = "fake-pa55"
TIMESTAMP = "<1896.697170952@fake.test>"


class FakePop3Server(LoopbackServer):
    def __init__(self, messages: list[bytes], *, capa: bool = True, uidl: bool = True, top: bool = True,
                 pipelining: bool = True, user_cmd: bool = True, retr_error: set[int] | None = None,
                 bare_lf: bool = False, cut_on_retr: int | None = None, password: str = PASSWORD,
                 uidls: list[str] | None = None, sizes: dict[int, int] | None = None,
                 endless: set[int] | None = None, endless_top: set[int] | None = None,
                 trickle: float | None = None, pass_error: str | None = None,
                 long_status: set[int] | None = None) -> None:
        self.messages = list(messages)
        self.drop = list(range(1, len(self.messages) + 1))   # positions still held
        self.uidls = uidls or [f"uid-{n}" for n in self.drop]
        self.sizes = sizes or {}
        self.endless = endless or set()
        self.endless_top = endless_top or set()
        self.trickle = trickle
        self.capa, self.uidl, self.top, self.pipelining = capa, uidl, top, pipelining
        self.user_cmd = user_cmd
        self.retr_error = retr_error or set()
        self.long_status = long_status or set()   # RETR answered "+OK <3,000 x>" (past poplib's 2,048)
        self.eol = b"\n" if bare_lf else b"\r\n"
        self.cut_on_retr = cut_on_retr
        self.password = password
        self.pass_error = pass_error      # e.g. "[IN-USE] mailbox locked": every PASS refused so
        self.commands: list[str] = []
        self.deleted: set[int] = set()
        super().__init__(self._serve)

    def held(self) -> list[bytes]:
        """The messages the server still holds (after every confirmed QUIT)."""
        return [self.messages[k - 1] for k in self.drop]

    def _serve(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        eol = self.eol
        out = conn.sendall

        def ok(text: str = "") -> None:
            out(b"+OK " + text.encode() + eol)

        def err(text: str) -> None:
            out(b"-ERR " + text.encode() + eol)

        def multi(body: bytes) -> None:
            lines = body.split(b"\r\n")
            if lines and lines[-1] == b"":
                lines.pop()
            wire = b"".join((b"." + ln if ln.startswith(b".") else ln) + eol for ln in lines)
            out(wire + b"." + eol)

        ok("fake POP3 ready " + TIMESTAMP)
        user = None
        authed = False
        marked: set[int] = set()
        session = list(self.drop)          # session number n -> position session[n - 1]
        msg = lambda n: self.messages[session[n - 1] - 1]  # noqa: E731
        uidl_of = lambda n: self.uidls[session[n - 1] - 1]  # noqa: E731
        size_of = lambda n: self.sizes.get(session[n - 1], len(msg(n)))  # noqa: E731
        while True:
            raw = f.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            self.commands.append("PASS ********" if verb == "PASS" else line)
            live = [n for n in range(1, len(session) + 1) if n not in marked]

            def number() -> int | None:
                try:
                    n = int(arg.split()[0])
                except (ValueError, IndexError):
                    return None
                return n if n in live else None

            if verb == "CAPA":
                if not self.capa:
                    err("unknown command")
                    continue
                caps = [b"CAPA"] + ([b"USER"] if self.user_cmd else []) + ([b"UIDL"] if self.uidl else []) \
                    + ([b"TOP"] if self.top else []) + ([b"PIPELINING"] if self.pipelining else [])
                out(b"+OK" + eol + b"".join(c + eol for c in caps) + b"." + eol)
            elif verb == "USER" and self.user_cmd:
                user = arg
                ok()
            elif verb == "PASS" and user is not None:
                if self.pass_error:
                    err(self.pass_error)
                elif arg == self.password:
                    authed = True
                    ok("logged in")
                else:
                    err("[AUTH] invalid password")
            elif verb == "APOP":
                name, _, digest = arg.partition(" ")
                want = hashlib.md5((TIMESTAMP + self.password).encode()).hexdigest()
                if digest == want:
                    authed = True
                    ok("logged in")
                else:
                    err("[AUTH] bad digest")
            elif verb == "QUIT":
                if authed:
                    self.deleted |= marked
                    gone = {session[n - 1] for n in marked}
                    self.drop = [k for k in self.drop if k not in gone]
                ok("bye")
                return
            elif not authed:
                err("not authenticated")
            elif verb == "STAT":
                ok(f"{len(live)} {sum(size_of(n) for n in live)}")
            elif verb == "LIST":
                out(b"+OK" + eol + b"".join(f"{n} {size_of(n)}".encode() + eol for n in live)
                    + b"." + eol)
            elif verb == "UIDL" and self.uidl:
                if arg:
                    n = number()
                    ok(f"{n} {uidl_of(n)}") if n else err("no such message")
                else:
                    out(b"+OK" + eol + b"".join(f"{n} {uidl_of(n)}".encode() + eol for n in live)
                        + b"." + eol)
            elif verb == "TOP" and self.top:
                n = number()
                if n is None:
                    err("no such message")
                    continue
                raw_msg = msg(n)
                end = raw_msg.find(b"\r\n\r\n")
                ok()
                if session[n - 1] in self.endless_top:
                    while True:
                        out(b"X-Endless: " + b"x" * 988 + eol)
                multi(raw_msg if end < 0 else raw_msg[:end + 4])
            elif verb == "RETR":
                n = number()
                k = session[n - 1] if n is not None else None
                if k is None or k in self.retr_error:
                    err(f"message {arg} is unavailable")
                    continue
                if k in self.long_status:
                    out(b"+OK " + b"x" * 3000 + eol)
                    multi(msg(n))
                    continue
                if k == self.cut_on_retr:
                    out(b"+OK" + eol + msg(n)[:10])
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                if k in self.endless:        # no final ".": lines for ever
                    out(b"+OK" + eol)
                    while True:
                        out(b"X" * 998 + eol)
                if self.trickle is not None:
                    for byte in b"+OK" + eol + msg(n):
                        out(bytes([byte]))
                        time.sleep(self.trickle)
                    out(b"." + eol)
                    continue
                ok(f"{len(msg(n))} octets")
                multi(msg(n))
            elif verb == "DELE":
                n = number()
                if n is None:
                    err("no such message")
                else:
                    marked.add(n)
                    ok("marked")
            elif verb == "RSET":
                marked.clear()
                ok()
            elif verb == "NOOP":
                ok()
            else:
                err("unknown command")

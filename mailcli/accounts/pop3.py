"""Pop3Account: the Account interface over poplib (RFC 1939, 2449, 2595).

Owns: POP3_SSL and strict STLS (no plaintext fallback), CAPA, USER/PASS (APOP when the
server offers no USER but its greeting carries a timestamp), STAT, UIDL + LIST,
pipelined RETR (when CAPA says PIPELINING) streamed one message at a time, TOP for
headers, DELE, and QUIT — translating poplib/socket/ssl failures into mailcli.errors.
Pipelining and the multi-line reader are the Pop3Pipeline mixin (accounts/pop3_pipeline.py).

Deletion semantics (decided here, relied on by sync/): DELE only marks; nothing is
removed until `pop_commit()` sends QUIT and the server confirms. `close()` is the polite
way out WITHOUT committing: if DELEs are pending it sends RSET before QUIT, so an
exception between pop_delete() and pop_commit() deletes nothing; a dropped connection
deletes nothing either (RFC 1939: no UPDATE state without QUIT).

Stable keys without UIDL: when the server has no UIDL, each message's key is
"sha1:" + sha1(Message-ID, Date and the message size) computed from `TOP n 0` (or from
RETR when TOP is missing too). It is stable across sessions as long as those headers
are; two identical copies of one message collapse into one key (documented limitation).

Bounded servers: every reply has a cap and a wall-clock deadline. A RETR/TOP may not
exceed twice the size announced in LIST plus 64 KiB (and never HARD_CAP): past it the
connection is dropped (nothing is deleted without QUIT) and ReplyTooLarge names the
message. Listings and CAPA have caps of their own (poplib already limits a status line to
2,048 bytes). Each reply must arrive within 2 x `timeout` plus one second per
MIN_RATE bytes expected (mailcli.accounts.deadline.Watchdog): a server trickling a
byte at a time ends the run with a TemporaryError (exit 75), not only one that stalls.
UIDLs are kept whole: everything after the message number (RFC 1939 allows any of
0x21-0x7E, so a UIDL is split from its number once, never at later spaces).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import poplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from mailcli.accounts import sasl
from mailcli.accounts.base import Capability, Maildrop, PopSink
from mailcli.accounts.deadline import Watchdog
from mailcli.accounts.pop3_pipeline import Pop3Pipeline, _is_eof, _is_overlong, _text, _TooLarge
from mailcli.accounts.pop3_reader import SocketReader
from mailcli.accounts.tls import connection_error, make_ssl_context
from mailcli.config.credentials import Credentials, as_credentials
from mailcli.config.schema import AccountConfig
from mailcli.errors import AuthError, MailcliError, ProtocolError, ReplyTooLarge, TemporaryError, TLSError
from mailcli.model import FolderInfo, FolderRole, PopEntry, Quota

logger = logging.getLogger(__name__)

_DELE_WINDOW = 1000           # DELE commands in flight (tiny replies; ~10 KB of commands)
_TIMESTAMP = re.compile(rb"<[^<>@\s]+@[^<>\s]+>")
HARD_CAP = 1 << 30            # no single reply is read past 1 GiB, whatever LIST says
SLACK = 64 * 1024             # a message may exceed twice its announced size by this much
SHORT_CAP = 1 << 20           # CAPA, a probe's TOP: 1 MiB
MIN_RATE = 16 * 1024          # bytes/second a reply's deadline allows on top of 2 x timeout
_LISTING_ROW = 512            # bytes per LIST/UIDL row allowed for in the listing cap


class _BoundedReplies:
    """poplib's connection with the socket under a Watchdog, TLS handshakes inside the
    deadline, and its own multi-line replies (only CAPA and STLS's CAPA) capped."""

    _dog: Watchdog
    sock: Any
    host: str
    _reader: SocketReader | None = None

    @property
    def file(self) -> SocketReader | None:
        """What poplib reads replies from: a SocketReader of the current socket."""
        return self._reader

    @file.setter
    def file(self, value: Any) -> None:
        # poplib assigns sock.makefile("rb") (at connect; stls() after the handshake) and
        # None (at close): read the socket with a SocketReader instead (nothing has been
        # read through that file yet; closing it leaves the socket open)
        if value is not None:
            value.close()
            value = SocketReader(self.sock)
        self._reader = value

    def _getline(self) -> tuple[bytes, int]:
        """poplib's, but a line past its 2,048 bytes also ends the stream: the rest of
        that line is still unread, so whatever a caller read next would be out of step
        (a body line taken for a status line, a message stored under another's UIDL).
        Every later read is end of file."""
        try:
            return cast(tuple[bytes, int], cast(Any, super())._getline())
        except poplib.error_proto as exc:
            if _is_overlong(exc) and self._reader is not None:
                self._reader.close()
            raise

    def _getlongresp(self) -> tuple[bytes, list[bytes], int]:
        resp = cast(Any, self)._getresp()
        lines: list[bytes] = []
        octets = 0
        line, o = cast(Any, self)._getline()
        while line != b".":
            if line.startswith(b".."):
                o -= 1
                line = line[1:]
            octets += o
            if octets > SHORT_CAP:
                raise poplib.error_proto("-ERR reply too long")
            lines.append(line)
            line, o = cast(Any, self)._getline()
        return resp, lines, octets

    def _handshake(self, sock: socket.socket, context: ssl.SSLContext) -> ssl.SSLSocket:
        tls = context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        self._dog.watch(tls)
        tls.do_handshake()
        return tls

    def stls(self, context: ssl.SSLContext | None = None) -> bytes:
        """poplib's stls (CAPA, STLS, handshake) with the handshake under the deadline."""
        me = cast(Any, self)
        if "STLS" not in me.capa():
            raise poplib.error_proto("-ERR STLS not supported by server")
        resp = me._shortcmd("STLS")
        self.sock = self._handshake(self.sock, context or ssl.create_default_context())
        self.file = self.sock.makefile("rb")
        me._tls_established = True
        return cast(bytes, resp)


class _Conn(_BoundedReplies, poplib.POP3):  # type: ignore[misc]  # `file` is a SocketReader
    def __init__(self, host: str, port: int, timeout: float, dog: Watchdog) -> None:
        self._dog = dog
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout)
        self._dog.watch(sock)
        return sock


class _ConnSSL(_BoundedReplies, poplib.POP3_SSL):  # type: ignore[misc]  # both define stls and file
    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext | None,
                 dog: Watchdog) -> None:
        self._dog = dog
        super().__init__(host, port, timeout=timeout, context=context)

    def _create_socket(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout)
        self._dog.watch(sock)
        return self._handshake(sock, cast(Any, self).context)


class Pop3Account(Pop3Pipeline, Maildrop):
    """A POP3 maildrop (see Account and Maildrop; only INBOX, driven through the pop_* methods)."""

    protocol = "pop3"

    def __init__(self, config: AccountConfig, credentials: Credentials | str) -> None:
        self.config = config
        self._creds = as_credentials(credentials, config.username)
        self._pop: poplib.POP3 | None = None
        self._caps: dict[str, list[str]] = {}
        self._dele_pending = False
        self._dog = Watchdog("pop3-deadline")
        self._count = 0
        self.capabilities = frozenset()

    # ---------- lifecycle ----------
    def connect(self) -> None:
        cfg = self.config
        self._dog.stop()
        self._dog = Watchdog("pop3-deadline")
        with self._errors("connect"):
            ctx = make_ssl_context(cfg.tls_ca_file) if cfg.security != "none" else None
            with self._deadline():
                if cfg.security == "tls":
                    self._pop = _ConnSSL(cfg.host, cfg.port, cfg.timeout, ctx, self._dog)
                else:
                    self._pop = _Conn(cfg.host, cfg.port, cfg.timeout, self._dog)
            logger.debug("< %s", self._pop.welcome.decode("utf-8", "replace"))
            self._caps = self._capa()
            if cfg.security == "starttls":
                with self._deadline():
                    self._stls(ctx)
            with self._deadline():
                self._utf8()
            with self._deadline():
                self._login()
            self._caps = self._capa() or self._caps
            with self._deadline():
                count, _size = self._stat()
            self._count = count
            self.capabilities = self._declare(count)
            self._dele_pending = False
        logger.debug("connected to %s:%s; CAPA %s", cfg.host, cfg.port, sorted(self._caps))

    def _stls(self, ctx: ssl.SSLContext | None) -> None:
        host = self.config.host
        if "STLS" not in self._caps:
            raise TLSError(f"{host} does not offer STLS; refusing to continue in plaintext",
                           hint='use security = "tls" (port 995) if the server supports it')
        try:
            self._p.stls(ctx)
        except poplib.error_proto as exc:
            raise TLSError(f"STLS with {host} failed: {_text(exc)}",
                           hint="the server refused to start TLS; no plaintext fallback is tried") from exc
        logger.debug("> STLS (TLS established)")
        self._caps = self._capa()

    def _login(self) -> None:
        cfg, p = self.config, self._p
        if self._creds.kind == "oauth2":
            sasl.login(self._creds, self._caps.get("SASL", []), cfg.host, cfg.port,
                       self._sasl, cfg.name)
            return
        stamp = _TIMESTAMP.search(p.welcome)
        password = self._creds.secret()   # first asked for here, before USER
        try:
            if self._caps and "USER" not in self._caps and stamp:
                logger.debug("> APOP %s ********", cfg.username)
                p.apop(cfg.username, password)
            else:
                logger.debug("> USER %s", cfg.username)
                p.user(cfg.username)
                logger.debug("> PASS ********")
                p.pass_(password)
        except poplib.error_proto as exc:
            text = _text(exc)
            if _TEMPORARY_LOGIN.search(text):   # RFC 2449 LOGIN-DELAY, RFC 3206 IN-USE, SYS/TEMP
                raise TemporaryError(f"{cfg.host} refused the login for now: {text}",
                                     hint="retry later") from exc
            raise AuthError(f"{cfg.host} refused the login for {cfg.username!r}: {text}",
                            hint=f"check the password (mailcli account password {cfg.name})") from exc

    def _sasl(self, mech: str, response: bytes) -> None:
        """RFC 5034 AUTH: the initial response on the command line when the line stays
        within 255 octets, else after the server's "+"; a "+" after it is the server's
        error report, answered so that it ends the exchange with -ERR."""
        encoded = base64.b64encode(response)
        line = b"AUTH " + mech.encode("ascii")
        if len(line) + 1 + len(encoded) + 2 <= 255:
            line, pending = line + b" " + encoded, None
        else:
            pending = encoded
        respond = sasl.challenge_responder(mech, response, sent_already=pending is None)
        self._low._putline(line)
        while True:
            reply = self._low._getline()[0]
            if reply.startswith(b"+OK"):
                return
            if reply.startswith(b"-ERR"):
                raise sasl.SaslRefused(_text(poplib.error_proto(reply)))
            if reply[:1] != b"+":
                raise ProtocolError(f"{self.config.host} answered AUTH with something unexpected")
            if pending is not None:
                self._low._putline(pending)
                pending = None
                respond(b"")        # the initial response is out: next "+" is an error
            else:
                self._low._putline(base64.b64encode(respond(reply[2:])))

    def _utf8(self) -> None:
        """RFC 6856: a server offering UTF8 may hand a client that never said UTF8 a
        substitute ("Cannot display Unicode content", Courier) for every message with 8-bit
        headers; with UTF8 it serves the message as stored. Refused: go on as before."""
        if "UTF8" not in self._caps:
            return
        self._put(b"UTF8")
        try:
            self._low._getresp()
        except poplib.error_proto as exc:
            logger.debug("UTF8 refused: %s", _text(exc))

    def _capa(self) -> dict[str, list[str]]:
        try:
            with self._deadline():
                caps = self._p.capa()
        except poplib.error_proto as exc:
            if _is_eof(exc) or "too long" in _text(exc):
                raise
            return {}
        return {k.upper(): v for k, v in caps.items()}

    def _declare(self, count: int) -> frozenset[Capability]:
        have = {Capability.POP3, Capability.QUOTA}
        if self._caps:
            if "UIDL" in self._caps:
                have.add(Capability.UIDL)
            if "TOP" in self._caps:
                have.add(Capability.TOP)
        elif count:
            # No CAPA (pre-RFC 2449 server): ask once, on message 1, instead of failing late.
            if self._probe(b"UIDL 1", multiline=False):
                have.add(Capability.UIDL)
            if self._probe(b"TOP 1 0", multiline=True):
                have.add(Capability.TOP)
        return frozenset(have)

    def _probe(self, line: bytes, multiline: bool) -> bool:
        with self._deadline():
            self._put(line)
            try:
                self._low._getresp()
            except poplib.error_proto as exc:
                if _is_eof(exc):
                    raise
                return False
            if multiline:
                self._read_multiline(SHORT_CAP)
        return True

    def close(self) -> None:
        """QUIT without committing: RSET first when DELEs are pending (see module doc)."""
        p, self._pop = self._pop, None
        if p is None:
            return
        try:
            with self._deadline():
                if self._dele_pending:
                    logger.debug("> RSET (deletions not committed)")
                    cast(Any, p)._shortcmd("RSET")
                logger.debug("> QUIT")
                p.quit()
        except Exception as exc:  # noqa: BLE001 - close() never raises
            logger.debug("QUIT failed: %s", exc)
            try:
                p.close()
            except Exception:  # noqa: BLE001
                pass
        self._dele_pending = False
        self._dog.stop()

    def _abort(self) -> None:
        """Drop the connection without a word (a reply past its cap cannot be skipped):
        nothing marked for deletion is deleted without QUIT."""
        p, self._pop = self._pop, None
        self._dele_pending = False
        self._dog.stop()
        if p is not None:
            try:
                p.close()
            except Exception:  # noqa: BLE001
                pass

    @property
    def server_capabilities(self) -> tuple[str, ...]:
        return tuple(" ".join([k, *v]) for k, v in sorted(self._caps.items()))

    # ---------- helpers ----------
    @property
    def _p(self) -> poplib.POP3:
        if self._pop is None:
            raise ProtocolError(f"not connected to {self.config.host}")
        return self._pop

    @property
    def _low(self) -> Any:
        """poplib's line-level methods (_putline/_getresp), untyped in typeshed."""
        return self._p

    @contextmanager
    def _deadline(self, expect: int = 0) -> Iterator[None]:
        """A wall-clock deadline for one reply (of about `expect` bytes)."""
        self._dog.arm(2 * self.config.timeout + expect / MIN_RATE)
        try:
            yield
        finally:
            self._dog.disarm()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        cfg = self.config
        try:
            yield
        except MailcliError:
            raise
        except (poplib.error_proto, OSError, EOFError, ssl.SSLError) as exc:
            if self._dog.expired:
                self._abort()
                raise TemporaryError(
                    f"{cfg.host}:{cfg.port} timed out: {what} did not complete within "
                    f"{self._dog.budget:.0f} s",
                    hint="the server is far too slow; raise `timeout` for this account or "
                         "retry later") from exc
            if not isinstance(exc, poplib.error_proto):
                raise connection_error(exc, cfg.host, cfg.port) from exc
            if _is_eof(exc):
                raise connection_error(EOFError(), cfg.host, cfg.port) from exc
            if _is_overlong(exc):
                self._abort()     # nothing more may be read (or deleted) on this connection
                raise ProtocolError(f"{what} failed on {cfg.host}: a reply line longer than "
                                    f"2,048 bytes; the connection was dropped") from exc
            raise ProtocolError(f"{what} failed on {cfg.host}: {_text(exc)}") from exc

    def _put(self, line: bytes) -> None:
        logger.debug("> %s", line.decode("ascii", "replace"))
        self._low._putline(line)


    def _stat(self) -> tuple[int, int]:
        count, size = self._p.stat()
        try:
            return int(count), int(size)
        except ValueError:
            raise poplib.error_proto(f"-ERR unreadable STAT reply {count!r} {size!r}") from None

    def _listing(self, command: bytes) -> dict[int, str]:
        """LIST or UIDL: message number -> the rest of its row (the whole UIDL, spaces
        included; for LIST the caller takes the size). Rows that do not parse are left out
        (that message is neither downloaded nor deleted); a number listed twice is an error."""
        count = self._count      # STAT at login: a maildrop is locked for the session
        cap = max(count, 1) * _LISTING_ROW + SLACK
        with self._deadline(cap):
            self._put(command)
            self._low._getresp()
            try:
                body = self._read_multiline(cap)
            except _TooLarge:
                self._abort()
                raise ProtocolError(f"{command.decode()} listing from {self.config.host} is longer "
                                    f"than {cap} bytes for {count} messages; giving up") from None
        out: dict[int, str] = {}
        for row in body.decode("utf-8", "replace").splitlines():
            parts = row.strip().split(None, 1)
            if len(parts) == 2 and parts[0].isdigit():
                n = int(parts[0])
                if n in out:
                    raise ProtocolError(f"{command.decode()} on {self.config.host} lists message "
                                        f"{n} twice")
                out[n] = parts[1].strip()
            elif row.strip():
                logger.debug("unreadable %s row ignored: %r", command.decode(), row[:80])
        return out

    # ---------- Account ----------
    def list_folders(self) -> list[FolderInfo]:
        return [FolderInfo(name="INBOX", delimiter="/", role=FolderRole.INBOX)]

    def quota(self) -> Quota:
        with self._errors("STAT"):
            count, size = self._stat()
        return Quota(account=self.config.name, used_bytes=size, limit_bytes=None, messages=count)

    def pop_list(self) -> list[PopEntry]:
        with self._errors("LIST"):
            sizes = {n: int(s.split()[0]) for n, s in self._listing(b"LIST").items()
                     if s.split()[0].isdigit()}
            if Capability.UIDL in self.capabilities:
                uidls = self._listing(b"UIDL")
            else:
                uidls = self._fallback_keys(sizes)
        return [PopEntry(number=n, uidl=uidls[n], size=sizes[n]) for n in sorted(sizes) if n in uidls]

    def _fallback_keys(self, sizes: dict[int, int]) -> dict[int, str]:
        numbers = sorted(sizes)
        verb = b"TOP %d 0" if Capability.TOP in self.capabilities else b"RETR %d"
        keys: dict[int, str] = {}

        def read(i: int, _status: bytes) -> None:
            n = numbers[i]
            keys[n] = fallback_key(self._capped(n, sizes[n]), sizes[n])

        errors = self._pipelined([verb % n for n in numbers], read, [sizes[n] for n in numbers])
        if errors:
            raise ProtocolError(f"cannot read headers on {self.config.host}: {errors[0]}")
        return keys

    def pop_retrieve(self, entries: Iterable[PopEntry], sink: PopSink) -> None:
        """RETR each entry and hand it to `sink` in order; one message in memory at a time.
        A -ERR for some messages does not stop the others; a ProtocolError naming the
        first failure is raised after the rest were delivered."""
        todo = list(entries)
        if not todo:
            return
        with self._errors("RETR"):
            errors = self._pipelined([b"RETR %d" % e.number for e in todo],
                                     lambda i, _s: self._capped(todo[i].number, todo[i].size),
                                     [e.size for e in todo],
                                     lambda i, raw: sink(todo[i], raw))
        if errors:
            raise ProtocolError(f"{len(errors)} message(s) could not be retrieved from "
                                f"{self.config.host} ({errors[0]})")

    def pop_headers(self, entry: PopEntry) -> bytes:
        self._require(Capability.TOP)
        with self._errors("TOP"), self._deadline(entry.size):
            self._put(b"TOP %d 0" % entry.number)
            self._low._getresp()
            return self._capped(entry.number, entry.size)

    def _capped(self, number: int, size: int) -> bytes:
        """The multi-line reply for message `number` (announced as `size` bytes), or
        ReplyTooLarge (the connection dropped) once it runs past its cap."""
        cap = min(2 * max(size, 0) + SLACK, HARD_CAP)
        try:
            return self._read_multiline(cap)
        except _TooLarge:
            self._abort()
            raise ReplyTooLarge(
                f"message {number} from {self.config.host} runs past {cap} bytes (announced as "
                f"{size}): skipped, left on the server, reported once",
                number=number, hint="the server sends more than it announced; ask its "
                "administrator, or remove that message with another client") from None

    def pop_delete(self, entries: Iterable[PopEntry]) -> None:
        todo = list(entries)
        if not todo:
            return
        with self._errors("DELE"):
            self._dele_pending = True
            errors = self._pipelined([b"DELE %d" % e.number for e in todo], lambda i, s: None,
                                     window=_DELE_WINDOW)
        if errors:
            raise ProtocolError(f"DELE refused by {self.config.host} ({errors[0]})")

    def pop_commit(self) -> None:
        """QUIT; deletions are applied only when the server answers +OK."""
        with self._errors("QUIT"):
            p = self._p
            logger.debug("> QUIT")
            try:
                with self._deadline():
                    p.quit()
            finally:
                self._pop = None
                self._dele_pending = False
                try:
                    p.close()
                except OSError:
                    pass


def fallback_key(headers: bytes, size: int) -> str:
    """The stable key of a message on a server without UIDL (see module doc)."""
    head = headers.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    wanted = {b"message-id": b"", b"date": b""}
    current: bytes | None = None
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and current is not None:
            wanted[current] += b" " + line.strip()
            continue
        name, sep, value = line.partition(b":")
        current = name.strip().lower() if sep and name.strip().lower() in wanted else None
        if current is not None and not wanted[current]:
            wanted[current] = value.strip()
        else:
            current = None
    digest = hashlib.sha1(wanted[b"message-id"] + b"\0" + wanted[b"date"] + b"\0" + str(size).encode())
    return "sha1:" + digest.hexdigest()


_TEMPORARY_LOGIN = re.compile(r"^-ERR \[(LOGIN-DELAY|IN-USE|SYS/TEMP)\]", re.IGNORECASE)

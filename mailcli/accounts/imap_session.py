"""ImapSession: an ImapAccount's connection, from set-up to its end (a mixin of
accounts/imap.ImapAccount).

Owns: connecting (implicit TLS or strict STARTTLS with our verified context, the bounded
client of imap_guard), login (LOGIN, AUTHENTICATE PLAIN, or OAuth2 through accounts/sasl),
ENABLE CONDSTORE/QRESYNC and the Capability set it yields, the server's hierarchy
delimiter; the live client (`_c`, which connects again after a drop), and the three ways a
connection ends: close() (LOGOUT), _drop() (a connection left in an unknown state) and
abort() (at once, from another thread too). Errors are translated by ImapAccount._errors.

Protocol traces go to the "imapclient.imaplib" logger at DEBUG (LOGIN/AUTHENTICATE
redacted by imapclient).
"""
from __future__ import annotations

import base64
import imaplib
import logging
import socket
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from mailcli.accounts import sasl
from mailcli.accounts.base import Capability
from mailcli.accounts.imap_guard import BoundedIMAPClient, Guard
from mailcli.accounts.imap_wire import _one_line, _server_text
from mailcli.accounts.tls import make_ssl_context
from mailcli.config.credentials import Credentials
from mailcli.config.schema import AccountConfig
from mailcli.errors import AuthError, ProtocolError, TLSError

# the account's log lines keep the name they always had, whichever module writes them
logger = logging.getLogger("mailcli.accounts.imap")
_trace = logging.getLogger("imapclient.imaplib")
_DELIMITER_LIST = b'LIST "" ""'


class ImapSession:
    """Mixin: needs ImapAccount's state (set in its __init__) and its error translation
    (_errors)."""

    config: AccountConfig
    capabilities: frozenset[Capability]
    _creds: Credentials
    _client: IMAPClient | None
    _closing: IMAPClient | None       # being logged out by close(): abort() reaches it
    _guard: Guard | None
    _dropped: bool
    _server_caps: tuple[str, ...]
    _selected: str | None
    _delimiter: str
    _prelude: list[bytes]             # ENABLE / LIST "" "": sent with the first command
    _delimiter_pending: bool          # the first listing names the delimiter (_delimiter_from)
    _ahead: tuple[str, bytes, bytes] | None   # a folder's SELECT + scan sent ahead (ImapAhead)
    _ahead_wanted: str | None

    if TYPE_CHECKING:   # provided by ImapAccount
        def _errors(self, what: str, folder: str | None = None) -> AbstractContextManager[None]: ...
        def _send_many(self, lines: list[bytes]) -> list[bytes]: ...
        def _finish(self, tag: bytes, what: str) -> bytes: ...
        def _finish_before(self, tag: bytes, what: str, behind: bytes, behind_what: str) -> bytes: ...
        def _drain_ahead(self) -> None: ...

    # ---------- set-up ----------
    def connect(self) -> None:
        cfg = self.config
        with self._errors("connect"):
            ctx = make_ssl_context(cfg.tls_ca_file) if cfg.security != "none" else None
            guard = Guard(cfg.host, cfg.port, cfg.timeout)
            client = BoundedIMAPClient(cfg.host, port=cfg.port, ssl=cfg.security == "tls",
                                       ssl_context=ctx, timeout=cfg.timeout, guard=guard)
            self._client, self._guard = client, guard
            # imaplib formats every traced line eagerly (level 5 even repr()s message bodies):
            # trace lines only when someone listens at DEBUG.
            client._imap.debug = 4 if _trace.isEnabledFor(logging.DEBUG) else 0
            if cfg.security == "starttls":
                self._starttls(client, ctx)
            self._login(client)
            caps = tuple(c.decode("ascii", "replace").upper() for c in client.capabilities())
            self._server_caps = caps
            enable = [c for c in ("CONDSTORE", "QRESYNC") if c in caps]
            # ENABLE and the delimiter's LIST "" "" wait for the connection's first command
            # and go out in its write (_settle): one round trip less per connection. Until
            # their answers are read, the capabilities are what ENABLE asks for.
            self._delimiter_pending = False
            if enable and "ENABLE" in caps:
                enabled = set(enable)
                self._prelude = [b"ENABLE " + " ".join(enable).encode("ascii"), _DELIMITER_LIST]
            else:
                # CONDSTORE is also enabled by its first use
                enabled = {"CONDSTORE"} if "CONDSTORE" in caps else set()
                self._prelude = [_DELIMITER_LIST]
            self.capabilities = self._declare(caps, enabled)
        logger.debug("connected to %s:%s as %s; capabilities %s", cfg.host, cfg.port, cfg.username,
                     sorted(c.value for c in self.capabilities))

    def _starttls(self, client: IMAPClient, ctx: Any) -> None:
        host = self.config.host
        if b"STARTTLS" not in client.capabilities():
            raise TLSError(f"{host} does not offer STARTTLS; refusing to continue in plaintext",
                           hint='use security = "tls" (port 993) if the server supports it')
        try:
            client.starttls(ctx)
        except imap_exc.IMAPClientAbortError:
            raise               # the connection was lost, not refused: translated by _errors
        except imap_exc.IMAPClientError as exc:
            raise TLSError(f"STARTTLS with {host} failed: {_one_line(exc)}",
                           hint="the server refused to start TLS; no plaintext fallback is tried") from exc

    def _login(self, client: IMAPClient) -> None:
        user = self.config.username
        # imaplib's list: the greeting's, or the one it asked for after STARTTLS
        # (imapclient's capabilities() would ask again after STARTTLS: a round trip)
        caps = tuple(c.encode("ascii", "replace") for c in client._imap.capabilities)
        if self._creds.kind == "oauth2":
            self._login_oauth2(client, caps)
            return
        password = self._creds.secret()   # first asked for here, at the login
        try:
            if b"LOGINDISABLED" in caps and b"AUTH=PLAIN" in caps:
                client.plain_login(user, password)
            else:
                client.login(user, password)
        except imap_exc.IMAPClientError as exc:
            if isinstance(exc, imap_exc.IMAPClientAbortError):
                raise
            if isinstance(exc.__context__, imap_exc.IMAPClientAbortError):
                # imapclient's login() wraps every error in LoginError, a cut line too:
                # that is a lost connection (exit 75, retried), not a refused password
                raise exc.__context__ from None
            raise AuthError(f"{self.config.host} refused the login for {user!r}: {_server_text(exc)}",
                            hint=f"check the password (mailcli account password {self.config.name})"
                            ) from exc

    def _login_oauth2(self, client: IMAPClient, caps: tuple[bytes, ...]) -> None:
        """AUTHENTICATE OAUTHBEARER/XOAUTH2, with the token on the command line when the
        server offers SASL-IR (one round trip), else in answer to its "+"."""
        offered = [c.decode("ascii", "replace")[5:] for c in caps if c.upper().startswith(b"AUTH=")]
        sasl_ir = b"SASL-IR" in caps
        imap = client._imap

        def send(mech: str, response: bytes) -> None:
            if sasl_ir:
                # imaplib has no SASL-IR: the response goes on the command line, and a
                # later "+" (the server's error report) is answered by the literal handler
                imap.literal = imaplib._Authenticator(sasl.challenge_responder(mech, response, True)).process
                ir = base64.b64encode(response).decode("ascii")
                typ, dat = imap._simple_command("AUTHENTICATE", mech, ir)
            else:
                imap.literal = imaplib._Authenticator(sasl.challenge_responder(mech, response)).process
                typ, dat = imap._simple_command("AUTHENTICATE", mech)
            if typ != "OK":
                last = dat[-1] if dat else b""
                text = last.decode("utf-8", "replace") if isinstance(last, bytes) else str(last)
                raise sasl.SaslRefused(" ".join(text.split())[:200] or typ)
            imap.state = "AUTH"

        try:
            sasl.login(self._creds, offered, self.config.host, self.config.port, send, self.config.name)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise AuthError(f"{self.config.host} refused the OAuth2 login for "
                            f"{self.config.username!r}: {_one_line(exc)}") from exc

    @staticmethod
    def _declare(caps: tuple[str, ...], enabled: set[str]) -> frozenset[Capability]:
        have = {Capability.FOLDERS, Capability.FLAGS, Capability.COPY, Capability.MOVE,
                Capability.APPEND}
        if "CONDSTORE" in enabled or "QRESYNC" in enabled:
            have.add(Capability.CONDSTORE)
        if "QRESYNC" in enabled:
            have.add(Capability.QRESYNC)
        for name, cap in (("UIDPLUS", Capability.UIDPLUS), ("IDLE", Capability.IDLE),
                          ("QUOTA", Capability.QUOTA), ("NOTIFY", Capability.NOTIFY)):
            if name in caps:
                have.add(cap)
        # MOVE is always available to callers (emulated with COPY when the server lacks it);
        # `server_capabilities` tells whether it is atomic.
        return frozenset(have)

    def _settle(self, lines: list[bytes], listing: bool = False) -> list[bytes]:
        """Send `lines` (may be none) behind the connection's pending ENABLE and delimiter
        LIST, all in one write; read the prelude's answers and return the tags of `lines`
        (their answers are the caller's to read). With `listing` (`lines` is the folder
        listing) the delimiter's LIST is not sent: two LISTs in flight would make their
        answers ambiguous (RFC 3501 5.5); the caller takes the delimiter from the
        listing's rows (_delimiter_from). A failed ENABLE fails the connection, as
        imapclient's enable() did: it is dropped (its capabilities were only what ENABLE
        asked for); a failed LIST "" "" means "/". With nothing pending: sends `lines`."""
        prelude, self._prelude = self._prelude, []
        if not prelude:
            return self._send_many(lines) if lines else []
        if listing:
            prelude = [line for line in prelude if line != _DELIMITER_LIST]
            self._delimiter_pending = True
        tags = self._send_many(prelude + lines)
        client = self._c
        imap = client._imap
        behind = tags[1] if len(tags) > 1 else None
        if prelude and prelude[0].startswith(b"ENABLE "):
            imap.untagged_responses.pop("ENABLED", None)
            try:
                if behind is None:
                    self._finish(tags[0], "ENABLE")
                else:
                    self._finish_before(tags[0], "ENABLE", behind, "LIST")
            except imap_exc.IMAPClientAbortError:
                raise
            except imap_exc.IMAPClientError as exc:
                self._drop()   # answers behind it unread, capabilities unknown: start over
                raise ProtocolError(f"ENABLE failed on {self.config.host}: {_server_text(exc)}") from exc
            enabled = {w.decode("ascii", "replace").upper()
                       for line in imap.untagged_responses.pop("ENABLED", []) if isinstance(line, bytes)
                       for w in line.split()}
            self.capabilities = self._declare(self._server_caps, enabled)
        if _DELIMITER_LIST in prelude:
            imap.untagged_responses.pop("LIST", None)
            try:
                self._finish(tags[prelude.index(_DELIMITER_LIST)], "LIST")
                rows = client._proc_folder_list(imap.untagged_responses.pop("LIST", []))
                self._delimiter = _delimiter(rows)
            except imap_exc.IMAPClientAbortError:
                raise
            except (ValueError, imap_exc.IMAPClientError):
                self._delimiter = "/"
        return tags[len(prelude):]

    def _delimiter_from(self, rows: list[tuple[Any, Any, Any]]) -> None:
        """After a listing sent with `_settle(..., listing=True)`: the delimiter is INBOX's
        (the personal namespace's, what LIST "" "" names), else the first row's."""
        if self._delimiter_pending:
            inbox = [r for r in rows if isinstance(r[2], str) and r[2].upper() == "INBOX"]
            self._delimiter = _delimiter(inbox + rows)
            self._delimiter_pending = False

    @property
    def _delim(self) -> str:
        """The server's hierarchy delimiter (its LIST "" "" is read first if pending)."""
        if self._client is not None and (self._prelude or self._delimiter_pending):
            with self._errors("LIST"):
                if self._prelude:
                    self._settle([])
                else:   # a listing that was to name it failed: ask on its own
                    self._delimiter_pending = False
                    self._prelude = [_DELIMITER_LIST]
                    self._settle([])
        return self._delimiter

    def _ready(self) -> None:
        """Settle what the connection has pending before a command whose own errors mean
        something to the caller (NOTIFY refused, IDLE failed)."""
        if self._prelude and self._client is not None:
            with self._errors("ENABLE"):
                self._settle([])

    # ---------- the live client ----------
    @property
    def _c(self) -> IMAPClient:
        if self._client is None:
            if not self._dropped:
                raise ProtocolError(f"not connected to {self.config.host}")
            logger.info("reconnecting to %s after dropping the connection", self.config.host)
            self._dropped = False
            self.connect()
        assert self._client is not None
        if self._prelude:       # a command other than a listing comes first
            self._settle([])
        if self._ahead is not None:   # another command before the pair sent ahead is used
            self._drain_ahead()
        return self._client

    @property
    def _live(self) -> IMAPClient:
        """The connected client as it is, for reading the answers of commands already
        sent: nothing is sent or read first, and a dropped connection is not replaced
        (the tags belong to the old one)."""
        client = self._client
        if client is None:
            raise imap_exc.IMAPClientAbortError(f"the connection to {self.config.host} was dropped")
        return client

    # ---------- the end: LOGOUT, a drop, an abort ----------
    def close(self) -> None:
        client = self._client
        self._selected = None
        self._prelude = []          # never sent: nothing asked needs it now
        self._delimiter_pending = False
        self._ahead = self._ahead_wanted = None
        if client is None:
            return
        self._closing = client      # abort() from another thread reaches it still: set
        self._client = None         # before _client is cleared, so one of them always holds it
        try:
            # LOGOUT without waiting for its BYE and OK: every command before it has been
            # answered, so the answer tells nothing, and waiting for it cost a round trip
            # at the end of every run. The server reads the LOGOUT before the end of file.
            imap = client._imap
            imap.send(imap._new_tag() + b" LOGOUT\r\n")
        except Exception as exc:  # noqa: BLE001 - close() never raises
            logger.debug("logout failed (%s); closing the socket", exc)
        finally:
            self._closing = None
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def _drop(self) -> None:
        """Close a connection left in an unknown state (a bound was broken mid-response);
        the next call connects again."""
        client, self._client = self._client, None
        self._selected = None
        self._prelude = []
        self._delimiter_pending = False
        self._ahead = self._ahead_wanted = None
        self._dropped = True
        if client is not None:
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001 - already broken
                pass

    def abort(self) -> None:
        """See Account.abort: shut the socket down (a blocked reader fails at once; also
        one blocked in close()'s LOGOUT). The plain socket's shutdown comes first: imaplib's
        own shutdown closes its file object, which waits for the reader blocked in it."""
        client, self._client = self._client or self._closing, None
        self._selected = None
        self._prelude = []
        self._ahead = self._ahead_wanted = None
        if client is None:
            return
        try:
            socket.socket.shutdown(client.socket(), socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001 - never raises
            pass


def _delimiter(rows: list[tuple[Any, Any, Any]]) -> str:
    """The hierarchy delimiter from LIST rows (flags, delimiter, name); "/" if none."""
    for _flags, delim, _name in rows:
        if delim:
            return delim.decode() if isinstance(delim, bytes) else str(delim)
    return "/"

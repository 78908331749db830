"""Pop3Pipeline: a Pop3Account's pipelined commands and the multi-line replies it reads
itself (a mixin of accounts/pop3.Pop3Account).

Owns: RFC 2449 PIPELINING (up to a window of commands in flight, the ones that fit sent
in one write, one at a time when CAPA does not say PIPELINING) for RETR, DELE (with its
own window) and the TOP/RETR behind the stable keys of a server without UIDL; the
multi-line reader those and the single LIST/UIDL/TOP share; and the reading of poplib's
-ERR replies (_text, _is_eof). Status lines are still poplib's (_getresp). A reply's cap
and deadline are the caller's: past its cap the reader raises _TooLarge, and Pop3Account
drops the connection.

Multi-line replies are read by the connection's SocketReader (accounts/pop3_reader.py)
rather than by poplib: no 2,048-byte line limit (real mail has longer lines),
dot-unstuffing, CRLF or bare-LF terminators, and the message is returned as the exact
bytes the server sent (minus stuffing and the terminator).
"""
from __future__ import annotations

import logging
import poplib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, cast

from mailcli.accounts.pop3_reader import ReplyCapExceeded, SocketReader

# the account's log lines keep the name they always had, whichever module writes them
logger = logging.getLogger("mailcli.accounts.pop3")

_WINDOW = 128                 # RETR/TOP commands in flight when the server offers PIPELINING


class _TooLarge(Exception):
    """A multi-line reply went past its cap (internal; the connection is unusable)."""


class Pop3Pipeline:
    """Mixin: needs Pop3Account's CAPA (set at connect), its connection (_p, _low), the
    single-command writer (_put) and its per-reply deadline (_deadline)."""

    _caps: dict[str, list[str]]

    if TYPE_CHECKING:   # provided by Pop3Account
        @property
        def _p(self) -> poplib.POP3: ...
        @property
        def _low(self) -> Any: ...
        def _deadline(self, expect: int = 0) -> AbstractContextManager[None]: ...
        def _put(self, line: bytes) -> None: ...

    def _put_many(self, lines: list[bytes]) -> None:
        """Several pipelined commands in one write (one TCP segment, not one each)."""
        if len(lines) == 1:
            self._put(lines[0])
            return
        if logger.isEnabledFor(logging.DEBUG):
            for line in lines:
                logger.debug("> %s", line.decode("ascii", "replace"))
        self._low._putline(b"\r\n".join(lines))      # _putline adds the last CRLF

    def _read_multiline(self, cap: int) -> bytes:
        """The body of a multi-line reply after its +OK line: unstuffed, exact bytes
        (accounts/pop3_reader.py reads it). Raises _TooLarge past `cap` bytes (the rest
        of the reply is left unread)."""
        try:
            return cast(SocketReader, self._p.file).multiline(cap)
        except ReplyCapExceeded:
            raise _TooLarge() from None

    def _pipelined(self, lines: list[bytes], read: Callable[[int, bytes], bytes | None],
                   sizes: list[int] | None = None,
                   then: Callable[[int, bytes], None] | None = None,
                   window: int = _WINDOW) -> list[str]:
        """Send `lines` (with PIPELINING up to `window` commands in flight, the ones that
        fit sent in one write) and call read(i, status) as each positive reply arrives,
        under a deadline for `sizes[i]` bytes, then then(i, what read returned) outside
        the deadline; returns the -ERR texts as 'i: text' (the stream stays in step)."""
        window = window if "PIPELINING" in self._caps else 1
        errors: list[str] = []
        sent = 0
        for i in range(len(lines)):
            if sent < len(lines) and sent < i + window:
                upto = min(len(lines), i + window)
                if window > 1 and upto - sent < min(window // 4, len(lines) - sent):
                    upto = sent    # refill in larger steps: fewer, fuller writes
                if upto > sent:
                    self._put_many(lines[sent:upto])
                    sent = upto
            with self._deadline(sizes[i] if sizes else 0):
                try:
                    status = self._low._getresp()
                except poplib.error_proto as exc:
                    if _is_eof(exc) or _is_overlong(exc):
                        raise       # the stream ended (an overlong line ends it: _getline)
                    errors.append(f"{lines[i].decode('ascii', 'replace')}: {_text(exc)}")
                    continue
                got = read(i, status)
            if then is not None and got is not None:
                then(i, got)
        return errors


def _is_overlong(exc: poplib.error_proto) -> bool:
    """poplib's answer to a status line past 2,048 bytes: the rest of that line is still
    unread, so every later reply would be read out of step (a body line taken for a
    status line, a message stored under another one's UIDL)."""
    return bool(exc.args) and exc.args[0] in ("line too long", b"line too long")


def _is_eof(exc: poplib.error_proto) -> bool:
    return bool(exc.args) and exc.args[0] in (b"-ERR EOF", "-ERR EOF")


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return (text.strip().splitlines() or [type(exc).__name__])[0]

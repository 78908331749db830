"""SocketReader: what a POP3 connection reads its replies with (poplib's ``file``).

poplib reads its status lines with ``file.readline(limit)`` from a ``makefile("rb")``
BufferedReader of 8 KiB. A download is almost all multi-line replies, which Pop3Pipeline
reads itself, and through that reader every byte of a message was copied four times
(peek, the reply's buffer, read, the final bytes) and searched twice, ~10 reads per
message: about a fifth of the downloader's CPU time. This reader owns one growing buffer
filled straight from the socket (``recv_into``); a multi-line reply is searched once for
its terminator and copied once into the bytes handed on; status lines are sliced off the
same buffer, so the two kinds of reads can never get out of step.

Same results as before: ``readline`` as BufferedReader's (for poplib), ``multiline`` the
exact bytes of the reply minus dot-stuffing and the terminating "." line (CRLF or a bare
LF), end of file as EOFError, a reply past its cap as ReplyCapExceeded with the rest left
unread (the caller drops the connection).
"""
from __future__ import annotations

import re
import socket
from typing import Any

READ_SIZE = 1 << 18       # room made for one read of the socket...
MIN_ROOM = 1 << 16        # ...when less than this is left at the end of the buffer
_KEEP = 1 << 20           # a buffer grown past this (a large message) shrinks again after it


class ReplyCapExceeded(Exception):
    """A multi-line reply went past its cap (the rest of it is left unread)."""


class SocketReader:
    """Buffered reads of one socket: poplib's readline() and whole multi-line replies."""

    def __init__(self, sock: socket.socket | Any) -> None:
        self._sock = sock
        self._buf = bytearray(2 * READ_SIZE)
        self._pos = 0          # first unread byte
        self._end = 0          # end of the data read

    def _fill(self) -> int:
        """Read once from the socket into the buffer, first making room for READ_SIZE
        bytes if less than MIN_ROOM is free (the unread part moves to the front, into a
        larger buffer if it must); returns the bytes read, 0 at end of file."""
        if self._sock is None:
            return 0
        buf, pos, end = self._buf, self._pos, self._end
        if len(buf) - end < MIN_ROOM:
            size = end - pos
            if len(buf) - size < READ_SIZE:
                buf = bytearray(max(len(buf) + len(buf) // 2, size + READ_SIZE))  # (<= 1.5x a reply)
                buf[:size] = memoryview(self._buf)[pos:end]
            elif size <= pos:     # (bytearray copies slices with memcpy: no overlaps)
                buf[:size] = memoryview(buf)[pos:end]
            else:
                buf[:size] = bytes(memoryview(buf)[pos:end])
            self._buf, self._pos, self._end = buf, 0, size
            end = size
        n = self._sock.recv_into(memoryview(buf)[end:])
        self._end = end + n
        return n

    def _shrink(self) -> None:
        """After a large reply: back to a small buffer (what is unread moves along)."""
        if len(self._buf) > _KEEP and self._end - self._pos < READ_SIZE:
            rest = memoryview(self._buf)[self._pos:self._end]
            fresh = bytearray(2 * READ_SIZE)
            fresh[:len(rest)] = rest
            self._buf, self._pos, self._end = fresh, 0, len(rest)

    def readline(self, limit: int = -1) -> bytes:
        """One line, its line end included; at most `limit` bytes if `limit` >= 0; b""
        at end of file (BufferedReader.readline's contract, which poplib relies on)."""
        scanned = 0            # offset from _pos searched so far (no line end before it)
        while True:
            pos, end = self._pos, self._end
            stop = end if limit < 0 else min(end, pos + limit)
            i = self._buf.find(b"\n", pos + scanned, stop)
            if i >= 0:
                stop = i + 1
                break
            if 0 <= limit <= stop - pos:
                break
            scanned = stop - pos
            if not self._fill():
                stop = self._end
                break
        line = bytes(memoryview(self._buf)[self._pos:stop])
        self._pos = stop
        return line

    def multiline(self, cap: int) -> bytes:
        """The body of a multi-line reply whose status line was just read: the exact bytes
        sent, dot-unstuffed, without the "." line. ReplyCapExceeded past `cap` bytes.

        One pass over the reply finds every line that starts with a dot: the first one
        that is just "." (CRLF or a bare LF) ends the reply; any other is stuffed."""
        scanned = 0            # offset from _pos up to which the reply is searched
        stuffed = False
        opened = False         # the first line is known not to be the "." line
        while True:
            buf, start, end = self._buf, self._pos, self._end
            if not opened and end > start:
                if buf[start] != 0x2E:
                    opened = True
                else:
                    after = _line_end(buf, start + 1, end)
                    if after is not None:
                        if after > 0:          # an empty reply
                            self._pos = after
                            return b""
                        opened = True
            m = _DOT_LINE.search(buf, start + scanned, end) if opened else None
            while m is not None:
                i = m.start()
                after = _line_end(buf, i + 2, end)
                if after is None:              # cannot tell yet: read more first
                    break
                if after > 0:
                    body = bytes(memoryview(buf)[start:i + 1])
                    self._pos = after
                    if len(buf) > _KEEP:
                        self._shrink()
                    if body[:1] == b".":       # a stuffed first line
                        body = body[1:]
                    if stuffed:
                        body = body.replace(b"\n.", b"\n")
                    return body
                stuffed = True
                m = _DOT_LINE.search(buf, i + 2, end)
            if opened:
                scanned = (m.start() if m is not None else max(end - 1, start)) - start
            if end - start > cap:
                raise ReplyCapExceeded()
            if not self._fill():
                raise EOFError("connection closed inside a multi-line reply")

    def close(self) -> None:
        """Forget the socket (poplib closes it) and the buffer."""
        self._sock = None
        self._buf = bytearray()
        self._pos = self._end = 0


_DOT_LINE = re.compile(rb"\n\.")   # (a regex: 2-3x faster here than bytearray.find)


def _line_end(buf: bytearray, i: int, end: int) -> int | None:
    """After "\n." at i - 2: the index just past a line end at i (CRLF or a bare LF)
    that makes it the "." line, 0 if the line goes on, None if buf[:end] cannot tell."""
    if i >= end:
        return None
    c = buf[i]
    if c == 0x0A:
        return i + 1
    if c != 0x0D:
        return 0
    if i + 1 >= end:
        return None
    return i + 2 if buf[i + 1] == 0x0A else 0

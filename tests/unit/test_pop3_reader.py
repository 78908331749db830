"""The POP3 connection's SocketReader (mailcli.accounts.pop3_reader) against the reader
it replaced: the same lines and multi-line bodies from any stream, however the socket
cuts it, and the same end-of-file and cap behaviour. The servers in the integration tests
exercise it whole; this covers what they do not send (stray dots, bare LFs, a "." line
split across reads, replies larger than the buffer)."""
from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.accounts.pop3_reader import READ_SIZE, ReplyCapExceeded, SocketReader


class ChoppySocket:
    """recv_into() hands out the stream in pieces of the sizes given (cycled)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.pos, self.sizes, self.k = data, 0, sizes or [1 << 20], 0
        self.reads = 0

    def recv_into(self, view: memoryview) -> int:
        size = min(len(view), self.sizes[self.k % len(self.sizes)], len(self.data) - self.pos)
        self.k += 1
        self.reads += 1
        view[:size] = self.data[self.pos:self.pos + size]
        self.pos += size
        return size


def reference_multiline(f: io.BufferedReader) -> bytes:
    """The reader this replaced (Pop3Pipeline._read_multiline before 2026-12-04), on a
    BufferedReader, without a cap."""
    out = bytearray(b"\n")
    while True:
        block = f.peek(65536)
        if not block:
            raise EOFError
        start, base = max(0, len(out) - 3), len(out)
        out += block
        crlf = out.find(b"\n.\r\n", start)
        lf = out.find(b"\n.\n", start, crlf + 3 if crlf >= 0 else len(out))
        end, stop = (lf, lf + 3) if lf >= 0 else (crlf, crlf + 4) if crlf >= 0 else (-1, -1)
        if end < 0:
            f.read(len(block))
            continue
        f.read(stop - base)
        del out[end + 1:]
        if b"\n." in out:
            out = out.replace(b"\n.", b"\n")
        del out[0]
        return bytes(out)


def read_all(reader: SocketReader | io.BufferedReader, kinds: list[str]) -> list[object]:
    """Read the stream as a POP3 client would: per reply a status line, then (kind "m") a
    multi-line body; stops at the first end of file."""
    got: list[object] = []
    for kind in kinds:
        line = reader.readline(2049)
        got.append(line)
        if not line:
            break
        if kind == "m":
            try:
                got.append(reader.multiline(1 << 40) if isinstance(reader, SocketReader)
                           else reference_multiline(reader))
            except EOFError:
                got.append(EOFError)
                break
    return got


_PIECES = [b"a", b"b c", b".", b"..", b"\r\n", b"\n", b"\r", b"\r\n.\r\n", b"\n.\n", b"\r\n..",
           b"\n.", b".\r\n", b"+OK", b"-ERR x", b"xyz" * 30, b"\r\n.\rX", b"\n.x\r\n"]


def streams() -> st.SearchStrategy[tuple[bytes, list[str]]]:
    """A stream of replies (status line, then a body for multi-line ones), bodies made of
    pieces that put dots, CRs and LFs everywhere, stuffed or not, plus stray bytes."""
    reply = st.tuples(st.sampled_from(["s", "m"]), st.lists(st.sampled_from(_PIECES), max_size=12),
                      st.booleans())

    def build(replies: list[tuple[str, list[bytes], bool]]) -> tuple[bytes, list[str]]:
        out, kinds = bytearray(), []
        for kind, pieces, proper in replies:
            kinds.append(kind)
            out += b"+OK status\r\n"
            if kind == "m":
                body = b"".join(pieces)
                if proper:      # what a correct server sends: stuffed, CRLF, "." line
                    body = (b"\n" + body).replace(b"\n.", b"\n..")[1:]
                    body += b"" if body.endswith(b"\r\n") or not body else b"\r\n"
                    body += b".\r\n"
                out += body
        return bytes(out), kinds

    return st.lists(reply, min_size=1, max_size=6).map(build)


@settings(max_examples=400, deadline=None)
@given(streams(), st.lists(st.integers(1, 9), max_size=6))
def test_reads_what_the_old_reader_read_however_the_stream_is_cut(
        stream: tuple[bytes, list[str]], sizes: list[int]) -> None:
    data, kinds = stream
    expect = read_all(io.BufferedReader(io.BytesIO(data), 7), kinds)
    assert read_all(SocketReader(ChoppySocket(data, sizes)), kinds) == expect
    assert read_all(SocketReader(ChoppySocket(data, [])), kinds) == expect


def test_large_replies_across_many_reads_and_a_grown_buffer() -> None:
    rng = random.Random(7)
    bodies = []
    for size in (10, 70_000, 3 * READ_SIZE + 5, 5 * (1 << 20), 100, 0):
        lines = [bytes(rng.choice(b"ab.\r") for _ in range(rng.randint(0, 90))) for _ in range(size // 50)]
        bodies.append(b"\r\n".join(lines)[:size])
    stream = b"".join(b"+OK\r\n" + (b"\n" + b).replace(b"\n.", b"\n..")[1:] + b"\r\n.\r\n"
                      for b in bodies) + b"+OK bye\r\n"
    sock = ChoppySocket(stream, [65536, 300_000, 17])
    reader = SocketReader(sock)
    for body in bodies:
        assert reader.readline(2049) == b"+OK\r\n"
        assert reader.multiline(1 << 30) == body + b"\r\n"
    assert reader.readline(2049) == b"+OK bye\r\n"
    assert reader.readline(2049) == b""
    assert len(reader._buf) <= 2 * READ_SIZE      # the 5 MB reply's buffer was let go
    assert sock.reads < len(stream) / 30_000      # whole blocks, not lines


def test_a_reply_past_its_cap_stops_without_reading_on() -> None:
    body = b"x" * 5000 + b"\r\n"
    sock = ChoppySocket(b"+OK\r\n" + body * 50 + b".\r\n", [4096])
    reader = SocketReader(sock)
    reader.readline()
    with pytest.raises(ReplyCapExceeded):
        reader.multiline(20_000)
    assert sock.pos < 30_000
    # within its cap, or terminated before the cap is checked, it is read whole
    reader = SocketReader(ChoppySocket(b"+OK\r\n" + body + b".\r\n", []))
    reader.readline()
    assert reader.multiline(100) == body


def test_end_of_file_inside_a_reply_and_lines() -> None:
    reader = SocketReader(ChoppySocket(b"+OK\r\nsome text\r\n.", [3]))
    assert reader.readline() == b"+OK\r\n"
    with pytest.raises(EOFError):
        reader.multiline(1 << 20)
    reader = SocketReader(ChoppySocket(b"no line end", [4]))
    assert reader.readline(5) == b"no li"
    assert reader.readline() == b"ne end"
    assert reader.readline() == b""
    reader.close()
    assert reader.readline() == b""

"""The compat32 parse tree of a well-formed message, built without the feed parser's line
loop: the same tree ``email.feedparser`` builds, or None when the message is anything
but plain well-formed MIME (the caller then runs the feed parser).

The feed parser hands every line of a message through a generator and a matcher stack;
nearly all of them are body text, and a body ends only at a line starting with ``--``.
This finds those lines with ``str.find`` and slices the bodies out whole, splitting only
header blocks into lines. It takes over only what it can reproduce exactly (the rules
below follow ``FeedParser._parsegen`` and ``_parse_headers``; the tests compare the two
on the Python that runs them, so a parser that changes is noticed) and gives up,
returning None, on everything the feed parser would record a defect for or
treat specially: a bare CR, a header block that ends in a line that is no header (not
at the end of the text), a unix-from line, a continuation or colon first, a multipart without a boundary, a start
or close boundary missing, doubled boundary lines, message/* and multipart/digest parts,
deep nesting, a non-identity Content-Transfer-Encoding on a multipart.
tests/unit/test_fasttree.py compares both parsers' trees on the corpus, the benchmark
mail and generated MIME soup. The feed parser's tree was ~40 % of the index parse; with
this the index parse of the benchmark's mail is 17 % cheaper (benchmarks/README.md,
session 12).
"""
from __future__ import annotations

import re
from email.message import Message
from email.policy import Policy

from mailcli.message.boundary import BoundaryMatcher

MAX_DEPTH = 20              # nesting the fast path takes (the feed parser's cap is 50)
MAX_CHARS = 8 << 20         # larger messages go to the feed parser (it parses in slices)

_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")   # the feed parser's headerRE
_MULTIPART_CTE = ("7bit", "8bit", "binary")


class _NotPlain(Exception):
    """Something the feed parser would treat specially: let it parse the message."""


def build(text: str, factory: type[Message], policy: Policy) -> Message | None:
    """The feed parser's tree of `text` (the message decoded as ASCII with
    surrogateescape), or None if the message is not plain well-formed MIME."""
    if len(text) > MAX_CHARS or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    try:
        root, _end = _Builder(text, factory, policy).entity(0, (), None, 0)
    except _NotPlain:
        return None
    except Exception:   # noqa: BLE001 - e.g. the stdlib's own RFC 2231 parameter decoding
        return None     # raising on odd parameters: the feed parser's caller handles that
    return root


class _Builder:
    def __init__(self, text: str, factory: type[Message], policy: Policy) -> None:
        self.text = text
        self.n = len(text)
        self.factory = factory
        self.policy = policy

    def _line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return self.n if end < 0 else end + 1

    def _next_boundary(self, pos: int, seps: tuple[BoundaryMatcher, ...]) -> int:
        """The start of the first line at or after line start `pos` that one of `seps`
        matches (the end of the text if none)."""
        if not seps:
            return self.n
        text = self.text
        start = pos if text.startswith("--", pos) else text.find("\n--", pos) + 1 or -1
        while start >= 0:
            end = self._line_end(start)
            line = text[start:end]
            if any(sep.match(line) for sep in seps):
                return start
            start = text.find("\n--", end - 1) + 1 or -1
        return self.n

    def entity(self, pos: int, seps: tuple[BoundaryMatcher, ...], parent: Message | None,
               depth: int) -> tuple[Message, int]:
        """Parse the part starting at line start `pos`, inside multiparts whose
        boundary matchers (the feed parser's, mailcli.message.boundary) are `seps`
        (outermost first); returns it and where it ends."""
        if depth > MAX_DEPTH:
            raise _NotPlain
        text, n = self.text, self.n
        msg = self.factory(policy=self.policy)
        if parent is not None:
            parent.attach(msg)
        lines: list[str] = []
        while pos < n:
            end = self._line_end(pos)
            line = text[pos:end]
            if seps and line.startswith("--"):
                raise _NotPlain          # (a boundary here would end the headers)
            if not _HEADER_LINE.match(line):
                if line not in ("\n", "\r\n"):
                    raise _NotPlain      # MissingHeaderBodySeparatorDefect
                pos = end
                break
            lines.append(line)
            pos = end
        self._headers(msg, lines)
        ctype = msg.get_content_type()
        if ctype.startswith("message/") or ctype == "multipart/digest":
            raise _NotPlain
        if ctype.startswith("multipart/"):
            return self._multipart(msg, pos, seps, depth)
        stop = self._next_boundary(pos, tuple(reversed(seps)))
        msg.set_payload(text[pos:stop])
        return msg, stop

    def _headers(self, msg: Message, lines: list[str]) -> None:
        """FeedParser._parse_headers for a block without its defects."""
        last: list[str] = []
        for line in lines:
            if line[0] in " \t":
                if not last:
                    raise _NotPlain      # FirstHeaderLineIsContinuationDefect
                last.append(line)
                continue
            if last:
                msg.set_raw(*self.policy.header_source_parse(last))
            if line.startswith("From ") or line[0] == ":":
                raise _NotPlain          # unix-from; InvalidHeaderDefect
            last = [line]
        if last:
            msg.set_raw(*self.policy.header_source_parse(last))

    def _multipart(self, msg: Message, pos: int, seps: tuple[BoundaryMatcher, ...],
                   depth: int) -> tuple[Message, int]:
        boundary = msg.get_boundary()
        if not boundary or "\n" in boundary or "\r" in boundary:
            raise _NotPlain              # NoBoundaryInMultipartDefect (or a strange one)
        if str(msg.get("content-transfer-encoding", "8bit")).lower() not in _MULTIPART_CTE:
            raise _NotPlain              # InvalidMultipartContentTransferEncodingDefect
        text, n = self.text, self.n
        own = BoundaryMatcher("--" + boundary)
        enclosing = tuple(reversed(seps))     # an enclosing boundary ends this part first
        inner = seps + (own,)
        start = self._next_boundary(pos, enclosing + (own,))
        if start >= n:
            raise _NotPlain              # StartBoundaryNotFoundDefect
        if start > pos:
            msg.preamble = _strip_eol(text[pos:start])
        parts = 0
        while True:
            end = self._line_end(start)
            line = text[start:end]
            if any(sep.match(line) for sep in enclosing):
                raise _NotPlain          # CloseBoundaryNotFoundDefect
            mo = own.match(line)
            if mo is None:
                raise _NotPlain          # (cannot be: the line ended a part of ours)
            if mo.group("end"):
                if not parts:
                    raise _NotPlain      # StartBoundaryNotFoundDefect: closed in the preamble
                pos = end
                break
            after = text[end:self._line_end(end)]
            if end >= n or any(sep.match(after) for sep in enclosing + (own,)):
                raise _NotPlain          # a boundary at the end, or doubled boundary lines
            part, start = self.entity(end, inner, msg, depth + 1)
            parts += 1
            _strip_last_line_end(part)
            if start >= n:
                raise _NotPlain          # CloseBoundaryNotFoundDefect
        # (the feed parser's epilogue: the lines after the close boundary, whose line end
        # is not part of it; a close boundary without a line end is the end of the text)
        stop = self._next_boundary(pos, enclosing)
        msg.epilogue = text[pos:stop]
        return msg, stop


def _strip_last_line_end(part: Message) -> None:
    """RFC 2046: the line end before a boundary belongs to the boundary (as the feed
    parser does it: a multipart's epilogue, a leaf's payload)."""
    if part.get_content_maintype() == "multipart":
        if part.epilogue == "":
            part.epilogue = None
        elif part.epilogue is not None:
            part.epilogue = _strip_eol(part.epilogue)
    elif isinstance(part._payload, str):  # type: ignore[attr-defined]
        part._payload = _strip_eol(part._payload)  # type: ignore[attr-defined]


def _strip_eol(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text

"""The stdlib feed parser's line source, cheaper per line and, for the index and the
reader, with a budget of lines.

``email.feedparser`` pulls every line of a message through ``BufferedSubFile``: a
``__next__`` that calls ``readline``, which asks every enclosing multipart's boundary
matcher whether the line ends the part. Nearly all lines are body text, and a boundary
line always starts with ``--``. :class:`FeedLines` yields the same lines in the same
order, with the same false EOFs, from one generator per loop and without asking the
matchers about lines that cannot be boundaries (each matcher of the stack is recognised
as a boundary matcher of mailcli.message.boundary; any other predicate, such as the
blank-line matcher of message/delivery-status, is asked about every line as before).
:class:`LineBudget` adds the cap on lines parsed (see its docstring). :func:`install`
also gives the parser an :class:`EolAtEnd` for the regex it used to find a part's final
line end (a search over the whole payload). tests/unit/test_feedlines.py checks that the
corpus and generated MIME soup parse to identical trees with the stdlib's own pieces.

Split from mime.py, which builds the tree; this owns only how lines reach the parser.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.feedparser import BufferedSubFile, NeedMoreData  # type: ignore[attr-defined]
from io import StringIO
from typing import Any

from mailcli.message.boundary import BoundaryMatcher

_HEAD_LINES = 200       # header lines kept after a "--" line once the budget is spent
_HEAD_CHARS = 64 * 1024  # the same, in characters, when whole runs are dropped at once
_DASH_LINE = re.compile(r"(?:^|(?<=\n))--", re.M)
_BLANK_LINE = re.compile(r"\n\r?\n")
_EOL_PATTERN = r"(\r\n|\r|\n)\Z"
_EOL = re.compile(_EOL_PATTERN)


class EolAtEnd:
    """``search`` of the feed parser's ``NLCRE_eol`` (a line end at the very end of the
    string) that looks only at the last two characters: the regex's search tried every
    position of a part's payload (~5 % of the index parse). The same match (span and
    groups; the parser reads group(0)): the leftmost one can only start at len-2 (a
    final CRLF) or len-1. Anything else a parser might ask of the pattern goes to the
    real one."""

    pattern = _EOL_PATTERN

    def search(self, text: str, *more: int) -> re.Match[str] | None:
        if more:            # a search window: not what the 3.11/3.12 parsers ask
            return _EOL.search(text, *more)
        n = len(text)
        return (n >= 2 and _EOL.match(text, n - 2)) or (_EOL.match(text, n - 1) if n else None)

    def __getattr__(self, name: str) -> Any:
        return getattr(_EOL, name)


def install() -> None:
    """Give email.feedparser the end-of-string line-end finder (idempotent). A Python
    whose parser uses another pattern there keeps its own (pinned by a test)."""
    from email import feedparser

    current = getattr(feedparser, "NLCRE_eol", None)
    if isinstance(current, re.Pattern) and current.pattern == _EOL_PATTERN and not current.flags & ~re.UNICODE:
        setattr(feedparser, "NLCRE_eol", EolAtEnd())  # noqa: B010 - not in its stubs


def installed() -> bool:
    from email import feedparser

    return isinstance(getattr(feedparser, "NLCRE_eol", None), EolAtEnd)


def _needs_dashes(pred: Callable[[str], Any]) -> bool:
    """Whether `pred` can only be true for a line starting with "--" (a boundary matcher)."""
    owner = getattr(pred, "__self__", None)
    return (isinstance(owner, BoundaryMatcher) and owner.separator.startswith("--")
            and getattr(pred, "__func__", None) is BoundaryMatcher.match)


class FeedLines(BufferedSubFile):  # type: ignore[misc]
    """BufferedSubFile with the same answers at a fraction of the per-line cost."""

    def __init__(self) -> None:
        super().__init__()
        self._dashes_only = True    # every matcher on the stack needs a "--" line

    def push_eof_matcher(self, pred: Callable[[str], Any]) -> None:
        super().push_eof_matcher(pred)
        self._dashes_only = self._dashes_only and _needs_dashes(pred)

    def pop_eof_matcher(self) -> Callable[[str], Any]:
        pred = super().pop_eof_matcher()
        self._dashes_only = all(_needs_dashes(p) for p in self._eofstack)
        return pred  # type: ignore[no-any-return]

    def _at_eof(self, line: str) -> bool:
        if self._dashes_only and not line.startswith("--"):
            return False
        # most nested first, as BufferedSubFile.readline (RFC 2046 5.1.2)
        return any(ateof(line) for ateof in reversed(self._eofstack))

    def readline(self) -> Any:
        lines = self._lines
        if not lines:
            return "" if self._closed else NeedMoreData
        line = lines.popleft()
        if self._eofstack and self._at_eof(line):
            lines.appendleft(line)
            return ""
        return line

    def __iter__(self) -> Iterator[Any]:
        # a generator instead of __next__ -> readline per line; the feed parser's loops
        # call iter() anew each time and push or pop no matcher while one runs, and a
        # loop that breaks leaves the lines it did not take where they were
        lines = self._lines
        stack = self._eofstack
        while True:
            if not lines:
                if self._closed:
                    return
                yield NeedMoreData
                continue
            line = lines.popleft()
            # (_at_eof inlined: this runs once per line of every message parsed)
            if stack and (line[:2] == "--" or not self._dashes_only) and any(
                    ateof(line) for ateof in reversed(stack)):
                lines.appendleft(line)
                return
            if line == "":      # pushed back by the parser at the real EOF: taken, as __next__ does
                return
            yield line


class LineBudget(FeedLines):
    """The parser's line source with a budget: after `budget` lines, body lines are
    dropped as they are pushed, so a message of millions of short lines (20 MB of blank lines
    was ~750 MB of line strings) costs at most `budget` of them. Kept past the budget:
    lines starting with "--" (every boundary, whatever the nesting) and the header block
    after such a line (up to _HEAD_LINES lines, until a blank line), so the MIME
    structure is still seen; only body text is lost. `dropped` counts what went."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.left = budget
        self.dropped = 0
        self._head = 0         # header lines still kept after a "--" line

    def pushlines(self, lines: list[str]) -> None:
        if self.left >= len(lines):
            self.left -= len(lines)
            self._lines.extend(lines)
            return
        keep, self.left = max(self.left, 0), 0
        self._lines.extend(lines[:keep])
        for line in lines[keep:]:
            if line.startswith("--"):
                self._head = _HEAD_LINES
            elif self._head > 0:
                self._head = 0 if line in ("\n", "\r\n", "\r") else self._head - 1
            else:
                self.dropped += 1
                continue
            self._lines.append(line)

    def push(self, data: str) -> None:
        """Past the budget, whole runs of body lines are dropped here, before they are split
        into line strings (the per-line path costs ~1 s per million lines): only the
        lines that pushlines would keep are pushed."""
        if self.left > 0 or self._head > 0:
            super().push(data)
            return
        text = self._partial.getvalue() + data
        end = text.rfind("\n") + 1
        if end == 0:             # no complete line yet (or only "\r" line ends): slow path
            self._partial.seek(0)
            self._partial.truncate()
            super().push(text)
            return
        self._partial.seek(0)
        self._partial.truncate()
        self._partial.write(text[end:])
        pos = 0
        for m in _DASH_LINE.finditer(text, 0, end):
            if m.start() < pos:
                continue
            self.dropped += text.count("\n", pos, m.start())
            blank = _BLANK_LINE.search(text, m.start(), min(end, m.start() + _HEAD_CHARS))
            if blank is None:    # the header block goes on in the next data: per line
                self.pushlines(_lines_of(text[m.start():end]))
                return
            self.pushlines(_lines_of(text[m.start():blank.end()]))
            pos = blank.end()
        self.dropped += text.count("\n", pos, end)


def _lines_of(text: str) -> list[str]:
    return StringIO(text, newline="").readlines()


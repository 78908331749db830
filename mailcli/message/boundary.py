"""The MIME boundary matcher of the stdlib feed parser, without a regex compile per message.

``email.feedparser`` compiles one regular expression per multipart part it parses::

    re.compile('(?P<sep>' + re.escape('--' + boundary) +
               r')(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$')

and every boundary is unique, so ``re``'s cache never hits: ~0.16 ms of pure-Python
regex compilation per multipart part (the parse runs for every message a sync downloads;
without the compiles the benchmark mail's index parse is ~5 % cheaper,
benchmarks/micro_bench.py). :func:`install` gives the feed
parser module a ``re`` whose ``compile`` recognises exactly that pattern and answers a
:class:`BoundaryMatcher`: ``startswith`` of the separator, then one precompiled regex for
the rest of the line, with the same match result (truthiness and the ``end``, ``ws`` and
``linesep`` groups, all that the parser reads). Any other pattern, or one whose separator
does not re-escape to exactly the text given, goes to the real ``re.compile``: if a
future Python changes the parser, the speed-up is lost, not the correctness
(tests/unit/test_boundary.py pins both).
"""
from __future__ import annotations

import re
from types import ModuleType
from typing import Any

_PREFIX = "(?P<sep>"
_SUFFIX = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_TAIL = re.compile(r"(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")
_ESCAPED = re.compile(r"\\(.)", re.S)


class BoundaryMatcher:
    """``match(line)`` of the compiled boundary regex, for one separator ("--" + boundary)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _TAIL.match(line, len(self.separator))


def separator_of(pattern: str) -> str | None:
    """The separator of a feed parser boundary pattern, or None for any other pattern."""
    if not (pattern.startswith(_PREFIX) and pattern.endswith(_SUFFIX)):
        return None
    escaped = pattern[len(_PREFIX):-len(_SUFFIX)]
    separator = _ESCAPED.sub(r"\1", escaped)
    return separator if re.escape(separator) == escaped else None


class _ReForFeedparser:
    """The ``re`` module as email.feedparser sees it: compile() knows boundary patterns."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        if not flags and isinstance(pattern, str):
            separator = separator_of(pattern)
            if separator is not None:
                return BoundaryMatcher(separator)
        return self._real.compile(pattern, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> None:
    """Give email.feedparser the boundary-aware ``re`` (idempotent)."""
    from email import feedparser

    if not isinstance(getattr(feedparser, "re", None), _ReForFeedparser):
        setattr(feedparser, "re", _ReForFeedparser(re))  # noqa: B010 - not in its stubs


def installed() -> bool:
    from email import feedparser

    return isinstance(getattr(feedparser, "re", None), _ReForFeedparser)

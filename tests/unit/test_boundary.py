"""mailcli.message.boundary: the feed parser's boundary matcher without a regex compile per
part answers what the compiled regex answers, and the parse trees stay the same."""
from __future__ import annotations

import email.feedparser
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from mailcli.message import boundary, fasttree, mime
from tests.helpers import tree_shape

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"


def stdlib_pattern(separator: str) -> str:
    # the expression email.feedparser builds (3.11)
    return ("(?P<sep>" + re.escape(separator) +
            r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$")


BOUNDARIES = ["=_abc", "----=_Part_0_123.456", "simple boundary", "(a)+?*[]{}|^$\\.",
              "b\udcc3\udca4", "ünïcode", "", "-", "--", "a b\tc", "x'\"y", "#&%~`"]
TAILS = ["", "\n", "\r\n", "\r", "--", "--\n", "--\r\n", "  \r\n", " \t--\n", "--  \n",
         "x", "x\n", " x\n", "---\n", "--x\n", "\n\n", "\r\n\r\n", "-- \r\n", "\t"]


@pytest.mark.parametrize("b", BOUNDARIES)
def test_matcher_answers_what_the_compiled_regex_answers(b: str) -> None:
    sep = "--" + b
    pattern = stdlib_pattern(sep)
    assert boundary.separator_of(pattern) == sep
    real = re.compile(pattern)
    fast = boundary.BoundaryMatcher(sep)
    lines = [sep + t for t in TAILS] + [sep[:-1] + t for t in TAILS if sep[:-1]] + \
            ["prefix " + sep + "\n", sep.upper() + "\n", ""]
    for line in lines:
        want, got = real.match(line), fast.match(line)
        assert bool(got) == bool(want), (line, want, got)
        if want is not None:
            assert got is not None
            for group in ("end", "ws", "linesep"):
                assert got.group(group) == want.group(group), (line, group)


def test_other_patterns_go_to_re() -> None:
    assert boundary.separator_of(r"(\r\n|\r|\n)") is None
    assert boundary.separator_of(stdlib_pattern("--x").replace("(?P<ws>", "(?P<w>")) is None
    # a separator text that re.escape would not produce: left to re as well
    assert boundary.separator_of("(?P<sep>a.b" + stdlib_pattern("")[len("(?P<sep>"):]) is None
    compiled = email.feedparser.re.compile(r"ab+c")
    assert isinstance(compiled, re.Pattern) and compiled.match("abbc")


def test_installed_and_used_by_the_feed_parser() -> None:
    """If a Python changes the feed parser, this says the speed-up is gone."""
    assert boundary.installed()
    source = inspect.getsource(email.feedparser)
    assert "(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$'" in source
    made: list[str] = []
    real_init = boundary.BoundaryMatcher.__init__

    def spy(self: Any, separator: str) -> None:
        made.append(separator)
        real_init(self, separator)

    raw = (b"Content-Type: multipart/mixed; boundary=\"outer b\"\r\n\r\n--outer b\r\n"
           b"Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\nplain\r\n"
           b"--in--\r\n--outer b--\r\n")
    boundary.BoundaryMatcher.__init__ = spy   # type: ignore[method-assign]
    fast = fasttree.build
    fasttree.build = lambda *a: None   # type: ignore[assignment]   # (the feed parser's path)
    try:
        msg = mime.parse_tree(raw)
    finally:
        boundary.BoundaryMatcher.__init__ = real_init   # type: ignore[method-assign]
        fasttree.build = fast   # type: ignore[assignment]
    assert made == ["--outer b", "--in"]
    assert msg.get_payload(0).get_payload(0).get_payload() == "plain"   # (CRLF: the boundary's)


def test_corpus_parses_to_the_same_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fasttree, "build", lambda *a: None)    # the feed parser's trees
    files = sorted(CORPUS.rglob("*.eml"))
    assert len(files) > 100
    fast = [tree_shape(mime.parse_tree(f.read_bytes(), max_lines=mime.MAX_LINES)) for f in files]
    patched = email.feedparser.re
    email.feedparser.re = re   # type: ignore[attr-defined]
    try:
        slow = [tree_shape(mime.parse_tree(f.read_bytes(), max_lines=mime.MAX_LINES)) for f in files]
    finally:
        email.feedparser.re = patched   # type: ignore[attr-defined]
    for f, a, b in zip(files, fast, slow):
        assert a == b, f
    assert sum(1 for shape in fast if len(shape) > 1) > 50   # multipart mail was there

"""The feed parser's cheaper line source (mailcli.message.feedlines) builds the same trees
as the stdlib's BufferedSubFile and NLCRE_eol: on the corpus, and on generated MIME soup
(nested and overlapping boundaries, delivery-status blocks, every line ending)."""
from __future__ import annotations

import email.feedparser
import inspect
import itertools
import re
from email.feedparser import BufferedSubFile  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.message import fasttree, feedlines, mime
from tests.helpers import tree_shape

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
STDLIB_EOL = re.compile(r"(\r\n|\r|\n)\Z")


class _NoFallback:
    """mime.parse_tree's logger, failing the test if the parse fell back to headers only
    (both sides falling back would otherwise compare equal)."""

    def exception(self, msg: str, *args: object) -> None:
        raise AssertionError("parse_tree fell back: " + msg)

    warning = exception

    def debug(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "logger", _NoFallback())
    # these tests are about the feed parser's line source: no tree from the fast builder
    monkeypatch.setattr(fasttree, "build", lambda *a: None)


@pytest.fixture
def stock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A function parsing with the stdlib's line source and line-end regex instead."""
    def parse(raw: bytes, max_lines: int | None) -> Any:
        with monkeypatch.context() as m:
            for name in ("readline", "__iter__"):
                m.setattr(feedlines.FeedLines, name, getattr(BufferedSubFile, name))
            m.setattr(email.feedparser, "NLCRE_eol", STDLIB_EOL)
            return mime.parse_tree(raw, max_lines=max_lines)
    return parse


def test_installed_and_the_stdlib_still_has_what_it_replaces() -> None:
    """If a Python changes the feed parser, this says the speed-up is gone."""
    assert feedlines.installed()
    source = inspect.getsource(email.feedparser)
    assert "NLCRE_eol.search(payload)" in source
    assert "for ateof in reversed(self._eofstack):" in source


def test_end_of_string_line_end_is_the_regex_search() -> None:
    finder = feedlines.EolAtEnd()
    for n in range(7):
        for chars in itertools.product("a\r\n", repeat=n):
            text = "".join(chars)
            want, got = STDLIB_EOL.search(text), finder.search(text)
            assert (want is None) == (got is None), repr(text)
            if want is not None and got is not None:
                assert (want.span(), want.group(0)) == (got.span(), got.group(0)), repr(text)


@pytest.mark.parametrize("max_lines", [None, mime.MAX_LINES])
def test_corpus_parses_to_the_same_trees(stock: Any, max_lines: int | None) -> None:
    files = sorted(CORPUS.rglob("*.eml"))
    assert len(files) > 100
    for f in files:
        raw = f.read_bytes()
        assert tree_shape(mime.parse_tree(raw, max_lines=max_lines)) == tree_shape(stock(raw, max_lines)), f


_HEADERS = ["Content-Type: multipart/mixed; boundary=b1", "Content-Type: multipart/alternative; boundary=b2",
            "Content-Type: multipart/mixed; boundary=\"b1 x\"", "Content-Type: multipart/digest; boundary=b",
            "Content-Type: message/rfc822", "Content-Type: message/delivery-status",
            "Content-Type: text/plain", "Subject: hi", " folded", "From nobody"]
_LINES = _HEADERS + ["", "", "--b1", "--b1--", "--b1 x", "--b1 x--", "--b2", "--b2--  ", "--b",
                     "--b--", "--b1x", "-- b1", "body text", "--", "Action: failed", "a: b"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(_HEADERS[:6]), st.lists(st.sampled_from(_LINES), max_size=40),
       st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3),
       st.booleans())
def test_generated_mime_soup_parses_to_the_same_trees(top: str, lines: list[str], ends: list[str],
                                                      final: bool) -> None:
    lines = [top, ""] + lines
    text = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines))
    if not final and text:
        text = text.rstrip("\r\n")
    raw = text.encode()
    for max_lines in (None, 5):
        with pytest.MonkeyPatch.context() as m:
            m.setattr(mime, "logger", _NoFallback())
            m.setattr(fasttree, "build", lambda *a: None)
            for name in ("readline", "__iter__"):
                m.setattr(feedlines.FeedLines, name, getattr(BufferedSubFile, name))
            m.setattr(email.feedparser, "NLCRE_eol", STDLIB_EOL)
            want = tree_shape(mime.parse_tree(raw, max_lines=max_lines))
        assert tree_shape(mime.parse_tree(raw, max_lines=max_lines)) == want

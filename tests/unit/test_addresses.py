"""mailcli.message.addresses.getaddresses answers what email.utils.getaddresses answers
(lenient, on Pythons that also parse strictly), for plain mailbox lists (read by its own
regex) and for anything else (handed over)."""
from __future__ import annotations

import email.utils

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.message import addresses


def stdlib(values: list[str]) -> list[tuple[str, str]]:
    if getattr(email.utils, "supports_strict_parsing", False):
        return email.utils.getaddresses(values, strict=False)
    return email.utils.getaddresses(values)

TOKENS = ["a", "Bob", "b.c", "x@y.z", "<p@q.r>", "@", "<", ">", '"', ",", " ", "  ", "\t", ".", "(",
          ")", ":", ";", "\\", "[", "]", "é", "Ünal", '"N, a"', '"q\\"x"', "\r\n ", "=?utf-8?q?x?=",
          "mailcliEW0X", "-", "'", "a..b", "@d", "!#$%", "\x7f", "\xa0"]
NAMES = ["Bob", "Bob Smith", "J. R. Smith", '"Smith, Bob"', '"  spaced  "', '""', "Ünal Çelik",
         "mailcliEW0X mailcliEW1X", "O'Neil", "a\tb", "x.", ".x", "!#$%&'*+/=?^_`{|}~-"]
ADDRS = ["a@b.c", "first.last@example.org", "x+tag@sub.example.net", "a@b", "o'neil@x.ie",
         "a.@b", "a@b..c", "-@-"]


@st.composite
def plain_lists(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(1, 4))):
        addr = draw(st.sampled_from(ADDRS))
        shape = draw(st.integers(0, 2))
        item = addr if shape == 0 else f"<{addr}>" if shape == 1 else f"{draw(st.sampled_from(NAMES))} <{addr}>"
        items.append(draw(st.sampled_from(["", " ", "\t"])) + item + draw(st.sampled_from(["", " "])))
    return draw(st.sampled_from([",", ", ", " ,"])).join(items) + draw(st.sampled_from(["", ",", ", ", ",,"]))


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14).map("".join))
def test_same_as_the_stdlib_on_token_soup(value: str) -> None:
    assert addresses.getaddresses(value) == stdlib([value])


@settings(max_examples=1500, deadline=None)
@given(plain_lists())
def test_same_as_the_stdlib_on_plain_lists(value: str) -> None:
    assert addresses.getaddresses(value) == stdlib([value])


@pytest.mark.parametrize("value", ["Bob Smith <bob@example.org>", '"Smith, Bob" <bob@example.org>',
                                   "bob@example.org, <al@example.org>", "mailcliEW0X <a@b.c>, c@d.e,"])
def test_plain_lists_are_read_without_the_stdlib(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    want = stdlib([value])

    def refuse(values: list[str]) -> list[tuple[str, str]]:
        raise AssertionError("handed to the stdlib")
    monkeypatch.setattr(addresses, "_stdlib_getaddresses", refuse)
    assert addresses.getaddresses(value) == want


def test_lenient_where_the_python_parses_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python with strict parsing (here simulated) is asked for the lenient answer."""
    asked: list[object] = []
    real = email.utils.getaddresses

    def strict_capable(values: list[str], *, strict: bool = True) -> list[tuple[str, str]]:
        asked.append(strict)
        return [("", "")] if strict else real(values)
    monkeypatch.setattr(email.utils, "supports_strict_parsing", True, raising=False)
    monkeypatch.setattr(email.utils, "getaddresses", strict_capable)
    assert addresses.getaddresses("a@b.c (comment),") == real(["a@b.c (comment),"]) != [("", "")]
    assert asked == [False]

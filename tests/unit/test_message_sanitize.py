"""safe_text / safe_line: nothing that drives a terminal survives."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.message.sanitize import clean_text, safe_line, safe_text, strip_controls

# What must never reach a terminal: C0 except \t \n, DEL, C1, bidi overrides/isolates,
# line/paragraph separators, lone surrogates.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def test_plain_text_is_unchanged() -> None:
    text = "Hello, wörld — 日本語 👋\n\tindented\n"
    assert safe_text(text) == text
    assert safe_line("Grüße aus Köln") == "Grüße aus Köln"


def test_escape_sequences_are_removed_whole() -> None:
    assert safe_text("\x1b[31mred\x1b[0m") == "red"
    assert safe_text("a\x1b]0;pwned-title\x07b") == "ab"                        # OSC title
    assert safe_text("a\x1b]52;c;Y3VybCBldmls\x1b\\b") == "ab"                 # OSC 52, ST
    assert safe_text("a\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\b") == "alinkb"  # OSC 8
    assert safe_text("a\x1bP1$qm\x1b\\b") == "ab"                               # DCS
    assert safe_text("a\x9b31mb") == "ab"                                       # 8-bit CSI
    assert safe_text("a\x9d0;title\x9cb") == "ab"                               # 8-bit OSC
    assert safe_text("x\x1b[2J\x1b[Hy") == "xy"
    assert safe_text("\x1bc") == ""                                             # RIS


def test_stray_controls_become_visible() -> None:
    assert safe_text("bell\x07") == "bell\u2407"
    assert safe_text("nul\x00") == "nul\u2400"
    assert safe_text("del\x7f") == "del\u2421"
    assert safe_text("c1\x85") == "c1\ufffd"
    assert safe_text("bidi \u202egpj.exe") == "bidi \ufffdgpj.exe"
    assert safe_text("surrogate \udcff") == "surrogate \ufffd"
    assert safe_text("unterminated \x1b]0;title") .startswith("unterminated ")
    assert "\x1b" not in safe_text("unterminated \x1b]0;title")


def test_carriage_return_cannot_overwrite() -> None:
    assert safe_text("innocent\rEVIL") == "innocent\nEVIL"
    assert safe_text("a\r\nb") == "a\nb"
    assert safe_line("a\r\nb\tc\nd") == "a b c d"
    assert safe_line("  padded  ") == "padded"


def test_strip_and_clean() -> None:
    assert strip_controls("a\x1b[1mb\tc\nd\x00") == "abcd"
    assert clean_text("a\x1b[1mb\tc\r\nd\x00") == "ab\tc\nd"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=8)
                | st.sampled_from(["\x1b[", "\x1b]", "\x9b", "\x07", "\x1b\\", "\u202e", "\r",
                                   "\ud800", "\u2028"]), max_size=20).map("".join))
def test_safe_text_and_line_never_leave_unsafe_chars(s: str) -> None:
    text = safe_text(s)
    line = safe_line(s)
    assert not UNSAFE_TEXT.search(text)
    assert not UNSAFE_LINE.search(line)
    assert "\r" not in text
    text.encode("utf-8")
    line.encode("utf-8")
    assert safe_text(text) == text       # idempotent
    assert safe_line(line) == line

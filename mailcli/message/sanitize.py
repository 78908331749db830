"""Terminal-safe text: the one gate every message-derived string passes before it is shown.

Mail is hostile input. A Subject, a display name, a body or a file name can carry terminal
escape sequences (colours, cursor movement, OSC 52 clipboard writes, OSC 8 links, window
titles), bare C0/C1 control characters, a carriage return that overwrites the line, Unicode
bidi overrides that disguise "gpj.exe" as "exe.jpg", or lone surrogates (undecodable bytes)
that crash a UTF-8 terminal writer. `safe_text` (multi-line bodies: keeps newline and tab)
and `safe_line` (one-line fields) neutralize all of these; the CLI and the TUI print nothing
from a message without them.

Complete escape sequences (ESC or 8-bit C1 introducer) are removed whole, so their
parameters do not leak into the text; any control character left over becomes a visible
Unicode "control picture" (U+2400 block) or U+FFFD, so the reader still sees that something
odd was there.
"""
from __future__ import annotations

import re

__all__ = ["safe_text", "safe_line", "strip_controls", "clean_text"]

# Complete escape sequences, 7-bit (ESC ...) and 8-bit (C1) introducers.
#   CSI: ESC [ or 0x9B, parameters, intermediates, one final byte
#   OSC/DCS/SOS/PM/APC: ESC ] P X ^ _ or 0x9D 0x90 0x98 0x9E 0x9F, up to BEL or ST (ESC \ or 0x9C)
#   (strings are bounded: an unterminated one is not swallowed whole, only its introducer)
#   two/three-char ESC sequences: ESC, optional intermediates 0x20-0x2F, one final 0x30-0x7E
_ESC_SEQ = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)

# Anything still dangerous once sequences are gone: C0 (tab/newline handled separately),
# DEL, C1, bidi embeddings/overrides/isolates, line/paragraph separators, lone surrogates.
_DANGER = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_DANGER_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def _picture(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)          # ␀ .. ␟
    if code == 0x7F:
        return "\u2421"                    # ␡
    return "\ufffd"                        # C1, bidi controls, surrogates


def _replace(match: re.Match[str]) -> str:
    return _picture(match.group())


def safe_text(s: str) -> str:
    """Multi-line text (bodies) made safe to print: keeps \\n and \\t, neutralizes the rest.

    CRLF and bare CR become \\n (a bare CR could overwrite what was printed before it);
    U+2028/U+2029 become \\n.
    """
    if not s:
        return ""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if "\u2028" in s or "\u2029" in s:
        s = s.replace("\u2028", "\n").replace("\u2029", "\n")
    if not _DANGER_TEXT.search(s):
        return s
    if "\x1b" in s or _HAS_C1_INTRO.search(s):
        s = _ESC_SEQ.sub("", s)
    return _DANGER_TEXT.sub(_replace, s)


def safe_line(s: str) -> str:
    """One-line text (subjects, names, file names) made safe: no newline or tab either.

    Line breaks and tabs become single spaces; leading/trailing whitespace is stripped.
    """
    if not s:
        return ""
    if not _DANGER.search(s) and "\t" not in s and s == s.strip():
        return s
    if "\x1b" in s or _HAS_C1_INTRO.search(s):
        s = _ESC_SEQ.sub("", s)
    s = _LINE_WS.sub(" ", s)
    return _DANGER.sub(_replace, s).strip()


def strip_controls(s: str) -> str:
    """Remove (rather than show) escape sequences and every control character, tab and
    newline included. For values that become names on disk or keys, not for display."""
    if not s:
        return ""
    if "\x1b" in s or _HAS_C1_INTRO.search(s):
        s = _ESC_SEQ.sub("", s)
    return _DANGER.sub("", s).replace("\t", "")


def clean_text(s: str) -> str:
    """Remove (rather than show) escape sequences and control characters but keep \\n and
    \\t; line endings become \\n. For stored text such as the search index's body text."""
    if not s:
        return ""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if not _DANGER_TEXT.search(s):
        return s
    if "\x1b" in s or _HAS_C1_INTRO.search(s):
        s = _ESC_SEQ.sub("", s)
    return _DANGER_TEXT.sub("", s)


_HAS_C1_INTRO = re.compile("[\x90\x98\x9b\x9d\x9e\x9f]")
_LINE_WS = re.compile("(?:\r\n|[\r\n\t\u2028\u2029])+")

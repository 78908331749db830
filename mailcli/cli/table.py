"""Terminal tables: display width of text (wide and combining characters), truncation
with an ellipsis, and columns fitted to the terminal width (one flexible column takes
what is left). Styling is applied after padding so escape codes never count as width."""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailcli.message.sanitize import safe_line

ELLIPSIS = "…"


def char_width(ch: str) -> int:
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(char_width(c) for c in text)


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` display cells, ending in "…" when cut."""
    if width <= 0:
        return ""
    if text_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - text_width(text))
    return gap + text if right else text + gap


@dataclass(frozen=True)
class Column:
    """One column: `max` caps its width, `flex` marks the one that takes the rest; `min`
    (None: never shrunk) is how narrow it may get when the terminal is narrow."""

    header: str
    right: bool = False
    max: int = 40
    min: int | None = None
    flex: bool = False
    style: Callable[[str, Sequence[str]], str] | None = None  # (padded cell, row) -> styled


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]], total: int,
           header: bool = False, gap: int = 2) -> list[str]:
    """Lines of a table no wider than `total` cells (the flexible column shrinks first,
    then the others down to their minimum)."""
    rows = [[safe_line(c) for c in r] for r in rows]  # server/message text: never raw
    widths, mins = [], []
    for i, col in enumerate(columns):
        natural = max([text_width(r[i]) for r in rows] + [text_width(col.header) if header else 0])
        w = max(1, min(natural, col.max if not col.flex else natural))
        widths.append(w)
        mins.append(w if col.min is None else min(w, col.min))
    budget = total - gap * (len(columns) - 1)
    flex = [i for i, c in enumerate(columns) if c.flex]
    excess = sum(widths) - budget
    for i in flex:
        cut = min(max(excess, 0), widths[i] - mins[i])
        widths[i] -= cut
        excess -= cut
    # then the others, one cell at a time from the widest, so that no single column
    # (From) is cut to its minimum while another (Folder) keeps all of its width
    while excess > 0:
        can = [i for i in range(len(columns)) if i not in flex and widths[i] > mins[i]]
        if not can:
            break
        widest = max(can, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    # no trailing padding after the last column
    lines = []
    sep = " " * gap
    if header:
        lines.append(sep.join(pad(truncate(c.header, w), w, c.right)
                              for c, w in zip(columns, widths)).rstrip())
    for row in rows:
        cells = []
        for col, w, cell in zip(columns, widths, row):
            text = pad(truncate(cell, w), w, col.right)
            cells.append(col.style(text, row) if col.style else text)
        lines.append(sep.join(cells).rstrip())
    return lines

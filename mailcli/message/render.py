"""Raw bytes -> what a reader sees: the body as terminal-safe text, the HTML source, the
attachment list and the display headers.

The body is the text/plain part, else the HTML part rendered to text with html2text
(imported lazily; it only parses the string given: nothing remote is ever fetched, images
become "[alt]"). Attached messages shown inline get a small header block. Everything in
`RenderedMessage.text` and `.headers` has passed through sanitize (`safe_text` /
`safe_line`); `.html` is the decoded HTML source, unsanitized, for `show --json` and
callers that escape it themselves.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from mailcli.message import headers as hdr
from mailcli.message import mime
from mailcli.message.attachments import attachment_infos
from mailcli.message.sanitize import safe_line, safe_text
from mailcli.model import AttachmentInfo

__all__ = ["RenderedMessage", "render_text", "headers_for_display", "html_to_text",
           "DISPLAY_HEADERS"]

logger = logging.getLogger(__name__)

HTML_INPUT_LIMIT = 512 * 1024      # characters of one HTML part given to html2text
TEXT_LIMIT = 4 * 1024 * 1024         # characters of rendered text kept
PART_BYTES_LIMIT = 8 * 1024 * 1024   # bytes of one text part decoded
MAX_HEADERS = 1000                   # header fields shown with all_headers

DISPLAY_HEADERS = ("Date", "From", "To", "Cc", "Reply-To", "Subject")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender",
                              "resent-from", "resent-to", "resent-cc"})


@dataclass(frozen=True)
class RenderedMessage:
    text: str                                   # terminal-safe body text
    html: str | None                            # decoded HTML source of the body, if any
    attachments: list[AttachmentInfo] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)   # terminal-safe


_BLANK_RUNS = re.compile(r"\n(?:[ \t]*\n){2,}")


class _PlainText:
    """html2text set up for people, not for Markdown: no emphasis marks, headings as plain
    paragraphs (no '#'), links as numbered references ``text [1]`` with the list of URLs
    at the end, images as ``[alt]``, tables as padded columns. Nothing is fetched: only
    the string given is parsed."""

    def __init__(self) -> None:
        self.links: list[str] = []
        self._open: list[str | None] = []  # href of each <a> being read (None: no number)

    def callback(self, parser: Any, tag: str, attrs: dict[str, str | None], start: bool) -> bool:
        if tag == "img":
            if start:
                alt = (attrs.get("alt") or attrs.get("title") or "image").strip() or "image"
                parser.o("[" + " ".join(alt.split()) + "]")
            return True
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            parser.p()
            return True
        if tag == "a":
            if start:
                href = (attrs.get("href") or "").strip()
                wanted = href and not href.startswith("#") and not href.lower().startswith("javascript:")
                self._open.append(href if wanted else None)
                parser.o("")  # keeps html2text's spacing state as for text
            elif self._open:
                target = self._open.pop()
                if target is not None:
                    if target in self.links:
                        number = self.links.index(target) + 1
                    else:
                        self.links.append(target)
                        number = len(self.links)
                    parser.o(f" [{number}]")
            return True
        return False

    def references(self) -> str:
        if not self.links:
            return ""
        return "\n\n" + "\n".join(f"[{n}] {url}" for n, url in enumerate(self.links, 1)) + "\n"


def html_to_text(source: str) -> str:
    """HTML rendered to readable plain text (not yet sanitized). Never fetches anything."""
    import html2text  # lazy: only `show`/the TUI reader need it

    if len(source) > HTML_INPUT_LIMIT:
        source = source[:HTML_INPUT_LIMIT]
    class _Unescaped(html2text.HTML2Text):
        def handle_data(self, data: str, entity_char: bool = False) -> None:
            # entity_char=True only skips the Markdown escaping ("1\\." -> "1.")
            super().handle_data(data, entity_char=True)

    plain = _PlainText()
    conv = _Unescaped()
    conv.body_width = 0
    conv.unicode_snob = True
    conv.ignore_images = False
    conv.images_to_alt = True
    conv.ignore_emphasis = True
    conv.pad_tables = True
    conv.ul_item_mark = "-"
    conv.tag_callback = plain.callback  # type: ignore[assignment]  # typed None upstream
    conv.protect_links = False
    try:
        text = conv.handle(source)
    except Exception:  # html2text on hostile markup: fall back to the tag stripper
        logger.debug("html2text failed; stripping tags", exc_info=True)
        from mailcli.message.parse import strip_html
        return strip_html(source)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n") + plain.references()


def _embedded_block(part: mime.Message) -> str:
    kids = mime.children(part)
    if not kids:
        return ""
    inner = kids[0]
    lines = ["---------- Attached message ----------"]
    for name, value in _display_items(inner, DISPLAY_HEADERS):
        lines.append(f"{name}: {value}")
    return "\n".join(lines) + "\n"


def render_text(raw: bytes, prefer_html: bool = False) -> RenderedMessage:
    """Render a raw message for reading; never raises for bad mail."""
    root = mime.parse_tree(raw, max_lines=mime.MAX_LINES)
    chunks: list[str] = []
    html_source: str | None = None
    size = 0
    try:
        pieces = mime.body_pieces(root, prefer_html=prefer_html)
    except RecursionError:
        pieces = []
    for kind, part in pieces:
        if kind == "embedded":
            text = _embedded_block(part)
        else:
            text = mime.part_text(part, limit=PART_BYTES_LIMIT)
            if kind == "html":
                if html_source is None:
                    html_source = text
                text = html_to_text(text)
        chunks.append(text.strip("\r\n"))
        size += len(text)
        if size >= TEXT_LIMIT:
            break
    if html_source is None and not prefer_html:
        html_source = _first_html(root)
    body = "\n\n".join(c for c in chunks if c)[:TEXT_LIMIT]
    dropped = mime.lines_dropped(root)
    if dropped:
        body += (f"\n\n[mailcli: {dropped} more lines of this message are not shown "
                 f"(over {mime.MAX_LINES} lines); `show --raw` has them all]")
    try:
        infos = attachment_infos(root)
    except RecursionError:
        infos = []
    return RenderedMessage(text=safe_text(body), html=html_source, attachments=infos,
                           headers=_display_items(root, DISPLAY_HEADERS))


def _first_html(root: mime.Message) -> str | None:
    for kind, part in mime.body_pieces(root, prefer_html=True):
        if kind == "html":
            return mime.part_text(part, limit=PART_BYTES_LIMIT)
    return None


def _display_items(msg: mime.Message, names: tuple[str, ...] | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    try:
        items = msg.raw_items()
    except Exception:
        return out
    if names is None:
        for name, value in items:
            if len(out) >= MAX_HEADERS:
                break
            out.append((safe_line(hdr.raw_to_str(name)), _display_value(name, value)))
        return out
    wanted = {n.lower(): n for n in names}
    found: dict[str, object] = {}
    for name, value in items:
        key = name.strip().lower()
        if key in wanted and key not in found:
            found[key] = value
    for key, label in wanted.items():
        if key in found:
            value = _display_value(key, found[key])
            if value:
                out.append((label, value))
    return out


def _display_value(name: str, value: object) -> str:
    key = name.strip().lower()
    if key in _ADDRESS_HEADERS:
        text = hdr.decode_addresses(value)
    else:
        text = hdr.decode_header_value(value)
    return safe_line(text)


def headers_for_display(raw: bytes, all_headers: bool = False) -> list[tuple[str, str]]:
    """(name, value) pairs to show above a body, decoded and terminal-safe: Date, From, To,
    Cc, Reply-To, Subject (those present), or every field in order with `all_headers`."""
    return _display_items(mime.parse_tree(raw, max_lines=mime.MAX_LINES),
                          None if all_headers else DISPLAY_HEADERS)

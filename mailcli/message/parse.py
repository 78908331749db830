"""Raw bytes -> ParsedMessage: the envelope fields and text that the index and the
renderer need. Never raises on bad mail: every message yields a ParsedMessage.

Speed matters here (the index parses every message it stores), so parse_message uses the
depth-capped compat32 tree of mailcli.message.mime and decodes only the headers it needs
with mailcli.message.headers; no header objects of policy=default are built. HTML-only
bodies, and the HTML alternative of a text/plain body (it can hold words the plain text
lacks; capped at HTML_ALT_CHARS), are reduced to searchable text with a cheap tag stripper
(render.py uses html2text for display). mail-parser is not imported here: the stdlib tree with our own lenient
decoders handles the whole test corpus, and `import mailcli.message.parse` stays cheap.

Fields hold decoded text, not yet terminal-safe: pass them through
mailcli.message.sanitize before printing.
"""
from __future__ import annotations

import email.policy
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from mailcli.message import headers as hdr
from mailcli.message import mime
from mailcli.message.attachments import attachment_infos
from mailcli.message.sanitize import clean_text
from mailcli.message.skeleton import skeleton
from mailcli.model import AttachmentInfo

__all__ = ["ParsedMessage", "parse_message", "parse_for_index", "parse_bytes", "BODY_TEXT_LIMIT"]

BODY_TEXT_LIMIT = 64 * 1024          # characters of body text kept for full-text search
_PART_BYTES_LIMIT = 256 * 1024       # bytes of one part decoded for body text
HTML_ALT_BYTES = 64 * 1024           # bytes of an HTML alternative decoded for search...
HTML_ALT_CHARS = 16 * 1024           # ...and characters of its text indexed

_WANTED = ("message-id", "date", "from", "to", "cc", "subject", "in-reply-to", "references")


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    date: datetime | None
    from_: str
    to: str
    cc: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    has_attachments: bool
    body_text: str = ""            # plain text for full-text search (capped)
    attachments: tuple[AttachmentInfo, ...] = field(default_factory=tuple)


def parse_bytes(raw: bytes) -> EmailMessage:
    """The message as an EmailMessage (policy=default), depth-capped; never raises.

    For callers that want the modern API (reply/forward quoting). Header access on a
    policy=default message can raise on malformed values: prefer the decoded fields of
    parse_message, or read `msg.raw_items()` and decode with mailcli.message.headers.
    """
    return mime.parse_tree(raw, email.policy.default)  # type: ignore[return-value]


def parse_message(raw: bytes) -> ParsedMessage:
    """Envelope, search text and attachment list of a raw message; never raises."""
    return _parse(mime.parse_tree(raw, max_lines=mime.MAX_LINES), with_attachments=True)


def parse_for_index(raw: bytes) -> ParsedMessage:
    """What the index stores of a message: parse_message without the attachment list
    (`attachments` is empty; `has_attachments` is set), and the bulk of large base64
    bodies never parsed (message.skeleton). Same envelope, search text and has_attachments
    as parse_message; several times faster on mail with attachments. Never raises."""
    return _parse(mime.parse_tree(skeleton(raw), max_lines=mime.MAX_LINES), with_attachments=False)


def _parse(msg: mime.Message, with_attachments: bool) -> ParsedMessage:
    found: dict[str, object] = {}
    try:
        items = msg.raw_items()
        for name, value in items:
            key = name.strip().lower().replace("\x00", "")
            if key in _WANTED and key not in found:
                found[key] = value
    except Exception:
        pass

    def get(key: str) -> object:
        return found.get(key, "")

    infos: tuple[AttachmentInfo, ...] = ()
    has_attachments = False
    try:
        if with_attachments:
            infos = tuple(attachment_infos(msg))
            has_attachments = bool(infos)
        else:
            has_attachments = bool(mime.attachment_parts(msg))
    except RecursionError:
        pass
    try:
        body = _body_text(msg)
    except RecursionError:
        body = ""
    return ParsedMessage(
        message_id=hdr.first_msgid(get("message-id")),
        date=hdr.parse_date(get("date")),
        from_=hdr.decode_addresses(get("from")),
        to=hdr.decode_addresses(get("to")),
        cc=hdr.decode_addresses(get("cc")),
        subject=hdr.decode_header_value(get("subject")),
        in_reply_to=hdr.first_msgid(get("in-reply-to")),
        references=hdr.msgid_list(get("references")),
        has_attachments=has_attachments,
        body_text=body,
        attachments=infos,
    )


def _body_text(msg: mime.Message) -> str:
    chunks: list[str] = []
    size = 0
    for kind, part in mime.body_pieces(msg):
        if kind == "embedded":
            continue  # the attached message's own text follows as the next pieces
        text = mime.part_text(part, limit=_PART_BYTES_LIMIT)
        if kind == "html":
            text = strip_html(text)
        chunks.append(text)
        size += len(text)
        if size >= BODY_TEXT_LIMIT:
            break
    html_parts = mime.skipped_html(msg)[:2] if size < BODY_TEXT_LIMIT else []
    if html_parts:
        # words that only the HTML alternative has (search must find them too): the
        # first HTML_ALT_BYTES of each such part, and of its words only those the plain
        # text lacks, once each, up to HTML_ALT_CHARS (the usual alternative repeats the
        # plain text: indexing it again cost ~14 % of the initial sync's CPU in FTS)
        # (the words indexed so far as a list: set.difference_update takes it as it is,
        # so no set of the plain text's words is built; a tenth of the parse of such mail)
        known = " ".join(chunks).lower().split()
        for part in html_parts:
            text = html_text(mime.part_text(part, limit=HTML_ALT_BYTES))
            # one lower() of the text, not one per word (~a tenth of the parse); the
            # same words: lower-casing never makes or removes whitespace
            lows = text.lower().split()
            new = set(lows)
            new.difference_update(known)
            if not new:
                continue
            words = text.split()
            extra = []
            for word, low in zip(words, lows):
                if low in new:
                    new.discard(low)
                    extra.append(word)
            known += map(str.lower, extra)
            text = " ".join(extra)[:HTML_ALT_CHARS]
            chunks.append(text)
            size += len(text)
    body = clean_text("\n".join(chunks))
    return body[:BODY_TEXT_LIMIT]


_HIDDEN_OPEN = re.compile(r"<!--|<(script|style|head|title)\b", re.I)
_BLOCK = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6]|/table|hr)\b[^<>]*>", re.I)
_TAG = re.compile(r"<[^<>]{0,4096}>")
# runs of blanks other than a lone space (a lone space is left alone: replacing every one
# of them with itself was 3/4 of strip_html's time)
_SPACES = re.compile(r"(?: [ \t\r\f\v\xa0]|[\t\r\f\v\xa0])[ \t\r\f\v\xa0]*")
_LINES = re.compile(r"\n\s*\n+")


def _drop_hidden(text: str) -> str:
    """Remove comments and script/style/head/title elements in linear time (an unclosed
    one hides the rest of the document, as a browser would)."""
    if "<" not in text:
        return text
    lower = text.lower()
    out: list[str] = []
    pos = 0
    while True:
        m = _HIDDEN_OPEN.search(text, pos)
        if m is None:
            out.append(text[pos:])
            break
        out.append(text[pos:m.start()])
        if m.group(1) is None:
            end = lower.find("-->", m.end())
            if end < 0:
                break
            pos = end + 3
        else:
            end = lower.find("</" + m.group(1).lower(), m.end())
            if end < 0:
                break
            close = lower.find(">", end)
            pos = len(text) if close < 0 else close + 1
    return " ".join(out)


def strip_html(text: str) -> str:
    """HTML reduced to plain words for searching (fast, linear time; not for display)."""
    text = _drop_hidden(text)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _SPACES.sub(" ", text)
    return _LINES.sub("\n\n", text).strip()


def html_text(text: str) -> str:
    """HTML reduced to its words, whitespace as it comes: strip_html without the line
    layout, for text that only the search index reads and splits into words."""
    return html.unescape(_TAG.sub(" ", _drop_hidden(text)))

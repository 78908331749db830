"""MIME structure with bounded work: depth-capped parsing, walking, body/attachment
classification and payload decoding. Shared by parse, render and attachments.

The stdlib FeedParser recurses once per multipart or message/* level and dies with
RecursionError near 1,000 levels; `parse_tree` stops nesting at MAX_DEPTH (deeper
containers become opaque leaves, marked `capped`) and caps the number of parts that are
walked. Parsing uses the compat32 policy: it is about four times faster than
policy=default and never raises on header access; header values are decoded by
mailcli.message.headers instead.
"""
from __future__ import annotations

import email.message
import email.policy
import email.utils
import logging
import re
from collections.abc import Iterator
from email.feedparser import FeedParser
from email.generator import BytesGenerator
from email.parser import BytesHeaderParser
from io import BytesIO
from typing import Literal

from mailcli.message import boundary, fasttree, feedlines
from mailcli.message.charset import decode_bytes
from mailcli.message.feedlines import FeedLines, LineBudget
from mailcli.message.headers import decode_header_value, decode_words, raw_to_str

logger = logging.getLogger(__name__)

MAX_DEPTH = 50          # MIME nesting levels parsed; deeper containers are opaque
MAX_PARTS = 2000        # parts walked per message
_FEED_SLICE = 1 << 20   # bytes handed to the parser at a time
MAX_LINES = 200_000     # lines parsed for the index and the reader (~12-25 MB of line strings)
_FAST_SIZE_OVER = 1 << 20  # base64 bodies larger than this are measured, not decoded
CAPPED_TYPE = "application/x-mailcli-too-deep"

Message = email.message.Message

boundary.install()   # the feed parser's per-part boundary regex without a compile each
feedlines.install()   # ...and its payload line-end strip without a scan of the payload


class _CappedMessage(email.message.Message):
    """compat32 Message that can be marked as beyond the nesting cap."""

    capped = False

    def get_content_type(self) -> str:
        if self.capped:
            return CAPPED_TYPE
        return super().get_content_type()


class _CappedEmailMessage(email.message.EmailMessage):
    """policy=default EmailMessage that can be marked as beyond the nesting cap."""

    capped = False

    def get_content_type(self) -> str:
        if self.capped:
            return CAPPED_TYPE
        return super().get_content_type()


class _CappedFeedParser(FeedParser):
    """FeedParser that stops treating parts as containers below MAX_DEPTH and, with a
    line budget, drops body lines past it (see feedlines.LineBudget)."""

    def __init__(self, factory: type, policy: email.policy.Policy, max_lines: int | None = None) -> None:
        super().__init__(factory, policy=policy)
        # hook on a private attribute; pinned by tests
        self._input = FeedLines() if max_lines is None else LineBudget(max_lines)

    def _new_message(self) -> None:  # hook on a private method; pinned by tests
        super()._new_message()  # type: ignore[misc]
        if len(self._msgstack) > MAX_DEPTH + 1:  # type: ignore[attr-defined]
            self._cur.capped = True  # type: ignore[attr-defined]


def parse_tree(raw: bytes, policy: email.policy.Policy = email.policy.compat32,
               max_lines: int | None = None) -> Message:
    """Parse raw bytes into a message tree; never raises for any input bytes.

    With `max_lines` (the index and the reader pass MAX_LINES), body lines past that many
    are dropped (the structure is kept, see feedlines.LineBudget) and the root gets
    `lines_dropped` > 0; callers that save or forward content pass None."""
    factory = _CappedEmailMessage if policy is not email.policy.compat32 else _CappedMessage
    if b"\x00" in raw:
        raw = _strip_header_nuls(raw)
    if policy is email.policy.compat32 and len(raw) <= fasttree.MAX_CHARS:
        # well-formed MIME: the same tree without the feed parser's line loop
        text = raw.decode("ascii", "surrogateescape")
        if max_lines is None or text.count("\n") < max_lines:
            msg = fasttree.build(text, factory, policy)
            if msg is not None:
                if max_lines is not None:
                    msg.__dict__["lines_dropped"] = 0
                return msg
    try:
        parser = _CappedFeedParser(factory, policy=policy, max_lines=max_lines)
        # fed in slices: one str copy of a 50 MB message, split into lines all at once,
        # cost several times its size in memory; slices are parsed as they arrive (a
        # slice of blank lines is still ~30 MB of line strings while it is consumed)
        for start in range(0, len(raw), _FEED_SLICE):
            parser.feed(raw[start:start + _FEED_SLICE].decode("ascii", "surrogateescape"))
        msg = parser.close()
        if max_lines is not None:
            msg.__dict__["lines_dropped"] = parser._input.dropped
        return msg
    except RecursionError:  # belt and braces: the cap should prevent this
        logger.warning("message nesting too deep; parsed headers only")
    except Exception:  # the stdlib parser is lenient; this is for the unforeseen
        logger.exception("message parse failed; parsed headers only")
    try:
        msg = BytesHeaderParser(factory, policy=policy).parsebytes(raw)
    except Exception:
        msg = factory(policy=policy)
    return msg


_HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")


def _strip_header_nuls(raw: bytes) -> bytes:
    """NUL bytes removed from the header section (a NUL in a field name would otherwise end
    the headers early); the body is left alone."""
    m = _HEADER_END.search(raw)
    end = m.start() if m else len(raw)
    return raw[:end].replace(b"\x00", b"") + raw[end:]


def lines_dropped(root: Message) -> int:
    """How many body lines a parse with `max_lines` dropped (0: the whole text is there)."""
    return int(root.__dict__.get("lines_dropped", 0))


def is_capped(part: Message) -> bool:
    return bool(getattr(part, "capped", False))


def content_type(part: Message) -> str:
    """The part's lower-case type/subtype (cached on the part: the tree is not edited)."""
    cached = part.__dict__.get("_mailcli_ctype")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        value = part.get_content_type()
    except Exception:
        value = "application/octet-stream"
    part.__dict__["_mailcli_ctype"] = value
    return value


def disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value if isinstance(value, str) else None


def filename(part: Message) -> str | None:
    """The decoded file name of a part (RFC 2231, RFC 2047 and raw 8-bit), or None."""
    # Re-read the raw fields: compat32 turns raw 8-bit parameter bytes into U+FFFD.
    probe = email.message.Message()
    named = False
    try:
        for key, value in part.raw_items():
            low = key.strip().lower()
            if low in ("content-disposition", "content-type") and low not in probe:
                text = raw_to_str(value)
                probe[low] = text
                named = named or "name" in text.lower()
    except Exception:
        return None
    if not named:
        # neither a `filename` nor a `name` parameter (RFC 2231 forms included) can be
        # there: answered without parsing the parameters (every body part is asked;
        # parsing them twice was ~a fifth of the index's body-text step)
        return None
    name: object = None
    try:
        name = probe.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            param = probe.get_param("name")
            collapsed: object = (email.utils.collapse_rfc2231_value(param)
                                 if isinstance(param, tuple) else param)
            name = collapsed if isinstance(collapsed, str) else None
        except Exception:
            name = None
    if not name:
        return None
    text = decode_words(raw_to_str(name)).replace("\x00", "")
    return text.strip() or None


def children(part: Message) -> list[Message]:
    """The sub-parts of a container (multipart or message/*); [] for leaves."""
    if is_capped(part):
        return []
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, email.message.Message)]
    return []


def walk(root: Message) -> Iterator[tuple[Message, Message | None, int]]:
    """Every part as (part, parent, depth), depth first in document order, iteratively and
    capped at MAX_PARTS parts and MAX_DEPTH levels."""
    stack: list[tuple[Message, Message | None, int]] = [(root, None, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, parent, depth = stack.pop()
        seen += 1
        yield part, parent, depth
        if depth < MAX_DEPTH:
            kids = children(part)
            stack.extend((k, part, depth + 1) for k in reversed(kids))


def _is_body_text(part: Message, ctype: str, name: str | None, parent: Message | None) -> bool:
    if ctype in ("text/plain", "text/html"):
        return not name or parent is None
    return ctype in ("text/enriched", "text/richtext", "text/rfc822-headers",
                     "message/delivery-status", "message/disposition-notification")


def is_attachment(part: Message, parent: Message | None) -> bool:
    """Whether a part is something to list and save (not the body, not a container, not an
    inline resource of an HTML body)."""
    if is_capped(part):
        return False
    ctype = content_type(part)
    maintype = ctype.split("/", 1)[0]
    if maintype == "multipart":
        return False
    if parent is not None and content_type(parent) in ("multipart/signed", "multipart/encrypted") \
            and ctype in ("application/pgp-signature", "application/pgp-encrypted",
                          "application/octet-stream") and _is_pgp_wrapper(parent):
        return False  # PGP/MIME machinery (RFC 3156), not something the sender attached
    disp = disposition(part)
    name = filename(part)
    if maintype == "message" and ctype not in ("message/delivery-status",
                                               "message/disposition-notification"):
        return True
    if disp == "attachment":
        return True
    if _is_body_text(part, ctype, name, parent):
        return False
    if (parent is not None and content_type(parent) == "multipart/related" and not name
            and part.get("content-id") is not None):
        return False  # an image of the HTML body, shown by a browser, not a file
    return True


def _is_pgp_wrapper(part: Message) -> bool:
    try:
        protocol = str(part.get_param("protocol") or "").lower()
    except Exception:
        return False
    return protocol in ("application/pgp-signature", "application/pgp-encrypted")


def attachment_parts(root: Message) -> list[Message]:
    """The attachment parts in document order (not looking inside attached messages)."""
    out: list[Message] = []
    stack: list[tuple[Message, Message | None, int]] = [(root, None, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, parent, depth = stack.pop()
        seen += 1
        if is_attachment(part, parent):
            out.append(part)
            continue
        if depth < MAX_DEPTH and content_type(part).startswith("multipart/"):
            stack.extend((k, part, depth + 1) for k in reversed(children(part)))
    return out


def payload_bytes(part: Message) -> bytes:
    """The decoded content of a leaf (base64/QP/uuencode undone); an attached message's
    bytes; b'' when there is nothing."""
    if is_capped(part):
        raw = part.get_payload()
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    payload = part.get_payload()
    if isinstance(payload, list):
        out = BytesIO()
        try:
            for sub in payload:
                if isinstance(sub, email.message.Message):
                    BytesGenerator(out, mangle_from_=False,
                                   policy=email.policy.compat32).flatten(sub)
        except Exception:
            logger.debug("could not serialize an attached message", exc_info=True)
        return out.getvalue()
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def payload_size(part: Message) -> int:
    """The decoded size of a leaf; for an attached message, an estimate of its size from
    its parsed headers and bodies (cheap: no re-serialization)."""
    if not isinstance(part.get_payload(), list) or is_capped(part):
        size = _large_base64_size(part)
        return size if size is not None else len(payload_bytes(part))
    total = 0
    for sub, _parent, _depth in walk(part):
        if sub is part:
            continue
        try:
            total += sum(len(k) + len(v) + 3 for k, v in sub.raw_items()) + 2
        except Exception:
            pass
        body = sub.get_payload()
        if isinstance(body, str):
            total += len(body)
    return total


_CLEAN_BASE64 = re.compile(r"[A-Za-z0-9+/ \t\r\n]*(?:=[ \t\r\n]*){0,2}")


def _large_base64_size(part: Message) -> int | None:
    """The decoded size of a large, well-formed base64 leaf, computed without decoding it
    (decoding a 40 MB attachment just to learn its size cost ~300 MB); None otherwise."""
    payload = part.get_payload()
    if is_capped(part) or not isinstance(payload, str) or len(payload) <= _FAST_SIZE_OVER:
        return None
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    if _CLEAN_BASE64.fullmatch(payload) is None:
        return None
    chars = len(payload) - sum(payload.count(c) for c in " \t\r\n")
    if chars % 4:
        return None
    return chars // 4 * 3 - payload.count("=")


def part_text(part: Message, limit: int | None = None) -> str:
    """A text part decoded to str with charset fallbacks; `limit` caps the bytes decoded."""
    ctype = content_type(part)
    if ctype in ("message/delivery-status", "message/disposition-notification"):
        blocks = children(part) if isinstance(part.get_payload(), list) else []
        if blocks:
            lines = []
            for block in blocks:
                for key, value in block.items():
                    lines.append(f"{key}: {decode_header_value(value)}")
                lines.append("")
            return "\n".join(lines)
    data = payload_bytes(part)
    if limit is not None and len(data) > limit:
        data = data[:limit]
    try:
        label = part.get_content_charset()
    except Exception:
        label = None
    text = decode_bytes(data, label)
    return text.replace("\x00", "") if "\x00" in text else text


Piece = tuple[Literal["plain", "html", "embedded"], Message]


def _alternative_kind(part: Message) -> str | None:
    """'plain' or 'html': what a branch of multipart/alternative would show."""
    for sub, _parent, _depth in walk(part):
        ctype = content_type(sub)
        if ctype == "text/plain" or ctype in ("text/enriched", "text/richtext"):
            return "plain"
        if ctype == "text/html":
            return "html"
    return None


def skipped_html(root: Message) -> list[Message]:
    """The text/html branches of multipart/alternative parts that also have a plain-text
    branch: what body_pieces (preferring plain text) leaves out, in document order."""
    out: list[Message] = []
    for part, _parent, _depth in walk(root):
        if content_type(part) != "multipart/alternative" or is_capped(part):
            continue
        kids = children(part)
        kinds = [_alternative_kind(k) for k in kids]
        if "plain" not in kinds:
            continue
        for kid, kind in zip(kids, kinds):
            if kind == "html":
                out.extend(sub for sub, _p, _d in walk(kid) if content_type(sub) == "text/html")
    return out


def body_pieces(root: Message, prefer_html: bool = False) -> list[Piece]:
    """What a reader shows as the body, in order: text parts, HTML parts, and inline
    attached messages (shown with a header block). multipart/alternative picks one
    branch by preference; multipart/related shows its root; attachments are skipped."""
    out: list[Piece] = []
    order = ("html", "plain") if prefer_html else ("plain", "html")
    stack: list[tuple[Message, Message | None, int]] = [(root, None, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, parent, depth = stack.pop()
        seen += 1
        if is_capped(part) or depth > MAX_DEPTH:
            continue
        ctype = content_type(part)
        maintype, _, subtype = ctype.partition("/")
        kids = children(part)
        if maintype == "multipart":
            if not kids:
                if isinstance(part.get_payload(), str):  # no/bad boundary: show as text
                    out.append(("plain", part))
                continue
            if subtype == "alternative":
                kinds = [_alternative_kind(k) for k in kids]
                chosen = kids[0]
                for want in order:
                    found = [k for k, kind in zip(kids, kinds) if kind == want]
                    if found:
                        chosen = found[-1]   # the last alternative is the richest
                        break
                stack.append((chosen, part, depth + 1))
            elif subtype == "related":
                stack.append((kids[0], part, depth + 1))
            elif subtype == "signed":
                stack.append((kids[0], part, depth + 1))
            elif subtype == "encrypted":
                continue
            else:
                stack.extend((k, part, depth + 1) for k in reversed(kids))
            continue
        if maintype == "message" and kids and ctype not in (
                "message/delivery-status", "message/disposition-notification"):
            if disposition(part) != "attachment" and ctype in ("message/rfc822", "message/global"):
                out.append(("embedded", part))
                stack.append((kids[0], part, depth + 1))
            continue
        if is_attachment(part, parent):
            continue
        out.append(("html" if ctype == "text/html" else "plain", part))
    return out

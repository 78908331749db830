"""Header values -> clean Unicode: RFC 2047 words, raw 8-bit, addresses, dates, message-ids.

Works on the raw header strings of a compat32 parse (non-ASCII bytes carried as
surrogateescapes) and never raises. Deliberately lenient where the stdlib is strict and
strict where it is lenient: encoded words with unknown charsets, bad padding, no separating
space or a multi-byte character split across two words are decoded anyway; raw 8-bit
headers are read as UTF-8, else windows-1252; values are capped so a 1 MB header line costs
a bounded amount of work.
"""
from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

from mailcli.message.addresses import getaddresses
from mailcli.message.charset import decode_bytes
from mailcli.message.sanitize import strip_controls

__all__ = [
    "MAX_RAW_HEADER", "MAX_FIELD_CHARS", "decode_header_value", "decode_addresses",
    "parse_date", "first_msgid", "msgid_list",
]

MAX_RAW_HEADER = 64 * 1024     # raw header bytes looked at
MAX_FIELD_CHARS = 16 * 1024    # decoded characters kept per field

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_WS_RUN = re.compile(r"[\r\n\t ]+")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_B64_JUNK = re.compile(r"[^A-Za-z0-9+/]")
_MSGID = re.compile(r"<[^<>\s]{1,990}>")
_PLACEHOLDER = re.compile(r"mailcliEW(\d{1,6})X")
_ADDR_SPECIALS = re.compile(r'[,;<>@"()\[\]:]')


def raw_to_str(value: object) -> str:
    """A raw header value (str with surrogateescapes, or a Header) as decoded Unicode
    without RFC 2047 processing: 8-bit bytes read as UTF-8, else windows-1252."""
    if not isinstance(value, str):
        try:
            value = str(value)
        except Exception:
            return ""
    if len(value) > MAX_RAW_HEADER:
        value = value[:MAX_RAW_HEADER]
    if not value.isascii():
        value = decode_bytes(value.encode("utf-8", "surrogateescape"))
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value


def _decode_b(text: str) -> bytes:
    text = _B64_JUNK.sub("", text.split("=", 1)[0] if "=" in text else text)
    if len(text) % 4 == 1:
        text = text[:-1]
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return b""


def _decode_q(text: str) -> bytes:
    raw = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in an already-unicode string, leniently.

    Adjacent words separated only by whitespace are joined (RFC 2047 6.2), and runs of
    words in the same charset are decoded together so a UTF-8 character split across two
    words survives.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    run_charset: str | None = None
    run: list[bytes] = []

    def flush() -> None:
        nonlocal run_charset
        if run:
            out.append(decode_bytes(b"".join(run), run_charset))
            run.clear()
        run_charset = None

    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos:m.start()]
        if gap and not (run and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            out.append(gap)
        charset = m.group(1).split("*", 1)[0].lower()
        data = _decode_b(m.group(3)) if m.group(2) in "bB" else _decode_q(m.group(3))
        if run and charset != run_charset:
            flush()
        run_charset = charset
        run.append(data)
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def _cap(s: str) -> str:
    return s if len(s) <= MAX_FIELD_CHARS else s[:MAX_FIELD_CHARS]


def decode_header_value(value: object) -> str:
    """Any unstructured header (Subject, Content-Description...) as one clean line of text."""
    s = raw_to_str(value)
    if not s:
        return ""
    if "\n" in s or "\r" in s:
        s = _FOLD.sub("", s)
    s = decode_words(s)
    if "\n" in s or "\r" in s or "\t" in s or "  " in s:
        s = _WS_RUN.sub(" ", s)
    return _cap(strip_controls(s).strip())


def _format_address(name: str, addr: str) -> str:
    if name and addr:
        if _ADDR_SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{addr}>"
    return addr or name


def decode_addresses(value: object) -> str:
    """An address header (From, To, Cc...) as 'Name <addr>, ...' with names decoded."""
    s = raw_to_str(value)
    if not s.strip():
        return ""
    s = strip_controls(_WS_RUN.sub(" ", _FOLD.sub("", s))).strip()
    # Encoded words may hold characters that are specials to the address parser ('[', ','):
    # hide them behind placeholder atoms while parsing, decode them afterwards.
    words: list[str] = []

    def hide(m: re.Match[str]) -> str:
        words.append(m.group())
        return f"mailcliEW{len(words) - 1}X"

    hidden = _ENCODED_WORD.sub(hide, s) if "=?" in s else s

    def unhide(text: str) -> str:
        if words and "mailcliEW" in text:
            text = _PLACEHOLDER.sub(lambda m: words[int(m.group(1))]
                                    if int(m.group(1)) < len(words) else m.group(), text)
        return strip_controls(_WS_RUN.sub(" ", decode_words(text))).strip()

    try:
        pairs = getaddresses(hidden)
    except Exception:
        pairs = []
    parts = []
    for name, addr in pairs:
        item = _format_address(unhide(name), unhide(addr))
        if item:
            parts.append(item)
    if not parts:
        return _cap(unhide(hidden))
    return _cap(", ".join(parts))


def parse_date(value: object) -> datetime | None:
    """A Date header as a timezone-aware datetime (UTC when the zone is missing), or None."""
    s = raw_to_str(value).strip()
    if not s:
        return None
    s = _WS_RUN.sub(" ", s)[:200]
    try:
        parts = parsedate_tz(s)
        if parts is None:
            return None
        year, month, day, hour, minute, second = parts[:6]
        offset = parts[9]
        if not 1 <= year <= 9999:
            return None
        tz = UTC if offset is None else timezone(_offset(offset))
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def _offset(seconds: int) -> timedelta:
    delta = timedelta(seconds=seconds)
    if abs(delta) >= timedelta(hours=24):
        raise ValueError("bad zone offset")
    return delta


def first_msgid(value: object) -> str | None:
    """The first <message-id> token of a header (Message-ID, In-Reply-To), or the bare
    value when there are no angle brackets; None when empty."""
    s = strip_controls(_WS_RUN.sub(" ", raw_to_str(value)))
    if not s.strip():
        return None
    m = _MSGID.search(s)
    if m:
        return m.group()
    token = s.split()
    return token[0][:990] if token else None


def msgid_list(value: object, limit: int = 100) -> tuple[str, ...]:
    """The <message-id> tokens of a References header; keeps the first and the last ones
    when there are more than `limit` (the root and the parents matter for threading)."""
    s = strip_controls(_WS_RUN.sub(" ", raw_to_str(value)))
    if not s.strip():
        return ()
    ids = _MSGID.findall(s) or [t[:990] for t in s.split()]
    if len(ids) > limit:
        ids = ids[:1] + ids[-(limit - 1):]
    return tuple(ids)

"""The index skeleton of a raw message: the bulk of large base64 bodies cut out before
the index parses it (mailcli.message.parse.parse_for_index), structure unchanged.

Split from mime.py, which owns the parse tree and its parts; this owns only the byte-level
cut, which never parses anything.
"""
from __future__ import annotations

import re

# (case-insensitive patterns on `raw` itself: a lower-cased copy of a 50 MB message and a
# copy of each body to check it cost two message sizes of memory)
_B64_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n"
_B64_SLICE = 1 << 20               # bytes checked per copy in _only_base64
_BASE64_WORD = re.compile(rb"base64", re.I)
_CTE_BASE64 = re.compile(rb"^content-transfer-encoding:[ \t]*\"?base64\"?[ \t]*\r?$", re.M | re.I)
_CTYPE = re.compile(rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?([!-~]+?)[ \t]*(?:;|\r?$)", re.M | re.I)
_BLANK = re.compile(rb"\r?\n\r?\n")
SKELETON_KEEP_LINES = 4            # lines kept of a non-text base64 body
SKELETON_TEXT_KEEP = 400 * 1024    # bytes kept of a text base64 body (>= 256 KB decoded)
_SKELETON_MIN = 16 * 1024          # bodies shorter than this are left alone
_DASH_TRIES = 8                    # dashes looked at one by one before a 3-byte find


def skeleton(raw: bytes) -> bytes:
    """`raw` with the bulk of every large base64 body cut out, for indexing.

    The MIME structure the parser sees is unchanged: only whole lines made of nothing
    but base64 characters are removed, from the middle of a body that starts right after
    a header block declaring ``Content-Transfer-Encoding: base64`` and runs up to the
    next line starting with ``--`` (such a region holds no boundary, no header line and
    no blank line). A non-text body keeps its first SKELETON_KEEP_LINES lines (parsing a
    2 MB attachment line by line only to learn that it is an attachment was ~80 % of the
    cost of indexing a typical mailbox); a text body keeps its first SKELETON_TEXT_KEEP
    bytes, more than the indexer ever decodes of one part. Attachment *sizes* of a
    skeleton are wrong by design: use it for envelopes, search text and
    has_attachments only. Returns `raw` itself when there is nothing to cut.
    """
    if len(raw) < _SKELETON_MIN:
        return raw
    if _BASE64_WORD.search(raw) is None:
        return raw
    out: list[bytes] = []
    pos = 0        # raw[pos:] is not copied yet
    search = 0     # every scan below starts at or after this: linear in len(raw) overall
    delim = -1     # the last "\n--" found (reused while it is ahead)
    while True:
        m = _CTE_BASE64.search(raw, search)
        if m is None:
            break
        blank = _BLANK.search(raw, m.end())
        if blank is None:
            break
        body = blank.end()
        # the header block holding the CTE line: from the previous boundary or blank line
        # (never before the last body start: a header block begins after a blank line)
        lo = max(pos, search)
        head_start = max(raw.rfind(b"\n--", lo, m.start()), raw.rfind(b"\n\n", lo, m.start()),
                         raw.rfind(b"\n\r\n", lo, m.start()), lo)
        search = body
        ctype = _CTYPE.search(raw, head_start, blank.start())
        kind = ctype.group(1).lower() if ctype else b"text/plain"
        if kind.startswith((b"multipart/", b"message/")):
            continue
        if delim < body - 1:
            delim = find_dash_line(raw, body - 1)
            if delim < 0:
                delim = len(raw)
        end = min(delim + 1, len(raw))
        keep = body
        if kind.startswith(b"text/"):
            if end - body <= SKELETON_TEXT_KEEP:
                search = end
                continue
            keep = raw.rfind(b"\n", body, body + SKELETON_TEXT_KEEP) + 1
        else:
            for _ in range(SKELETON_KEEP_LINES):
                nl = raw.find(b"\n", keep, end)
                if nl < 0:
                    break
                keep = nl + 1
        if keep <= body or end - keep < _SKELETON_MIN:
            search = end
            continue
        if not _only_base64(raw, keep, end):
            search = end       # something else in there: leave it alone
            continue
        out.append(raw[pos:keep])
        pos = end
        search = end
    if not out:
        return raw
    out.append(raw[pos:])
    return b"".join(out)



def find_dash_line(raw: bytes, start: int) -> int:
    """``raw.find(b"\\n--", start)``, but looking for the dashes with memchr first: base64 has
    no '-', so in a base64 body the first dash is the boundary's (a 3-byte find scanned at
    ~1.3 ns/byte, ~20x the one-byte find; for a body full of dashes it goes back to the
    3-byte find after a few misses)."""
    pos = start + 1            # a match at i has its first dash at i + 1
    for _ in range(_DASH_TRIES):
        dash = raw.find(b"-", pos)
        if dash < 0:
            return -1
        if raw[dash - 1:dash + 2] == b"\n--":
            return dash - 1
        pos = dash + 1
    return raw.find(b"\n--", pos - 1)


def _only_base64(raw: bytes, start: int, end: int) -> bool:
    """Whether raw[start:end] holds nothing but base64 characters and whitespace: deleting
    them leaves nothing (bytes.translate runs at memory speed, ~10x the regex it replaced),
    a slice at a time so that a 50 MB region is never copied whole."""
    for lo in range(start, end, _B64_SLICE):
        if raw[lo:min(lo + _B64_SLICE, end)].translate(None, _B64_CHARS):
            return False
    return True

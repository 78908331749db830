"""IMAP wire-format helpers, pure (no I/O): UID sets both ways, FLAGS and FETCH
responses to model values, SELECT data to FolderStatus, COPYUID codes, and the server's
text out of an imapclient error."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from imapclient.response_parser import parse_fetch_response

from mailcli.model import Flag, Flags, FolderStatus, RemoteFlags

_TIMING = re.compile(r"\s*\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)")


def uid_set(uids: Iterable[int]) -> str:
    """Compress UIDs into an IMAP sequence set: [1,2,3,7] -> "1:3,7"."""
    parts: list[str] = []
    run: list[int] = []
    for uid in sorted(set(uids)):
        if run and uid == run[-1] + 1:
            run.append(uid)
            continue
        if run:
            parts.append(f"{run[0]}:{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [uid]
    if run:
        parts.append(f"{run[0]}:{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


def parse_uid_set(text: str, below: int | None = None) -> list[int]:
    """"1:3,7" -> [1, 2, 3, 7]; ranges are clipped below `below` (a server's UIDNEXT)."""
    out: list[int] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition(":")
        lo = int(a)
        hi = int(b) if b and b != "*" else lo
        lo, hi = min(lo, hi), max(lo, hi)
        if below is not None:
            hi = min(hi, below - 1)
        out.extend(range(lo, hi + 1))
    return out


_FAST_HEAD = re.compile(rb"\d+ \((.*) BODY\[\] \{(\d+)\}", re.S)
_FAST_ITEM = re.compile(rb"\s*(?:UID (\d+)|FLAGS \(([^()\r\n\"{}]*)\)|MODSEQ \(\d+\))")


def fast_fetch_bodies(items: list[Any]) -> list[tuple[int, bytes, Flags]] | None:
    """The bulk download's FETCH responses without a generic parser: imaplib's untagged
    FETCH items for ``UID FETCH ... (UID FLAGS BODY.PEEK[])`` are pairs of
    ``(b'7 (UID 42 FLAGS (\\Seen) BODY[] {1234}', literal)`` and ``b')'``; anything
    else (another item order with quoting, an unsolicited flag update, a server that
    says BODY[] NIL) answers None and the caller uses imapclient's parser. Returns
    (uid, raw, flags) per message, in the server's order."""
    out: list[tuple[int, bytes, Flags]] = []
    i, n = 0, len(items)
    while i < n:
        item = items[i]
        if not (isinstance(item, tuple) and len(item) == 2 and i + 1 < n and items[i + 1] == b")"):
            return None
        head, body = item
        m = _FAST_HEAD.fullmatch(head)
        if m is None or not isinstance(body, bytes) or int(m.group(2)) != len(body):
            return None
        uid: int | None = None
        flags: Flags | None = None
        attrs, pos = m.group(1), 0
        while pos < len(attrs):
            a = _FAST_ITEM.match(attrs, pos)
            if a is None or a.end() == pos:
                return None
            if a.group(1) is not None:
                uid = int(a.group(1))
            elif a.group(2) is not None:
                flags = _flags(a.group(2).split())
            pos = a.end()
        if uid is None or flags is None:
            return None
        out.append((uid, body, flags))
        i += 2
    return out


def _flags(raw: Iterable[Any]) -> Flags:
    out = set()
    for f in raw:
        flag = Flag.from_imap(f.decode("ascii", "replace") if isinstance(f, bytes) else str(f))
        if flag is not None:
            out.add(flag)
    return frozenset(out)


_FLAGS_HEAD = re.compile(rb"(\d+) \((.*)\)", re.S)
_FLAGS_ITEM = re.compile(
    rb" ?(?:UID (\d+)|FLAGS \(([^()\r\n\"{}]*)\)|MODSEQ \((\d+)\)|RFC822\.SIZE (\d+))")


def _fast_flag_items(items: list[Any]) -> dict[int, dict[bytes, Any]] | None:
    """The FETCH (UID FLAGS [MODSEQ] [RFC822.SIZE]) responses of a flag scan in the shape
    imapclient's parse_fetch_response gives them (items of one message number merged),
    read with two regular expressions instead of its tokenizer (11,000 responses: ~0.33 s
    there, ~0.07 s here, benchmarks/micro_bench.py); None for anything else (a literal, quoting, another item), which
    the caller hands to imapclient."""
    out: dict[int, dict[bytes, Any]] = {}
    for item in items:
        if not isinstance(item, bytes):
            return None
        m = _FLAGS_HEAD.fullmatch(item)
        if m is None:
            return None
        data: dict[bytes, Any] = {}
        attrs, pos, end = m.group(2), 0, len(m.group(2))
        while pos < end:
            a = _FLAGS_ITEM.match(attrs, pos)
            if a is None or a.end() == pos:
                return None
            uid, flags, modseq, size = a.groups()
            if uid is not None:
                data[b"UID"] = int(uid)
            elif flags is not None:
                data[b"FLAGS"] = tuple(flags.split())
            elif modseq is not None:
                data[b"MODSEQ"] = (int(modseq),)
            else:
                data[b"RFC822.SIZE"] = int(size)
            pos = a.end()
        out.setdefault(int(m.group(1)), {}).update(data)
    return out


def _remote_flags(items: list[Any]) -> list[RemoteFlags]:
    if not items:
        return []
    out = []
    parsed = _fast_flag_items(items)
    if parsed is None:
        parsed = parse_fetch_response(items, False, False)
    for data in parsed.values():
        if b"UID" not in data:
            continue
        modseq = data.get(b"MODSEQ")
        if isinstance(modseq, tuple):
            modseq = modseq[0]
        size = data.get(b"RFC822.SIZE")
        out.append(RemoteFlags(uid=int(data[b"UID"]), flags=_flags(data.get(b"FLAGS", ())),
                               modseq=int(modseq) if modseq is not None else None,
                               size=int(size) if size is not None else None))
    return out


def _status_from_select(folder: str, sel: dict[bytes, Any]) -> FolderStatus:
    hms = sel.get(b"HIGHESTMODSEQ")
    return FolderStatus(name=folder, uidvalidity=int(sel[b"UIDVALIDITY"]), uidnext=int(sel.get(b"UIDNEXT", 0)),
                        messages=int(sel.get(b"EXISTS", 0)),
                        highestmodseq=int(hms) if hms is not None else None)



def _status_from_items(folder: str, items: Any) -> FolderStatus:
    """A STATUS reply's item list (MESSAGES 3 UIDNEXT 4 ...) as a FolderStatus."""
    return _status_from_fields(folder, dict(zip(items[::2], items[1::2])))


def _status_from_fields(folder: str, fields: dict[Any, Any]) -> FolderStatus:
    """STATUS items by name (imapclient's folder_status, or _status_from_items)."""
    st = {k.upper() if isinstance(k, bytes) else k: v for k, v in fields.items()}
    hms = st.get(b"HIGHESTMODSEQ")
    return FolderStatus(name=folder, uidvalidity=int(st[b"UIDVALIDITY"]), uidnext=int(st[b"UIDNEXT"]),
                        messages=int(st[b"MESSAGES"]), unseen=int(st.get(b"UNSEEN", 0)),
                        highestmodseq=int(hms) if hms is not None else None)


def _copyuid_map(codes: list[Any]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for code in codes:
        parts = (code.decode() if isinstance(code, bytes) else str(code)).split()
        if len(parts) == 3:
            mapping.update(zip(parse_uid_set(parts[1]), parse_uid_set(parts[2])))
    return mapping


def _server_text(exc: BaseException) -> str:
    text = _one_line(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    text = re.sub(r"^\w+ failed: ", "", text)
    return _TIMING.sub("", text)   # Dovecot's "(0.001 + 0.000 secs)" noise


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


"""The bulk download's FETCH fast path (imap_wire.fast_fetch_bodies) answers exactly what
imapclient's generic parser answers, or None (then the generic parser is used)."""
from __future__ import annotations

from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response

from mailcli.accounts.imap_wire import _fast_flag_items, _flags, _remote_flags, fast_fetch_bodies


def slow(items: list[Any]) -> list[tuple[int, bytes, frozenset]]:
    out = []
    for data in parse_fetch_response(items, False, False).values():
        if data.get(b"BODY[]") is None or data.get(b"UID") is None:
            continue
        out.append((int(data[b"UID"]), bytes(data[b"BODY[]"]), _flags(data.get(b"FLAGS", ()))))
    return out


def item(seq: int, attrs: bytes, body: bytes) -> list[Any]:
    return [(b"%d (%s BODY[] {%d}" % (seq, attrs, len(body)), body), b")"]


@pytest.mark.parametrize("attrs", [
    b"UID 42 FLAGS ()",
    b"UID 42 FLAGS (\\Seen)",
    b"UID 42 FLAGS (\\Seen \\Flagged \\Answered \\Draft \\Deleted $Forwarded Junk)",
    b"FLAGS (\\Seen) UID 42",
    b"UID 42 MODSEQ (12345) FLAGS (\\Recent \\Seen)",
    b"UID 42 FLAGS (\\Seen)  MODSEQ (7)",
])
def test_same_answer_as_the_generic_parser(attrs: bytes) -> None:
    body = b"From: a@b\r\nSubject: x (y) {3}\r\n\r\n) BODY[] {12}\r\n* 2 FETCH\r\n"
    items = item(1, attrs, body)
    assert fast_fetch_bodies(items) == slow(items)
    two = items + item(2, attrs.replace(b"42", b"43"), b"")
    assert fast_fetch_bodies(two) == slow(two)
    assert [u for u, _r, _f in fast_fetch_bodies(two) or []] == [42, 43]


@pytest.mark.parametrize("items", [
    [b"3 (UID 9 FLAGS (\\Seen))"],                                  # unsolicited flag update
    [(b"1 (UID 5 BODY[] {3}", b"abc"), b")"],                        # no FLAGS
    [(b"1 (FLAGS () BODY[] {3}", b"abc"), b")"],                     # no UID
    [(b"1 (UID 5 FLAGS (\\Seen) BODY[] {4}", b"abc"), b")"],         # short literal
    [(b"1 (UID 5 FLAGS (\\Seen) X-GM-LABELS (\"a\") BODY[] {3}", b"abc"), b")"],
    [(b"1 (UID 5 FLAGS (\\Seen) BODY[] {3}", b"abc"), b" FLAGS (\\Seen))"],
])
def test_anything_else_goes_to_the_generic_parser(items: list[Any]) -> None:
    assert fast_fetch_bodies(items) is None


# ---------------------------------------------------------------- the flag scan
def slow_flags(items: list[Any]) -> dict[int, dict[bytes, Any]]:
    return {seq: {k: v for k, v in data.items() if k != b"SEQ"}
            for seq, data in parse_fetch_response(items, False, False).items()}


@pytest.mark.parametrize("items", [
    [b"1 (UID 1 FLAGS (\\Seen) MODSEQ (5))", b"2 (UID 7 FLAGS ())"],
    [b"3 (FLAGS (\\Seen $Forwarded Junk) UID 9 RFC822.SIZE 300)"],
    [b"1 (UID 1 FLAGS (\\Seen))", b"1 (FLAGS (\\Answered) MODSEQ (12))"],   # merged per message
    [b"4 (FLAGS (\\Flagged))"],                                            # no UID
    [b"10 (UID 4000000000 MODSEQ (18446744073709551615) FLAGS (\\Deleted \\Draft))"],
])
def test_flag_scan_same_answer_as_the_generic_parser(items: list[Any]) -> None:
    fast = _fast_flag_items(items)
    assert fast is not None
    assert fast == slow_flags(items)
    assert _remote_flags(items) == _remote_flags_slow(items)


def _remote_flags_slow(items: list[Any]) -> list[Any]:
    import mailcli.accounts.imap_wire as wire

    saved = wire._fast_flag_items
    wire._fast_flag_items = lambda _items: None   # type: ignore[assignment]
    try:
        return wire._remote_flags(items)
    finally:
        wire._fast_flag_items = saved


@pytest.mark.parametrize("items", [
    [b"1 (UID 1 FLAGS (\\Seen) X-GM-LABELS (a))"],                 # an item it does not know
    [b"1 (uid 1 FLAGS (\\Seen))"],                                  # lower case
    [b'1 (UID 1 FLAGS ("odd"))'],                                   # quoting
    [(b"1 (UID 1 FLAGS (\\Seen) BODY[] {3}", b"abc"), b")"],        # a literal
    [b"1 (UID 1  FLAGS (\\Seen) )"],                                  # odd spacing
])
def test_flag_scan_leaves_anything_else_to_the_generic_parser(items: list[Any]) -> None:
    assert _fast_flag_items(items) is None
    assert _remote_flags(items) == _remote_flags_slow(items)

"""parse_for_index (what the store indexes at delivery) equals parse_message on everything
the index keeps, while skeleton keeps big base64 bodies out of the parser."""
from __future__ import annotations

import base64
import dataclasses
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.message.parse import parse_for_index, parse_message
from mailcli.message.skeleton import find_dash_line, skeleton

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
FILES = sorted(CORPUS.rglob("*.eml"))


def _indexed(raw: bytes) -> object:
    return dataclasses.replace(parse_message(raw), attachments=())


def test_same_index_fields_as_parse_message_on_the_corpus() -> None:
    differ = [p.name for p in FILES if parse_for_index(p.read_bytes()) != _indexed(p.read_bytes())]
    assert len(FILES) >= 400 and differ == []


def _mixed(attachment: bytes, text_b64: bool = False, nl: bytes = b"\r\n") -> bytes:
    body = "Grüße aus dem Büro, see the attached file.\n" * 20
    text_part = (b"Content-Type: text/plain; charset=utf-8" + nl
                 + (b"Content-Transfer-Encoding: base64" + nl + nl
                    + base64.encodebytes(body.encode() * 2000).replace(b"\n", nl)
                    if text_b64 else nl + body.encode()))
    enc = base64.encodebytes(attachment).replace(b"\n", nl)
    return nl.join([
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>", b"To: a@example.org",
        b"Subject: report", b"Message-ID: <r1@example.org>",
        b"Date: Tue, 03 Mar 2026 10:00:00 +0100", b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="XX"', b"", b"--XX", text_part,
        b"--XX", b'Content-Type: application/pdf; name="r.pdf"',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="r.pdf"', b"", enc.rstrip(),
        b"--XX--", b""])


@pytest.mark.parametrize("nl", [b"\r\n", b"\n"])
def test_big_attachment_is_cut_but_everything_indexed_is_the_same(nl: bytes) -> None:
    raw = _mixed(bytes(range(256)) * 8000, nl=nl)            # 2 MB attachment
    cut = skeleton(raw)
    assert len(cut) < 10_000 < 2_000_000 < len(raw)
    got = parse_for_index(raw)
    assert got == _indexed(raw)
    assert got.has_attachments and "Grüße" in got.body_text and got.from_.startswith("Jürgen")
    assert [a.filename for a in parse_message(raw).attachments] == ["r.pdf"]


def test_big_base64_text_keeps_what_is_searched() -> None:
    raw = _mixed(b"x" * 100, text_b64=True)
    assert len(skeleton(raw)) < len(raw)
    assert parse_for_index(raw) == _indexed(raw)


def test_not_cut_when_the_body_is_not_pure_base64() -> None:
    raw = _mixed(b"y" * 300_000).replace(b"\r\n--XX--", b"\r\nnot: base64\r\n--XX--")
    assert skeleton(raw) is raw


def test_linear_time_on_thousands_of_base64_parts() -> None:
    path = CORPUS / "flanker" / "enclosed-endless.eml"
    raw = path.read_bytes()
    start = time.perf_counter()
    skeleton(raw)
    assert time.perf_counter() - start < 0.5


def _alternative(plain: str, html_body: str) -> bytes:
    return ("From: a@example.test\r\nSubject: newsletter\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + plain + "\r\n"
            "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html_body + "\r\n--alt--\r\n").encode()


def test_search_finds_a_word_only_in_the_html_alternative(tmp_path) -> None:  # noqa: ANN001
    from mailcli.store import Store

    raw = _alternative("Read this in a browser.",
                       "<html><head><style>p{color:red}</style></head><body><p>The "
                       "<b>zanzibarish</b> offer</p></body></html>")
    with Store(tmp_path / "data") as st:
        mid = st.deliver("acct", "INBOX", raw, fsync=False)
        assert [e.id for e in st.search("zanzibarish")] == [mid]
        assert [e.id for e in st.search("body:zanzibar")] == [mid]
        assert st.search("color") == []          # the style sheet is not text
    parsed = parse_for_index(raw)
    assert parsed.body_text.startswith("Read this in a browser.")   # plain text first


def test_html_alternative_text_is_capped() -> None:
    from mailcli.message.parse import HTML_ALT_CHARS

    raw = _alternative("short plain", "<p>" + " ".join(f"w{i}" for i in range(200_000)) + "</p>")
    body = parse_for_index(raw).body_text
    assert "short plain" in body and "w1000 w1001" in body
    assert len(body) <= len("short plain") + 1 + HTML_ALT_CHARS


def test_html_alternative_adds_only_the_words_the_plain_text_lacks() -> None:
    raw = _alternative("Lunch is at noon, see you there.",
                       "<p>Lunch is at <i>noon</i>, see you there. Bring a spatula!</p>")
    body = parse_for_index(raw).body_text
    plain, _, extra = body.partition("\n")
    assert plain == "Lunch is at noon, see you there."
    assert "Bring a spatula!" in extra and "Lunch" not in extra and "there." not in extra


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=60).map(lambda b: bytes(b"\n-a"[c % 3] for c in b)), st.integers(0, 70))
def test_dash_line_finder_is_the_three_byte_find(raw: bytes, start: int) -> None:
    start = min(start, len(raw))
    assert find_dash_line(raw, start) == raw.find(b"\n--", start)

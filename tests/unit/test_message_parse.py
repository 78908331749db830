"""parse_message: lenient decoding of hostile and broken mail, bounded work, cheap import."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcli.message.charset import decode_bytes
from mailcli.message.headers import decode_addresses, decode_header_value, parse_date
from mailcli.message.parse import ParsedMessage, parse_bytes, parse_message

CRAFTED = Path(__file__).resolve().parent.parent / "data" / "corpus" / "crafted"


def crafted(name: str) -> bytes:
    return (CRAFTED / name).read_bytes()


def test_envelope_fields() -> None:
    raw = (b"Message-ID: <a1@example.com>\r\nDate: Tue, 2 Jan 2024 10:00:00 +0200\r\n"
           b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@example.com>\r\n"
           b"To: \"Doe, Jane\" <jane@example.org>, bob@example.org\r\nCc: c@example.org\r\n"
           b"Subject: =?iso-8859-1?q?Gr=FC=DFe?= and\r\n =?utf-8?b?8J+Ri8==?=\r\n"
           b"In-Reply-To: <p@example.com>\r\nReferences: <r@example.com>\r\n <p@example.com>\r\n"
           b"\r\nHello body\r\n")
    m = parse_message(raw)
    assert m.message_id == "<a1@example.com>"
    assert m.date == datetime(2024, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert m.from_ == "Jürgen Müller <j@example.com>"
    assert m.to == '"Doe, Jane" <jane@example.org>, bob@example.org'
    assert m.cc == "c@example.org"
    assert m.subject == "Grüße and 👋"
    assert m.in_reply_to == "<p@example.com>"
    assert m.references == ("<r@example.com>", "<p@example.com>")
    assert m.body_text.strip() == "Hello body"
    assert not m.has_attachments and m.attachments == ()


def test_broken_encoded_words_and_raw_8bit() -> None:
    m = parse_message(crafted("broken_encoded_words.eml"))
    assert "😀" in m.subject            # 4-byte UTF-8 char split across two words
    assert "café" in m.subject
    m = parse_message(crafted("8bit_headers_latin1_cp1252.eml"))
    assert m.subject == "Résumé – “quoted” €100"
    assert m.from_.startswith("François Dupré")
    m = parse_message(crafted("8bit_headers_utf8.eml"))
    assert m.subject.startswith("Grüße") and "📈" in m.subject
    assert m.attachments[0].filename == "Bericht März.pdf"


def test_charset_fallbacks() -> None:
    assert decode_bytes("naïve".encode(), "iso-8859-1") == "naïve"          # mislabelled UTF-8
    assert decode_bytes("café €".encode("cp1252"), "utf-8") == "café €"     # mislabelled cp1252
    assert decode_bytes("é".encode("latin-1"), "x-no-such-charset") == "é"
    assert decode_bytes(b"\x81\x8d", None) == "\ufffd\ufffd"
    assert decode_bytes("привет".encode("koi8-r"), "koi8-r") == "привет"
    assert decode_bytes(b"abc", "zlib") == "abc"                          # not a text codec
    assert decode_bytes("hi".encode("utf-16"), "utf-16") == "hi"
    m = parse_message(crafted("wrong_charset_utf8_label_cp1252_body.eml"))
    assert "“smart”" in m.body_text and "€5" in m.body_text


def test_header_helpers() -> None:
    assert decode_header_value("=?unknown-x?q?caf=E9?=") == "café"
    assert decode_header_value("a\r\n\tb") == "a b"
    assert decode_header_value("=?utf-8?b?aGVsbG8?=") == "hello"      # missing padding
    assert decode_addresses("=?utf-8?q?Smith=2C_John?= <j@x.org>") == '"Smith, John" <j@x.org>'
    assert decode_addresses("undisclosed-recipients:;") == "undisclosed-recipients:;"
    assert parse_date("Mon, 1 Jan 2024 10:00:00 -0000").tzinfo is not None  # type: ignore[union-attr]
    assert parse_date("not a date") is None
    assert parse_date("Mon, 1 Jan 2024 10:00:00 +9999") is None
    assert parse_date("") is None


def test_escape_sequences_are_removed_from_envelope_fields() -> None:
    for name in ("ansi_raw_subject_from.eml", "ansi_encoded_word_headers.eml"):
        m = parse_message(crafted(name))
        for value in (m.subject, m.from_, m.to):
            assert "\x1b" not in value and "\x07" not in value and "\x9b" not in value
    m = parse_message(crafted("ansi_raw_subject_from.eml"))
    assert "URGENT" in m.subject and m.from_.endswith("<support@example.com>")
    m = parse_message(crafted("ansi_body_qp_and_base64.eml"))
    assert "\x1b" not in m.body_text and "This line is red." in m.body_text


def test_nul_bytes() -> None:
    m = parse_message(crafted("nul_bytes_headers_and_body.eml"))
    assert "\x00" not in m.subject + m.body_text + (m.message_id or "")
    assert m.message_id is not None and m.date is not None


def _deep(levels: int) -> bytes:
    head = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    parts = []
    for i in range(levels):
        parts.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    middle = b"Content-Type: text/plain\r\n\r\ncore\r\n"
    tail = b"".join(b"--b%d--\r\n" % i for i in reversed(range(levels)))
    return head + b"".join(parts) + middle + tail


def test_deep_nesting_is_capped_and_fast() -> None:
    for raw in (_deep(1000), crafted("deep_nesting_1000.eml")):
        start = time.perf_counter()
        m = parse_message(raw)
        parse_bytes(raw)
        assert time.perf_counter() - start < 2.0
        assert m.subject in ("deep", "multipart nested 1000 levels deep")
    shallow = parse_message(_deep(10))
    assert shallow.body_text.strip() == "core"


def test_huge_header_line_is_bounded() -> None:
    raw = b"From: a@example.com\r\nSubject: " + b"A" * (1024 * 1024) + b"\r\n\r\nbody\r\n"
    for data in (raw, crafted("huge_header_line_1mb.eml"), crafted("many_headers.eml")):
        start = time.perf_counter()
        m = parse_message(data)
        assert time.perf_counter() - start < 2.0
        assert len(m.subject) <= 16 * 1024


def test_parse_bytes_is_an_email_message() -> None:
    msg = parse_bytes(b"Subject: hi\r\n\r\nbody\r\n")
    assert msg["Subject"] == "hi" and msg.get_content().strip() == "body"


def test_import_is_cheap() -> None:
    code = ("import sys, mailcli.message.parse; "
            "bad = [m for m in ('mailparser', 'html2text', 'click', 'textual') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert isinstance(parse_message(raw), ParsedMessage)


_PIECES = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=x\r\n", b"--x\r\n", b"--x--\r\n", b"\r\n",
    b"Content-Type: message/rfc822\r\n", b"Subject: =?utf-8?b?4pyT?=\r\n", b"\x1b[31m",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Disposition: attachment; filename=../a\r\n",
    b"=?x?q?=00?=", b"\x00", b"\xff\xfe", b"Content-Type: text/html; charset=bogus\r\n",
    b"<img alt=x src=http://e/>", b"Content-Transfer-Encoding: quoted-printable\r\n", b"=\r\n",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES | st.binary(max_size=30), max_size=40).map(b"".join))
def test_parse_never_raises_on_mime_shaped_bytes(raw: bytes) -> None:
    m = parse_message(raw)
    assert "\x1b" not in m.subject and "\x00" not in m.body_text


def test_line_bomb_keeps_structure_and_a_bounded_number_of_lines() -> None:
    # 600,000 blank lines in the text part, then an attachment: the parse keeps
    # MAX_LINES lines at most, still sees the attachment after the bomb, and the text
    # before it
    from mailcli.message import mime
    from mailcli.message.parse import parse_for_index
    from mailcli.message.render import render_text

    bomb = b"\r\n" * 600_000
    raw = (b"From: a@example.test\r\nSubject: bomb\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="xx"\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\n'
           b"findme before the bomb\r\n" + bomb + b"--xx\r\nContent-Type: application/pdf\r\n"
           b'Content-Disposition: attachment; filename="after.pdf"\r\n\r\nJVBERi0x\r\n--xx--\r\n')
    root = mime.parse_tree(raw, max_lines=mime.MAX_LINES)
    assert 600_000 - mime.MAX_LINES <= mime.lines_dropped(root) <= 600_000
    kept = sum(p.get_payload().count("\n") for p, _, _ in mime.walk(root) if isinstance(p.get_payload(), str))
    assert kept <= mime.MAX_LINES
    for parsed in (parse_message(raw), parse_for_index(raw)):
        assert parsed.subject == "bomb" and parsed.has_attachments
        assert "findme before the bomb" in parsed.body_text
    assert [a.filename for a in parse_message(raw).attachments] == ["after.pdf"]
    shown = render_text(raw)
    assert "findme before the bomb" in shown.text and "lines of this message are not shown" in shown.text
    assert [a.filename for a in shown.attachments] == ["after.pdf"]
    # without a budget (saving, forwarding) every line is there
    full = mime.parse_tree(raw)
    assert mime.lines_dropped(full) == 0
    assert full.get_payload()[0].get_payload().count("\n") >= 600_000


def test_messages_under_the_line_budget_parse_as_before() -> None:
    from mailcli.message import mime

    raw = (b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
           + b"line\r\n" * 1000 + b"--b--\r\n")
    a, b = mime.parse_tree(raw), mime.parse_tree(raw, max_lines=mime.MAX_LINES)
    assert mime.lines_dropped(b) == 0
    assert a.as_string() == b.as_string()

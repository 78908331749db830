"""render_text / headers_for_display: readable, terminal-safe, nothing fetched."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailcli.message.render import RenderedMessage, headers_for_display, render_text

CRAFTED = Path(__file__).resolve().parent.parent / "data" / "corpus" / "crafted"

ALT = (b"From: =?utf-8?q?A_=1B[31mB?= <a@example.com>\r\nTo: b@example.org\r\n"
       b"Subject: hi \x1b]0;title\x07there\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=X\r\n\r\n"
       b"--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain \x1b[2Jversion\r\n"
       b"--X\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
       b"<html><head><style>p{}</style></head><body><p>html <b>version</b></p>"
       b"<img src=\"http://tracker.example/x.gif\" alt=\"Logo\"><img src=\"cid:1\">"
       b"<a href=\"https://example.com/\">link</a></body></html>\r\n--X--\r\n")


def test_plain_is_preferred_html_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendering tried to open a socket")
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)

    r = render_text(ALT)
    assert isinstance(r, RenderedMessage)
    assert r.text == "plain version"                           # escape removed
    assert r.html is not None and "<b>version</b>" in r.html
    h = render_text(ALT, prefer_html=True)
    assert "html version" in h.text and "**" not in h.text
    assert "[Logo]" in h.text and "[image]" in h.text
    assert "https://example.com/" in h.text
    assert "p{}" not in h.text


def test_headers_are_decoded_and_safe() -> None:
    headers = dict(render_text(ALT).headers)
    assert headers["Subject"] == "hi there"
    assert headers["From"] == "A B <a@example.com>"
    assert list(headers) == ["Date", "From", "To", "Subject"]
    every = headers_for_display(ALT, all_headers=True)
    assert [n for n, _ in every][:3] == ["From", "To", "Subject"]
    assert all("\x1b" not in n + v and "\x07" not in v for n, v in every)


NEWSLETTER = ("Subject: news\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
              "<html><body><h1>Quarterly report</h1><h2>Summary</h2>"
              "<p>Hello <b>Bob</b>, see <a href='https://example.org/report'>the report</a> and "
              "<em>our</em> <a href='https://example.org/site'>site</a>; <strong>again</strong> "
              "<a href='https://example.org/report'>the report</a>.</p>"
              "<table><tr><th>Item</th><th>Count</th></tr><tr><td>Apples</td><td>12</td></tr>"
              "<tr><td>Long pear name</td><td>3</td></tr></table>"
              "<p>1. not a list, 3 - 2 = 1</p>"
              "<img src='https://tracker.example/pixel.gif' alt='Logo'></body></html>\r\n").encode()


def test_html_only_mail_reads_as_text_not_markdown(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendering tried to open a socket")
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)

    text = render_text(NEWSLETTER).text
    lines = text.splitlines()
    assert "**" not in text and "_our_" not in text and "*our*" not in text
    assert not [line for line in lines if line.lstrip().startswith("#")]
    assert "Quarterly report" in lines and "Summary" in lines
    # links are numbered references, the same URL keeps its number, the list is at the end
    assert "Hello Bob, see the report [1] and our site [2]; again the report [1]." in lines
    assert lines[-2:] == ["[1] https://example.org/report", "[2] https://example.org/site"]
    assert "](" not in text
    # a table keeps its columns aligned
    rows = [line for line in lines if "Apples" in line or "Long pear name" in line]
    assert len(rows) == 2 and rows[0].index("12") == rows[1].index("3")
    assert "1. not a list, 3 - 2 = 1" in lines and "\\" not in text
    assert "[Logo]" in text


def test_html_only_message() -> None:
    raw = (b"Subject: html\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n"
           b"<p>Caf\xe9 <script>alert(1)</script>ok</p>")
    r = render_text(raw)
    assert "Café" in r.text and "alert" not in r.text
    assert r.html is not None and "<p>" in r.html


def test_escape_sequences_in_bodies_are_neutralized() -> None:
    r = render_text((CRAFTED / "ansi_body_qp_and_base64.eml").read_bytes())
    assert "This line is red." in r.text
    for bad in ("\x1b", "\x9b", "\x07", "\x90", "\x9d"):
        assert bad not in r.text
    h = render_text((CRAFTED / "ansi_body_qp_and_base64.eml").read_bytes(), prefer_html=True)
    assert "\x1b" not in h.text


def test_attached_message_is_shown_inline() -> None:
    inner = b"From: inner@example.com\r\nSubject: inner subject\r\n\r\ninner body\r\n"
    raw = (b"Subject: fwd\r\nContent-Type: multipart/mixed; boundary=M\r\n\r\n--M\r\n"
           b"Content-Type: text/plain\r\n\r\nsee below\r\n--M\r\nContent-Type: message/rfc822\r\n\r\n"
           + inner + b"--M--\r\n")
    r = render_text(raw)
    assert "see below" in r.text and "Subject: inner subject" in r.text and "inner body" in r.text
    assert [(a.filename, a.content_type) for a in r.attachments] == [
        ("attachment-1.eml", "message/rfc822")]


def test_deep_nesting_renders_in_bounded_time() -> None:
    raw = (CRAFTED / "deep_nesting_1000.eml").read_bytes()
    start = time.perf_counter()
    render_text(raw)
    headers_for_display(raw, all_headers=True)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1500))
def test_render_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    for prefer_html in (False, True):
        r = render_text(raw, prefer_html=prefer_html)
        assert "\x1b" not in r.text and "\x00" not in r.text

"""Reply/forward headers, quoting, reply-all, attachments and encodings."""
from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from mailcli.errors import UsageError
from mailcli.send.compose import Draft, build, forward, reply

ORIG = (b"From: Alice <alice@example.org>\r\nTo: me@example.test, Bob <bob@example.org>\r\n"
        b"Cc: carol@example.org, ME@example.test\r\nSubject: Plans\r\n"
        b"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m2@example.org>\r\n"
        b"References: <m0@example.org> <m1@example.org>\r\n\r\nLine one\r\nLine two\r\n")


def parse(msg) -> email.message.EmailMessage:
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def test_reply_sets_threading_and_quotes() -> None:
    d = reply(ORIG, "Line one\nLine two\n", "me@example.test", ["me@example.test"])
    assert d.to == ["Alice <alice@example.org>"] and d.cc == []
    assert d.subject == "Re: Plans"
    assert d.in_reply_to == "<m2@example.org>"
    assert d.references == ["<m0@example.org>", "<m1@example.org>", "<m2@example.org>"]
    assert "> Line one\n> Line two\n" in d.body and "Alice <alice@example.org> wrote:" in d.body
    m = parse(build(d))
    assert m["In-Reply-To"] == "<m2@example.org>"
    assert m["References"] == "<m0@example.org> <m1@example.org> <m2@example.org>"


def test_reply_all_leaves_out_own_addresses_case_insensitively() -> None:
    d = reply(ORIG, "x", "me@example.test", ["me@example.test"], reply_all=True)
    assert d.to == ["Alice <alice@example.org>"]
    assert d.cc == ["Bob <bob@example.org>", "carol@example.org"]


def test_reply_keeps_existing_re_prefix_and_prefers_reply_to() -> None:
    raw = ORIG.replace(b"Subject: Plans", b"Subject: Re: Plans\r\nReply-To: list@example.org")
    d = reply(raw, "x", "me@example.test", ["me@example.test"])
    assert d.subject == "Re: Plans" and d.to == ["list@example.org"]


def test_forward_inline_and_as_attachment() -> None:
    d = forward(ORIG, "Line one\n", "me@example.test")
    assert d.subject == "Fwd: Plans" and "From: Alice <alice@example.org>" in d.body
    assert "Line one" in d.body
    d2 = forward(ORIG, "", "me@example.test", inline=False)
    d2.to = ["x@example.org"]
    m = parse(build(d2))
    parts = [p.get_content_type() for p in m.iter_attachments()]
    assert parts == ["message/rfc822"]


def test_non_ascii_subject_and_attachment_names(tmp_path: Path) -> None:
    f = tmp_path / "Größe_résumé.pdf"
    f.write_bytes(b"%PDF-1.4 fake")
    t = tmp_path / "notes.txt"
    t.write_text("héllo")
    d = Draft(from_="Jürgen <j@example.de>", to=["ä@example.de"], subject="Grüße — ✓",
              body="Schöne Grüße", attachments=[f, t])
    raw = build(d).as_bytes()
    assert all(b < 128 for b in raw.split(b"\n\n", 1)[0]) or b"utf-8" in raw.lower()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    assert m["Subject"] == "Grüße — ✓"
    atts = list(m.iter_attachments())
    assert [a.get_filename() for a in atts] == ["Größe_résumé.pdf", "notes.txt"]
    assert atts[0].get_content_type() == "application/pdf"
    assert atts[0].get_content() == b"%PDF-1.4 fake"
    assert m.get_body(("plain",)).get_content().startswith("Schöne Grüße")


def test_bcc_not_in_headers_but_in_recipients() -> None:
    d = Draft(from_="me@x.test", to=["a@x.test"], bcc=["hidden@x.test"], subject="s", body="b")
    assert "hidden@x.test" in d.recipients()
    assert b"hidden" not in build(d).as_bytes()


def test_no_recipients_is_usage_error() -> None:
    with pytest.raises(UsageError):
        build(Draft(from_="me@x.test", subject="s"))

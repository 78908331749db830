"""The whole permissively-licensed corpus goes through parse, render, listing and saving."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailcli.message.attachments import list_attachments, save_attachments
from mailcli.message.parse import ParsedMessage, parse_message
from mailcli.message.render import headers_for_display, render_text
from mailcli.message.sanitize import safe_line, safe_text
from mailcli.model import AttachmentInfo

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
FILES = sorted(CORPUS.rglob("*.eml"))


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def test_corpus_is_present_and_attributed() -> None:
    assert len(FILES) >= 400
    attribution = (CORPUS / "ATTRIBUTION.md").read_text()
    for folder in {p.relative_to(CORPUS).parts[0] for p in FILES}:
        assert f"`{folder}/`" in attribution, folder
    for excluded in ("alot", "notmuch", "pecl-mailparse"):
        assert not (CORPUS / excluded).exists()
    assert not list(CORPUS.glob("mime4j/mimetools-testmsgs__*"))
    assert not list(CORPUS.glob("stalwart-mail-parser/eml__legacy__*"))


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_message_goes_through_everything(path: Path, tmp_path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert parsed.date is None or parsed.date.tzinfo is not None
    for value in (parsed.from_, parsed.to, parsed.cc, parsed.subject):
        assert isinstance(value, str) and "\n" not in value and "\x1b" not in value
        value.encode("utf-8")  # no lone surrogates
    assert "\x00" not in parsed.body_text and len(parsed.body_text) <= 64 * 1024
    assert parsed.has_attachments == bool(parsed.attachments)

    rendered = render_text(raw)
    assert safe_text(rendered.text) == rendered.text
    rendered.text.encode("utf-8")
    for name, value in rendered.headers + headers_for_display(raw, all_headers=True):
        assert safe_line(name) == name and safe_line(value) == value
    render_text(raw, prefer_html=True)

    infos = list_attachments(raw)
    assert infos == list(parsed.attachments) == rendered.attachments
    assert [a.index for a in infos] == list(range(1, len(infos) + 1))
    for info in infos:
        assert isinstance(info, AttachmentInfo) and info.size >= 0
        assert "/" not in info.filename and "\\" not in info.filename

    dest = tmp_path / "out"
    written = save_attachments(raw, dest)
    assert len(written) == len(infos)
    assert sorted(os.listdir(dest)) == sorted(a.filename for a in infos)
    for p in written:
        assert p.parent == dest.resolve()

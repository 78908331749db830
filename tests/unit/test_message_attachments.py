"""Attachment names and saving: nothing lands outside the target, nothing is overwritten."""
from __future__ import annotations

import base64
import os
import unicodedata
from urllib.parse import quote
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailcli.errors import MessageError, NotFoundError
from mailcli.message.attachments import (
    AttachmentExistsError,
    list_attachments,
    safe_filename,
    save_attachments,
)

CRAFTED = Path(__file__).resolve().parent.parent / "data" / "corpus" / "crafted"
HOSTILE = ["../../etc/passwd", "/abs", "/etc/shadow", "a/b", "CON", "con.txt", "..", ".",
           "\x1b[31mred\x1b[0m.txt", "C:\\Windows\\evil.dll", "..\\..\\x.bat", "", "-rf",
           ".bashrc", "a\u202egpj.exe", "tab\there\nnl.txt", "nul\x00.txt", "NUL", "LPT1.log",
           "x" * 400 + ".pdf", "é" * 300, "a/../../b", "~/.ssh/authorized_keys", "?*<>|.txt"]


def message_with(names: list[str | None], data: bytes = b"payload") -> bytes:
    """A multipart message whose attachment names are given exactly (RFC 2231 encoding
    carries any character, newlines, NUL and ESC included)."""
    out = [b"From: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
           b"Content-Type: text/plain\r\n\r\nsee attached\r\n"]
    for name in names:
        param = b"" if name is None else (
            b"; filename*=utf-8''" + quote(name, safe="").encode("ascii"))
        out.append(b"--B\r\nContent-Type: application/octet-stream\r\n"
                   b"Content-Disposition: attachment" + param + b"\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n"
                   + base64.b64encode(data) + b"\r\n")
    out.append(b"--B--\r\n")
    return b"".join(out)


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_filename_rejects_hostile_names(name: str) -> None:
    safe = safe_filename(name, 3, "application/pdf")
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith((".", "-", "~"))
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in safe)
    assert len(safe.encode("utf-8")) <= 200
    assert safe.split(".")[0].upper() not in ("CON", "NUL", "LPT1")


def test_safe_filename_examples() -> None:
    assert safe_filename("../../etc/passwd", 1, "text/plain") == "passwd"
    assert safe_filename(None, 2, "application/pdf") == "attachment-2.pdf"
    assert safe_filename("..", 4, "image/jpeg") == "attachment-4.jpg"
    assert safe_filename("CON", 1, "text/plain") == "_CON"
    assert safe_filename("report.pdf", 1, "application/pdf") == "report.pdf"
    long = safe_filename("x" * 400 + ".pdf", 1, "application/pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 200
    assert safe_filename("Grüße.txt", 1, "text/plain") == "Grüße.txt"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=300)), st.integers(1, 999))
def test_safe_filename_property(name: str | None, index: int) -> None:
    safe = safe_filename(name, index, "application/octet-stream")
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith((".", "-"))
    assert len(safe.encode("utf-8")) <= 200
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in safe)
    assert os.path.basename(safe) == safe


def test_hostile_names_all_land_inside_the_target(tmp_path: Path) -> None:
    raw = message_with(HOSTILE)
    dest = tmp_path / "dest"
    written = save_attachments(raw, dest)
    assert len(written) == len(HOSTILE)
    assert len(set(written)) == len(written)
    inside = sorted(os.listdir(dest))
    assert len(inside) == len(HOSTILE)
    assert [p.parent for p in written] == [dest.resolve()] * len(written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]     # nothing escaped
    assert all(p.read_bytes() == b"payload" for p in written)
    assert [i.filename for i in list_attachments(raw)] == [p.name for p in written]


@pytest.mark.parametrize("name", sorted(p.name for p in CRAFTED.glob("traversal_*.eml"))
                         + ["ansi_and_bidi_attachment_names.eml"])
def test_crafted_traversal_messages(name: str, tmp_path: Path) -> None:
    dest = tmp_path / "a" / "dest"
    written = save_attachments((CRAFTED / name).read_bytes(), dest)
    assert written
    for path in written:
        assert path.parent == dest.resolve()
        assert "\x1b" not in path.name and "\u202e" not in path.name
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["dest"]


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    raw = message_with(["report.pdf", "other.bin"], b"new")
    (tmp_path / "report.pdf").write_bytes(b"old")
    with pytest.raises(AttachmentExistsError) as info:
        save_attachments(raw, tmp_path)
    assert isinstance(info.value, MessageError) and info.value.hint
    assert (tmp_path / "report.pdf").read_bytes() == b"old"
    assert not (tmp_path / "other.bin").exists()           # checked before writing anything
    written = save_attachments(raw, tmp_path, force=True)
    assert [p.name for p in written] == ["report.pdf", "other.bin"]
    assert (tmp_path / "report.pdf").read_bytes() == b"new"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mailcli-")]


def test_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "report.pdf").symlink_to(outside)
    raw = message_with(["report.pdf"], b"attack")
    with pytest.raises(AttachmentExistsError):
        save_attachments(raw, dest)
    save_attachments(raw, dest, force=True)
    assert outside.read_bytes() == b"precious"
    assert not (dest / "report.pdf").is_symlink()
    assert (dest / "report.pdf").read_bytes() == b"attack"


def test_which_selects_by_index(tmp_path: Path) -> None:
    raw = message_with(["a.bin", "b.bin", "c.bin"])
    infos = list_attachments(raw)
    assert [(i.index, i.filename, i.size) for i in infos] == [
        (1, "a.bin", 7), (2, "b.bin", 7), (3, "c.bin", 7)]
    assert [p.name for p in save_attachments(raw, tmp_path, which=[3, 1])] == ["c.bin", "a.bin"]
    with pytest.raises(NotFoundError):
        save_attachments(raw, tmp_path / "x", which=[4])


def test_duplicate_names_are_made_unique(tmp_path: Path) -> None:
    raw = message_with(["same.txt", "same.txt", "SAME.txt", None, None])
    names = [p.name for p in save_attachments(raw, tmp_path)]
    assert names == ["same.txt", "same-2.txt", "SAME-3.txt", "attachment-4.bin",
                     "attachment-5.bin"]


@pytest.mark.parametrize("headers,expected", [
    ("Content-Type: text/plain; charset=utf-8", None),
    ("Content-Type: application/pdf; NAME=\"a.pdf\"", "a.pdf"),
    ("Content-Type: application/pdf\nContent-Disposition: attachment; FileName=b.pdf", "b.pdf"),
    ("Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''Gr%C3%BC;\n filename*1=sse.pdf",
     "Grüsse.pdf"),
    ("Content-Type: application/pdf; name*=utf-8''%C3%A9t%C3%A9.pdf", "été.pdf"),
    ("Content-Type: text/plain; charset=\"us-ascii\"; format=flowed", None),
    ("Content-Type: text/plain; x-rename=1", None),
])
def test_filename_of_a_part_with_and_without_name_parameters(headers: str, expected: str | None) -> None:
    # mime.filename answers None without parsing the parameters when no "name" is in
    # either field: the answer must be the same as parsing them
    from mailcli.message import mime
    raw = (headers + "\n\nbody\n").encode()
    part = mime.parse_tree(raw)
    assert mime.filename(part) == expected

"""Hostile messages made here (on top of tests/data/corpus/crafted): escape sequences
(7-bit ESC and 8-bit C1) in every field a terminal might print, carriage returns that
would overwrite a line, path-traversal and control-character attachment names, NUL
bytes, bare CR/LF mixes, and the cost bombs: 1,000-level message/rfc822 nesting, a
1 MB header line, 3,000 attachments in one message."""
from __future__ import annotations

import base64

ESC_SUBJECT = b"Subject: Pay \x1b[31mNOW\x1b[0m \x1b]0;owned-title\x07 \x1b]52;c;ZXZpbA==\x07 \x9b2J done\r\n"


def _mixed(parts: list[bytes], boundary: str = "zz") -> bytes:
    out = [f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()]
    for p in parts:
        out.append(f"--{boundary}\r\n".encode() + p + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def _attachment(name_header: str, body: bytes = b"payload\r\n") -> bytes:
    return (f"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            f"{name_header}\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() \
        + base64.encodebytes(body).replace(b"\n", b"\r\n")


def _head(i: int, subject: bytes | None = None, extra: bytes = b"") -> bytes:
    return (b"From: =?utf-8?b?" + base64.b64encode("Mallory \x1b]8;;http://evil.example/\x07".encode())
            + b"?= <mal@evil.example>\r\nTo: victim@example.test\r\n"
            + (subject or f"Subject: hostile {i}\r\n".encode())
            + f"Date: Mon, 01 Jan 2024 10:{i:02d}:00 +0000\r\nMessage-ID: <hostile-{i}@evil.example>\r\n"
              "MIME-Version: 1.0\r\n".encode() + extra)


def escapes_everywhere() -> bytes:
    html = (b"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><title>\x1b]0;t\x07</title></head>"
            b"<body><p>html \x1b[2J\x1b[H cleared <b>\x1b[5mblink</b></p></body></html>\r\n")
    text = ("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "body \x1b[2J\x1b[Hcleared; OSC 52 \x1b]52;c;ZXZpbA==\x07; C1 CSI \u009b31m; "
            "DCS \x1bP+q\x1b\\ end\r\n").encode()
    alt = _mixed([text, html], "alt").replace(b"multipart/mixed", b"multipart/alternative")
    return _head(1, ESC_SUBJECT, b"X-Evil: \x1b[1;31mheader\x1b[0m\r\n") + _mixed([
        alt,
        _attachment("filename*=utf-8''%1B%5D52%3Bc%3BZXZpbA%3D%3D%07clip.txt"),
        _attachment('filename="=?utf-8?b?' + base64.b64encode("\u009b2Jc1.txt".encode()).decode() + '?="'),
    ])


def carriage_returns() -> bytes:
    return _head(2, b"Subject: Invoice 100 EUR\rPAID - ignore this invoice\r\n") + (
        b"Content-Type: text/plain\r\n\r\nline one\rOVERWRITTEN\r\nbare LF next\nbare CR next\r"
        b"mixed\r\r\n\n\r\nend\r\n")


def traversal_names() -> bytes:
    names = ['filename="../../../../../../tmp/hostile-pwned"', 'filename="/tmp/hostile-absolute"',
             'filename="~/.bashrc"', 'filename="a/../../b.txt"', 'filename="."', 'filename="..."',
             "filename*=utf-8''..%2F..%2F%00nul.txt", 'filename="' + "x" * 3000 + '.txt"',
             'filename="=?utf-8?q?..=2F..=2Fhostile-ew?="', 'filename="dir/"', 'filename=".hidden"',
             'filename="\\\\server\\share\\x.txt"']
    return _head(3) + _mixed([b"Content-Type: text/plain\r\n\r\nsee attachments\r\n"]
                             + [_attachment(n) for n in names])


def nul_everywhere() -> bytes:
    return _head(4, b"Subject: nul\x00in\x00subject\r\n", b"X-Nul: a\x00b\r\n") + _mixed([
        b"Content-Type: text/plain\r\n\r\nbody\x00with\x00nuls\r\n",
        _attachment('filename="nul\x00name.txt"', b"\x00" * 100)])


def rfc822_nesting(depth: int = 1000) -> bytes:
    inner = b"From: a@example.test\r\nSubject: innermost\r\n\r\ncore\r\n"
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return _head(5, b"Subject: message/rfc822 nested 1000 deep\r\n") + inner


def huge_header_line(size: int = 1 << 20) -> bytes:
    return _head(6, b"Subject: huge header\r\n", b"X-Huge: " + b"A" * size + b"\r\n") + (
        b"Content-Type: text/plain\r\n\r\nsmall body\r\n")


def many_attachments(n: int = 3000) -> bytes:
    return _head(7, b"Subject: three thousand attachments\r\n") + _mixed(
        [_attachment(f'filename="part{i}.bin"', b"x") for i in range(n)])


def all_crafted() -> dict[str, bytes]:
    return {"escapes_everywhere": escapes_everywhere(), "carriage_returns": carriage_returns(),
            "traversal_names": traversal_names(), "nul_everywhere": nul_everywhere(),
            "rfc822_nesting_1000": rfc822_nesting(), "huge_header_line_1mb": huge_header_line(),
            "many_attachments_3000": many_attachments()}

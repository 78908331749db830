"""The raw MIME splitting under PGP/MIME verification (mailcli.message.pgp): exact bytes
between delimiter lines, as RFC 2046 5.1.1 defines them. No gpg here."""
from __future__ import annotations

import pytest

from mailcli.message.pgp import canonical, content_info, parts, split_entity


@pytest.mark.parametrize("body,expect", [
    # the CRLF before a delimiter belongs to the delimiter
    (b"--b\r\nA\r\n--b\r\nB\r\n--b--\r\n", [b"A", b"B"]),
    # preamble and epilogue are not parts
    (b"pre\r\n--b\r\nA\r\n--b--\r\nepilogue\r\n--b\r\nX\r\n", [b"A"]),
    # transport padding (spaces/tabs) after a delimiter is allowed
    (b"--b  \r\nA\r\n--b\t\r\nB\r\n--b-- \r\n", [b"A", b"B"]),
    # a line that only starts like the delimiter is content
    (b"--b\r\n--bx\r\nA\r\n--b--\r\n", [b"--bx\r\nA"]),
    # trailing blank lines inside a part are kept (all but the delimiter's CRLF)
    (b"--b\r\nA\r\n\r\n\r\n--b--\r\n", [b"A\r\n\r\n"]),
    # LF-only files split the same way
    (b"--b\nA\n--b\nB\n--b--\n", [b"A", b"B"]),
    # an empty part
    (b"--b\r\n\r\n--b--\r\n", [b""]),
    # no closing delimiter: the unfinished part is not returned
    (b"--b\r\nA\r\n--b\r\nB\r\n", [b"A"]),
])
def test_parts_are_the_exact_bytes_between_delimiters(body: bytes, expect: list[bytes]) -> None:
    assert parts(body, "b") == expect


def test_canonical_makes_crlf_without_doubling() -> None:
    assert canonical(b"a\nb\r\nc\r\n\n") == b"a\r\nb\r\nc\r\n\r\n"


def test_split_entity_and_content_info() -> None:
    head, body = split_entity(b'Content-Type: multipart/signed;\r\n boundary="x y";\r\n'
                              b' protocol="application/pgp-signature"\r\n\r\nBODY\r\n')
    assert body == b"BODY\r\n"
    ctype, params = content_info(head)
    assert ctype == "multipart/signed" and params["boundary"] == "x y"
    assert params["protocol"] == "application/pgp-signature"
    assert split_entity(b"\r\nno headers") == (b"", b"no headers")

"""PGP/MIME messages made the way other mail clients make them, with plain gpg and byte
strings (no mailcli code): what mailcli must read correctly."""
from __future__ import annotations

from tests.pgp.keys import ALICE, BOB, Home

HEAD = (b"From: Bob <bob@example.net>\r\nTo: Alice <alice@example.org>\r\n"
        b"Subject: %s\r\nDate: Mon, 01 Jun 2026 10:00:00 +0000\r\n"
        b"Message-ID: <%s@example.net>\r\nMIME-Version: 1.0\r\n")

BODY = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        b"The eagle lands at noon. Zebra crossing 42.\r\n")


def signed_entity(home: Home, entity: bytes, boundary: bytes = b"sig-b0undary") -> bytes:
    """A multipart/signed entity (headers + body) over `entity` (CRLF bytes)."""
    sig = home.gpg("--armor", "--detach-sign", "--local-user", home.fpr, input=entity).stdout
    return (b'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n'
            b' protocol="application/pgp-signature"; boundary="' + boundary + b'"\r\n\r\n'
            b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
            b"--" + boundary + b"\r\n" + entity + b"\r\n--" + boundary + b"\r\n"
            b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
            b"Content-Description: OpenPGP digital signature\r\n\r\n"
            + sig + b"\r\n--" + boundary + b"--\r\n")


def encrypted_entity(home: Home, entity: bytes, to: list[str], sign: bool = False) -> bytes:
    args = ["--armor", "--encrypt", "--trust-model", "always"]
    for r in to:
        args += ["--recipient", r]
    if sign:
        args += ["--sign", "--local-user", home.fpr]
    data = home.gpg(*args, input=entity).stdout
    return (b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n'
            b' boundary="enc-b0undary"\r\n\r\n'
            b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
            b"--enc-b0undary\r\nContent-Type: application/pgp-encrypted\r\n"
            b"Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n"
            b"--enc-b0undary\r\n"
            b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
            b"Content-Description: OpenPGP encrypted message\r\n"
            b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n'
            + data + b"\r\n--enc-b0undary--\r\n")


def message(subject: bytes, entity: bytes) -> bytes:
    return HEAD % (subject, subject.replace(b" ", b"-")) + entity


def signed(home: Home, subject: bytes = b"signed") -> bytes:
    return message(subject, signed_entity(home, BODY))


def encrypted(home: Home, subject: bytes = b"encrypted", sign: bool = False) -> bytes:
    return message(subject, encrypted_entity(home, BODY, [ALICE, BOB], sign=sign))


def signed_then_encrypted(home: Home, subject: bytes = b"signed then encrypted") -> bytes:
    return message(subject, encrypted_entity(home, signed_entity(home, BODY), [ALICE, BOB]))


def partially_signed(home: Home, subject: bytes = b"partly signed") -> bytes:
    """A signed part plus an unsigned footer in multipart/mixed (what mailing lists do)."""
    inner = signed_entity(home, BODY)
    footer = (b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
              b"Unsigned: wire the money to account 1234.\r\n")
    return message(subject, b'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
                   b"--mix\r\n" + inner + b"\r\n--mix\r\n" + footer + b"\r\n--mix--\r\n")


def tampered(home: Home) -> bytes:
    raw = signed(home, b"tampered")
    return raw.replace(b"noon", b"dawn")

"""Writing PGP/MIME (RFC 3156): whether a message is signed and/or encrypted, with which
keys, and the signed (multipart/signed) or encrypted (multipart/encrypted) message.

The decision (`decide`) comes first, before anything is queued: `--sign`/`--encrypt`
(or their `--no-` forms) win over the From identity's `pgp_sign`/`pgp_encrypt`; a reply
to (or forward of) an encrypted message is encrypted unless told otherwise. Keys come
from the local keyring by address only (never from the network): a recipient's key must
be valid in GnuPG's eyes (certified by you or your web of trust), and an encrypted
message is always encrypted to the sender's own key too, so the Sent copy (the very same
bytes) stays readable, as Thunderbird does. Bcc recipients are hidden recipients (their
key IDs are not in the message).

`pgp_encrypt`: "never"; "if-possible" encrypts when every recipient and the sender have
a usable key, else sends as it is; "always" refuses to send (one-line UsageError, nothing
queued) when a key is missing.

`protect` turns the built message's bytes into the signed/encrypted message: the
Content-* header fields and the body become the protected entity (exactly those bytes are
signed), the other header fields stay outside. Subject and the other outer headers are
not encrypted (no "protected headers").
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

from mailcli.errors import UsageError
from mailcli.message.gnupg import GnuPG, Key, PgpError, missing_key_error
from mailcli.message.pgp import canonical

NEVER, IF_POSSIBLE, ALWAYS = "never", "if-possible", "always"


@dataclass(frozen=True)
class Protection:
    """What `protect` does: sign with `signer`, encrypt to `recipients` (+ `hidden`)."""

    sign: bool = False
    encrypt: bool = False
    signer: str | None = None
    recipients: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.sign or self.encrypt


def _addresses(values: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for _name, addr in getaddresses(list(values)):
        if addr and addr.lower() not in (a.lower() for a in seen):
            seen.append(addr)
    return seen


def decide(gpg: GnuPG, *, from_: str, to: Sequence[str], cc: Sequence[str],
           bcc: Sequence[str], sign: bool | None, encrypt: bool | None,
           default_sign: bool, default_encrypt: str, key: str | None,
           fallback_address: str | None = None, replying_to_encrypted: bool = False) -> Protection:
    """Sign and/or encrypt, and with which keys.

    Args:
        sign, encrypt: the user's choice for this message (None: the defaults).
        default_sign, default_encrypt: the From identity's pgp_sign / pgp_encrypt.
        key: the identity's pgp_key (None: the secret key whose user ID has the From
            address, else `fallback_address`'s).
        replying_to_encrypted: the draft answers or forwards an encrypted message.
    Raises:
        UsageError: a key that is needed is missing (nothing may be sent).
    """
    want_sign = default_sign if sign is None else sign
    if encrypt is None:
        mode = ALWAYS if replying_to_encrypted else default_encrypt
    else:
        mode = ALWAYS if encrypt else NEVER
    if not want_sign and mode == NEVER:
        return Protection()
    me = parseaddr(from_)[1] or from_
    signer = None
    if want_sign:
        signer = own_key(gpg, me, key, fallback_address, secret=True)
        if signer is None:
            raise UsageError(f"no secret PGP key for {me} to sign with (nothing was sent)",
                             hint="set pgp_key for this account or identity, or send without --sign")
    if mode == NEVER:
        return Protection(sign=True, signer=signer)
    visible = _addresses([*to, *cc])
    hidden_addrs = [a for a in _addresses(bcc) if a.lower() not in (v.lower() for v in visible)]
    found: dict[str, Key] = {}
    missing: list[str] = []
    invalid: list[str] = []
    for addr in visible + hidden_addrs:
        k = gpg.usable_key(addr, encrypt=True)
        if k is not None:
            found[addr] = k
        elif mode == ALWAYS:
            (invalid if gpg.keys(addr) else missing).append(addr)
        else:
            missing.append(addr)
    self_key = own_key(gpg, me, key, fallback_address, secret=True, encrypt=True)
    if mode == IF_POSSIBLE and (missing or self_key is None or not (visible or hidden_addrs)):
        return Protection(sign=want_sign, signer=signer)
    if missing or invalid:
        err = missing_key_error(", ".join(missing + invalid), found_invalid=not missing)
        if replying_to_encrypted and encrypt is None:
            err.hint = ("the original was encrypted, so the answer is too; "
                        "--no-encrypt sends it unencrypted")
        raise err
    if self_key is None:
        raise UsageError(f"no PGP key of your own for {me}: the Sent copy of an encrypted "
                         "message could not be read (nothing was sent)",
                         hint="set pgp_key for this account or identity")
    recipients = tuple(dict.fromkeys([*(found[a].fingerprint for a in visible), self_key]))
    hidden = tuple(found[a].fingerprint for a in hidden_addrs
                   if found[a].fingerprint not in recipients)
    return Protection(sign=want_sign, encrypt=True, signer=signer, recipients=recipients,
                      hidden=hidden)


def own_key(gpg: GnuPG, me: str, key: str | None, fallback: str | None, *, secret: bool,
             encrypt: bool = False) -> str | None:
    """The user's key for signing (or encrypting to self): pgp_key as given, else the
    key of the From address, else of the account's address."""
    if key:
        return key
    for addr in (me, fallback):
        if not addr:
            continue
        k = gpg.usable_key(addr, encrypt=encrypt, secret=secret)
        if k is not None:
            return k.fingerprint
    return None


# ------------------------------------------------------------------ building
def _split(raw: bytes) -> tuple[list[bytes], bytes]:
    """The header fields (each with its continuation lines and CRLF) and the body."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        raise PgpError("cannot sign or encrypt: the message has no body")
    fields: list[bytes] = []
    for line in raw[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, raw[end + 4:]


def _is_content(field: bytes) -> bool:
    name = field.split(b":", 1)[0].strip().lower()
    return name.startswith(b"content-")


def protect(raw: bytes, prot: Protection, gpg: GnuPG) -> bytes:
    """The message (`raw`: CRLF bytes as built for sending) signed and/or encrypted.

    Raises:
        PgpError: gpg failed (a passphrase not given, a key unusable): nothing is sent.
    """
    if not prot.any:
        return raw
    fields, body = _split(canonical(raw))
    outer = [f for f in fields if not _is_content(f) and
             f.split(b":", 1)[0].strip().lower() != b"mime-version"]
    entity = b"".join(f for f in fields if _is_content(f)) + b"\r\n" + body
    boundary = ("=-mailcli-" + secrets.token_hex(12)).encode("ascii")
    if prot.encrypt:
        data = gpg.encrypt(entity, prot.recipients, prot.hidden, sign_as=prot.signer if prot.sign else None)
        ctype = (b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n'
                 b' boundary="' + boundary + b'"\r\n')
        new_body = (b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
                    b"--" + boundary + b"\r\n"
                    b"Content-Type: application/pgp-encrypted\r\n"
                    b"Content-Description: PGP/MIME version identification\r\n\r\n"
                    b"Version: 1\r\n\r\n"
                    b"--" + boundary + b"\r\n"
                    b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
                    b"Content-Description: OpenPGP encrypted message\r\n"
                    b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n'
                    + canonical(data).rstrip(b"\r\n") + b"\r\n"
                    b"--" + boundary + b"--\r\n")
    else:
        assert prot.signer is not None
        sig, micalg = gpg.sign_detached(entity, prot.signer)
        ctype = (b"Content-Type: multipart/signed; micalg=" + micalg.encode("ascii") + b";\r\n"
                 b' protocol="application/pgp-signature";\r\n boundary="' + boundary + b'"\r\n')
        new_body = (b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
                    b"--" + boundary + b"\r\n" + entity + b"\r\n"
                    b"--" + boundary + b"\r\n"
                    b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
                    b"Content-Description: OpenPGP digital signature\r\n"
                    b'Content-Disposition: attachment; filename="signature.asc"\r\n\r\n'
                    + canonical(sig).rstrip(b"\r\n") + b"\r\n"
                    b"--" + boundary + b"--\r\n")
    return b"".join(outer) + b"MIME-Version: 1.0\r\n" + ctype + b"\r\n" + new_body

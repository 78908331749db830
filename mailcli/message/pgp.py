"""Reading PGP/MIME (RFC 3156): which part of a message is signed or encrypted, the
verdict on the signature, and the decrypted message to show.

The signed part of a multipart/signed is verified over its exact bytes as they stand in
the raw message (between the boundary lines, the line end before the next boundary
excluded, line ends made CRLF as RFC 3156 5 requires); the parsed tree is never
re-serialised for this. A signature counts for the message only when the
multipart/signed is the whole message (or the whole of the decrypted message): a signed
part beside unsigned ones (a mailing-list footer, an attachment added later) is
``partial``, never ``good``. Signatures inside attached messages (message/rfc822) are
those messages' own and are not looked at.

A multipart/encrypted message is decrypted by GnuPG with the user's keys and agent; the
result is the inner entity under the outer message's headers (`Examined.display`), kept
in memory only: nothing here writes it anywhere.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import email.parser
import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass

from mailcli.message import gnupg
from mailcli.message.gnupg import GnuPG, PgpError, SignatureCheck
from mailcli.message.sanitize import safe_line

logger = logging.getLogger(__name__)

MAX_NESTING = 20                 # MIME levels searched for signed/encrypted parts
_PGP_HINT = re.compile(rb"application/pgp-(?:signature|encrypted)", re.I)
_BLANK = re.compile(rb"\r?\n\r?\n")
_EOL = re.compile(rb"\r?\n")


@dataclass(frozen=True)
class PgpStatus:
    """What mailcli found out about a message's PGP/MIME (SPEC.md `show --json` "pgp").

    `signature`: the verdict for the message as a whole (gnupg.GOOD, BAD, UNKNOWN_KEY,
    EXPIRED_KEY, REVOKED_KEY, EXPIRED, ERROR), PARTIAL when only a part of it is signed
    (`signed_part` then holds that part's own verdict), or None (not signed).
    """

    signature: str | None = None
    signer: str | None = None
    key_id: str | None = None
    fingerprint: str | None = None
    validity: str | None = None
    signed_part: str | None = None
    encrypted: bool = False
    decrypted: bool = False
    error: str | None = None
    # whether the signing key has a user ID with the From address (None: not checked,
    # e.g. the key is unknown); a good signature by someone else's key is worth less
    signer_matches_from: bool | None = None

    def to_json(self) -> dict[str, object]:
        return {"signature": self.signature, "signer": self._safe(self.signer),
                "key_id": self._safe(self.key_id), "fingerprint": self._safe(self.fingerprint),
                "validity": self.validity, "signed_part": self.signed_part,
                "encrypted": self.encrypted, "decrypted": self.decrypted,
                "error": self._safe(self.error),
                "signer_matches_from": self.signer_matches_from}

    @staticmethod
    def _safe(text: str | None) -> str | None:
        return safe_line(text) if text is not None else None

    def lines(self) -> list[str]:
        """The status as lines for a reader (terminal-safe): ``Signature: ...`` and/or
        ``Decrypted`` (SPEC.md)."""
        out: list[str] = []
        if self.encrypted:
            if self.decrypted:
                out.append("Decrypted")
            else:
                out.append("Encrypted: not decrypted" + (f" ({safe_line(self.error)})"
                                                         if self.error else ""))
        if self.signature is None:
            return out
        who = []
        if self.signer:
            who.append(safe_line(self.signer))
        if self.key_id:
            who.append(f"key {safe_line(self.key_id)}")
        if self.validity in ("unknown", "never", "marginal"):
            who.append(f"key validity {self.validity}")
        words = {gnupg.UNKNOWN_KEY: "unknown key", gnupg.EXPIRED_KEY: "expired key",
                 gnupg.REVOKED_KEY: "revoked key", gnupg.EXPIRED: "expired signature"}
        if self.signature == gnupg.PARTIAL:
            part = words.get(self.signed_part or "", self.signed_part or "unknown")
            detail = ", ".join([part, *who]) if who or part else ""
            out.append("Signature: partial: only part of this message is signed"
                       + (f" (that part: {detail})" if detail else ""))
            return out
        if self.signer_matches_from is False:
            who.append("not the From address")
        line = "Signature: " + words.get(self.signature, self.signature)
        if who:
            line += f" ({', '.join(who)})"
        if self.signature in (gnupg.BAD, gnupg.ERROR) and self.error:
            line += f": {safe_line(self.error)}"
        out.append(line)
        return out


@dataclass(frozen=True)
class Examined:
    """A message as a reader should see it: `status` None when it has no PGP/MIME;
    `display` the bytes to render (the raw message, or the decrypted one, in memory)."""

    status: PgpStatus | None
    display: bytes

    @property
    def decrypted(self) -> bool:
        return self.status is not None and self.status.decrypted


def has_pgp(raw: bytes) -> bool:
    """Cheap: could this message hold PGP/MIME at all (no gpg run)?"""
    return _PGP_HINT.search(raw) is not None


# ------------------------------------------------------------------ raw entities
def split_entity(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) of a MIME entity, split at the first blank line."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw[2 if raw.startswith(b"\r\n") else 1:]
    m = _BLANK.search(raw)
    if m is None:
        return raw, b""
    return raw[:m.start()], raw[m.end():]


def _header(head: bytes) -> email.message.Message:
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\r\n\r\n")


def content_info(head: bytes) -> tuple[str, dict[str, str]]:
    """The entity's lower-case content type and its parameters (boundary, protocol)."""
    try:
        h = _header(head)
        ctype = h.get_content_type()
        params = {k.lower(): v for k, v in (h.get_params() or [])[1:] if isinstance(v, str)}
        cte = str(h.get("content-transfer-encoding", "")).strip().lower()
        params["_cte"] = cte
        return ctype, params
    except Exception:
        return "text/plain", {}


def parts(body: bytes, boundary: str) -> list[bytes]:
    """The body parts of a multipart body, each exactly as it stands between its
    delimiter lines (the line end before a delimiter belongs to the delimiter, RFC 2046
    5.1.1). Linear-whitespace after a delimiter is allowed; the preamble and epilogue are
    dropped."""
    delim = b"--" + boundary.encode("ascii", "surrogateescape")
    out: list[bytes] = []
    start: int | None = None
    pos = 0
    n = len(body)
    while pos < n:
        nl = body.find(b"\n", pos)
        end = n if nl < 0 else nl + 1
        line = body[pos:end].rstrip(b"\r\n").rstrip(b" \t")
        if line.startswith(delim) and line[len(delim):] in (b"", b"--"):
            if start is not None:
                piece_end = pos
                if body[max(0, pos - 2):pos] == b"\r\n":
                    piece_end -= 2
                elif body[max(0, pos - 1):pos] == b"\n":
                    piece_end -= 1
                out.append(body[start:max(start, piece_end)])
            if line[len(delim):] == b"--":
                return out
            start = end
        pos = end
    return out  # no closing delimiter: what was found so far (the last part is lost)


def canonical(data: bytes) -> bytes:
    """Line ends made CRLF (RFC 3156 5: the signed data is canonical text)."""
    return _EOL.sub(b"\r\n", data)


def _decoded(entity: bytes) -> bytes:
    """The body of a leaf entity, its transfer encoding undone (base64 / QP / none)."""
    head, body = split_entity(entity)
    cte = content_info(head)[1].get("_cte", "")
    if cte == "base64":
        try:
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body))
        except (binascii.Error, ValueError):
            return body
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


# ------------------------------------------------------------------ examining
def examine(raw: bytes, gpg: GnuPG) -> Examined:
    """Verify and decrypt a raw message's PGP/MIME. Never raises for bad mail or a
    missing gpg: problems land in `status.error`."""
    if not has_pgp(raw):
        return Examined(None, raw)
    try:
        return _with_sender_check(_examine(raw, gpg), gpg)
    except PgpError as exc:
        return Examined(PgpStatus(error=exc.message, encrypted=_is_encrypted(raw)), raw)
    except RecursionError:
        return Examined(PgpStatus(error="message nested too deeply"), raw)


def _with_sender_check(seen: Examined, gpg: GnuPG) -> Examined:
    """Note whether the signing key belongs to the From address of what is shown."""
    st = seen.status
    if st is None or not st.fingerprint or st.signature in (None, gnupg.BAD, gnupg.UNKNOWN_KEY):
        return seen
    head, _ = split_entity(seen.display)
    try:
        sender = email.utils.parseaddr(str(_header(head).get("from", "")))[1]
    except Exception:
        sender = ""
    match = bool(sender) and any(k.fingerprint == st.fingerprint for k in gpg.keys(sender))
    return Examined(dataclasses.replace(st, signer_matches_from=match), seen.display)


def _is_encrypted(raw: bytes) -> bool:
    head, _ = split_entity(raw)
    return content_info(head)[0] == "multipart/encrypted"


def _examine(raw: bytes, gpg: GnuPG) -> Examined:
    head, body = split_entity(raw)
    ctype, params = content_info(head)
    if ctype == "multipart/encrypted" and _is_pgp(params):
        return _decrypt(raw, head, body, params, gpg)
    sig = _signature_of(raw, gpg)
    if _find(raw, "multipart/encrypted", 0) is not None:
        # an encrypted part beside others (a list footer added to encrypted mail): not
        # decrypted, and said so rather than silently left out
        why = "only part of this message is encrypted; that part is not decrypted"
        base = sig or PgpStatus()
        return Examined(PgpStatus(signature=base.signature, signer=base.signer,
                                  key_id=base.key_id, fingerprint=base.fingerprint,
                                  validity=base.validity, signed_part=base.signed_part,
                                  encrypted=True, decrypted=False, error=base.error or why), raw)
    if sig is None:
        return Examined(None, raw)
    return Examined(sig, raw)


def _signature_of(entity: bytes, gpg: GnuPG) -> PgpStatus | None:
    """The signature status of `entity` taken as the whole message."""
    head, body = split_entity(entity)
    ctype, params = content_info(head)
    if ctype == "multipart/signed" and _is_pgp(params):
        check = _verify(body, params, gpg)
        return _status(check, check.verdict)
    nested = _find(entity, "multipart/signed", 0)
    if nested is None:
        return None
    nhead, nbody = split_entity(nested)
    check = _verify(nbody, content_info(nhead)[1], gpg)
    st = _status(check, gnupg.PARTIAL)
    return PgpStatus(signature=gnupg.PARTIAL, signer=st.signer, key_id=st.key_id,
                     fingerprint=st.fingerprint, validity=st.validity,
                     signed_part=check.verdict, error=st.error)


def _status(check: SignatureCheck, verdict: str) -> PgpStatus:
    return PgpStatus(signature=verdict, signer=check.signer, key_id=check.key_id,
                     fingerprint=check.fingerprint, validity=check.validity,
                     error=check.detail)


def _is_pgp(params: dict[str, str]) -> bool:
    """A multipart/signed or /encrypted of OpenPGP (not S/MIME, which is not ours)."""
    return params.get("protocol", "").lower() in ("application/pgp-signature",
                                                   "application/pgp-encrypted")


def _verify(body: bytes, params: dict[str, str], gpg: GnuPG) -> SignatureCheck:
    boundary = params.get("boundary")
    protocol = params.get("protocol", "").lower()
    if protocol != "application/pgp-signature":
        return SignatureCheck(gnupg.ERROR, detail=f"not an OpenPGP signature (protocol {protocol!r})")
    if not boundary:
        return SignatureCheck(gnupg.BAD, detail="malformed multipart/signed (no boundary)")
    found = parts(body, boundary)
    if len(found) != 2:
        return SignatureCheck(gnupg.BAD, detail=f"malformed multipart/signed ({len(found)} parts, not 2)")
    signed, sig_part = found
    sig_head, _ = split_entity(sig_part)
    if content_info(sig_head)[0] != "application/pgp-signature":
        return SignatureCheck(gnupg.BAD, detail="malformed multipart/signed (second part is not "
                                                "application/pgp-signature)")
    return gpg.verify_detached(canonical(signed), _decoded(sig_part))


def _find(entity: bytes, wanted: str, depth: int) -> bytes | None:
    """The first entity of type `wanted` below `entity` (not inside attached messages)."""
    if depth > MAX_NESTING:
        return None
    head, body = split_entity(entity)
    ctype, params = content_info(head)
    if depth and ctype == wanted and _is_pgp(params):
        return entity
    if not ctype.startswith("multipart/") or not params.get("boundary"):
        return None
    for part in parts(body, params["boundary"]):
        found = _find(part, wanted, depth + 1)
        if found is not None:
            return found
    return None


def _decrypt(raw: bytes, head: bytes, body: bytes, params: dict[str, str],
             gpg: GnuPG) -> Examined:
    found = parts(body, params.get("boundary", "")) if params.get("boundary") else []
    if params.get("protocol", "").lower() != "application/pgp-encrypted" or len(found) < 2:
        return Examined(PgpStatus(encrypted=True, error="malformed multipart/encrypted"), raw)
    result = gpg.decrypt(_decoded(found[1]))
    if not result.ok:
        return Examined(PgpStatus(encrypted=True, error=result.error), raw)
    inner = canonical(result.plaintext)
    sig = _signature_of(inner, gpg)
    if result.signature is not None and (sig is None or sig.signature == gnupg.PARTIAL):
        # signed and encrypted in one (RFC 3156 6.2): the signature covers it all
        sig = _status(result.signature, result.signature.verdict)
    status = PgpStatus(encrypted=True, decrypted=True) if sig is None else PgpStatus(
        signature=sig.signature, signer=sig.signer, key_id=sig.key_id,
        fingerprint=sig.fingerprint, validity=sig.validity, signed_part=sig.signed_part,
        encrypted=True, decrypted=True, error=sig.error)
    return Examined(status, _rewrap(head, inner))


_PROTECTED = (b"subject", b"from", b"to", b"cc", b"reply-to", b"date", b"message-id",
              b"references", b"in-reply-to")


def _rewrap(outer_head: bytes, inner: bytes) -> bytes:
    """The decrypted entity under the outer message's headers, for rendering: its own
    Content-* headers replace the outer ones, and header fields it carries itself
    ("protected headers", as Thunderbird and others send the real Subject inside the
    encryption with "..." outside) replace the outer fields of the same name."""
    inner_head, inner_body = split_entity(inner)
    inner_fields = _fields(inner_head) if inner_head else []
    protected = {_name(f) for f in inner_fields if _name(f) in _PROTECTED}
    kept: list[bytes] = []
    for field_lines in _fields(outer_head):
        name = _name(field_lines)
        if name.startswith(b"content-") or name == b"mime-version" or name in protected:
            continue
        kept.append(field_lines)
    own = [f for f in inner_fields if _name(f) != b"mime-version"]
    return b"".join(kept) + b"MIME-Version: 1.0\r\n" + b"".join(own) + b"\r\n" + inner_body


def _name(field_lines: bytes) -> bytes:
    return field_lines.split(b":", 1)[0].strip().lower()


def _fields(head: bytes) -> list[bytes]:
    """Header fields with their continuation lines, each ending in CRLF."""
    out: list[bytes] = []
    for line in canonical(head).split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line + b"\r\n"
        else:
            out.append(line + b"\r\n")
    return out

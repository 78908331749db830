"""Build outgoing messages: new, reply, reply-all and forward drafts, with the right
threading headers, quoting, MIME types and encodings (RFC 2047/2231 via the stdlib).

Pure: no network, no files except reading attachments given by path.
"""
from __future__ import annotations

import email.policy
import mimetypes
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from pathlib import Path

from mailcli.errors import UsageError
from mailcli.message.parse import parse_bytes

_RE_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:\s*", re.IGNORECASE)
_FWD_PREFIX = re.compile(r"^\s*(fwd?|wg)\s*:\s*", re.IGNORECASE)
# What goes on the wire: CRLF line ends and 7-bit clean bodies (quoted-printable/base64
# for non-ASCII text), so no server without 8BITMIME can mangle it.
POLICY = email.policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Carried:
    """An attachment carried over from a message (a forward's original, a resumed draft):
    its safe file name, content type and decoded bytes."""

    filename: str
    content_type: str
    data: bytes
    charset: str | None = None

    def describe(self) -> str:
        size = len(self.data)
        human = f"{size} B" if size < 1024 else (f"{size / 1024:.1f} KB" if size < 1024 * 1024
                                                 else f"{size / 1024 / 1024:.1f} MB")
        return f"{self.filename} ({self.content_type}, {human})"


def carried_attachments(raw: bytes) -> list[Carried]:
    """The attachments of a raw message (as `mailcli attachments` lists them: same safe
    names, same order), with their decoded bytes."""
    from mailcli.message import mime
    from mailcli.message.attachments import attachment_infos

    root = mime.parse_tree(raw)
    parts = mime.attachment_parts(root)
    return [Carried(info.filename, info.content_type or "application/octet-stream",
                    mime.payload_bytes(part), _charset(part))
            for info, part in zip(attachment_infos(root), parts)]


def _charset(part: object) -> str | None:
    try:
        cs = part.get_content_charset()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - the original is hostile input; no charset is a safe answer
        return None
    return cs if isinstance(cs, str) and re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", cs) else None


@dataclass
class Draft:
    """An editable draft before it becomes an EmailMessage."""

    from_: str
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    attach_messages: list[bytes] = field(default_factory=list)  # forwarded as message/rfc822
    carried: list[Carried] = field(default_factory=list)  # a forward's/resumed draft's attachments
    message_id: str | None = None
    account: str | None = None        # the account a reply/forward came from
    replied_id: int | None = None     # cached message that gets \\Answered once this is sent
    resumed_id: int | None = None     # the saved draft this was resumed from (removed once sent)
    signature: str = ""               # the From identity's signature ("" none, or already in a resumed body)
    signature_above: bool = False     # replies/forwards: the signature goes above the quote
    quote_marker: str | None = None   # where the quoted/forwarded part starts in the body
    sign: bool | None = None          # PGP/MIME: --sign/--no-sign (None: the identity's pgp_sign)
    encrypt: bool | None = None       # --encrypt/--no-encrypt (None: pgp_encrypt, or the original's)
    from_encrypted: bool = False      # answers/forwards an encrypted message: encrypted by default

    def recipients(self) -> list[str]:
        return [addr for _, addr in getaddresses(self.to + self.cc + self.bcc) if addr]


def sender(email: str | None, name: str | None) -> str:
    if not email:
        raise UsageError("the account has no email address configured (set email = ... in the config)")
    return str(Address(display_name=name or "", addr_spec=email)) if name else email


def build(draft: Draft, domain: str | None = None, when: datetime | None = None,
          require_recipients: bool = True, armored: bool = False) -> EmailMessage:
    """Turn a Draft into a complete EmailMessage (Bcc is NOT included in the headers).
    `require_recipients=False` builds an unfinished draft (for the Drafts folder).
    `msg.as_bytes()` gives CRLF line ends and 7-bit clean bodies (POLICY). `armored`
    (for a PGP signature): text is quoted-printable, so no trailing space or long line
    reaches a transport that could change it (RFC 3156 5)."""
    cte = "quoted-printable" if armored else None
    if require_recipients and not draft.recipients():
        raise UsageError("no recipients: give --to (or To: in the draft)")
    msg = EmailMessage(policy=POLICY)
    msg["From"] = draft.from_
    if draft.to:
        msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    if domain is None:
        domain = parseaddr(draft.from_)[1].rpartition("@")[2] or None
    msg["Message-ID"] = draft.message_id or make_msgid(domain=domain)
    if draft.in_reply_to:
        msg["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        msg["References"] = " ".join(draft.references)
    msg["MIME-Version"] = "1.0"
    msg["User-Agent"] = "mailcli"
    msg.set_content(draft.body if draft.body.endswith("\n") else draft.body + "\n", cte=cte)
    for path in draft.attachments:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read attachment {path}: {exc.strerror}") from None
        ctype, encoding = mimetypes.guess_type(path.name)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        if maintype == "text":
            try:
                msg.add_attachment(data.decode("utf-8"), subtype=subtype, filename=path.name, cte=cte)
                continue
            except UnicodeDecodeError:
                maintype, subtype = "application", "octet-stream"
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    for att in draft.carried:
        _add_carried(msg, att)
    for raw in draft.attach_messages:
        inner = parse_bytes(raw)
        msg.add_attachment(inner)  # message/rfc822
    if armored:
        _escape_from_lines(msg)
    return msg


_FROM_LINE = re.compile(r"^From ", re.M)


def _escape_from_lines(msg: EmailMessage) -> None:
    """'From ' at a line start becomes '=46rom ' in quoted-printable parts (RFC 3156 3):
    an mbox-minded transport would otherwise write '>From ' and break a signature."""
    for part in msg.walk():
        if part.is_multipart() or str(part.get("Content-Transfer-Encoding", "")).lower() != "quoted-printable":
            continue
        payload = part.get_payload()
        if isinstance(payload, str) and _FROM_LINE.search(payload):
            part.set_payload(_FROM_LINE.sub("=46rom ", payload))


def _add_carried(msg: EmailMessage, att: Carried) -> None:
    """Add a carried attachment as it was: same type (charset kept for text), same bytes."""
    maintype, _, subtype = att.content_type.lower().partition("/")
    if not re.fullmatch(r"[a-z0-9!#$&^_.+-]+", maintype) or not re.fullmatch(r"[a-z0-9!#$&^_.+-]+", subtype):
        maintype, subtype = "application", "octet-stream"
    if (maintype, subtype) == ("message", "rfc822"):
        msg.add_attachment(parse_bytes(att.data), filename=att.filename)
        return
    if maintype in ("message", "multipart"):
        maintype, subtype = "application", "octet-stream"
    params = {"charset": att.charset} if maintype == "text" and att.charset else None
    msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename,
                       params=params)


def build_draft(draft: Draft) -> EmailMessage:
    """A draft to keep in the Drafts folder: every header survives, Bcc included (only the
    sender sees it), recipients not required."""
    msg = build(draft, require_recipients=False)
    if draft.bcc:
        msg["Bcc"] = ", ".join(draft.bcc)
    return msg


def from_saved(raw: bytes) -> Draft:
    """A saved draft (ours or another client's) back as a Draft: From, To, Cc, Bcc,
    Subject, In-Reply-To, References, the text body (an HTML-only draft rendered to
    text) and its attachments. Address headers are taken verbatim (decoded), not
    validated: the editor shows them and the send checks them."""
    from mailcli.message import headers as hdr
    from mailcli.message.render import render_text

    orig = parse_bytes(raw)

    def raw_value(name: str) -> str:
        try:
            values = [v for k, v in orig.raw_items() if k.lower() == name.lower()]
        except Exception:  # noqa: BLE001 - hostile original: an unreadable header is empty
            return ""
        return hdr.decode_addresses(values[0]) if values else ""

    def addresses(name: str) -> list[str]:
        value = " ".join(raw_value(name).split())
        try:   # a draft keeps a half-typed address as typed ("carol@"): the parser drops it
            raw = [v for k, v in orig.raw_items() if k.lower() == name.lower()]
        except Exception:  # noqa: BLE001 - hostile original: an unreadable header is empty
            raw = []
        plain = " ".join(hdr.decode_words(hdr.raw_to_str(raw[0])).split()) if raw else ""
        if plain and plain != value:
            from mailcli.send.draftfile import split_addresses

            try:
                split_addresses(plain)
            except UsageError:     # not clean addresses yet: the text as it was typed
                value = plain
        return [value] if value else []

    body = ""
    try:
        part = orig.get_body(("plain",))
        if part is not None:
            body = str(part.get_content())
    except Exception:  # noqa: BLE001 - hostile original: no quotable text part
        part = None
    if part is None:
        body = render_text(raw).text
    mid = _header(orig, "In-Reply-To").strip() or None
    subject = " ".join(_header(orig, "Subject").split())
    return Draft(from_=" ".join(raw_value("From").split()), to=addresses("To"),
                 cc=addresses("Cc"), bcc=addresses("Bcc"), subject=subject,
                 body=body.replace("\r\n", "\n"), in_reply_to=mid,
                 references=_header(orig, "References").split(),
                 carried=carried_attachments(raw))


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, "") or "")
    except Exception:  # noqa: BLE001 - hostile original: an unreadable header is empty
        return ""


def _addresses(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(n, a) for n, a in getaddresses(list(values)) if a]


def _fmt(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [str(Address(display_name=n, addr_spec=a)) if n else a for n, a in pairs]


def quote(text: str) -> str:
    return "".join("> " + line if line.strip() else ">" + line for line in text.splitlines(True)) or "> \n"


SIG_SEPARATOR = "-- \n"   # RFC 3676 4.3
FORWARD_MARKER = "---------- Forwarded message ----------"


def signature_block(signature: str) -> str:
    return SIG_SEPARATOR + signature.strip("\n") + "\n" if signature.strip() else ""


def add_signature(draft: Draft) -> None:
    """Put the draft's signature into its body: below the text (at the end), or with
    `signature_above` above the quoted part. Never twice: a body that already carries
    the block (a re-edit, a resumed draft) is left as it is."""
    block = signature_block(draft.signature)
    body = draft.body
    if not block or block in body:
        return
    marker = draft.quote_marker
    if draft.signature_above and marker and marker in body:
        at = body.index(marker)
        head = body[:at].rstrip("\n")
        draft.body = (head + "\n\n" if head else "\n") + block + "\n" + body[at:]
    else:
        draft.body = body.rstrip("\n") + "\n\n" + block


def swap_signature(draft: Draft, signature: str) -> None:
    """A new From identity: its signature replaces the old one's block (or is added)."""
    old = signature_block(draft.signature)
    if old and old in draft.body:
        at = draft.body.rindex(old)
        head, tail = draft.body[:at].rstrip("\n"), draft.body[at + len(old):]
        draft.body = head + ("\n\n" + tail.lstrip("\n") if tail.strip() else "\n")
    draft.signature = signature
    add_signature(draft)


def reply(original_raw: bytes, original_text: str, me: str, own_addresses: Sequence[str],
          reply_all: bool = False, is_own: Callable[[str], bool] | None = None) -> Draft:
    """A reply draft: To the sender (Reply-To wins), quoted text, threading headers.
    Reply-all adds the other To/Cc recipients, leaving out the account's own addresses
    (and any address `is_own` says is the user's: identities, alias patterns)."""
    orig = parse_bytes(original_raw)
    own_set = {a.lower() for a in own_addresses if a}

    def mine(addr: str) -> bool:
        return addr.lower() in own_set or (is_own is not None and is_own(addr))

    reply_to = _addresses([_header(orig, "Reply-To")]) or _addresses([_header(orig, "From")])
    to = [p for p in reply_to if not mine(p[1])] or reply_to
    cc: list[tuple[str, str]] = []
    if reply_all:
        seen = {a.lower() for _, a in to}
        for n, a in _addresses([_header(orig, "To"), _header(orig, "Cc")]):
            if a.lower() not in seen and not mine(a):
                seen.add(a.lower())
                cc.append((n, a))
    subject = _header(orig, "Subject")
    subject = subject if _RE_PREFIX.match(subject) else f"Re: {subject}"
    mid = _header(orig, "Message-ID").strip() or None
    refs = _header(orig, "References").split()
    if mid and mid not in refs:
        refs.append(mid)
    if not refs and _header(orig, "In-Reply-To").strip():
        refs = [_header(orig, "In-Reply-To").strip()]
    who = _header(orig, "From") or "someone"
    date = _header(orig, "Date")
    attribution = f"On {date}, {who} wrote:\n" if date else f"{who} wrote:\n"
    return Draft(from_=me, to=_fmt(to), cc=_fmt(cc), subject=subject,
                 body="\n\n" + attribution + quote(original_text), in_reply_to=mid,
                 references=refs, quote_marker=attribution)


def forward(original_raw: bytes, original_text: str, me: str, inline: bool = True,
            attachments: bool = True) -> Draft:
    """A forward draft: inline (the text quoted under a header block, the original's
    attachments carried over unless `attachments` is False) or as message/rfc822."""
    orig = parse_bytes(original_raw)
    subject = _header(orig, "Subject")
    subject = subject if _FWD_PREFIX.match(subject) else f"Fwd: {subject}"
    if inline:
        block = "\n".join(f"{h}: {_header(orig, h)}" for h in ("From", "Date", "Subject", "To", "Cc")
                          if _header(orig, h))
        body = "\n\n" + FORWARD_MARKER + "\n" + block + "\n\n" + original_text
        carried = carried_attachments(original_raw) if attachments else []
        return Draft(from_=me, subject=subject, body=body, carried=carried,
                     quote_marker=FORWARD_MARKER)
    return Draft(from_=me, subject=subject, body="\n", attach_messages=[original_raw])

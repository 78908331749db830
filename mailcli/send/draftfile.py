"""The text form of a draft that the user edits in $EDITOR: editable header lines
(From, To, Cc, Bcc, Subject, one ``Attach: PATH`` per file to attach, and one
``Attached: #N name (type, size)`` per attachment carried over from a forwarded message or
a resumed draft: delete that line to drop it), a blank line, then the body. Pure: render
a Draft to text, parse the edited text back.

Header names are case-insensitive; long values may continue on lines that start with
whitespace; addresses are comma-separated (``Name <addr>`` or ``addr``). Anything that
cannot be understood is a UsageError naming the line (the caller keeps the draft).
"""
from __future__ import annotations

import dataclasses
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path

from mailcli.errors import UsageError
from mailcli.send.compose import Carried, Draft

EDITABLE = ("From", "To", "Cc", "Bcc", "Subject")


def render(draft: Draft) -> str:
    lines = [f"From: {draft.from_}", f"To: {', '.join(draft.to)}", f"Cc: {', '.join(draft.cc)}",
             f"Bcc: {', '.join(draft.bcc)}", f"Subject: {draft.subject}"]
    lines += [f"Attach: {p}" for p in draft.attachments]
    lines += [f"Attached: #{n} {att.describe()}" for n, att in enumerate(draft.carried, 1)]
    body = draft.body.replace("\r\n", "\n")
    return "\n".join(lines) + "\n\n" + body


def split_addresses(value: str) -> list[str]:
    """'A <a@x>, b@y' -> ['A <a@x>', 'b@y'] (UsageError for an unusable address)."""
    out = []
    for name, addr in getaddresses([value]):
        if not addr:
            continue
        if "@" not in addr or " " in addr.strip():
            raise UsageError(f"not an email address: {addr!r}")
        try:
            out.append(str(Address(display_name=name, addr_spec=addr)) if name else addr)
        except (HeaderParseError, ValueError, IndexError) as exc:
            raise UsageError(f"not an email address: {addr!r} ({exc})") from None
    # getaddresses silently drops what it cannot parse ("bob@x, carol@" -> bob alone): a
    # plain chunk (no quotes or brackets) that yielded no address is refused, never lost
    found = {a.lower() for _n, a in getaddresses([value]) if a}
    for chunk in (c.strip() for c in value.split(",")):
        if chunk and not any(ch in chunk for ch in '"<>()') and chunk.lower() not in found:
            raise UsageError(f"not an email address: {chunk!r}")
    return out


def parse(text: str, base: Draft, strict: bool = True) -> Draft:
    """The edited text applied to `base` (threading headers and forwarded messages stay).
    `strict=False` (to save a draft, never to send one) keeps an address field that does
    not parse as the user wrote it instead of refusing it: no header is lost."""
    text = text.replace("\r\n", "\n")
    head, sep, body = text.partition("\n\n")
    if not sep:  # no blank line: all headers, empty body (or a file emptied entirely)
        head, body = text, ""
    fields: dict[str, str] = {}
    attach: list[Path] = []
    carried: list[Carried] = []
    kept: set[int] = set()
    current: str | None = None
    for n, line in enumerate(head.split("\n"), 1):
        if not line.strip():
            continue
        if line[:1] in (" ", "\t") and current is not None:
            fields[current] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if not colon or not key or " " in key:
            raise UsageError(f"draft line {n} is not a header ('Name: value'): {line[:60]!r}",
                             hint="keep the header lines, a blank line, then the body")
        if key == "attach":
            if value.strip():
                attach.append(Path(value.strip()).expanduser())
            current = None
            continue
        if key == "attached":
            number = value.strip().split(" ", 1)[0].lstrip("#")
            if not number.isdigit() or not 1 <= int(number) <= len(base.carried):
                raise UsageError(f"draft line {n}: no carried attachment {value.strip()[:40]!r}",
                                 hint="keep an 'Attached: #N ...' line as it was, or delete it "
                                      "to drop that attachment")
            if int(number) not in kept:
                kept.add(int(number))
                carried.append(base.carried[int(number) - 1])
            current = None
            continue
        if key not in {h.lower() for h in EDITABLE}:
            raise UsageError(f"draft line {n}: unknown header {name.strip()!r}",
                             hint="editable headers: " + ", ".join(EDITABLE) + ", Attach, Attached")
        fields[key] = value.strip()
        current = key
    def addresses(key: str) -> list[str]:
        value = fields.get(key, "")
        try:
            return split_addresses(value)
        except UsageError:
            if strict:
                raise
            return [" ".join(value.split())] if value.strip() else []

    return dataclasses.replace(
        base,
        from_=fields.get("from", base.from_) or base.from_,
        to=addresses("to"),
        cc=addresses("cc"),
        bcc=addresses("bcc"),
        subject=fields.get("subject", ""),
        attachments=attach,
        carried=carried,
        body=body,
    )
